//! The jail's three processes and the order of their steps.
//!
//! - The *keeper* is the process the server started. It joins the environment's cgroups,
//!   joins the environment's network namespace (when it has one), creates the other
//!   namespaces and forks the init; then it only waits, and ends the way the
//!   runtime ended, so the server sees the runtime's exit status. Killing it kills the
//!   whole environment (the init dies with its parent, and the PID namespace with its init).
//! - The *init* is PID 1 of the new PID namespace. It builds the root file system, pivots
//!   into it, mounts `/proc` (masking the host's `/proc/net`), forks the external extensions
//!   (each file of `/opt/extensions`, as AWS starts them before the runtime) and then the
//!   runtime, and reaps orphans until the runtime exits. Extensions are forked here rather
//!   than by the runtime or the server: the init is already every process's reaper, stays
//!   single-threaded, and its exit (with the runtime's) ends them with the PID namespace.
//! - Each *extension* process, and the *runtime* process, drops to the sandbox uid and gid, with no capabilities,
//!   `no_new_privs` and AWS's resource limits, installs the seccomp filter last and execs
//!   the runtime.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use rustix::process::Resource;

use crate::error::JailError;
use crate::output::{EXTENSIONS_OUTPUT_FD, JAIL_REPORT_FD, JailReport, TEMPLATE_CONTROL_FD};
use crate::plan::{JailPlan, JailPlanError, JailRequest};
use crate::rootfs;
use crate::seccomp::SeccompFilters;
use crate::syscall::Syscall;

/// Open files and processes (threads included) a function may have, as on AWS.
pub const RLIMIT_NOFILE: u64 = 1024;
/// See [`RLIMIT_NOFILE`].
pub const RLIMIT_NPROC: u64 = 1024;

/// The host name inside every environment (it resolves through its `/etc/hosts`: the host's,
/// as it was when the environment started, with `sandbox.localdomain` added).
const HOSTNAME: &str = "localhost";

/// How the calling process should end once the jail is done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Exit with this code.
    Exit(i32),
    /// Die of this signal, as the runtime did.
    Signal(i32),
}

impl Ending {
    /// Ends this process so: an exit code, or death by the signal, so the server sees the
    /// same status the runtime had.
    pub fn apply(self) -> ! {
        match self {
            Self::Exit(code) => std::process::exit(code),
            Self::Signal(signal) => {
                // SAFETY: restoring a signal's default action and raising it have no
                // memory-safety preconditions. The default must be restored because Rust's
                // runtime ignores SIGPIPE, which would make the raise a no-op.
                unsafe {
                    libc::signal(signal, libc::SIG_DFL);
                    libc::raise(signal);
                }
                std::process::exit(128 + signal)
            }
        }
    }
}

/// Runs the jail as the server asks on `stream` (its standard input, see [`crate::plan`]):
/// either at once, or as a standby that joins its cgroups first (the slow step on cgroup v1,
/// done before any function needs the environment) and then waits for its plan. A standby
/// whose stream ends without a plan went unused (shutdown) and exits 0.
pub fn run_from(mut stream: impl BufRead, sys: &impl Syscall) -> Result<Ending, JailError> {
    let plan = match JailRequest::read(&mut stream)? {
        None => return Err(JailPlanError::NoPlan.into()),
        Some(JailRequest::Run(plan)) => plan,
        Some(JailRequest::Standby { cgroups }) => {
            join(&cgroups, sys)?;
            match JailRequest::read(&mut stream)? {
                None => return Ok(Ending::Exit(0)),
                Some(JailRequest::Run(plan)) => plan,
                Some(JailRequest::Standby { .. }) => {
                    return Err(JailPlanError::Unexpected("a second standby request").into());
                }
            }
        }
    };
    enter(&plan, sys)
}

fn join(cgroups: &[PathBuf], sys: &impl Syscall) -> Result<(), JailError> {
    for procs in cgroups {
        sys.join_cgroup(procs)
            .map_err(|source| JailError::JoinCgroup {
                path: procs.clone(),
                source,
            })?;
    }
    Ok(())
}

