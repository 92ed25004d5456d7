//! Builds a layer ZIP: pip (Python runtimes) or npm (Node.js runtimes, [`npm`]) installs
//! into the layout the runtime searches, then the tree is written as a reproducible ZIP (same
//! inputs, same bytes, same `CodeSha256`).
//!
//! `pip` orchestration lives in [`pip`], the ZIP writer in [`zip_tree`], and [`scripts`]
//! makes pip's console scripts independent of the interpreter that ran it.
//!
//! What makes two builds identical: pip runs with `--no-compile` (no `.pyc`, which embed
//! timestamps and paths), console-script shebangs are rewritten, and the ZIP is written
//! sorted with fixed times and normalised modes. pip's own metadata (`INSTALLER`, `RECORD`,
//! `REQUESTED`, `direct_url.json` for URL or path requirements) depends only on the inputs.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use lamina_types::limits::MAX_UNZIPPED_BYTES;
use lamina_types::runtime::Architecture;

pub mod npm;
pub mod pip;
pub mod scripts;
pub mod zip_tree;

pub use npm::{NodeBuildSpec, NodeLayout, build_node_layer, node_major, resolve_npm};
pub use pip::{PythonVersion, resolve_python};
pub use zip_tree::{ZipSummary, code_sha256, write_reproducible_zip};

/// Where in the layer pip installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// `python/`: on `sys.path` for every Python runtime.
    #[default]
    Python,
    /// `python/lib/pythonX.Y/site-packages/`: only for the runtime's own Python version.
    SitePackages,
}

impl Layout {
    /// The directory inside the ZIP, without a trailing slash.
    pub fn dir(self, version: PythonVersion) -> String {
        match self {
            Self::Python => String::from("python"),
            Self::SitePackages => format!("python/lib/python{version}/site-packages"),
        }
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// Requirement specifiers handed to pip.
    pub packages: Vec<String>,
    /// A requirements file handed to pip as `-r`.
    pub requirements: Option<PathBuf>,
    /// The Lambda runtime, `pythonX.Y`.
    pub runtime: String,
    /// The function's architecture.
    pub arch: Architecture,
    /// Where in the layer the packages go.
    pub layout: Layout,
    /// The interpreter that runs pip; see [`resolve_python`].
    pub python: PathBuf,
}

/// Progress of [`build_layer`], for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildEvent<'a> {
    /// pip has started; nothing is known about its progress.
    Installing {
        /// Whether pip resolves for another platform than the interpreter's.
        cross: bool,
    },
    /// pip is done and the ZIP is about to be written.
    Zipping {
        /// Number of entries the ZIP will have.
        entries: u64,
    },
    /// One entry has been written.
    Zipped {
        /// Its name in the ZIP.
        name: &'a str,
    },
}

/// What [`build_layer`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSummary {
    /// Entry counts and the unzipped size.
    pub zip: ZipSummary,
    /// Size of the ZIP file, in bytes.
    pub zipped_bytes: u64,
    /// Base64 of the ZIP's SHA-256, as Lambda reports `CodeSha256`.
    pub code_sha256: String,
    /// What the user should know about the result (npm install scripts that did not run).
    pub notes: Vec<String>,
}

impl BuildSummary {
    /// The unzipped size as a share of the 250 MB limit (`1.0` is the limit).
    pub fn share_of_unzipped_limit(&self) -> f64 {
        share_of(self.zip.unzipped_bytes, MAX_UNZIPPED_BYTES)
    }
}

/// `part / whole` as a float, for display.
#[allow(clippy::cast_precision_loss)]
pub fn share_of(part: u64, whole: u64) -> f64 {
    part as f64 / whole as f64
}

