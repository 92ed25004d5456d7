//! The AWS SDKs that AWS ships inside its managed runtimes, installed by Lamina from the
//! package registries the first time a runtime needs them.
//!
//! On AWS a Python function can `import boto3` without packaging it, and a Node.js 18+ one can
//! `require`/`import` `@aws-sdk/*` v3 clients. Lamina installs the same libraries, at versions
//! pinned here (the one place they are named), with the machine's own `pip` (from PyPI) and
//! `npm` (from the npm registry), configured as the machine configures them. Never from the
//! host's site-packages: `pip install --target` fills an empty directory.
//!
//! **Where a function sees them.** Each installed tree is a lower layer of the environment's
//! `/var/runtime` overlay, beneath Lamina's runtime files:
//! - Python: `boto3/`, `botocore/`... directly in `/var/runtime`, which the bootstrap puts on
//!   `sys.path` right after `/var/task`, `/opt/python/lib/pythonX.Y/site-packages` and
//!   `/opt/python` (AWS keeps them in `/var/lang/lib/pythonX.Y/site-packages` on 3.12+ and in
//!   `/var/runtime` before, at that same place in the search order), so a layer's or the
//!   function's own boto3 wins.
//! - Node.js: `/var/runtime/node_modules/@aws-sdk/...`, the path AWS uses, in `NODE_PATH` after
//!   the layers' `/opt/nodejs/nodeNN/node_modules` and `/opt/nodejs/node_modules`.
//!
//! **Cache.** Trees live in one directory (`<data>/runtime-sdks` unless `--runtime-sdks-dir`
//! names another, which several servers may share), one per pinned set and, for Python, per
//! interpreter version (the tree holds `.pyc` files compiled by that interpreter, since
//! `/var/runtime` is read-only). A tree's name carries a digest of its pins, so changing a pin
//! installs a new tree beside the old one.
//!
//! **Atomic.** A tree is filled under a temporary name and renamed into place when complete,
//! under an exclusive `flock` per tree (other servers sharing the directory wait, then find it
//! there). A crash mid-install leaves only the temporary directory, which is never used and is
//! removed by the next install of that tree.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use lamina_types::{Runtime, RuntimeFamily};
use sha2::Digest as _;

use crate::interpreters::Resolution;

/// One pinned set of packages, installed together.
#[derive(Debug, PartialEq, Eq)]
pub struct PinnedSet {
    /// What it is, for the log and `lamina runtimes`: `boto3 1.44.8`.
    pub label: &'static str,
    /// Every package with its exact version. Python sets list the whole dependency closure
    /// (installed with `--no-deps`, so nothing else is resolved); Node.js sets list the
    /// packages a function imports, whose dependencies npm resolves as of `npm_before`.
    pub packages: &'static [(&'static str, &'static str)],
    /// `npm install --before`: dependencies resolve to what the registry had then, so the
    /// same tree is installed whenever and wherever it is installed.
    pub npm_before: Option<&'static str>,
}

/// The boto3 set for Python 3.10 and later (boto3 1.44 needs 3.10): the latest release when
/// this was pinned, with the versions pip resolves for it.
pub const BOTO3: PinnedSet = PinnedSet {
    label: "boto3 1.44.8",
    packages: &[
        ("boto3", "1.44.8"),
        ("botocore", "1.44.8"),
        ("s3transfer", "0.19.3"),
        ("jmespath", "1.1.0"),
        ("python-dateutil", "2.9.0.post0"),
        ("six", "1.17.0"),
        ("urllib3", "2.8.0"),
    ],
    npm_before: None,
};

/// The last boto3 release for Python 3.9.
pub const BOTO3_PY39: PinnedSet = PinnedSet {
    label: "boto3 1.42.97",
    packages: &[
        ("boto3", "1.42.97"),
        ("botocore", "1.42.97"),
        ("s3transfer", "0.16.1"),
        ("jmespath", "1.1.0"),
        ("python-dateutil", "2.9.0.post0"),
        ("six", "1.17.0"),
        ("urllib3", "2.6.3"),
    ],
    npm_before: None,
};

/// The last boto3 release for Python 3.8.
pub const BOTO3_PY38: PinnedSet = PinnedSet {
    label: "boto3 1.37.38",
    packages: &[
        ("boto3", "1.37.38"),
        ("botocore", "1.37.38"),
        ("s3transfer", "0.11.5"),
        ("jmespath", "1.0.1"),
        ("python-dateutil", "2.9.0.post0"),
        ("six", "1.17.0"),
        ("urllib3", "2.2.3"),
    ],
    npm_before: None,
};

