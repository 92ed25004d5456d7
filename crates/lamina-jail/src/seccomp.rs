//! The seccomp filter every runtime runs under, installed right before its exec: in the
//! spirit of Docker's default profile, the calls a function never needs and that widen the
//! kernel's attack surface (new namespaces, mounts, tracing, the key ring, BPF, modules,
//! reboot, ...) fail with `EPERM`, as Docker answers them. They are refused, not killed, so a
//! runtime that probes a call (Python, Node) carries on.
//!
//! Two programs are stacked (the kernel runs both and keeps the strictest answer):
//! - the deny list, compiled by `seccompiler`: `EPERM` for the calls in [`DENIED`], for
//!   `clone`/`unshare` with a namespace flag, and for `personality` with a flag that weakens
//!   address-space randomisation; any other architecture than the native one is killed;
//! - a guard of seven instructions, `ENOSYS` for `clone3` (its flags are in memory, out of a
//!   filter's reach; libc falls back to `clone`, which the deny list checks, as under Docker)
//!   and for x32 calls on x86_64 (the same call numbers with bit 30 set would slip past a
//!   deny list; a kernel without x32 answers them so too).
//!
//! A SnapStart template runs under a looser deny list ([`SeccompFilters::compile_template`]):
//! `mount`, `move_mount`, and `unshare` with the flags of [`TEMPLATE_UNSHARE_FLAGS`], are
//! allowed, because each restored copy of the template moves itself into a new user namespace
//! (where it has capabilities over its own new namespaces only), attaches its `/tmp` (a mount
//! the server hands it) and mounts its `/proc` there.
//! Each copy then stacks the full filter ([`SeccompFilters::to_bytes`]) before any function
//! code runs again, so a restored environment is filtered as strictly as a new one.

use std::collections::BTreeMap;
use std::io;

use seccompiler::{
    BackendError, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch, sock_filter,
};

/// Calls refused outright with `EPERM`, by name (for messages and tests) and number.
pub const DENIED: &[(&str, i64)] = &[
    // Namespaces (`clone` and `unshare` are checked by flag below).
    ("setns", libc::SYS_setns),
    // Mounts, old API and new.
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("pivot_root", libc::SYS_pivot_root),
    ("move_mount", libc::SYS_move_mount),
    ("open_tree", libc::SYS_open_tree),
    ("fsopen", libc::SYS_fsopen),
    ("fsconfig", libc::SYS_fsconfig),
    ("fsmount", libc::SYS_fsmount),
    ("fspick", libc::SYS_fspick),
    ("mount_setattr", libc::SYS_mount_setattr),
    // Other processes' memory and files.
    ("ptrace", libc::SYS_ptrace),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("kcmp", libc::SYS_kcmp),
    ("pidfd_getfd", libc::SYS_pidfd_getfd),
    // The kernel key ring.
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("keyctl", libc::SYS_keyctl),
    // Kernel attack surface and host-wide state.
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("io_uring_setup", libc::SYS_io_uring_setup),
    ("io_uring_enter", libc::SYS_io_uring_enter),
    ("io_uring_register", libc::SYS_io_uring_register),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("kexec_load", libc::SYS_kexec_load),
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    ("kexec_file_load", libc::SYS_kexec_file_load),
    ("reboot", libc::SYS_reboot),
    ("swapon", libc::SYS_swapon),
    ("swapoff", libc::SYS_swapoff),
    ("acct", libc::SYS_acct),
    ("quotactl", libc::SYS_quotactl),
    ("quotactl_fd", libc::SYS_quotactl_fd),
    ("lookup_dcookie", libc::SYS_lookup_dcookie),
    ("syslog", libc::SYS_syslog),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ("name_to_handle_at", libc::SYS_name_to_handle_at),
    #[cfg(target_arch = "x86_64")]
    ("iopl", libc::SYS_iopl),
    #[cfg(target_arch = "x86_64")]
    ("ioperm", libc::SYS_ioperm),
];

/// The `CLONE_NEW*` flags `clone` may carry (`CLONE_NEWTIME` shares its bit with the exit
/// signal there, so it is checked on `unshare` only).
/// Calls of [`DENIED`] a SnapStart template may make (see the module's documentation).
const TEMPLATE_ALLOWED: [&str; 2] = ["mount", "move_mount"];

/// The namespaces a restored copy of a SnapStart template creates for itself, all at once.
pub const TEMPLATE_UNSHARE_FLAGS: libc::c_int = libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS;

const CLONE_NAMESPACE_FLAGS: [libc::c_int; 7] = [
    libc::CLONE_NEWNS,
    libc::CLONE_NEWCGROUP,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
];

/// `personality` flags that weaken address-space randomisation or make data executable.
const UNSAFE_PERSONALITY_FLAGS: [libc::c_int; 4] = [
    libc::ADDR_NO_RANDOMIZE,
    libc::MMAP_PAGE_ZERO,
    libc::ADDR_COMPAT_LAYOUT,
    libc::READ_IMPLIES_EXEC,
];

/// `personality(0xffffffff)` only reads the current persona.
const PERSONALITY_QUERY: u64 = 0xffff_ffff;

/// x32 calls on x86_64 are the native numbers with this bit set.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The native architecture, as `seccompiler` and the kernel's `seccomp_data.arch` name it.
#[cfg(target_arch = "x86_64")]
const NATIVE: Option<(TargetArch, u32)> = Some((TargetArch::x86_64, 0xc000_003e));
#[cfg(target_arch = "aarch64")]
const NATIVE: Option<(TargetArch, u32)> = Some((TargetArch::aarch64, 0xc000_00b7));
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const NATIVE: Option<(TargetArch, u32)> = None;

