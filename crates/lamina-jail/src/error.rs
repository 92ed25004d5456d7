//! One error variant per step of the jail.

use std::io;
use std::path::PathBuf;

use crate::seccomp::SeccompError;

/// A step of the jail that failed. Each variant is one step.
#[derive(Debug, thiserror::Error)]
pub enum JailError {
    /// What the server sent on the jail's standard input is not a plan it can run.
    #[error(transparent)]
    Plan(#[from] crate::plan::JailPlanError),
    /// Writing our pid to a `cgroup.procs` file failed.
    #[error("failed to join cgroup {path}: {source}")]
    JoinCgroup {
        /// The `cgroup.procs` file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Joining the environment's network namespace failed.
    #[error("failed to join the network namespace {path}: {source}")]
    JoinNetwork {
        /// The namespace file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `unshare` of the mount, PID, IPC and UTS namespaces failed.
    #[error("failed to create namespaces: {0}")]
    Unshare(#[source] io::Error),
    /// The pipe that carries the runtime's exit status failed.
    #[error("failed to create the status pipe: {0}")]
    StatusPipe(#[source] io::Error),
    /// `fork` failed.
    #[error("failed to fork: {0}")]
    Fork(#[source] io::Error),
    /// Waiting for a child failed.
    #[error("failed to wait for a child: {0}")]
    Wait(#[source] io::Error),
    /// The parent-death signal could not be set, or the parent is already gone.
    #[error("failed to tie the sandbox to its parent: {0}")]
    ParentDeathSignal(#[source] io::Error),
    /// Making `/` a slave mount failed.
    #[error("failed to make mounts private: {0}")]
    MakeMountsPrivate(#[source] io::Error),
    /// Setting the host name failed.
    #[error("failed to set the host name: {0}")]
    Hostname(#[source] io::Error),
    /// A source directory could not be opened.
    #[error("failed to open {path}: {source}")]
    OpenSource {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Mounting the new root's tmpfs failed.
    #[error("failed to mount the new root on {path}: {source}")]
    MountRoot {
        /// The mount point.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Creating a directory, file or link in the new root failed.
    #[error("failed to create {path}: {source}")]
    CreateInRoot {
        /// What was being created.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A bind mount failed.
    #[error("failed to bind {target}: {source}")]
    Bind {
        /// The mount point.
        target: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Mounting a host tree read-only (an overlay, so no host path shows in `mountinfo`)
    /// failed.
    #[error("failed to mount {target}: {source}")]
    MountTree {
        /// The mount point.
        target: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Mounting `/opt` failed.
    #[error("failed to mount the layers at /opt: {0}")]
    MountOpt(#[source] io::Error),
    /// Mounting the private `/var` failed.
    #[error("failed to mount a private /var: {0}")]
    MountVar(#[source] io::Error),
    /// Mounting the minimal `/dev` failed.
    #[error("failed to mount /dev: {0}")]
    MountDev(#[source] io::Error),
    /// Making the new root read-only failed.
    #[error("failed to make the root read-only: {0}")]
    RemountRoot(#[source] io::Error),
    /// `pivot_root` failed.
    #[error("failed to pivot into the new root: {0}")]
    PivotRoot(#[source] io::Error),
    /// Mounting `/proc` failed.
    #[error("failed to mount /proc: {0}")]
    MountProc(#[source] io::Error),
    /// Masking the host's `/proc/net` (the network namespace is still the host's) failed.
    #[error("failed to mask /proc/net: {0}")]
    MaskProcNet(#[source] io::Error),
    /// Setting a resource limit failed.
    #[error("failed to set a resource limit: {0}")]
    Rlimit(#[source] io::Error),
    /// Switching to the sandbox gid failed.
    #[error("failed to set the gid: {0}")]
    SetGid(#[source] io::Error),
    /// Dropping the capability bounding set failed.
    #[error("failed to drop capabilities: {0}")]
    DropCapabilities(#[source] io::Error),
    /// Switching to the sandbox uid failed.
    #[error("failed to set the uid: {0}")]
    SetUid(#[source] io::Error),
    /// Setting `no_new_privs` failed.
    #[error("failed to set no_new_privs: {0}")]
    NoNewPrivs(#[source] io::Error),
    /// Changing into `/var/task` failed.
    #[error("failed to enter /var/task: {0}")]
    Chdir(#[source] io::Error),
    /// Building the seccomp filter failed.
    #[error("failed to build the seccomp filter: {0}")]
    SeccompFilter(#[source] SeccompError),
    /// Installing the seccomp filter failed.
    #[error("failed to install the seccomp filter: {0}")]
    Seccomp(#[source] io::Error),
    /// Opening the extensions' output FIFO, or making it their standard output, failed.
    #[error("failed to set up the extensions' output {path}: {source}")]
    ExtensionOutput {
        /// The FIFO.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Executing the runtime failed.
    #[error("failed to execute {program}: {source}")]
    Exec {
        /// The runtime executable.
        program: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}
