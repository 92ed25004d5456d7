//! What the heavy-layer benches share: the numpy + pandas layer, installed from pinned PyPI
//! wheels (downloaded once into `target/bench-wheels` with the e2e venv's pip, made by
//! `scripts/prepare-tests`; `LAMINA_BENCH_PIP` names another) for CPython 3.12 on
//! manylinux2014 x86_64, with `--no-compile` as `lamina layer build` does.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

/// The packages of the layer, pinned so runs compare.
pub const PACKAGES: [&str; 2] = ["numpy==2.2.6", "pandas==2.3.2"];

/// Installs the pinned wheels (downloaded once into `target/bench-wheels`) into `target`.
pub fn install_layer(repo: &Path, target: &Path) -> Result<()> {
    let pip = std::env::var_os("LAMINA_BENCH_PIP")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target/e2e-venv/bin/pip"));
    if !pip.is_file() {
        bail!(
            "no pip at {} (scripts/prepare-tests makes it; LAMINA_BENCH_PIP names another)",
            pip.display()
        );
    }
    let wheels = repo.join("target/bench-wheels");
    let platform = [
        "--only-binary=:all:",
        "--python-version",
        "3.12",
        "--platform",
        "manylinux2014_x86_64",
    ];
    let have = |name: &str| {
        std::fs::read_dir(&wheels).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let file = e.file_name().to_string_lossy().into_owned();
                file.starts_with(&name.replace("==", "-")) && file.ends_with(".whl")
            })
        })
    };
    if !PACKAGES.iter().all(|p| have(p)) {
        let mut args = vec!["download", "-q", "-d"];
        let wheels_arg = wheels.to_string_lossy().into_owned();
        args.push(&wheels_arg);
        args.extend(platform);
        args.extend(PACKAGES);
        run(&pip, &args, None)?;
    }
    let target_arg = target.to_string_lossy().into_owned();
    let wheels_arg = wheels.to_string_lossy().into_owned();
    let mut args = vec![
        "install",
        "-q",
        "--no-compile",
        "--no-warn-conflicts",
        "--no-index",
        "--find-links",
        &wheels_arg,
        "--target",
        &target_arg,
    ];
    args.extend(platform);
    args.extend(PACKAGES);
    run(&pip, &args, None)
}

pub fn run(program: &Path, args: &[&str], cwd: Option<&Path>) -> Result<()> {
    let mut command = Command::new(program);
    command.args(args);
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let status = command
        .status()
        .with_context(|| format!("{}", program.display()))?;
    ensure!(status.success(), "{} {args:?} failed", program.display());
    Ok(())
}

/// Files and bytes under `root`.
pub fn tree_size(root: &Path) -> Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                files += 1;
                bytes += entry.metadata()?.len();
            }
        }
    }
    Ok((files, bytes))
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
