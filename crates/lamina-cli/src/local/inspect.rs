//! `lamina layer inspect`: what a runtime sees in a layer ZIP, and what is likely wrong.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use lamina_layers::inspect::{Inspection, Severity, inspect};

use super::{Arch, human_size, percent};

/// Arguments of `lamina layer inspect`.
#[derive(clap::Args, Debug, Clone)]
pub struct InspectArgs {
    /// The layer ZIP.
    #[arg(value_name = "ZIP")]
    pub zip: PathBuf,
    /// Runtime to check against, pythonX.Y or nodejsNN.x [default: inferred from the ZIP,
    /// else python3.12].
    #[arg(long)]
    pub runtime: Option<String>,
    /// Architecture of the functions that will use the layer.
    #[arg(long, value_enum, default_value_t = Arch::X86_64)]
    pub arch: Arch,
}

/// Prints the analysis on stdout (as JSON with `json`, from `--output json`); exit code 1
/// when a finding is an error.
///
/// # Errors
/// When the file cannot be read or is not a ZIP.
pub fn run(args: &InspectArgs, json: bool) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.zip).with_context(|| format!("cannot read {}", args.zip.display()))?;
    let report = inspect(&bytes, args.runtime.as_deref(), args.arch.into())
        .with_context(|| format!("cannot inspect {}", args.zip.display()))?;
    let text = if json {
        let mut json = serde_json::to_string_pretty(&report).context("cannot encode json")?;
        json.push('\n');
        json
    } else {
        render(&args.zip.display().to_string(), &report)
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("cannot write to stdout")?;
    Ok(if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The human report for `name`.
pub fn render(name: &str, report: &Inspection) -> String {
    let mut out = String::new();
    let inferred = if report.runtime_inferred {
        " (inferred; pass --runtime to choose)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "{name}: {runtime}{inferred}, {arch}",
        runtime = report.runtime,
        arch = report.arch
    );
    if report.runtime.starts_with("python") {
        let _ = writeln!(out, "\nPython modules:");
        if report.modules.is_empty() {
            let _ = writeln!(out, "  none");
        }
        let width = report
            .modules
            .iter()
            .map(|m| m.name.len())
            .max()
            .unwrap_or(0);
        for m in &report.modules {
            let _ = writeln!(
                out,
                "  {:width$}  {:17}  {}",
                m.name,
                m.kind.describe(),
                m.path
            );
        }
    }
    if report.runtime.starts_with("nodejs") {
        let _ = writeln!(out, "\nNode.js packages (NODE_PATH):");
        if report.node_packages.is_empty() {
            let _ = writeln!(out, "  none");
        }
        let width = |f: &dyn Fn(&lamina_layers::inspect::NodePackage) -> usize| {
            report.node_packages.iter().map(f).max().unwrap_or(0)
        };
        let (names, versions) = (
            width(&|p| p.name.len()),
            width(&|p| p.version.as_deref().map_or(1, str::len)),
        );
        for p in &report.node_packages {
            let _ = writeln!(
                out,
                "  {:names$}  {:versions$}  {}",
                p.name,
                p.version.as_deref().unwrap_or("?"),
                p.path
            );
        }
    }
    for (title, items) in [
        ("Tools on PATH (/opt/bin)", &report.tools),
        ("Libraries (/opt/lib)", &report.libraries),
        ("Extensions (/opt/extensions)", &report.extensions),
    ] {
        if !items.is_empty() {
            let _ = writeln!(out, "\n{title}:");
            for item in items {
                let _ = writeln!(out, "  {item}");
            }
        }
    }
    if let Some(bootstrap) = &report.bootstrap {
        let _ = writeln!(out, "\nCustom runtime: {bootstrap}");
    }
    let _ = writeln!(
        out,
        "\nSize: {} files, {} zipped, {} unzipped ({} of the 250 MB limit)",
        report.files,
        human_size(report.zipped_bytes),
        human_size(report.unzipped_bytes),
        percent(report.share_of_unzipped_limit),
    );
    if report.findings.is_empty() {
        let _ = writeln!(out, "\nNo findings.");
    } else {
        let _ = writeln!(out, "\nFindings:");
        for f in &report.findings {
            let level = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let _ = writeln!(out, "  {level}: {}", f.message);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::fs;

    use lamina_layers::build::write_reproducible_zip;

    use super::*;

    fn zip_tree(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        for (name, body) in files {
            let path = tree.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, body).unwrap();
        }
        let out = dir.path().join("layer.zip");
        write_reproducible_zip(&tree, fs::File::create(&out).unwrap(), &mut |_| {}).unwrap();
        (dir, out)
    }

    fn args(zip: PathBuf) -> InspectArgs {
        InspectArgs {
            zip,
            runtime: None,
            arch: Arch::X86_64,
        }
    }

    #[test]
    fn a_root_module_exits_1_and_names_python() {
        let (_dir, zip) = zip_tree(&[("mymod.py", "x = 1\n")]);
        assert_eq!(run(&args(zip.clone()), false).unwrap(), ExitCode::from(1));
        let report = inspect(&fs::read(&zip).unwrap(), None, Arch::X86_64.into()).unwrap();
        let text = render("layer.zip", &report);
        assert!(
            text.contains("error: mymod.py is at the root of the ZIP"),
            "{text}"
        );
        assert!(text.contains("move it to python/mymod.py"), "{text}");
    }

    #[test]
    fn a_good_layer_exits_0_and_lists_modules() {
        let (_dir, zip) = zip_tree(&[
            ("python/which.py", ""),
            ("python/pkg/__init__.py", ""),
            ("bin/tool", "#!/bin/sh\n"),
        ]);
        assert_eq!(run(&args(zip.clone()), false).unwrap(), ExitCode::SUCCESS);
        let report = inspect(&fs::read(&zip).unwrap(), None, Arch::X86_64.into()).unwrap();
        let text = render("layer.zip", &report);
        assert!(text.contains("which"), "{text}");
        assert!(text.contains("/opt/python/pkg/__init__.py"), "{text}");
        assert!(text.contains("/opt/bin/tool"), "{text}");
        assert!(text.contains("No findings."), "{text}");
    }

    #[test]
    fn a_node_layer_lists_its_packages_and_a_root_node_modules_exits_1() {
        let (_dir, zip) = zip_tree(&[
            (
                "nodejs/node_modules/ms/package.json",
                r#"{"version": "2.1.3"}"#,
            ),
            ("nodejs/node_modules/ms/index.js", ""),
        ]);
        assert_eq!(run(&args(zip.clone()), false).unwrap(), ExitCode::SUCCESS);
        let report = inspect(&fs::read(&zip).unwrap(), None, Arch::X86_64.into()).unwrap();
        let text = render("layer.zip", &report);
        assert!(
            text.starts_with("layer.zip: nodejs22.x (inferred"),
            "{text}"
        );
        assert!(
            text.contains(
                "Node.js packages (NODE_PATH):\n  ms  2.1.3  /opt/nodejs/node_modules/ms\n"
            ),
            "{text}"
        );
        assert!(text.contains("No findings."), "{text}");

        let (_dir, zip) = zip_tree(&[("node_modules/ms/index.js", "")]);
        assert_eq!(run(&args(zip.clone()), false).unwrap(), ExitCode::from(1));
        let report = inspect(&fs::read(&zip).unwrap(), None, Arch::X86_64.into()).unwrap();
        let text = render("layer.zip", &report);
        assert!(
            text.contains("error: node_modules/ is at the root of the ZIP"),
            "{text}"
        );
    }

    #[test]
    fn json_output_and_unreadable_files() {
        let (_dir, zip) = zip_tree(&[("python/m.py", "")]);
        assert_eq!(run(&args(zip), true).unwrap(), ExitCode::SUCCESS);
        let missing = run(&args(PathBuf::from("/nonexistent/layer.zip")), false).unwrap_err();
        assert!(format!("{missing:#}").contains("/nonexistent/layer.zip"));
    }
}