/// The AWS SDK for JavaScript v3 clients bundled for Node.js 20 and later. AWS bundles every
/// `@aws-sdk/*` package (about 400); Lamina installs those of the services functions call most
/// (storage, databases, queues and events, configuration and secrets, keys, logs, Lambda
/// itself, identity) and the S3 and DynamoDB helpers (`lib-storage`, `s3-request-presigner`,
/// `lib-dynamodb`): 56 packages, about 19 MB once the TypeScript declarations are left out.
pub const AWS_SDK_JS: PinnedSet = PinnedSet {
    label: "AWS SDK for JavaScript v3 (client-s3 3.1173.0)",
    packages: &[
        ("@aws-sdk/client-s3", "3.1173.0"),
        ("@aws-sdk/client-dynamodb", "3.1169.0"),
        ("@aws-sdk/lib-dynamodb", "3.1169.0"),
        ("@aws-sdk/client-lambda", "3.1164.0"),
        ("@aws-sdk/client-sqs", "3.1169.0"),
        ("@aws-sdk/client-sns", "3.1169.0"),
        ("@aws-sdk/client-sts", "3.1173.0"),
        ("@aws-sdk/client-ssm", "3.1169.0"),
        ("@aws-sdk/client-secrets-manager", "3.1164.0"),
        ("@aws-sdk/client-kms", "3.1164.0"),
        ("@aws-sdk/client-eventbridge", "3.1169.0"),
        ("@aws-sdk/client-cloudwatch-logs", "3.1169.0"),
        ("@aws-sdk/lib-storage", "3.1173.0"),
        ("@aws-sdk/s3-request-presigner", "3.1169.0"),
    ],
    npm_before: Some("2026-11-20T00:00:00Z"),
};

/// The set a runtime gets on an interpreter: by the interpreter's version, since that is what
/// the packages must support. `None`: AWS bundles no v3 SDK (`nodejs16.x` and older carry v2,
/// which Lamina does not install), or the interpreter is older than any set supports.
pub fn pinned_set(runtime: Runtime, interpreter_version: &str) -> Option<&'static PinnedSet> {
    let mut numbers = interpreter_version
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next()?, numbers.next().unwrap_or(0));
    match runtime.family() {
        RuntimeFamily::Python => match (major, minor) {
            (3, 10..) | (4.., _) => Some(&BOTO3),
            (3, 9) => Some(&BOTO3_PY39),
            (3, 8) => Some(&BOTO3_PY38),
            _ => None,
        },
        RuntimeFamily::NodeJs => {
            let runtime_major = crate::node_interpreters::runtime_major(runtime.as_str())?;
            // One set for every interpreter: the clients declare Node.js 20 or later, and
            // a machine whose only `node` is older still gets them (npm only warns).
            (runtime_major >= 18 && major >= 18).then_some(&AWS_SDK_JS)
        }
        _ => None,
    }
}

/// The language of a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// Installed with `pip install --target`, byte-compiled by the runtime's interpreter.
    Python,
    /// Installed with `npm install --prefix` into `node_modules/`.
    NodeJs,
}

/// The SDK tree one runtime gets on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkTree {
    /// Its language.
    pub language: Language,
    /// What is in it.
    pub set: &'static PinnedSet,
    /// The interpreter that runs the runtime (on the host): Python compiles the tree with it;
    /// Node.js looks for `npm` beside it.
    pub interpreter: PathBuf,
    /// `X.Y` of a Python interpreter (the `.pyc` files are its); `None` for Node.js, whose
    /// trees serve every version the set supports.
    pub python_version: Option<String>,
}

/// Bumped when the way a tree is made changes, so old trees are not taken for new ones.
const TREE_FORMAT: &str = "1";

impl SdkTree {
    /// The tree a runtime gets on the interpreter resolved for it; `None` when there is none.
    pub fn for_runtime(runtime: Runtime, resolution: &Resolution) -> Option<Self> {
        let interpreter = &resolution.interpreter;
        let set = pinned_set(runtime, &interpreter.version)?;
        let language = match runtime.family() {
            RuntimeFamily::Python => Language::Python,
            RuntimeFamily::NodeJs => Language::NodeJs,
            _ => return None,
        };
        Some(Self {
            language,
            set,
            interpreter: interpreter.prefix.join(&interpreter.executable),
            python_version: (language == Language::Python).then(|| interpreter.version.clone()),
        })
    }

