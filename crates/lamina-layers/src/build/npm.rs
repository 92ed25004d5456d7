//! Builds a Node.js layer: `npm install` into the layout the runtime's `NODE_PATH` names
//! (`nodejs/node_modules`, or `nodejs/nodeNN/node_modules` for one Node.js version), then the
//! tree is written as a reproducible ZIP by the same writer as the Python builds.
//!
//! npm runs with the user's own configuration (its `.npmrc`, hence its registry), with
//! `--omit=dev`, for Linux on the layer's CPU (`--os linux --cpu x64|arm64 --libc glibc`, so
//! platform-specific optional packages are the Lambda ones), and with `--ignore-scripts`
//! unless scripts are asked for: install scripts run code at build time and their output
//! (native addons) depends on the builder's machine. Packages that have install scripts
//! which did not run are named in the build's notes.
//!
//! What npm leaves in the tree depends only on the inputs and the registry's answers:
//! `package.json` (the given one, or one npm writes listing the packages asked for),
//! `package-lock.json`, `node_modules/.package-lock.json` and the packages' files; the ZIP
//! writer fixes times, order and modes.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::tail;

use lamina_types::runtime::Architecture;

use super::zip_tree;
use super::{BuildError, BuildEvent, BuildSummary, write_zip_file};

/// Environment variable naming the npm executable, when `--npm` is not given.
pub const NPM_ENV: &str = "LAMINA_NPM";

/// npm used when neither `--npm` nor [`NPM_ENV`] names one.
pub const DEFAULT_NPM: &str = "npm";

/// `SOURCE_DATE_EPOCH` given to npm (and to install scripts, when they run).
const SOURCE_DATE_EPOCH: &str = "315532800";

/// Lock files copied along with a given `package.json`, so npm installs the versions they pin.
const LOCK_FILES: [&str; 2] = ["package-lock.json", "npm-shrinkwrap.json"];

/// npm for the build: `explicit`, else `$LAMINA_NPM`, else `npm` on `PATH`.
pub fn resolve_npm(explicit: Option<&Path>) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_owned();
    }
    match std::env::var_os(NPM_ENV) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => PathBuf::from(DEFAULT_NPM),
    }
}

/// The Node.js major version of a Lambda runtime identifier: 20 for `nodejs20.x`.
pub fn node_major(runtime: &str) -> Option<u32> {
    runtime
        .strip_prefix("nodejs")?
        .strip_suffix(".x")?
        .parse()
        .ok()
}

/// Where in the layer npm installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeLayout {
    /// `nodejs/node_modules/`: on `NODE_PATH` for every Node.js runtime.
    #[default]
    NodeModules,
    /// `nodejs/nodeNN/node_modules/`: only for the runtime's own Node.js major version.
    Versioned,
}

impl NodeLayout {
    /// The npm prefix inside the ZIP (its `node_modules` is below it), without a trailing
    /// slash.
    pub fn prefix(self, major: u32) -> String {
        match self {
            Self::NodeModules => String::from("nodejs"),
            Self::Versioned => format!("nodejs/node{major}"),
        }
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct NodeBuildSpec {
    /// Package specs handed to npm (`is-number`, `ms@2.1.3`, a tarball path).
    pub packages: Vec<String>,
    /// A `package.json` whose dependencies are installed; a `package-lock.json` or
    /// `npm-shrinkwrap.json` beside it comes along.
    pub package_json: Option<PathBuf>,
    /// The Lambda runtime, `nodejsNN.x`.
    pub runtime: String,
    /// The function's architecture.
    pub arch: Architecture,
    /// Where in the layer the packages go.
    pub layout: NodeLayout,
    /// The npm executable; see [`resolve_npm`].
    pub npm: PathBuf,
    /// Whether packages' install scripts run (`--ignore-scripts` otherwise).
    pub scripts: bool,
}

/// npm's name of an architecture (`process.arch`).
pub fn npm_cpu(arch: Architecture) -> &'static str {
    match arch {
        Architecture::X86_64 => "x64",
        Architecture::Arm64 => "arm64",
    }
}

/// npm's name of this machine's architecture, when it is one Lambda has.
fn host_cpu() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Some("x64"),
        "aarch64" => Some("arm64"),
        _ => None,
    }
}

/// The arguments of `npm install` into `prefix`.
pub fn npm_args(spec: &NodeBuildSpec, prefix: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["install", "--prefix"].iter().map(OsString::from).collect();
    args.push(prefix.as_os_str().to_owned());
    for flag in [
        "--omit=dev",
        "--no-audit",
        "--no-fund",
        "--no-update-notifier",
        "--os=linux",
        "--libc=glibc",
    ] {
        args.push(flag.into());
    }
    args.push(format!("--cpu={}", npm_cpu(spec.arch)).into());
    if !spec.scripts {
        args.push("--ignore-scripts".into());
    }
    args.extend(spec.packages.iter().map(OsString::from));
    args
}