/// Runs the jail in the process `lamina serve` started. Returns how this process should end
/// (the runtime's own ending, in the keeper); the runtime process itself never returns
/// unless its exec fails.
pub fn enter(args: &JailPlan, sys: &impl Syscall) -> Result<Ending, JailError> {
    join(&args.cgroups, sys)?;
    // Before the other namespaces: the runtime's sockets are made in this one, and the
    // seccomp filter later denies `setns` and `unshare` to the runtime.
    if let Some(network) = &args.network {
        sys.join_network(network)
            .map_err(|source| JailError::JoinNetwork {
                path: network.clone(),
                source,
            })?;
    }
    sys.unshare_namespaces().map_err(JailError::Unshare)?;
    let (status_reader, status_writer) = sys.pipe().map_err(JailError::StatusPipe)?;
    match sys.fork().map_err(JailError::Fork)? {
        Some(init) => {
            drop(status_writer);
            sys.close_fd(EXTENSIONS_OUTPUT_FD);
            // Only a template's runtime holds its control socket: its death ends the socket.
            if args.template {
                sys.close_fd(TEMPLATE_CONTROL_FD);
            }
            let report = keep(init, std::fs::File::from(status_reader), sys)?;
            // Read by the server once this process ended; it may be gone (killed) already.
            let _ = sys.write_report(JAIL_REPORT_FD, &report.encode());
            Ok(match report {
                JailReport::Runtime(raw) | JailReport::Extension(raw) => ending_of(raw),
            })
        }
        None => {
            drop(status_reader);
            // Only the keeper reports: no process of the environment can forge it.
            sys.close_fd(JAIL_REPORT_FD);
            sys.die_with_parent()
                .map_err(JailError::ParentDeathSignal)?;
            init(args, std::fs::File::from(status_writer), sys)
        }
    }
}

/// The keeper: waits for the init, then returns what the init reported: the runtime's raw wait
/// status, or the status of the extension whose exit ended the environment (without a report,
/// the init itself failed: its own status, as the runtime's).
fn keep(init: u32, mut status: std::fs::File, sys: &impl Syscall) -> Result<JailReport, JailError> {
    let init_status = loop {
        let (pid, raw) = sys.wait_any().map_err(JailError::Wait)?;
        if pid == init {
            break raw;
        }
    };
    let mut report = [0u8; 5];
    Ok(match status.read_exact(&mut report) {
        Ok(()) => JailReport::decode(&report).unwrap_or(JailReport::Runtime(init_status)),
        Err(_) => JailReport::Runtime(init_status),
    })
}

