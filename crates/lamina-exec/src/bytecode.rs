//! Bytecode at publish: each Python tree (a layer version, a function's code) is
//! byte-compiled once per interpreter version that may run it, in the background, into a
//! sidecar directory beside the tree; environments that start once it is ready see its
//! `.pyc` next to the sources, so no cold start compiles the tree's modules again.
//!
//! **Why.** Extracted trees are read-only and carry no valid `.pyc` (those a ZIP holds were
//! made with other file times), so without this every cold start compiles every module it
//! imports, and cannot keep the result: a numpy+pandas import takes 3-4x as long.
//!
//! **What.** Each `.py` of the tree (not under a symlinked directory), compiled by the real
//! interpreter (`py_compile`, as `compileall` does) into an unchecked-hash `.pyc`, which stays
//! valid whatever the file times; the default optimisation level only. A source that does not
//! compile is skipped: its path gets the tree's own `.pyc` if it has one, else one no
//! interpreter accepts, so the import does what it would without the sidecar (see
//! `compile_tree.py`).
//!
//! **Where.** `<bytecode>/python3.12/` of the tree's [`ExtractedTree::bytecode`] directory
//! (content-addressed by the tree's digest, so shared by every layer version and function of
//! the same bytes), holding `d/__pycache__/m.cpython-312.pyc` for each `d/m.py` of the tree
//! and nothing else. It is written under the data directory's scratch directory and renamed
//! into place once complete and on disk, so a crash leaves nothing half-written. A tree with
//! no source gets an empty marker file `python3.12.empty` instead, so nobody asks again.
//!
//! **How it is seen.** With namespace isolation the sidecar is one more read-only lower
//! directory of the overlay, just above its tree (`/var/task`, each layer in `/opt`); the
//! tree itself, its ZIP, its `CodeSha256` and what a download returns never change. Unchecked
//! `.pyc` are trusted as they are, so no `.pyc` may show through for another tree's source: a
//! layer's sidecar is used only when every layer above it that has sources has its own (see
//! [`sidecars`]). Without isolation nothing is mounted, so nothing is compiled.

mod compile;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lamina_types::{ExtractedTree, FunctionSpec};
use tokio::sync::{Semaphore, watch};

use crate::interpreters::{Interpreter, Interpreters};

pub use self::compile::{CompileError, Compiled, compile_tree};

/// Longest one tree's compilation for one interpreter may take before it is given up (and
/// tried again only after a restart).
const COMPILE_TIMEOUT: Duration = Duration::from_secs(600);

/// Most interpreter processes one compilation runs at once; they run at a lower priority
/// than functions (`nice 10`).
const MAX_WORKERS: usize = 4;

/// The sidecar of the Python version `version` (`3.12`) under a tree's bytecode directory.
pub fn sidecar_dir(bytecode: &Path, version: &str) -> PathBuf {
    bytecode.join(format!("python{version}"))
}

/// The marker that says a tree has no Python source for `version` to compile.
fn empty_marker(bytecode: &Path, version: &str) -> PathBuf {
    bytecode.join(format!("python{version}.empty"))
}

/// What a tree has for a Python version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sidecar {
    /// The sidecar directory, complete.
    Ready(PathBuf),
    /// Compiled: the tree has no Python source.
    NoSources,
    /// Not compiled (yet), or the server keeps no bytecode for it.
    Missing,
}

/// Looks up the sidecar of `tree` for Python `version` (`3.12`): two `stat`s at most.
pub fn lookup(tree: &ExtractedTree, version: &str) -> Sidecar {
    let Some(bytecode) = &tree.bytecode else {
        return Sidecar::Missing;
    };
    let dir = sidecar_dir(bytecode, version);
    if dir.is_dir() {
        Sidecar::Ready(dir)
    } else if empty_marker(bytecode, version).exists() {
        Sidecar::NoSources
    } else {
        Sidecar::Missing
    }
}

/// The sidecars an environment of `spec` mounts for Python `version`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sidecars {
    /// Above the code at `/var/task`.
    pub task: Option<PathBuf>,
    /// Above each layer at `/opt`, in the spec's order (as many as it has layers).
    pub layers: Vec<Option<PathBuf>>,
    /// The trees whose sidecar is missing (to compile now, for later environments).
    pub missing: Vec<ExtractedTree>,
}

/// The sidecars of `spec`'s trees for Python `version`. The code's is used when ready. In
/// `/opt` a sidecar trusted without checks must never show through for a source of a layer
/// above it, so layers are taken from the top down and the first missing sidecar of a layer
/// (that is not known to have no sources) leaves every layer below it without one.
pub fn sidecars(spec: &FunctionSpec, version: &str) -> Sidecars {
    let mut missing = Vec::new();
    let mut task = None;
    match lookup(&spec.code, version) {
        Sidecar::Ready(dir) => task = Some(dir),
        Sidecar::NoSources => {}
        Sidecar::Missing => missing.push(spec.code.clone()),
    }
    let mut layers = vec![None; spec.layers.len()];
    let mut complete = true;
    for (i, layer) in spec.layers.iter().enumerate().rev() {
        match lookup(layer, version) {
            Sidecar::Ready(dir) => {
                if complete {
                    layers[i] = Some(dir);
                }
            }
            Sidecar::NoSources => {}
            Sidecar::Missing => {
                complete = false;
                missing.push(layer.clone());
            }
        }
    }
    Sidecars {
        task,
        layers,
        missing,
    }
}

