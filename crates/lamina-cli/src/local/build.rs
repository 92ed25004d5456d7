//! `lamina layer build`: pip (Python runtimes) or npm (Node.js runtimes) installs packages
//! for a runtime and architecture, and writes a reproducible layer ZIP.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lamina_layers::build::{
    BuildEvent, BuildSpec, BuildSummary, Layout, NodeBuildSpec, NodeLayout, build_layer,
    build_node_layer, node_major, resolve_npm, resolve_python,
};

use super::{Arch, human_size, percent};

/// `--layout`: where in the layer pip or npm installs.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutArg {
    /// `python/`: found by every Python runtime (the default for Python).
    #[value(name = "python")]
    Python,
    /// `python/lib/pythonX.Y/site-packages/`: only by the runtime's own Python version.
    #[value(name = "site-packages")]
    SitePackages,
    /// `nodejs/node_modules/`: found by every Node.js runtime (the default for Node.js).
    #[value(name = "nodejs")]
    Nodejs,
    /// `nodejs/nodeNN/node_modules/`: only by the runtime's own Node.js major version.
    #[value(name = "node-version")]
    NodeVersion,
}

/// Arguments of `lamina layer build`.
#[derive(clap::Args, Debug, Clone)]
pub struct BuildArgs {
    /// Packages to install: pip requirement specifiers (`requests`, `numpy==2.1`) for Python,
    /// npm package specs (`is-number`, `ms@2.1.3`) for Node.js.
    #[arg(value_name = "PACKAGE")]
    pub packages: Vec<String>,
    /// A requirements file for pip (Python runtimes).
    #[arg(short = 'r', long = "requirements", value_name = "FILE")]
    pub requirements: Option<PathBuf>,
    /// A package.json whose dependencies npm installs (Node.js runtimes); a package-lock.json
    /// beside it pins their versions.
    #[arg(long = "package-json", value_name = "FILE")]
    pub package_json: Option<PathBuf>,
    /// Runtime the layer is for: pythonX.Y (its version picks the wheels) or nodejsNN.x.
    #[arg(long, default_value = "python3.12")]
    pub runtime: String,
    /// Architecture the layer is for; another than this machine's needs wheels for it.
    #[arg(long, value_enum, default_value_t = Arch::X86_64)]
    pub arch: Arch,
    /// The layer ZIP to write.
    #[arg(short = 'o', long = "out", value_name = "ZIP")]
    pub out: PathBuf,
    /// Python interpreter with pip [default: $LAMINA_PYTHON, else python3].
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// npm executable, for Node.js runtimes [default: $LAMINA_NPM, else npm].
    #[arg(long, value_name = "PATH")]
    pub npm: Option<PathBuf>,
    /// Run the npm packages' install scripts (off by default: they run code at build time).
    #[arg(long)]
    pub scripts: bool,
    /// Where the packages go in the layer [default: python for Python, nodejs for Node.js].
    #[arg(long, value_enum)]
    pub layout: Option<LayoutArg>,
}

/// What to build, once the runtime has said which tool installs.
enum Plan {
    Python(BuildSpec),
    Node(NodeBuildSpec),
}

/// Checks that the options fit the runtime, and turns them into a build.
fn plan(args: &BuildArgs) -> anyhow::Result<Plan> {
    if node_major(&args.runtime).is_some() {
        if args.requirements.is_some() {
            bail!(
                "-r/--requirements is for Python runtimes: give a Node.js layer's dependencies with --package-json"
            );
        }
        let layout = match args.layout {
            None | Some(LayoutArg::Nodejs) => NodeLayout::NodeModules,
            Some(LayoutArg::NodeVersion) => NodeLayout::Versioned,
            Some(other) => bail!(
                "--layout {} is for Python runtimes: a Node.js layer takes nodejs or node-version",
                layout_name(other)
            ),
        };
        return Ok(Plan::Node(NodeBuildSpec {
            packages: args.packages.clone(),
            package_json: args.package_json.clone(),
            runtime: args.runtime.clone(),
            arch: args.arch.into(),
            layout,
            npm: resolve_npm(args.npm.as_deref()),
            scripts: args.scripts,
        }));
    }
    if args.package_json.is_some() || args.scripts {
        bail!(
            "--package-json and --scripts are for Node.js runtimes (nodejsNN.x), not {}",
            args.runtime
        );
    }
    let layout = match args.layout {
        None | Some(LayoutArg::Python) => Layout::Python,
        Some(LayoutArg::SitePackages) => Layout::SitePackages,
        Some(other) => bail!(
            "--layout {} is for Node.js runtimes: a Python layer takes python or site-packages",
            layout_name(other)
        ),
    };
    Ok(Plan::Python(BuildSpec {
        packages: args.packages.clone(),
        requirements: args.requirements.clone(),
        runtime: args.runtime.clone(),
        arch: args.arch.into(),
        layout,
        python: resolve_python(args.python.as_deref()),
    }))
}

fn layout_name(layout: LayoutArg) -> &'static str {
    match layout {
        LayoutArg::Python => "python",
        LayoutArg::SitePackages => "site-packages",
        LayoutArg::Nodejs => "nodejs",
        LayoutArg::NodeVersion => "node-version",
    }
}