/// PID 1: builds the root, forks the runtime and reaps until it exits.
fn init(
    args: &JailPlan,
    mut status: std::fs::File,
    sys: &impl Syscall,
) -> Result<Ending, JailError> {
    sys.make_mounts_private()
        .map_err(JailError::MakeMountsPrivate)?;
    sys.set_hostname(HOSTNAME).map_err(JailError::Hostname)?;
    let sources = rootfs::open_sources(args, sys)?;
    rootfs::build(args, &sources, sys)?;
    drop(sources);
    sys.pivot_root(&args.root).map_err(JailError::PivotRoot)?;
    sys.mount_proc(Path::new("/proc"))
        .map_err(JailError::MountProc)?;
    // On the host's network its sockets must not show at /proc/net (`/proc/<pid>/net` still
    // shows them). An environment with a network of its own has nothing to hide there, and
    // its `/proc` stays fully visible, which a SnapStart copy needs to mount its own.
    if args.network.is_none() {
        sys.mask(Path::new("/dev/null"), Path::new("/proc/net"))
            .map_err(JailError::MaskProcNet)?;
    }
    let mut extensions = Vec::with_capacity(args.extensions.len());
    for extension in &args.extensions {
        let Some(pid) = sys.fork().map_err(JailError::Fork)? else {
            drop(status);
            // Their own pipe: a line an extension writes in two pieces is never cut by
            // the runtime's output, and the server knows which lines are whose.
            if let Err(e) = sys.redirect_output(EXTENSIONS_OUTPUT_FD) {
                return Err(JailError::RedirectOutput(e));
            }
            return Err(run_program(args, extension, &[], sys));
        };
        extensions.push(pid);
    }
    // Only the extensions write there: the pipe ends when they do.
    sys.close_fd(EXTENSIONS_OUTPUT_FD);
    let Some(runtime) = sys.fork().map_err(JailError::Fork)? else {
        drop(status);
        return Err(run_program(args, &args.program, &args.args, sys));
    };
    if args.template {
        sys.close_fd(TEMPLATE_CONTROL_FD);
    }
    // The status of the first extension that exited: the environment's end, reported in
    // place of the runtime's (which the jail killed), so the server can name the crash.
    let mut crashed = None;
    loop {
        let (pid, raw) = sys.wait_any().map_err(JailError::Wait)?;
        if pid == runtime {
            // A SnapStart template's restored copies live in this PID namespace (each in a
            // namespace of its own below it): its end would kill them, so it waits for them.
            if args.template {
                reap_all(sys);
            }
            // The keeper may be gone (killed); then nobody needs the report.
            let report = crashed.map_or(JailReport::Runtime(raw), JailReport::Extension);
            let _ = status.write_all(&report.encode());
            return Ok(Ending::Exit(0));
        }
        // An extension that exits ends the environment, as on AWS (its crash fails Init, or
        // resets the environment): the runtime is killed, so the server sees the end at
        // once. During SHUTDOWN the server kills everything anyway.
        if crashed.is_none() && extensions.contains(&pid) {
            crashed = Some(raw);
            let _ = sys.kill(runtime);
        }
    }
}

/// Reaps every process left until none is (a template's restored copies, reparented here
/// when the runtime that forked them ended).
fn reap_all(sys: &impl Syscall) {
    while sys.wait_any().is_ok() {}
}

/// The runtime or an extension process: drops every privilege, installs the seccomp filter
/// and execs `program` with `argv` and the plan's environment. Returns only on error.
fn run_program(args: &JailPlan, program: &Path, argv: &[String], sys: &impl Syscall) -> JailError {
    let steps = || -> Result<(), JailError> {
        let filters = match (args.seccomp, args.template) {
            (false, _) => None,
            (true, false) => Some(SeccompFilters::compile().map_err(JailError::SeccompFilter)?),
            (true, true) => {
                Some(SeccompFilters::compile_template().map_err(JailError::SeccompFilter)?)
            }
        };
        sys.set_rlimit(Resource::Nofile, RLIMIT_NOFILE)
            .map_err(JailError::Rlimit)?;
        sys.set_rlimit(Resource::Nproc, RLIMIT_NPROC)
            .map_err(JailError::Rlimit)?;
        sys.set_gid(args.gid).map_err(JailError::SetGid)?;
        sys.drop_bounding_set()
            .map_err(JailError::DropCapabilities)?;
        sys.set_uid(args.uid).map_err(JailError::SetUid)?;
        sys.set_no_new_privs().map_err(JailError::NoNewPrivs)?;
        sys.chdir(Path::new("/var/task"))
            .map_err(JailError::Chdir)?;
        // Last before the exec, so the jail's own steps need none of the calls it denies.
        match &filters {
            Some(filters) => sys.install_seccomp(filters).map_err(JailError::Seccomp),
            None => Ok(()),
        }
    };
    if let Err(e) = steps() {
        return e;
    }
    let source = sys.exec(program, argv, &args.env);
    JailError::Exec {
        program: program.to_owned(),
        source,
    }
}

/// Decodes a raw wait status.
fn ending_of(raw: i32) -> Ending {
    let signal = raw & 0x7f;
    if signal == 0 {
        Ending::Exit((raw >> 8) & 0xff)
    } else {
        Ending::Signal(signal)
    }
}

#[cfg(test)]
mod tests;
