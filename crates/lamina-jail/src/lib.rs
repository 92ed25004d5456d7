//! The jail: the privileged, single-threaded set-up of one execution environment, run in a
//! fresh `lamina __jail` process before it execs the runtime (the pattern of runc's init and
//! Firecracker's jailer: namespaces and mounts in a multi-threaded tokio process are a trap).
//!
//! Every kernel call goes through [`Syscall`], so the sequence is unit-tested with a
//! recording fake; [`LinuxSyscall`] is the real one. One error variant per step.
//!
//! This is the mount-namespace part: `/opt` is the read-only overlay of the layers (the
//! last layer on top), `/var/task`, `/var/runtime` and `/var/lang` are read-only binds on a
//! private `/var`, `/tmp` is the environment's own directory. Never called from async code.

#![allow(unsafe_code)]

mod plan;
mod syscall;

pub use plan::{JailArgs, JailError, enter, parse_args};
pub use syscall::{LinuxSyscall, Syscall};