/// Installs `spec`'s packages with npm into a scratch tree and writes it to `output` as a
/// reproducible ZIP, atomically (a failed build leaves no file).
///
/// # Errors
/// See [`BuildError`]: [`BuildError::NpmNotFound`] when npm cannot be started,
/// [`BuildError::NpmNoPackage`] when the registry has no such package or version,
/// [`BuildError::Npm`] for any other npm failure.
pub fn build_node_layer(
    spec: &NodeBuildSpec,
    output: &Path,
    on_event: &mut dyn FnMut(BuildEvent<'_>),
) -> Result<BuildSummary, BuildError> {
    let major = node_major(&spec.runtime).ok_or_else(|| BuildError::UnsupportedRuntime {
        runtime: spec.runtime.clone(),
    })?;
    if spec.packages.is_empty() && spec.package_json.is_none() {
        return Err(BuildError::NothingToInstall);
    }
    probe(&spec.npm)?;
    let scratch = tempfile::Builder::new()
        .prefix("lamina-layer-build-")
        .tempdir()
        .map_err(|source| BuildError::Scratch {
            dir: std::env::temp_dir(),
            source,
        })?;
    let tree = scratch.path().join("tree");
    let prefix = tree.join(spec.layout.prefix(major));
    fs::create_dir_all(&prefix).map_err(|source| BuildError::Scratch {
        dir: prefix.clone(),
        source,
    })?;
    seed_manifest(spec.package_json.as_deref(), &prefix)?;
    on_event(BuildEvent::Installing {
        cross: Some(npm_cpu(spec.arch)) != host_cpu(),
    });
    run_npm(spec, &prefix, scratch.path())?;
    let notes = if spec.scripts {
        Vec::new()
    } else {
        skipped_scripts(&prefix)
            .into_iter()
            .map(|package| {
                format!(
                    "{package} has install scripts, which did not run (they build native code \
                     or fetch files at install time): pass --scripts if it needs them"
                )
            })
            .collect()
    };
    on_event(BuildEvent::Zipping {
        entries: zip_tree::count_entries(&tree)?,
    });
    let mut summary = write_zip_file(&tree, output, on_event)?;
    summary.notes = notes;
    Ok(summary)
}

/// Starts `npm --version` once, so a missing npm is told as such.
fn probe(npm: &Path) -> Result<(), BuildError> {
    let output = Command::new(npm)
        .arg("--version")
        .output()
        .map_err(|source| BuildError::NpmNotFound {
            npm: npm.to_owned(),
            source,
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(BuildError::Npm {
            status: exit_status(&output),
            output: tail(&output, 10),
        })
    }
}

/// Writes the `package.json` npm installs from: a copy of the given one (with its lock file),
/// else an empty one, which also keeps npm from adopting a `package.json` above the scratch
/// directory as its project.
fn seed_manifest(package_json: Option<&Path>, prefix: &Path) -> Result<(), BuildError> {
    let walk_err = |path: &Path| {
        let path = path.to_owned();
        move |source| BuildError::Walk { path, source }
    };
    let target = prefix.join("package.json");
    let Some(given) = package_json else {
        return fs::write(&target, "{}\n").map_err(walk_err(&target));
    };
    fs::copy(given, &target).map_err(walk_err(given))?;
    let dir = given.parent().unwrap_or(Path::new("."));
    for lock in LOCK_FILES {
        let path = dir.join(lock);
        match fs::copy(&path, prefix.join(lock)) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(BuildError::Walk { path, source: e }),
        }
    }
    Ok(())
}

/// Runs npm for `spec` into `prefix`, from `cwd`.
fn run_npm(spec: &NodeBuildSpec, prefix: &Path, cwd: &Path) -> Result<(), BuildError> {
    let output = Command::new(&spec.npm)
        .args(npm_args(spec, prefix))
        .current_dir(cwd)
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .env("npm_config_update_notifier", "false")
        .output()
        .map_err(|source| BuildError::NpmNotFound {
            npm: spec.npm.clone(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if let Some(package) = missing_package(&stderr) {
        return Err(BuildError::NpmNoPackage { package });
    }
    Err(BuildError::Npm {
        status: exit_status(&output),
        output: tail(&output, 20),
    })
}

/// `exit status 1`, or how npm ended when it did not exit.
fn exit_status(output: &Output) -> String {
    output.status.to_string()
}

/// The package of npm's "not in this registry" (E404) or "No matching version found"
/// (ETARGET) error, if that is what failed.
fn missing_package(stderr: &str) -> Option<String> {
    stderr.lines().find_map(|line| {
        if let Some(rest) = line.split("No matching version found for ").nth(1) {
            return Some(rest.trim().trim_end_matches('.').to_owned());
        }
        // npm 10: "'x@*' is not in this registry."; npm 11: "The requested resource 'x@*'
        // could not be found or you do not have permission to access it."
        let (before, _) = line
            .split_once("' is not in this registry")
            .or_else(|| line.split_once("' could not be found"))?;
        let (_, quoted) = before.rsplit_once('\'')?;
        Some(quoted.to_owned())
    })
}

/// The packages npm's hidden lock file marks `hasInstallScript`, by name.
fn skipped_scripts(prefix: &Path) -> Vec<String> {
    let lock = prefix.join("node_modules/.package-lock.json");
    let Ok(text) = fs::read_to_string(lock) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let mut names: Vec<String> = json
        .get("packages")
        .and_then(serde_json::Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, p)| p.get("hasInstallScript") == Some(&serde_json::Value::Bool(true)))
        .filter_map(|(path, _)| Some(path.rsplit_once("node_modules/")?.1.to_owned()))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> NodeBuildSpec {
        NodeBuildSpec {
            packages: vec![String::from("is-number@7.0.0")],
            package_json: None,
            runtime: String::from("nodejs20.x"),
            arch: Architecture::Arm64,
            layout: NodeLayout::NodeModules,
            npm: PathBuf::from("npm"),
            scripts: false,
        }
    }

    #[test]
    fn runtimes_name_their_node_major() {
        assert_eq!(node_major("nodejs20.x"), Some(20));
        assert_eq!(node_major("nodejs22.x"), Some(22));
        assert_eq!(node_major("python3.12"), None);
        assert_eq!(node_major("nodejs"), None);
    }

    #[test]
    fn layouts_name_the_node_path_directories() {
        assert_eq!(NodeLayout::NodeModules.prefix(20), "nodejs");
        assert_eq!(NodeLayout::Versioned.prefix(18), "nodejs/node18");
    }

    #[test]
    fn npm_installs_for_lambda_without_dev_dependencies_or_scripts() {
        let args: Vec<String> = npm_args(&spec(), Path::new("/s/tree/nodejs"))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        let joined = args.join(" ");
        assert!(
            joined.starts_with("install --prefix /s/tree/nodejs --omit=dev"),
            "{joined}"
        );
        assert!(
            joined.contains("--os=linux --libc=glibc --cpu=arm64"),
            "{joined}"
        );
        assert!(
            joined.ends_with("--ignore-scripts is-number@7.0.0"),
            "{joined}"
        );
        let mut with_scripts = spec();
        with_scripts.scripts = true;
        with_scripts.arch = Architecture::X86_64;
        let args = npm_args(&with_scripts, Path::new("/p"));
        assert!(!args.iter().any(|a| a == "--ignore-scripts"));
        assert!(args.iter().any(|a| a == "--cpu=x64"));
    }

    #[test]
    fn npms_not_found_errors_name_the_package() {
        let e404 = "npm error code E404\n\
                    npm error 404 Not Found - GET https://registry.example/nosuch-pkg - Not found\n\
                    npm error 404\n\
                    npm error 404  'nosuch-pkg@*' is not in this registry.\n";
        assert_eq!(missing_package(e404).as_deref(), Some("nosuch-pkg@*"));
        let npm11 = "npm error 404  The requested resource 'nosuch@*' could not be found or you \
                     do not have permission to access it.\n";
        assert_eq!(missing_package(npm11).as_deref(), Some("nosuch@*"));
        let etarget = "npm error code ETARGET\n\
                       npm error notarget No matching version found for is-number@99.0.0.\n";
        assert_eq!(
            missing_package(etarget).as_deref(),
            Some("is-number@99.0.0")
        );
        assert_eq!(missing_package("npm error code ECONNREFUSED"), None);
    }

    #[test]
    fn a_missing_npm_is_a_clear_error() {
        let mut s = spec();
        s.npm = PathBuf::from("/nonexistent/npm");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("layer.zip");
        let err = build_node_layer(&s, &out, &mut |_| {}).unwrap_err();
        assert!(matches!(err, BuildError::NpmNotFound { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("/nonexistent/npm"), "{text}");
        assert!(text.contains("--npm"), "{text}");
        assert!(!out.exists());
    }

    #[test]
    fn skipped_install_scripts_are_read_from_the_hidden_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("node_modules")).unwrap();
        fs::write(
            dir.path().join("node_modules/.package-lock.json"),
            r#"{"packages": {
                "node_modules/plain": {"version": "1.0.0"},
                "node_modules/@scope/native": {"version": "2.0.0", "hasInstallScript": true},
                "node_modules/a/node_modules/b": {"hasInstallScript": true}
            }}"#,
        )
        .unwrap();
        assert_eq!(skipped_scripts(dir.path()), ["@scope/native", "b"]);
        assert!(skipped_scripts(Path::new("/nonexistent")).is_empty());
    }
}
