//! `lamina layer build`: pip installs packages for a runtime and architecture, and writes a
//! reproducible layer ZIP.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lamina_layers::build::{
    BuildEvent, BuildSpec, BuildSummary, Layout, build_layer, resolve_python,
};

use super::{Arch, human_size, percent};

/// `--layout`: where in the layer pip installs.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutArg {
    /// `python/`: found by every Python runtime.
    #[value(name = "python")]
    Python,
    /// `python/lib/pythonX.Y/site-packages/`: only by the runtime's own Python version.
    #[value(name = "site-packages")]
    SitePackages,
}

/// Arguments of `lamina layer build`.
#[derive(clap::Args, Debug, Clone)]
pub struct BuildArgs {
    /// Packages to install, as pip requirement specifiers (`requests`, `numpy==2.1`).
    #[arg(value_name = "PACKAGE")]
    pub packages: Vec<String>,
    /// A requirements file for pip.
    #[arg(short = 'r', long = "requirements", value_name = "FILE")]
    pub requirements: Option<PathBuf>,
    /// Runtime the layer is for; its Python version picks the wheels.
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
    /// Where the packages go in the layer.
    #[arg(long, value_enum, default_value_t = LayoutArg::Python)]
    pub layout: LayoutArg,
}

/// Builds the layer and prints a summary on stdout; progress goes to stderr when it is a
/// terminal.
///
/// # Errors
/// When pip or writing the ZIP fails; the message says which package or file.
pub fn run(args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let spec = BuildSpec {
        packages: args.packages.clone(),
        requirements: args.requirements.clone(),
        runtime: args.runtime.clone(),
        arch: args.arch.into(),
        layout: match args.layout {
            LayoutArg::Python => Layout::Python,
            LayoutArg::SitePackages => Layout::SitePackages,
        },
        python: resolve_python(args.python.as_deref()),
    };
    let bar = progress_bar();
    let arch_name = arch_name(args.arch);
    let result = build_layer(&spec, &args.out, &mut |event| match event {
        BuildEvent::Installing { cross } => {
            bar.set_message(if cross {
                format!("pip: resolving wheels for {} on {arch_name}", spec.runtime)
            } else {
                String::from("pip: installing")
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
    });
    bar.finish_and_clear();
    let summary = result.with_context(|| format!("cannot build {}", args.out.display()))?;
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
        assert_eq!(cli.build.layout, LayoutArg::Python);
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
        assert_eq!(cli.build.layout, LayoutArg::SitePackages);
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
            runtime: String::from("python3.12"),
            arch: Arch::X86_64,
            out: dir.path().join("layer.zip"),
            python: Some(dir.path().join("no-such-python")),
            layout: LayoutArg::Python,
        };
        let err = run(&args).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("no-such-python"), "{text}");
        assert!(!args.out.exists());
    }
}