/// Why a layer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The runtime is neither a Python nor a Node.js one.
    #[error(
        "runtime {runtime} has no layer build (expected pythonX.Y or nodejsNN.x, e.g. \
         python3.12 or nodejs20.x)"
    )]
    UnsupportedRuntime {
        /// The runtime asked for.
        runtime: String,
    },
    /// Neither packages nor a requirements file were given.
    #[error(
        "nothing to install: give package names, or -r requirements.txt (Python) or \
         --package-json (Node.js)"
    )]
    NothingToInstall,
    /// The interpreter could not be started.
    #[error("cannot run python {python}: {source} (pass --python or set LAMINA_PYTHON)")]
    PythonNotFound {
        /// The interpreter.
        python: PathBuf,
        /// Why it did not start.
        source: io::Error,
    },
    /// The interpreter did not answer the version probe.
    #[error("{python} does not look like a python interpreter: {output}")]
    PythonProbe {
        /// The interpreter.
        python: PathBuf,
        /// The end of what it printed.
        output: String,
    },
    /// The interpreter has no pip module.
    #[error(
        "{python} has no pip module (Debian's python3 ships without it): install python3-pip, \
         or pass --python (or set LAMINA_PYTHON) to a venv's python"
    )]
    NoPip {
        /// The interpreter.
        python: PathBuf,
    },
    /// pip found no wheel for a package on the target platform.
    #[error(
        "no wheel of {package} for {platform}: building for another platform needs wheels, \
         pip cannot compile source distributions for it"
    )]
    NoWheel {
        /// The requirement pip named.
        package: String,
        /// The runtime, architecture and newest platform tag asked for.
        platform: String,
    },
    /// pip found no distribution at all for a package.
    #[error(
        "pip found no distribution of {package}: check its name and the index (PIP_INDEX_URL, PIP_FIND_LINKS)"
    )]
    NoDistribution {
        /// The requirement pip named.
        package: String,
    },
    /// pip failed for another reason.
    #[error("pip failed (exit status {status:?}):\n{output}")]
    Pip {
        /// Its exit code, if it exited.
        status: Option<i32>,
        /// The end of its error output.
        output: String,
    },
    /// npm could not be started.
    #[error(
        "cannot run npm ({npm}): {source} — install Node.js and npm (Debian: apt-get install \
         npm), or pass --npm (or set LAMINA_NPM) to an npm executable"
    )]
    NpmNotFound {
        /// The npm executable.
        npm: PathBuf,
        /// Why it did not start.
        source: io::Error,
    },
    /// The registry has no such package, or no version matching the request.
    #[error(
        "npm found no {package} in the registry: check its name and version, and the registry \
         npm is configured with (npm config get registry)"
    )]
    NpmNoPackage {
        /// The package spec npm named.
        package: String,
    },
    /// npm failed for another reason.
    #[error("npm failed ({status}):\n{output}")]
    Npm {
        /// How it ended: `exit status 1`, or the signal that killed it.
        status: String,
        /// The end of its error output.
        output: String,
    },
    /// A scratch directory could not be created.
    #[error("cannot create a scratch directory in {dir}: {source}")]
    Scratch {
        /// Where.
        dir: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The installed tree could not be read.
    #[error("cannot read {path}: {source}")]
    Walk {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file name is not UTF-8.
    #[error("{path}: file name is not utf-8")]
    NonUtf8Name {
        /// The file.
        path: PathBuf,
    },
    /// The tree holds a FIFO, socket or device.
    #[error("{path}: not a regular file, directory or symlink")]
    SpecialFile {
        /// The file.
        path: PathBuf,
    },
    /// A symlink is absolute, dangling or leaves the tree.
    #[error("{path}: symlink refused because {reason}")]
    EscapingSymlink {
        /// The symlink.
        path: PathBuf,
        /// What is wrong with its target.
        reason: String,
    },
    /// The ZIP writer failed.
    #[error("cannot write zip entry {entry}: {source}")]
    Zip {
        /// The entry being written.
        entry: String,
        /// Why.
        source: zip::result::ZipError,
    },
    /// The output file could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The output file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// Installs `spec`'s packages with pip into a scratch tree and writes it to `output` as a
/// reproducible ZIP. The ZIP is written next to `output` and renamed into place, so a failed
/// build leaves no partial file.
///
/// # Errors
/// See [`BuildError`]; pip's own errors are mapped to [`BuildError::NoWheel`],
/// [`BuildError::NoDistribution`] or [`BuildError::Pip`].
pub fn build_layer(
    spec: &BuildSpec,
    output: &Path,
    on_event: &mut dyn FnMut(BuildEvent<'_>),
) -> Result<BuildSummary, BuildError> {
    let version = PythonVersion::from_runtime(&spec.runtime).ok_or_else(|| {
        BuildError::UnsupportedRuntime {
            runtime: spec.runtime.clone(),
        }
    })?;
    if spec.packages.is_empty() && spec.requirements.is_none() {
        return Err(BuildError::NothingToInstall);
    }
    let interpreter = pip::probe(&spec.python)?;
    let scratch = tempfile::Builder::new()
        .prefix("lamina-layer-build-")
        .tempdir()
        .map_err(|source| BuildError::Scratch {
            dir: std::env::temp_dir(),
            source,
        })?;
    let tree = scratch.path().join("tree");
    let target = tree.join(spec.layout.dir(version));
    fs::create_dir_all(&target).map_err(|source| BuildError::Scratch {
        dir: target.clone(),
        source,
    })?;
    on_event(BuildEvent::Installing {
        cross: pip::is_cross(&interpreter, version, spec.arch),
    });
    pip::run_pip(
        &interpreter,
        &pip::PipInstall {
            packages: &spec.packages,
            requirements: spec.requirements.as_deref(),
            version,
            arch: spec.arch,
            target: &target,
        },
    )?;
    scripts::normalise_scripts(&target, &interpreter.path)?;
    on_event(BuildEvent::Zipping {
        entries: zip_tree::count_entries(&tree)?,
    });
    write_zip_file(&tree, output, on_event)
}

/// Writes `tree` to `output` through a sibling temporary file, then hashes it.
fn write_zip_file(
    tree: &Path,
    output: &Path,
    on_event: &mut dyn FnMut(BuildEvent<'_>),
) -> Result<BuildSummary, BuildError> {
    let out_err = |source| BuildError::Output {
        path: output.to_owned(),
        source,
    };
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let partial = tempfile::Builder::new()
        .prefix(".lamina-layer-")
        .suffix(".zip.partial")
        .tempfile_in(parent)
        .map_err(out_err)?;
    let file = partial.reopen().map_err(out_err)?;
    let mut writer = BufWriter::new(file);
    let zip = write_reproducible_zip(tree, &mut writer, &mut |name| {
        on_event(BuildEvent::Zipped { name });
    })?;
    writer
        .into_inner()
        .map_err(|e| out_err(e.into_error()))?
        .sync_all()
        .map_err(out_err)?;
    let zipped_bytes = fs::metadata(partial.path()).map_err(out_err)?.len();
    let code_sha256 = code_sha256(File::open(partial.path()).map_err(out_err)?).map_err(out_err)?;
    partial.persist(output).map_err(|e| out_err(e.error))?;
    Ok(BuildSummary {
        zip,
        zipped_bytes,
        code_sha256,
        notes: Vec::new(),
    })
}

/// The last `lines` lines of a tool's stderr (pip's, npm's), or of its stdout when stderr is
/// empty: what an error quotes.
fn tail(output: &std::process::Output, lines: usize) -> String {
    let text = if output.stderr.is_empty() {
        String::from_utf8_lossy(&output.stdout)
    } else {
        String::from_utf8_lossy(&output.stderr)
    };
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_name_the_runtime_paths() {
        let v = PythonVersion::parse("3.12").unwrap();
        assert_eq!(Layout::Python.dir(v), "python");
        assert_eq!(
            Layout::SitePackages.dir(v),
            "python/lib/python3.12/site-packages"
        );
    }

    #[test]
    fn non_python_runtimes_and_empty_requests_are_refused() {
        let mut spec = BuildSpec {
            packages: vec![],
            requirements: None,
            runtime: String::from("nodejs22.x"),
            arch: Architecture::X86_64,
            layout: Layout::Python,
            python: PathBuf::from("python3"),
        };
        let out = Path::new("/nonexistent/out.zip");
        let err = build_layer(&spec, out, &mut |_| {}).unwrap_err();
        assert!(
            matches!(err, BuildError::UnsupportedRuntime { .. }),
            "{err}"
        );
        spec.runtime = String::from("python3.12");
        let err = build_layer(&spec, out, &mut |_| {}).unwrap_err();
        assert!(matches!(err, BuildError::NothingToInstall), "{err}");
    }

    #[test]
    fn the_zip_file_is_written_atomically_and_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        fs::create_dir_all(tree.join("python")).unwrap();
        fs::write(tree.join("python/m.py"), b"x = 1\n").unwrap();
        let out = dir.path().join("layer.zip");
        let summary = write_zip_file(&tree, &out, &mut |_| {}).unwrap();
        let bytes = fs::read(&out).unwrap();
        assert_eq!(summary.zipped_bytes, bytes.len() as u64);
        assert_eq!(summary.code_sha256, code_sha256(&bytes[..]).unwrap());
        assert_eq!(summary.zip.files, 1);
        assert_eq!(summary.zip.unzipped_bytes, 6);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    }
}
