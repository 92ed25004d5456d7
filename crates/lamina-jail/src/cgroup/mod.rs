//! One cgroup per execution environment: memory and process limits, CPU accounting, freezing
//! an idle environment, killing everything in it, and cleaning up after a crashed run.
//!
//! Each server instance owns `<hierarchy>/lamina/<instance>/` and puts one directory per
//! environment below it. cgroup v2 (one unified hierarchy) is preferred; cgroup v1 (one
//! hierarchy per controller) is the fallback. [`detect`] picks one from `/proc/self/mountinfo`.
//!
//! Every call here is blocking file I/O on cgroupfs, and [`Cgroup::kill_all`] and
//! [`Cgroup::remove`] poll for up to two seconds; async callers run them on a blocking thread.

mod control_file;
mod mountinfo;
mod v1;
mod v2;

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::{Pid, Signal};

pub use v1::{V1Roots, V1Tree};
pub use v2::V2Tree;

/// How long [`Cgroup::kill_all`] waits for the cgroup to empty.
const KILL_TIMEOUT_MS: u64 = 10_000;
/// How long [`Cgroup::remove`] retries an `rmdir` that fails with `EBUSY`.
const REMOVE_TIMEOUT_MS: u64 = 2_000;
/// The longest pause between two polls while waiting.
const MAX_POLL_PAUSE_MS: u64 = 10;
/// Longest wait between two rounds of killing.
const KILL_POLL_PAUSE_MS: u64 = 100;
/// The directory below each hierarchy root that holds every Lamina instance.
const LAMINA_DIR: &str = "lamina";

/// Limits applied to one environment's cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most memory the environment may use, in bytes (the function's MemorySize). Swap is
    /// not allowed on top of it where the kernel lets us say so.
    pub memory_bytes: u64,
    /// The most processes and threads that may exist in the environment at once.
    pub pids: u32,
}

/// What an environment used, read from its cgroup (None when the kernel file is missing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// The highest memory use since the cgroup was created, in bytes.
    pub peak_memory_bytes: Option<u64>,
    /// How many times the kernel's out-of-memory killer killed a process in it.
    pub oom_kills: u64,
    /// CPU time used by all its processes, user plus system, in nanoseconds.
    pub cpu_nanos: Option<u64>,
}