    /// The directory name: readable, with a digest of everything that decides the contents.
    pub fn name(&self) -> String {
        let mut hasher = sha2::Sha256::new();
        hasher.update(TREE_FORMAT);
        for (name, version) in self.set.packages {
            hasher.update(format!("\0{name}=={version}"));
        }
        hasher.update(format!(
            "\0{:?}\0{:?}\0{:?}",
            self.language, self.set.npm_before, self.python_version
        ));
        let digest = hasher.finalize();
        let short = digest[..6].iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
        let (first, version) = self.set.packages.first().copied().unwrap_or(("sdk", "0"));
        let first = first.trim_start_matches("@aws-sdk/");
        match &self.python_version {
            Some(python) => format!("python{python}-{first}-{version}-{short}"),
            None => format!("nodejs-{first}-{version}-{short}"),
        }
    }
}

/// What `lamina serve --runtime-sdks` chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkPolicy {
    /// Install missing trees from the registries (the default).
    Install,
    /// Use only the trees already in the directory (prepared elsewhere): a missing one is an
    /// error, and no registry is asked.
    Cached,
    /// No SDK: functions get only what they and their layers bring.
    Off,
}

/// Why a runtime's SDK is not there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SdkError(pub String);

/// How long a failed install is reported again as it was, before the next need retries it
/// (so a burst of invokes against an unreachable registry does not queue one install each).
const FAILURE_MEMORY: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Slot {
    /// Held while this server installs the tree (one install at a time per tree).
    installing: Arc<tokio::sync::Mutex<()>>,
    ready: bool,
    failed: Option<(Instant, SdkError)>,
}

/// The runtime SDK trees of one server. Cheap to clone.
#[derive(Clone)]
pub struct RuntimeSdks {
    policy: SdkPolicy,
    dir: PathBuf,
    slots: Arc<Mutex<HashMap<String, Slot>>>,
}

impl std::fmt::Debug for RuntimeSdks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeSdks")
            .field("policy", &self.policy)
            .field("dir", &self.dir)
            .finish()
    }
}

impl RuntimeSdks {
    /// Trees in `dir`, installed as `policy` says.
    pub fn new(policy: SdkPolicy, dir: PathBuf) -> Self {
        Self {
            policy,
            dir,
            slots: Arc::default(),
        }
    }

    /// No SDKs at all.
    pub fn off() -> Self {
        Self::new(SdkPolicy::Off, PathBuf::new())
    }

    /// The policy in force.
    pub fn policy(&self) -> SdkPolicy {
        self.policy
    }

