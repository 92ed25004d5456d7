//! Runs pip to install packages into a layer tree, for the target platform.
//!
//! When the interpreter's Python version and machine match the target, pip installs natively
//! (and may build from source distributions). Otherwise it resolves for the target with
//! `--platform`/`--python-version`/`--implementation cp --only-binary=:all:`, which cannot
//! compile anything, so every package needs a wheel for that platform.
//!
//! pip always runs with `--no-compile`: the `.pyc` files it would write embed timestamps and
//! the install path, which would make two builds differ. Python compiles the sources when it
//! imports them; `/opt` is read-only, so the compiled code is simply not cached.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::tail;

use lamina_types::runtime::Architecture;

use super::BuildError;

/// Environment variable naming the Python interpreter, when `--python` is not given.
pub const PYTHON_ENV: &str = "LAMINA_PYTHON";

/// Interpreter used when neither `--python` nor [`PYTHON_ENV`] names one.
pub const DEFAULT_PYTHON: &str = "python3";

/// `SOURCE_DATE_EPOCH` given to pip, so wheels it builds from source get fixed timestamps too
/// (1980-01-01, the earliest a ZIP can hold).
const SOURCE_DATE_EPOCH: &str = "315532800";

/// The interpreter for pip: `explicit`, else `$LAMINA_PYTHON`, else `python3` on `PATH`.
pub fn resolve_python(explicit: Option<&Path>) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_owned();
    }
    match std::env::var_os(PYTHON_ENV) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => PathBuf::from(DEFAULT_PYTHON),
    }
}

/// A Python version, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonVersion {
    /// Major version (3).
    pub major: u8,
    /// Minor version (12 for Python 3.12).
    pub minor: u8,
}

impl PythonVersion {
    /// Parses a Lambda runtime identifier such as `python3.12`; `None` for other runtimes.
    pub fn from_runtime(runtime: &str) -> Option<Self> {
        Self::parse(runtime.strip_prefix("python")?)
    }