/// A cgroup step that failed. Each variant carries the path it failed on.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// No cgroup filesystem is mounted at all.
    #[error("no cgroup filesystem mounted: {0}")]
    NotMounted(String),
    /// cgroups are mounted but lack the memory or pids controller, or cannot be written.
    #[error("no usable cgroup hierarchy: {0}")]
    Unusable(String),
    /// An instance or environment name is not a single plain path component.
    #[error("invalid cgroup name {0:?}: must be one path component")]
    InvalidName(String),
    /// Reading `/proc/self/mountinfo` failed.
    #[error("failed to read {path}: {source}")]
    Mountinfo {
        /// The mountinfo file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Creating a cgroup directory failed.
    #[error("failed to create cgroup {path}: {source}")]
    Create {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Writing a control file (a limit, the freezer, `cgroup.kill`) failed.
    #[error("failed to write {path}: {source}")]
    Write {
        /// The control file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Reading a control file or listing a directory failed.
    #[error("failed to read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Writing this process's pid into a `cgroup.procs` file failed.
    #[error("failed to join cgroup via {path}: {source}")]
    Join {
        /// The `cgroup.procs` file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Sending `SIGKILL` to a process of the cgroup failed (other than it being gone).
    #[error("failed to kill pid {pid} of cgroup {path}: {source}")]
    Kill {
        /// The cgroup directory.
        path: PathBuf,
        /// The process.
        pid: i32,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Processes were still in the cgroup when [`Cgroup::kill_all`] gave up.
    #[error("{remaining} processes still in cgroup {path} after {waited_ms} ms")]
    KillTimeout {
        /// The cgroup directory.
        path: PathBuf,
        /// How many processes were left.
        remaining: usize,
        /// How long it waited, in milliseconds.
        waited_ms: u64,
    },
    /// Removing a cgroup directory failed (after retrying while it was busy).
    #[error("failed to remove cgroup {path}: {source}")]
    Remove {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// This server's place in the cgroup tree: `<hierarchy>/lamina/<instance>/<name>` per environment.
pub trait CgroupTree: Send + Sync {
    /// "v1" or "v2".
    fn version(&self) -> &'static str;
    /// `lamina/<instance>`, the path below each hierarchy root (shown in health output).
    fn relative_path(&self) -> String;
    /// Creates the environment's cgroup (mkdir -p in every hierarchy) and applies the limits.
    /// `name` must be one path component. If a limit cannot be applied, the new cgroup is
    /// removed again and the error returned.
    fn create(&self, name: &str, limits: &Limits) -> Result<Box<dyn Cgroup>, CgroupError>;
    /// The cgroups an earlier run of this same instance left behind (after a crash), sorted by
    /// name. Other instances' cgroups are never listed.
    fn leftovers(&self) -> Result<Vec<Box<dyn Cgroup>>, CgroupError>;
    /// Removes this instance's own directory once no environment is left in it (at
    /// shutdown); one still in use is left alone.
    fn remove_instance(&self);
}

/// One environment's cgroup.
pub trait Cgroup: Send + Sync {
    /// The environment's name, the last component of the cgroup's path.
    fn name(&self) -> &str;
    /// The `cgroup.procs` files a process writes its pid into to join (one per v1 hierarchy,
    /// one for v2). Pass them to [`join`].
    fn procs_files(&self) -> Vec<PathBuf>;
    /// Changes the limits (a standby environment's cgroup gets its function's at claim).
    fn set_limits(&self, limits: &Limits) -> Result<(), CgroupError>;
    /// Freezes (true) or thaws (false) every process in it. Returns once the request is
    /// written; it does not wait for the kernel to report the cgroup frozen. A no-op on v1
    /// hosts without the freezer controller.
    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError>;
    /// What the environment used so far. Missing or unreadable kernel files read as `None`
    /// (or 0 OOM kills).
    fn usage(&self) -> Usage;
    /// Peak memory alone: what every invoke's REPORT line needs, without reading the rest of
    /// [`Cgroup::usage`].
    fn peak_memory_bytes(&self) -> Option<u64>;
    /// Kills every process in it, frozen or not, and waits up to two seconds until none is
    /// left. Leaves the cgroup thawed. Killed children of other processes stay zombies until
    /// their parent reaps them, which [`Cgroup::remove`] needs.
    fn kill_all(&self) -> Result<(), CgroupError>;
    /// Removes the cgroup's directories, retrying for up to two seconds while the kernel says
    /// they are busy (dying tasks linger briefly). Directories already gone are fine.
    fn remove(&self) -> Result<(), CgroupError>;
}

/// Finds the cgroup layout of this machine from `/proc/self/mountinfo`. `instance` is a short id
/// of this server (the caller derives it from its data directory). Errs with the reason when no
/// usable memory and pids controllers are mounted or they are not writable.
pub fn detect(instance: &str) -> Result<Box<dyn CgroupTree>, CgroupError> {
    let path = Path::new("/proc/self/mountinfo");
    let text = std::fs::read_to_string(path).map_err(|source| CgroupError::Mountinfo {
        path: path.to_owned(),
        source,
    })?;
    detect_from(&text, instance)
}

/// Same as [`detect`], from the given mountinfo text. It still looks at the mounted
/// directories it names (`cgroup.controllers`, write access).
pub fn detect_from(mountinfo: &str, instance: &str) -> Result<Box<dyn CgroupTree>, CgroupError> {
    check_component(instance)?;
    let mounts = mountinfo::cgroup_mounts(mountinfo);
    if mounts.is_empty() {
        return Err(CgroupError::NotMounted(
            "mountinfo lists no cgroup or cgroup2 filesystem".to_owned(),
        ));
    }
    let v2_reason = match v2::usable_root(&mounts) {
        Ok(root) => return Ok(Box::new(V2Tree::new(root, instance)?)),
        Err(reason) => reason,
    };
    let v1_reason = match v1::usable_roots(&mounts) {
        Ok(roots) => return Ok(Box::new(V1Tree::new(roots, instance)?)),
        Err(reason) => reason,
    };
    Err(CgroupError::Unusable(format!("{v2_reason}; {v1_reason}")))
}

/// Moves the calling process into the given cgroups by writing its pid to each file. Called by
/// the single-threaded jail process before it forks, so everything it forks starts inside.
pub fn join(procs_files: &[PathBuf]) -> Result<(), CgroupError> {
    attach(procs_files, rustix::process::getpid())
}

/// Moves process `pid` (all its threads) into the given cgroups.
fn attach(procs_files: &[PathBuf], pid: Pid) -> Result<(), CgroupError> {
    let value = pid.as_raw_nonzero().to_string();
    for path in procs_files {
        write_existing(path, &value).map_err(|source| CgroupError::Join {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Rejects names that are empty, `.`/`..`, or contain `/` or NUL, so a cgroup path can never
/// leave `<hierarchy>/lamina/<instance>/`.
fn check_component(name: &str) -> Result<(), CgroupError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(CgroupError::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// `<root>/lamina/<instance>`.
fn instance_dir(root: &Path, instance: &str) -> PathBuf {
    root.join(LAMINA_DIR).join(instance)
}

/// Writes `value` to the control file `path`, creating it if missing (cgroupfs refuses to
/// create files, so on a real hierarchy a missing file is still an error).
fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    std::fs::write(path, value).map_err(|source| CgroupError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Writes `value` to an existing file with a single `write`, as cgroupfs expects.
fn write_existing(path: &Path, value: &str) -> io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.write_all(value.as_bytes())
}

/// Creates `dir` and its missing parents.
fn create_dir(dir: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir_all(dir).map_err(|source| CgroupError::Create {
        path: dir.to_owned(),
        source,
    })
}

/// A file holding one number, or `None` when it is missing or does not parse.
fn read_u64(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The value of the `key value` line of a flat-keyed file (`memory.events`, `cpu.stat`).
fn read_keyed(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        if k == key {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

/// The set of pids listed in the given `cgroup.procs` files; a missing file lists none.
fn read_pids(procs_files: &[PathBuf]) -> Result<BTreeSet<i32>, CgroupError> {
    let mut pids = BTreeSet::new();
    for path in procs_files {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(CgroupError::Read {
                    path: path.clone(),
                    source,
                });
            }
        };
        pids.extend(
            text.lines()
                .filter_map(|line| line.trim().parse::<i32>().ok())
                .filter(|pid| *pid > 0),
        );
    }
    Ok(pids)
}

/// Sends `SIGKILL` to each pid; one that is already gone is fine.
fn kill_pids(cgroup: &Path, pids: &BTreeSet<i32>) -> Result<(), CgroupError> {
    for &raw in pids {
        let Some(pid) = Pid::from_raw(raw) else {
            continue;
        };
        match rustix::process::kill_process(pid, Signal::KILL) {
            Ok(()) | Err(Errno::SRCH) => {}
            Err(errno) => {
                return Err(CgroupError::Kill {
                    path: cgroup.to_owned(),
                    pid: raw,
                    source: errno.into(),
                });
            }
        }
    }
    Ok(())
}

/// Kills everything listed in `procs_files` until they are all empty, freezing around each
/// round of signals (when `freeze` is given) so nothing forks in between; a frozen task only
/// dies once thawed, hence the thaw after each round. `cgroup` names it in errors.
fn kill_loop(
    cgroup: &Path,
    procs_files: &[PathBuf],
    freeze: Option<&dyn Fn(bool) -> Result<(), CgroupError>>,
) -> Result<(), CgroupError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    // Every pid ever signalled: a new one means something forked, and only then is the
    // cgroup frozen again. Refreezing on every round would keep stopping a thousand dying
    // tasks (a fork bomb's) before they finish exiting, and the loop would never end.
    let mut seen = BTreeSet::new();
    loop {
        let mut pids = read_pids(procs_files)?;
        if pids.is_empty() {
            return Ok(());
        }
        let waited = start.elapsed();
        if waited > Duration::from_millis(KILL_TIMEOUT_MS) {
            return Err(CgroupError::KillTimeout {
                path: cgroup.to_owned(),
                remaining: pids.len(),
                waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
            });
        }
        let forked = !pids.is_subset(&seen);
        let freeze = freeze.filter(|_| forked);
        if let Some(freeze) = freeze {
            freeze(true)?;
            // Whatever forked between the first read and the freeze.
            pids.extend(read_pids(procs_files)?);
        }
        kill_pids(cgroup, &pids)?;
        seen.extend(pids);
        // A frozen task does not die until thawed (cgroup v1).
        if let Some(freeze) = freeze {
            freeze(false)?;
        }
        wait_for_empty(procs_files, pause)?;
        pause = (pause * 2).min(Duration::from_millis(KILL_POLL_PAUSE_MS));
    }
}

fn wait_for_empty(procs_files: &[PathBuf], budget: Duration) -> Result<(), CgroupError> {
    let start = Instant::now();
    while start.elapsed() < budget {
        if read_pids(procs_files)?.is_empty() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    Ok(())
}

/// Removes the cgroup directory `dir`, retrying on `EBUSY`; a missing one is fine.
fn remove_dir(dir: &Path) -> Result<(), CgroupError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e)
                if e.raw_os_error() == Some(Errno::BUSY.raw_os_error())
                    && start.elapsed() < Duration::from_millis(REMOVE_TIMEOUT_MS) =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(MAX_POLL_PAUSE_MS));
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.to_owned(),
                    source,
                });
            }
        }
    }
}

/// Removes the instance directories `dirs` if they are empty (no retry: a cgroup still in
/// them means they are in use).
fn remove_if_empty(dirs: &[PathBuf]) {
    for dir in dirs {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Removes every directory in `dirs`, trying all of them; returns the first error.
fn remove_dirs(dirs: &[PathBuf]) -> Result<(), CgroupError> {
    let mut first_error = None;
    for dir in dirs {
        if let Err(e) = remove_dir(dir) {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The names of the subdirectories of `dir`, sorted; none when `dir` is missing.
fn subdirectories(dir: &Path) -> Result<BTreeSet<String>, CgroupError> {
    let read_error = |source| CgroupError::Read {
        path: dir.to_owned(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(read_error(e)),
    };
    let mut names = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(read_error)?;
        if !entry.file_type().map_err(read_error)?.is_dir() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str() {
            names.insert(name.to_owned());
        }
    }
    Ok(names)
}

/// Whether `dir` exists and this process may create cgroups in it.
fn writable(dir: &Path) -> bool {
    rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::process::Command;

    use super::*;

    /// `/proc/self/mountinfo` of the CI machine: cgroup v1 hybrid, an empty cgroup2 at
    /// `unified`, cpu and cpuacct mounted separately.
    const V1_HYBRID: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334432k,nr_inodes=3083608,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683656k
26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    /// A systemd host with only the unified hierarchy.
    const PURE_V2: &str = "\
22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
26 24 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    /// An older layout: cpu and cpuacct co-mounted, no freezer, and a container's bind of a
    /// memory sub-tree that must not be used.
    const V1_COMOUNTED: &str = "\
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 /docker/abc /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
32 25 0:27 / /sys/fs/cgroup/memory2 rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
33 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids
";

    const LIMITS: Limits = Limits {
        memory_bytes: 64 << 20,
        pids: 16,
    };

    /// Points `mountinfo` at a tempdir holding its cgroup mount points.
    fn relocate(mountinfo: &str) -> (tempfile::TempDir, String) {
        let tmp = tempfile::tempdir().unwrap();
        let text = mountinfo.replace("/sys/fs/cgroup", &tmp.path().display().to_string());
        for mount in mountinfo::cgroup_mounts(&text) {
            fs::create_dir_all(&mount.mount_point).unwrap();
        }
        (tmp, text)
    }

    fn procs_dirs(cgroup: &dyn Cgroup, tmp: &Path) -> Vec<String> {
        cgroup
            .procs_files()
            .iter()
            .map(|p| p.strip_prefix(tmp).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn v1_hybrid_picks_v1_when_unified_has_no_controllers() {
        let (tmp, text) = relocate(V1_HYBRID);
        fs::write(tmp.path().join("unified/cgroup.controllers"), "\n").unwrap();
        let tree = detect_from(&text, "inst").unwrap();
        assert_eq!(tree.version(), "v1");
        assert_eq!(tree.relative_path(), "lamina/inst");
        let cgroup = tree.create("env", &LIMITS).unwrap();
        assert_eq!(
            procs_dirs(cgroup.as_ref(), tmp.path()),
            [
                "memory/lamina/inst/env/cgroup.procs",
                "pids/lamina/inst/env/cgroup.procs",
                "cpuacct/lamina/inst/env/cgroup.procs",
                "freezer/lamina/inst/env/cgroup.procs",
            ]
        );
    }

    #[test]
    fn pure_v2_is_preferred() {
        let (tmp, text) = relocate(PURE_V2);
        fs::write(
            tmp.path().join("cgroup.controllers"),
            "cpuset cpu io memory hugetlb pids rdma misc\n",
        )
        .unwrap();
        let tree = detect_from(&text, "inst").unwrap();
        assert_eq!(tree.version(), "v2");
        let cgroup = tree.create("env", &LIMITS).unwrap();
        assert_eq!(
            procs_dirs(cgroup.as_ref(), tmp.path()),
            ["lamina/inst/env/cgroup.procs"]
        );
    }

    #[test]
    fn co_mounted_cpuacct_without_freezer_and_sub_roots_skipped() {
        let (tmp, text) = relocate(V1_COMOUNTED);
        let tree = detect_from(&text, "inst").unwrap();
        assert_eq!(tree.version(), "v1");
        let cgroup = tree.create("env", &LIMITS).unwrap();
        assert_eq!(
            procs_dirs(cgroup.as_ref(), tmp.path()),
            [
                "memory2/lamina/inst/env/cgroup.procs",
                "pids/lamina/inst/env/cgroup.procs",
                "cpu,cpuacct/lamina/inst/env/cgroup.procs",
            ]
        );
        fs::write(
            tmp.path().join("cpu,cpuacct/lamina/inst/env/cpuacct.usage"),
            "42\n",
        )
        .unwrap();
        assert_eq!(cgroup.usage().cpu_nanos, Some(42));
        cgroup.set_frozen(true).unwrap();
    }

    #[test]
    fn nothing_usable_is_an_error_with_reasons() {
        let err = detect_from("27 1 254:0 / / rw - ext4 /dev/vda rw\n", "inst")
            .err()
            .unwrap();
        assert!(matches!(err, CgroupError::NotMounted(_)), "{err}");

        let (tmp, text) = relocate(V1_HYBRID);
        fs::write(tmp.path().join("unified/cgroup.controllers"), "\n").unwrap();
        let only_unified: String = text
            .lines()
            .filter(|l| !l.contains(" - cgroup cgroup "))
            .map(|l| format!("{l}\n"))
            .collect();
        let err = detect_from(&only_unified, "inst").err().unwrap();
        assert!(matches!(err, CgroupError::Unusable(_)), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("lacks the memory and pids controller"),
            "{message}"
        );
        assert!(
            message.contains("no writable memory or pids hierarchy"),
            "{message}"
        );

        let missing_dirs = V1_HYBRID.replace("/sys/fs/cgroup", "/nonexistent/cgroup");
        let err = detect_from(&missing_dirs, "inst").err().unwrap();
        assert!(matches!(err, CgroupError::Unusable(_)), "{err}");
        assert!(matches!(
            detect_from(&text, "a/b"),
            Err(CgroupError::InvalidName(_))
        ));
    }

    #[test]
    fn keyed_and_pid_files_parse_defensively() {
        let tmp = tempfile::tempdir().unwrap();
        let keyed = tmp.path().join("memory.events");
        fs::write(&keyed, "oom 3\noom_kill x\noom_kill_extra 9\n").unwrap();
        assert_eq!(read_keyed(&keyed, "oom"), Some(3));
        assert_eq!(read_keyed(&keyed, "oom_kill"), None);
        let procs = tmp.path().join("cgroup.procs");
        fs::write(&procs, "12\n\n0\n-4\nabc\n7\n").unwrap();
        let pids = read_pids(&[procs, tmp.path().join("missing")]).unwrap();
        assert_eq!(pids.into_iter().collect::<Vec<_>>(), [7, 12]);
    }

    /// Waits until the kernel reports the cgroup frozen (v1 `freezer.state`, v2 `cgroup.events`).
    fn wait_frozen(cgroup: &dyn Cgroup) -> Duration {
        let start = Instant::now();
        for procs in cgroup.procs_files() {
            let dir = procs.parent().unwrap();
            let (file, frozen) = if dir.join("freezer.state").exists() {
                (dir.join("freezer.state"), "FROZEN")
            } else if dir.join("cgroup.events").exists() {
                (dir.join("cgroup.events"), "frozen 1")
            } else {
                continue;
            };
            while !fs::read_to_string(&file).unwrap().contains(frozen) {
                assert!(start.elapsed() < Duration::from_secs(2), "never frozen");
                std::thread::sleep(Duration::from_micros(100));
            }
        }
        start.elapsed()
    }

    /// The real kernel, as root. Prints timings (run with `--nocapture`).
    #[test]
    #[ignore = "needs root and a writable cgroup hierarchy: run by scripts/test"]
    fn real_kernel_lifecycle() {
        assert!(
            rustix::process::geteuid().is_root(),
            "the real-kernel cgroup test needs root"
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let instance = format!("test-{}-{nanos:x}", std::process::id());
        let tree = detect(&instance).unwrap();

        let start = Instant::now();
        let cgroup = tree.create("env", &LIMITS).unwrap();
        let create = start.elapsed();

        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let start = Instant::now();
        attach(&cgroup.procs_files(), pid).unwrap();
        let join = start.elapsed();
        for procs in cgroup.procs_files() {
            let listed = fs::read_to_string(&procs).unwrap();
            assert_eq!(listed.trim(), child.id().to_string(), "{}", procs.display());
        }

        let start = Instant::now();
        cgroup.set_frozen(true).unwrap();
        let freeze = start.elapsed();
        let frozen_after = wait_frozen(cgroup.as_ref());

        let start = Instant::now();
        cgroup.kill_all().unwrap();
        let kill = start.elapsed();
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );

        let leftovers = tree.leftovers().unwrap();
        assert_eq!(leftovers.len(), 1);
        assert_eq!(leftovers[0].name(), "env");

        let start = Instant::now();
        cgroup.remove().unwrap();
        let remove = start.elapsed();
        for procs in cgroup.procs_files() {
            assert!(!procs.parent().unwrap().exists(), "{}", procs.display());
        }
        assert!(tree.leftovers().unwrap().is_empty());

        let instance_dirs: BTreeSet<PathBuf> = cgroup
            .procs_files()
            .iter()
            .filter_map(|p| Some(p.parent()?.parent()?.to_owned()))
            .collect();
        for dir in instance_dirs {
            fs::remove_dir(&dir).unwrap();
            // Shared with other instances; stays when one is still there.
            let _ = fs::remove_dir(dir.parent().unwrap());
        }
        eprintln!(
            "cgroup {} timings: create+limits {create:?}, join after 200 ms idle {join:?}, \
             set_frozen {freeze:?} (FROZEN after {frozen_after:?}), kill_all {kill:?}, \
             remove {remove:?}",
            tree.version()
        );
    }
}