/// Why the filter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// Lamina has no filter for this architecture.
    #[error("no seccomp filter is defined for {0}")]
    Architecture(&'static str),
    /// `seccompiler` refused the rules.
    #[error("compiling the seccomp filter failed: {0}")]
    Compile(#[from] BackendError),
}

/// The compiled programs, ready to install.
#[derive(Debug, Clone)]
pub struct SeccompFilters {
    programs: Vec<BpfProgram>,
}

impl SeccompFilters {
    /// Compiles the guard and the deny list for the native architecture.
    pub fn compile() -> Result<Self, SeccompError> {
        let (arch, audit_arch) =
            NATIVE.ok_or(SeccompError::Architecture(std::env::consts::ARCH))?;
        Ok(Self {
            programs: vec![guard(audit_arch), deny_list(arch, false)?],
        })
    }

    /// Compiles the guard and the looser deny list of a SnapStart template (see the module's
    /// documentation).
    pub fn compile_template() -> Result<Self, SeccompError> {
        let (arch, audit_arch) =
            NATIVE.ok_or(SeccompError::Architecture(std::env::consts::ARCH))?;
        Ok(Self {
            programs: vec![guard(audit_arch), deny_list(arch, true)?],
        })
    }

    /// The programs as a process installs them itself: for each, its length in instructions
    /// (a little-endian `u16`) and then its `sock_filter`s in the machine's layout (`code` as
    /// a `u16`, `jt` and `jf` as bytes, `k` as a `u32`, native endian). A restored SnapStart
    /// copy, a Python process, installs them with `prctl(PR_SET_SECCOMP)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for program in &self.programs {
            let len = u16::try_from(program.len()).unwrap_or(u16::MAX);
            bytes.extend_from_slice(&len.to_le_bytes());
            for op in program.iter().take(usize::from(len)) {
                bytes.extend_from_slice(&op.code.to_ne_bytes());
                bytes.push(op.jt);
                bytes.push(op.jf);
                bytes.extend_from_slice(&op.k.to_ne_bytes());
            }
        }
        bytes
    }

    /// Installs the programs on the calling thread (the jail is single-threaded). Sets
    /// `no_new_privs` too, which an unprivileged caller needs first.
    pub fn install(&self) -> io::Result<()> {
        for program in &self.programs {
            seccompiler::apply_filter(program).map_err(|e| match e {
                seccompiler::Error::Prctl(e) | seccompiler::Error::Seccomp(e) => e,
                other => io::Error::other(other.to_string()),
            })?;
        }
        Ok(())
    }
}

/// The `EPERM` deny list; other architectures than `arch` are killed. A `template`'s allows
/// `mount` and `unshare` with [`TEMPLATE_UNSHARE_FLAGS`].
fn deny_list(arch: TargetArch, template: bool) -> Result<BpfProgram, BackendError> {
    let any_flag_of = |flags: &[libc::c_int], extra: &[SeccompCondition]| {
        flags
            .iter()
            .map(|flag| {
                let flag = u64::from(flag.unsigned_abs());
                let has_flag = SeccompCondition::new(
                    0,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::MaskedEq(flag),
                    flag,
                )?;
                SeccompRule::new([&[has_flag], extra].concat())
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = DENIED
        .iter()
        .filter(|(name, _)| !(template && TEMPLATE_ALLOWED.contains(name)))
        .map(|(_, nr)| (*nr, Vec::new()))
        .collect();
    rules.insert(libc::SYS_clone, any_flag_of(&CLONE_NAMESPACE_FLAGS, &[])?);
    let unshare_flags: Vec<libc::c_int> = [&CLONE_NAMESPACE_FLAGS[..], &[libc::CLONE_NEWTIME]]
        .concat()
        .into_iter()
        .filter(|flag| !(template && flag & TEMPLATE_UNSHARE_FLAGS != 0))
        .collect();
    rules.insert(libc::SYS_unshare, any_flag_of(&unshare_flags, &[])?);
    let not_a_query = SeccompCondition::new(
        0,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Ne,
        PERSONALITY_QUERY,
    )?;
    rules.insert(
        libc::SYS_personality,
        any_flag_of(&UNSAFE_PERSONALITY_FLAGS, &[not_a_query])?,
    );
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM.unsigned_abs()),
        arch,
    )?;
    filter.try_into()
}

/// `ENOSYS` for `clone3` and x32 calls; everything else is left to the deny list.
fn guard(audit_arch: u32) -> BpfProgram {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JGE_K: u16 = 0x35;
    const RET_K: u16 = 0x06;
    const NR_OFFSET: u32 = 0;
    const ARCH_OFFSET: u32 = 4;
    let op = |code, k, jt, jf| sock_filter { code, jt, jf, k };
    let enosys = libc::SECCOMP_RET_ERRNO | libc::ENOSYS.unsigned_abs();
    let clone3 = u32::try_from(libc::SYS_clone3).unwrap_or(u32::MAX);
    vec![
        /* 0 */ op(LD_W_ABS, ARCH_OFFSET, 0, 0),
        /* 1 */
        op(JEQ_K, audit_arch, 0, 3), // a foreign arch: to 5 (the deny list kills it)
        /* 2 */ op(LD_W_ABS, NR_OFFSET, 0, 0),
        /* 3 */ op(JGE_K, X32_SYSCALL_BIT, 2, 0), // x32: to 6
        /* 4 */ op(JEQ_K, clone3, 1, 0), // clone3: to 6, else 5
        /* 5 */ op(RET_K, libc::SECCOMP_RET_ALLOW, 0, 0),
        /* 6 */ op(RET_K, enosys, 0, 0),
    ]
}

#[cfg(test)]
mod tests;