    /// Parses `3.12`.
    pub fn parse(s: &str) -> Option<Self> {
        let (major, minor) = s.split_once('.')?;
        Some(Self {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// The highest glibc of the runtime's Amazon Linux: 2.34 on AL2023 (Python 3.12 and
    /// later), 2.26 on Amazon Linux 2.
    pub fn glibc_minor(self) -> u8 {
        if (self.major, self.minor) >= (3, 12) {
            34
        } else {
            26
        }
    }
}

impl std::fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The machine name of an architecture as ELF, wheel tags and `platform.machine()` spell it.
pub fn machine(arch: Architecture) -> &'static str {
    match arch {
        Architecture::X86_64 => "x86_64",
        Architecture::Arm64 => "aarch64",
    }
}

/// The manylinux platform tags a Lambda runtime accepts, newest first.
pub fn platform_tags(version: PythonVersion, arch: Architecture) -> Vec<String> {
    let machine = machine(arch);
    let mut tags: Vec<String> = (17..=version.glibc_minor())
        .rev()
        .map(|minor| format!("manylinux_2_{minor}_{machine}"))
        .collect();
    // pip expands this one to manylinux2010 and manylinux1 on x86_64.
    tags.push(format!("manylinux2014_{machine}"));
    tags
}

/// What the interpreter reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// The path it was started as.
    pub path: PathBuf,
    /// Its `sys.version_info[:2]`.
    pub version: PythonVersion,
    /// Its `platform.machine()`.
    pub machine: String,
}

const PROBE: &str = "import importlib.util, platform, sys\n\
print(sys.version_info[0], sys.version_info[1], platform.machine(), \
importlib.util.find_spec('pip') is not None)";

/// Starts `python` once to learn its version and machine, and checks it has pip.
///
/// # Errors
/// [`BuildError::PythonNotFound`] when it cannot be started, [`BuildError::NoPip`] when it
/// has no `pip` module, [`BuildError::PythonProbe`] when its answer makes no sense.
pub fn probe(python: &Path) -> Result<Interpreter, BuildError> {
    let output = Command::new(python)
        .args(["-I", "-c", PROBE])
        .output()
        .map_err(|source| BuildError::PythonNotFound {
            python: python.to_owned(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = stdout.split_whitespace().collect();
    let parsed = match fields.as_slice() {
        [major, minor, machine, has_pip] if output.status.success() => {
            match (major.parse(), minor.parse()) {
                (Ok(major), Ok(minor)) => Some((major, minor, *machine, *has_pip == "True")),
                _ => None,
            }
        }
        _ => None,
    };
    let Some((major, minor, machine, has_pip)) = parsed else {
        return Err(BuildError::PythonProbe {
            python: python.to_owned(),
            output: tail(&output, 5),
        });
    };
    if !has_pip {
        return Err(BuildError::NoPip {
            python: python.to_owned(),
        });
    }
    Ok(Interpreter {
        path: python.to_owned(),
        version: PythonVersion { major, minor },
        machine: machine.to_owned(),
    })
}

/// What to install and for which platform.
#[derive(Debug, Clone)]
pub struct PipInstall<'a> {
    /// Requirement specifiers (`requests`, `numpy==2.1`, a path to a wheel).
    pub packages: &'a [String],
    /// A requirements file, passed as `-r`.
    pub requirements: Option<&'a Path>,
    /// The runtime's Python version.
    pub version: PythonVersion,
    /// The function's architecture.
    pub arch: Architecture,
    /// Directory pip installs into (`--target`).
    pub target: &'a Path,
}

/// Whether pip must resolve for another platform than the interpreter's own.
pub fn is_cross(interpreter: &Interpreter, version: PythonVersion, arch: Architecture) -> bool {
    interpreter.version != version || interpreter.machine != machine(arch)
}

/// The arguments after `<python>`.
pub fn pip_args(install: &PipInstall<'_>, cross: bool) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "-m",
        "pip",
        "install",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
        "--target",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(install.target.as_os_str().to_owned());
    if cross {
        for tag in platform_tags(install.version, install.arch) {
            args.push("--platform".into());
            args.push(tag.into());
        }
        args.push("--python-version".into());
        args.push(install.version.to_string().into());
        args.push("--implementation".into());
        args.push("cp".into());
        args.push("--only-binary=:all:".into());
    }
    args.extend(install.packages.iter().map(OsString::from));
    if let Some(file) = install.requirements {
        args.push("-r".into());
        args.push(file.as_os_str().to_owned());
    }
    args
}

/// Runs pip for `install` with `interpreter`.
///
/// # Errors
/// [`BuildError::NoWheel`] when pip found no distribution for a package while resolving for
/// another platform, [`BuildError::NoDistribution`] when it found none natively, and
/// [`BuildError::Pip`] for any other failure.
pub fn run_pip(interpreter: &Interpreter, install: &PipInstall<'_>) -> Result<(), BuildError> {
    let cross = is_cross(interpreter, install.version, install.arch);
    let output = Command::new(&interpreter.path)
        .args(pip_args(install, cross))
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .map_err(|source| BuildError::PythonNotFound {
            python: interpreter.path.clone(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if let Some(package) = missing_distribution(&stderr) {
        let platform = format!(
            "python{} on {} ({})",
            install.version,
            match install.arch {
                Architecture::X86_64 => "x86_64",
                Architecture::Arm64 => "arm64",
            },
            platform_tags(install.version, install.arch)
                .first()
                .map_or("manylinux", String::as_str),
        );
        return Err(if cross {
            BuildError::NoWheel { package, platform }
        } else {
            BuildError::NoDistribution { package }
        });
    }
    Err(BuildError::Pip {
        status: output.status.code(),
        output: tail(&output, 20),
    })
}

/// The requirement of pip's "No matching distribution found for X" line, if any.
fn missing_distribution(stderr: &str) -> Option<String> {
    stderr.lines().find_map(|line| {
        let rest = line.split("No matching distribution found for ").nth(1)?;
        Some(rest.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_versions_parse() {
        assert_eq!(
            PythonVersion::from_runtime("python3.12"),
            Some(PythonVersion {
                major: 3,
                minor: 12
            })
        );
        assert_eq!(PythonVersion::from_runtime("nodejs22.x"), None);
        assert_eq!(PythonVersion::from_runtime("python3"), None);
    }

    #[test]
    fn platform_tags_follow_the_runtime_glibc() {
        let v312 = PythonVersion::from_runtime("python3.12").unwrap();
        let tags = platform_tags(v312, Architecture::Arm64);
        assert_eq!(tags.first().unwrap(), "manylinux_2_34_aarch64");
        assert!(tags.contains(&String::from("manylinux_2_17_aarch64")));
        assert_eq!(tags.last().unwrap(), "manylinux2014_aarch64");
        let v311 = PythonVersion::from_runtime("python3.11").unwrap();
        assert_eq!(
            platform_tags(v311, Architecture::X86_64).first().unwrap(),
            "manylinux_2_26_x86_64"
        );
    }

    #[test]
    fn cross_args_pin_platform_and_binary_only() {
        let packages = vec![String::from("charset-normalizer")];
        let install = PipInstall {
            packages: &packages,
            requirements: Some(Path::new("req.txt")),
            version: PythonVersion::parse("3.12").unwrap(),
            arch: Architecture::Arm64,
            target: Path::new("/tmp/t/python"),
        };
        let args: Vec<String> = pip_args(&install, true)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        let joined = args.join(" ");
        assert!(
            joined.starts_with("-m pip install --no-compile"),
            "{joined}"
        );
        assert!(joined.contains("--target /tmp/t/python"), "{joined}");
        assert!(
            joined.contains("--platform manylinux_2_34_aarch64"),
            "{joined}"
        );
        assert!(
            joined.contains("--python-version 3.12 --implementation cp --only-binary=:all:"),
            "{joined}"
        );
        assert!(
            joined.ends_with("charset-normalizer -r req.txt"),
            "{joined}"
        );
        let native = pip_args(&install, false);
        assert!(!native.iter().any(|a| a == "--platform"));
    }

    #[test]
    fn missing_distribution_names_the_requirement() {
        let stderr = "ERROR: Could not find a version that satisfies the requirement \
                      nosuch (from versions: none)\n\
                      ERROR: No matching distribution found for nosuch==1.0\n";
        assert_eq!(missing_distribution(stderr).as_deref(), Some("nosuch==1.0"));
        assert_eq!(missing_distribution("ERROR: other"), None);
    }

    #[test]
    fn a_missing_interpreter_is_reported() {
        let err = probe(Path::new("/nonexistent/python")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/python"), "{err}");
    }

    #[test]
    fn a_python_without_pip_is_reported() {
        // A fake interpreter that answers the probe without pip.
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("python");
        std::fs::write(&fake, "#!/bin/sh\necho 3 12 x86_64 False\n").unwrap();
        std::fs::set_permissions(
            &fake,
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
        )
        .unwrap();
        let err = probe(&fake).unwrap_err();
        assert!(matches!(err, BuildError::NoPip { .. }), "{err}");
        assert!(err.to_string().contains("no pip"), "{err}");
    }
}