/// Builds the layer and prints a summary on stdout; progress goes to stderr when it is a
/// terminal.
///
/// # Errors
/// When pip or writing the ZIP fails; the message says which package or file.
pub fn run(args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let plan = plan(args)?;
    let bar = progress_bar();
    let arch_name = arch_name(args.arch);
    let tool = match plan {
        Plan::Python(_) => "pip",
        Plan::Node(_) => "npm",
    };
    let mut on_event = |event: BuildEvent<'_>| match event {
        BuildEvent::Installing { cross } => {
            bar.set_message(match (tool, cross) {
                ("pip", true) => {
                    format!("pip: resolving wheels for {} on {arch_name}", args.runtime)
                }
                (_, true) => format!("{tool}: installing for {arch_name}"),
                _ => format!("{tool}: installing"),
            });
            bar.enable_steady_tick(Duration::from_millis(100));
        }
        BuildEvent::Zipping { entries } => {
            bar.disable_steady_tick();
            bar.set_style(bar_style());
            bar.set_length(entries);
            bar.set_position(0);
            bar.set_message("zipping");
        }
        BuildEvent::Zipped { .. } => bar.inc(1),
    };
    let result = match &plan {
        Plan::Python(spec) => build_layer(spec, &args.out, &mut on_event),
        Plan::Node(spec) => build_node_layer(spec, &args.out, &mut on_event),
    };
    bar.finish_and_clear();
    let summary = result.with_context(|| format!("cannot build {}", args.out.display()))?;
    let mut stderr = std::io::stderr().lock();
    for note in &summary.notes {
        let _ = writeln!(stderr, "warning: {note}");
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(summary_text(args, &summary).as_bytes())
        .context("cannot write to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// The lines printed after a build.
pub fn summary_text(args: &BuildArgs, summary: &BuildSummary) -> String {
    format!(
        "wrote {output} ({runtime}, {arch})\n\
         files:      {files} ({dirs} directories, {links} symlinks)\n\
         zipped:     {zipped} ({zipped_bytes} bytes)\n\
         unzipped:   {unzipped} ({unzipped_bytes} bytes), {share} of the 250 MB limit\n\
         CodeSha256: {sha}\n",
        output = args.out.display(),
        runtime = args.runtime,
        arch = arch_name(args.arch),
        files = summary.zip.files,
        dirs = summary.zip.directories,
        links = summary.zip.symlinks,
        zipped = human_size(summary.zipped_bytes),
        zipped_bytes = summary.zipped_bytes,
        unzipped = human_size(summary.zip.unzipped_bytes),
        unzipped_bytes = summary.zip.unzipped_bytes,
        share = percent(summary.share_of_unzipped_limit()),
        sha = summary.code_sha256,
    )
}

fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86_64",
        Arch::Arm64 => "arm64",
    }
}

/// A spinner on stderr, hidden when stderr is not a terminal.
fn progress_bar() -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        build: BuildArgs,
    }

    #[test]
    fn defaults_and_flags_parse() {
        let cli = Cli::parse_from(["lamina", "requests", "-o", "layer.zip"]);
        assert_eq!(cli.build.packages, ["requests"]);
        assert_eq!(cli.build.runtime, "python3.12");
        assert_eq!(cli.build.arch, Arch::X86_64);
        assert_eq!(cli.build.layout, None);
        let cli = Cli::parse_from([
            "lamina",
            "-r",
            "req.txt",
            "--arch",
            "arm64",
            "--layout",
            "site-packages",
            "--runtime",
            "python3.11",
            "--out",
            "x.zip",
        ]);
        assert_eq!(cli.build.arch, Arch::Arm64);
        assert_eq!(cli.build.layout, Some(LayoutArg::SitePackages));
        assert!(
            Cli::try_parse_from(["lamina", "requests"]).is_err(),
            "-o is required"
        );
    }

    #[test]
    fn a_python_without_pip_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let args = BuildArgs {
            packages: vec![String::from("requests")],
            requirements: None,
            package_json: None,
            runtime: String::from("python3.12"),
            arch: Arch::X86_64,
            out: dir.path().join("layer.zip"),
            python: Some(dir.path().join("no-such-python")),
            npm: None,
            scripts: false,
            layout: Some(LayoutArg::Python),
        };
        let err = run(&args).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("no-such-python"), "{text}");
        assert!(!args.out.exists());
    }

    #[test]
    fn options_must_fit_the_runtime() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["lamina", "-o", "x.zip"];
            argv.extend_from_slice(extra);
            plan(&Cli::parse_from(argv).build)
        };
        let node = parse(&["--runtime", "nodejs20.x", "is-number"]).unwrap();
        assert!(
            matches!(&node, Plan::Node(s) if s.layout == NodeLayout::NodeModules && !s.scripts)
        );
        let versioned = parse(&[
            "--runtime",
            "nodejs22.x",
            "--layout",
            "node-version",
            "--scripts",
            "x",
        ]);
        assert!(
            matches!(versioned.unwrap(), Plan::Node(s) if s.layout == NodeLayout::Versioned && s.scripts)
        );
        for (bad, says) in [
            (
                &["--runtime", "nodejs20.x", "-r", "req.txt"][..],
                "--package-json",
            ),
            (
                &["--runtime", "nodejs20.x", "--layout", "site-packages"][..],
                "Python runtimes",
            ),
            (&["--package-json", "package.json"][..], "Node.js runtimes"),
            (&["--layout", "nodejs", "requests"][..], "Node.js runtimes"),
        ] {
            let err = parse(bad).err().unwrap().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }

    #[test]
    fn a_missing_npm_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut args =
            Cli::parse_from(["lamina", "--runtime", "nodejs20.x", "ms", "-o", "l.zip"]).build;
        args.out = dir.path().join("layer.zip");
        args.npm = Some(dir.path().join("no-such-npm"));
        let text = format!("{:#}", run(&args).unwrap_err());
        assert!(text.contains("no-such-npm"), "{text}");
        assert!(text.contains("install Node.js and npm"), "{text}");
        assert!(!args.out.exists());
    }
}
