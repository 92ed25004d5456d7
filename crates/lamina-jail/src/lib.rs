//! The jail: the privileged, single-threaded set-up of one execution environment, run in a
//! fresh `lamina __jail` process before it execs the runtime (the pattern of runc's init and
//! Firecracker's jailer: namespaces and mounts in a multi-threaded tokio process are a trap).
//! It is told what to do by frames on its standard input (see [`plan`]).
//!
//! The environment gets its own cgroups, mount, PID, IPC and UTS namespaces and a minimal
//! read-only root (see [`rootfs`]) with its own `/proc` (the host's `/proc/net` masked); the
//! runtime runs as an unprivileged uid with no capabilities, `no_new_privs` and a seccomp
//! filter (see [`seccomp`]). Every kernel call goes through [`Syscall`], so the sequence is
//! unit-tested with a recording fake; [`LinuxSyscall`] is the real one. One error variant
//! per step. Never called from async code.
//!
//! [`cgroup`] gives each environment its own cgroup (v1 or v2): the server creates, freezes,
//! kills and removes it; the jail only joins it before forking. [`host`] holds the mounts the
//! server makes on the host itself (each environment's `/tmp`); [`netns`] the private network
//! namespace the server makes for an environment, which the jail joins.

#![allow(unsafe_code)]

pub mod cgroup;
mod error;
pub mod host;
pub mod netns;
pub mod output;
pub mod plan;
pub mod rootfs;
pub mod seccomp;
mod sequence;
mod syscall;

pub use error::JailError;
pub use output::{EXTENSIONS_OUTPUT_FD, JAIL_REPORT_FD, JailReport};
pub use plan::{JailPlan, JailPlanError, JailRequest, MAX_FRAME_BYTES, SUBCOMMAND};
pub use sequence::{Ending, RLIMIT_NOFILE, RLIMIT_NPROC, enter, run_from};
pub use syscall::{HostEntry, LinuxSyscall, Syscall};