/// Compiles trees in the background, one tree and version at a time, each once. Cheap to
/// clone; a disabled one (no scratch directory, or no isolation) compiles nothing.
#[derive(Clone, Default)]
pub struct Bytecode {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    interpreters: Interpreters,
    /// Where compilations write before their sidecar is renamed into place.
    scratch: PathBuf,
    /// Interpreter processes per compilation.
    workers: usize,
    /// Compilations under way or failed, by sidecar directory.
    jobs: Mutex<HashMap<PathBuf, Job>>,
    /// One compilation at a time: each uses several processes already.
    permits: Semaphore,
}

enum Job {
    /// Under way; the channel closes when it ends.
    Running(watch::Receiver<()>),
    /// Failed in this run of the server: not tried again before a restart.
    Failed,
}

/// A compilation to wait for (or nothing to wait for: the default).
#[derive(Default)]
pub struct Compiling(Option<watch::Receiver<()>>);

impl Compiling {
    /// Waits until the compilation has ended (however it ended).
    pub async fn done(self) {
        if let Some(mut ended) = self.0 {
            // `changed` fails once the compiling task drops its sender.
            while ended.changed().await.is_ok() {}
        }
    }
}

impl Bytecode {
    /// A compiler that writes under `scratch` with the `interpreters` found.
    pub fn new(interpreters: Interpreters, scratch: PathBuf) -> Self {
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_WORKERS);
        Self {
            inner: Some(Arc::new(Inner {
                interpreters,
                scratch,
                workers,
                jobs: Mutex::default(),
                permits: Semaphore::new(1),
            })),
        }
    }

    /// One that compiles nothing.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Whether this server compiles trees.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// The interpreters a layer with `compatible_runtimes` may run on: those that run its
    /// `pythonX.Y` runtimes here (exactly or as the nearest version), or every one a
    /// supported runtime uses when it names none. A layer only for other languages gets none.
    pub fn interpreters_for(&self, compatible_runtimes: Option<&[String]>) -> Vec<Interpreter> {
        let Some(inner) = &self.inner else {
            return Vec::new();
        };
        let mut found: Vec<Interpreter> = match compatible_runtimes {
            Some(runtimes) if !runtimes.is_empty() => runtimes
                .iter()
                .filter(|r| r.starts_with("python3."))
                .filter_map(|r| inner.interpreters.resolve(r))
                .map(|r| r.interpreter)
                .collect(),
            _ => inner.interpreters.in_use().into_iter().cloned().collect(),
        };
        let key = |i: &Interpreter| -> Vec<u32> {
            i.version
                .split('.')
                .filter_map(|n| n.parse().ok())
                .collect()
        };
        found.sort_by_key(key);
        found.dedup();
        found
    }

    /// Compiles a published layer's tree for each interpreter that may run it, in the
    /// background.
    pub fn layer_published(&self, tree: &ExtractedTree, compatible_runtimes: Option<&[String]>) {
        for interpreter in self.interpreters_for(compatible_runtimes) {
            drop(self.compile(tree, &interpreter));
        }
    }

    /// Starts compiling `tree` for `interpreter` in the background, unless it is compiled,
    /// being compiled or failed in this run; returns what to wait on if the caller wants to.
    /// Needs a Tokio runtime.
    pub fn compile(&self, tree: &ExtractedTree, interpreter: &Interpreter) -> Compiling {
        let (Some(inner), Some(bytecode)) = (&self.inner, &tree.bytecode) else {
            return Compiling(None);
        };
        if lookup(tree, &interpreter.version) != Sidecar::Missing {
            return Compiling(None);
        }
        let target = sidecar_dir(bytecode, &interpreter.version);
        let (done, ended) = watch::channel(());
        {
            let mut jobs = inner.jobs.lock().unwrap_or_else(PoisonError::into_inner);
            match jobs.get(&target) {
                Some(Job::Running(running)) => return Compiling(Some(running.clone())),
                Some(Job::Failed) => return Compiling(None),
                None => {}
            }
            jobs.insert(target.clone(), Job::Running(ended.clone()));
        }
        let inner = Arc::clone(inner);
        let (tree, interpreter) = (tree.clone(), interpreter.clone());
        tokio::spawn(async move {
            let outcome = match inner.permits.acquire().await {
                // Another job may have made it while this one waited.
                Ok(_permit) if lookup(&tree, &interpreter.version) == Sidecar::Missing => {
                    compile_tree(
                        &interpreter,
                        &tree,
                        &inner.scratch,
                        inner.workers,
                        COMPILE_TIMEOUT,
                    )
                    .await
                }
                Ok(_) => Ok(None),
                Err(_) => Err(CompileError::Stopped),
            };
            let mut jobs = inner.jobs.lock().unwrap_or_else(PoisonError::into_inner);
            match outcome {
                Ok(compiled) => {
                    if let Some(c) = compiled {
                        tracing::info!(
                            tree = %tree.digest.to_hex(),
                            python = %interpreter.version,
                            compiled = c.compiled,
                            failed = c.failed,
                            millis = c.elapsed.as_millis() as u64,
                            "bytecode ready"
                        );
                    }
                    jobs.remove(&target);
                }
                Err(e) => {
                    tracing::warn!(
                        tree = %tree.digest.to_hex(),
                        python = %interpreter.version,
                        error = %e,
                        "byte-compiling a tree failed; its environments start without bytecode"
                    );
                    jobs.insert(target, Job::Failed);
                }
            }
            drop(done);
        });
        Compiling(Some(ended))
    }
}

#[cfg(test)]
mod tests;