    /// The directory of the trees.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where `tree` is (or will be) once installed.
    pub fn path_of(&self, tree: &SdkTree) -> PathBuf {
        self.dir.join(tree.name())
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tree's directory, installing it first if needed (once, however many ask at the
    /// same time); `Ok(None)` with `--runtime-sdks off`.
    pub async fn ensure(&self, tree: &SdkTree) -> Result<Option<PathBuf>, SdkError> {
        if self.policy == SdkPolicy::Off {
            return Ok(None);
        }
        let name = tree.name();
        let path = self.dir.join(&name);
        let installing = {
            let mut slots = self.slots();
            let slot = slots.entry(name.clone()).or_default();
            if slot.ready {
                return Ok(Some(path));
            }
            Arc::clone(&slot.installing)
        };
        let _turn = installing.lock().await;
        {
            let mut slots = self.slots();
            let slot = slots.entry(name.clone()).or_default();
            if slot.ready {
                return Ok(Some(path));
            }
            if let Some((when, error)) = &slot.failed
                && when.elapsed() < FAILURE_MEMORY
            {
                return Err(error.clone());
            }
        }
        let outcome = if path.is_dir() {
            Ok(())
        } else if self.policy == SdkPolicy::Cached {
            Err(SdkError(format!(
                "{} is not in {} and `--runtime-sdks cached` installs nothing; prepare it with \
                 `lamina runtimes --install-sdks --runtime-sdks-dir {}` on a machine that \
                 reaches the package registries, or start the server with `--runtime-sdks off`",
                tree.set.label,
                self.dir.display(),
                self.dir.display()
            )))
        } else {
            let (dir, owned) = (self.dir.clone(), tree.clone());
            let started = Instant::now();
            tracing::info!(sdk = tree.set.label, tree = %name, "installing a runtime SDK");
            let installed = tokio::task::spawn_blocking(move || install(&dir, &owned))
                .await
                .unwrap_or_else(|e| Err(SdkError(format!("the install task failed: {e}"))));
            match &installed {
                Ok(()) => tracing::info!(
                    sdk = tree.set.label,
                    seconds = started.elapsed().as_secs_f32(),
                    path = %path.display(),
                    "runtime SDK installed"
                ),
                Err(e) => {
                    tracing::error!(sdk = tree.set.label, error = %e, "runtime SDK install failed")
                }
            }
            installed
        };
        let mut slots = self.slots();
        let slot = slots.entry(name).or_default();
        match outcome {
            Ok(()) => {
                slot.ready = true;
                slot.failed = None;
                Ok(Some(path))
            }
            Err(e) => {
                slot.failed = Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }
}

/// Installs `tree` into `dir` unless it is there: under the tree's lock, into a temporary
/// directory renamed into place when complete.
pub fn install(dir: &Path, tree: &SdkTree) -> Result<(), SdkError> {
    install_with(dir, &tree.name(), |staging| fill(staging, tree))
}

/// The atomic part of [`install`]: `fill` writes the tree into an empty directory.
fn install_with(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&Path) -> Result<(), SdkError>,
) -> Result<(), SdkError> {
    let io_error = |what: &str, e: io::Error| SdkError(format!("{what}: {e}"));
    std::fs::create_dir_all(dir)
        .map_err(|e| io_error(&format!("creating {}", dir.display()), e))?;
    let _lock = lock(&dir.join(format!(".{name}.lock")))
        .map_err(|e| io_error("locking the runtime SDK directory", e))?;
    let target = dir.join(name);
    if target.is_dir() {
        // Another server sharing the directory installed it while this one waited.
        return Ok(());
    }
    remove_partials(dir, name);
    let staging = dir.join(format!(
        ".{name}.partial-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir(&staging).map_err(|e| io_error("creating the staging directory", e))?;
    let filled = fill(&staging).and_then(|()| {
        make_readable(&staging).map_err(|e| io_error("making the tree readable", e))
    });
    if let Err(e) = filled {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&staging, &target) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(io_error("moving the tree into place", e));
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes what earlier installs of `name` left (the caller holds the tree's lock, so none of
/// them is still being written).
fn remove_partials(dir: &Path, name: &str) {
    let prefix = format!(".{name}.partial-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            tracing::info!(path = %entry.path().display(), "removing an unfinished runtime SDK install");
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// An exclusive `flock` on `path`, held until the file is dropped.
fn lock(path: &Path) -> io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(file)
}

/// Every file readable and every directory searchable by all: environments run as their own
/// unprivileged users, and the server's umask may be strict.
fn make_readable(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            continue;
        }
        let path = entry.path();
        let mode = entry.metadata()?.permissions().mode();
        let wanted = if kind.is_dir() {
            mode | 0o555
        } else {
            mode | 0o444
        };
        if wanted != mode {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(wanted))?;
        }
        if kind.is_dir() {
            make_readable(&path)?;
        }
    }
    let mode = std::fs::metadata(dir)?.permissions().mode();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o555))
}

/// The file in each tree that says what it holds.
pub const MANIFEST: &str = ".lamina-runtime-sdk.json";

/// Fills an empty `staging` directory with the tree.
fn fill(staging: &Path, tree: &SdkTree) -> Result<(), SdkError> {
    match tree.language {
        Language::Python => fill_python(staging, tree)?,
        Language::NodeJs => fill_node(staging, tree)?,
    }
    let manifest = serde_json::json!({
        "sdk": tree.set.label,
        "packages": tree.set.packages.iter().map(|(n, v)| match tree.language {
            Language::Python => format!("{n}=={v}"),
            Language::NodeJs => format!("{n}@{v}"),
        }).collect::<Vec<_>>(),
        "npm_before": tree.set.npm_before,
        "python": tree.python_version,
        "installed_by": "lamina",
    });
    std::fs::write(staging.join(MANIFEST), format!("{manifest:#}\n"))
        .map_err(|e| SdkError(format!("writing the manifest: {e}")))
}

fn fill_python(staging: &Path, tree: &SdkTree) -> Result<(), SdkError> {
    let python = tree.python_version.as_deref().unwrap_or_default();
    let pip = find_pip(&tree.interpreter).ok_or_else(|| {
        SdkError(format!(
            "no pip found to install {} (tried `{} -m pip` and `python3 -m pip`): install pip \
             (e.g. apt-get install python3-pip), or see `--runtime-sdks` for offline use",
            tree.set.label,
            tree.interpreter.display()
        ))
    })?;
    let mut command = Command::new(&pip);
    command
        .args(["-I", "-m", "pip", "install"])
        .args([
            "--disable-pip-version-check",
            "--no-input",
            "--no-compile",
            "--no-deps",
            "--only-binary=:all:",
            "--progress-bar=off",
            "--no-warn-script-location",
            "--quiet",
        ])
        .args(["--python-version", python])
        .arg("--target")
        .arg(staging)
        .args(tree.set.packages.iter().map(|(n, v)| format!("{n}=={v}")))
        .env("PIP_ROOT_USER_ACTION", "ignore");
    run(
        command,
        &format!("pip could not install {}", tree.set.label),
    )?;
    // `/var/runtime` is read-only: without `.pyc` files every cold start compiles botocore.
    let mut compile = Command::new(&tree.interpreter);
    compile
        .args(["-I", "-m", "compileall", "-q", "-j", "0"])
        .args(["--invalidation-mode", "checked-hash"])
        .arg(staging);
    run(compile, "byte-compiling the SDK failed")
}

/// A Python with pip: the runtime's own interpreter, else `python3` on `PATH`. Either only
/// runs pip, which installs into an empty directory; neither's packages are used.
fn find_pip(interpreter: &Path) -> Option<PathBuf> {
    [interpreter.to_owned(), PathBuf::from("python3")]
        .into_iter()
        .find(|python| {
            Command::new(python)
                .args(["-I", "-m", "pip", "--version"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

fn fill_node(staging: &Path, tree: &SdkTree) -> Result<(), SdkError> {
    let beside = tree.interpreter.with_file_name("npm");
    let npm = if beside.is_file() {
        beside
    } else {
        PathBuf::from("npm")
    };
    let mut command = Command::new(&npm);
    command
        .arg("install")
        .arg("--prefix")
        .arg(staging)
        .args([
            "--no-save",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--omit=dev",
            "--no-update-notifier",
            "--loglevel=error",
        ])
        .args(tree.set.npm_before.map(|b| format!("--before={b}")))
        .args(tree.set.packages.iter().map(|(n, v)| format!("{n}@{v}")));
    // npm is a Node.js script: the runtime's node first on PATH runs it.
    if let Some(bin) = tree.interpreter.parent() {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![bin.to_owned()];
        dirs.extend(std::env::split_paths(&path));
        if let Ok(joined) = std::env::join_paths(dirs) {
            command.env("PATH", joined);
        }
    }
    run(
        command,
        &format!("npm could not install {}", tree.set.label),
    )?;
    let modules = staging.join("node_modules");
    if !modules.join(tree.set.packages[0].0).is_dir() {
        return Err(SdkError(format!(
            "npm reported success but {} is not in {}",
            tree.set.packages[0].0,
            modules.display()
        )));
    }
    // TypeScript declarations: 60% of the size, never loaded at run time (AWS leaves them
    // out too).
    remove_dirs_named(&modules, "dist-types")
        .map_err(|e| SdkError(format!("pruning the tree: {e}")))
}

fn remove_dirs_named(dir: &Path, name: &str) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        if entry.file_name() == name {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            remove_dirs_named(&entry.path(), name)?;
        }
    }
    Ok(())
}

/// Runs a registry client, its output captured: on failure, the error says what it printed
/// last (its own words for an unreachable registry or a missing version).
fn run(mut command: Command, what: &str) -> Result<(), SdkError> {
    let output = command.stdin(Stdio::null()).output().map_err(|e| {
        SdkError(format!(
            "{what}: running {:?} failed: {e}",
            command.get_program()
        ))
    })?;
    if output.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&output.stderr);
    let text = if text.trim().is_empty() {
        String::from_utf8_lossy(&output.stdout)
    } else {
        text
    };
    Err(SdkError(format!(
        "{what} ({}): {}",
        output.status,
        tail(&text, 6, 600)
    )))
}

/// The last `lines` non-empty lines of `text`, at most `chars` characters, on one line.
fn tail(text: &str, lines: usize, chars: usize) -> String {
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = kept[kept.len().saturating_sub(lines)..].join(" | ");
    let count = joined.chars().count();
    if count > chars {
        let skip = count - chars;
        format!("...{}", joined.chars().skip(skip).collect::<String>())
    } else {
        joined
    }
}

#[cfg(test)]
mod tests;
