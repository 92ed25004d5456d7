//! The compiled filter, run by a small classic-BPF interpreter over made-up calls, and once
//! for real in a forked child.

use super::*;

const EPERM: u32 = libc::SECCOMP_RET_ERRNO | 1;
const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | 38;
const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;

/// Runs one program over `seccomp_data { nr, arch, instruction_pointer: 0, args }`.
fn run(program: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let word = |offset: u32| -> u32 {
        match offset {
            0 => nr,
            4 => arch,
            16..=63 => {
                let arg = args[((offset - 16) / 8) as usize];
                if offset % 8 == 4 {
                    (arg >> 32) as u32
                } else {
                    arg as u32
                }
            }
            _ => panic!("load from offset {offset}"),
        }
    };
    let (mut pc, mut acc) = (0usize, 0u32);
    loop {
        let op = &program[pc];
        let jump = |taken: bool| usize::from(if taken { op.jt } else { op.jf });
        pc += 1;
        match op.code {
            0x20 => acc = word(op.k),
            0x54 => acc &= op.k,
            0x05 => pc += op.k as usize,
            0x15 => pc += jump(acc == op.k),
            0x25 => pc += jump(acc > op.k),
            0x35 => pc += jump(acc >= op.k),
            0x06 => return op.k,
            code => panic!("instruction {code:#x} not interpreted"),
        }
    }
}

/// What the kernel answers with every program stacked: the strictest action (the lowest as
/// a signed number, so KILL_PROCESS beats all).
fn verdict_on(arch: u32, nr: i64, args: [u64; 6]) -> u32 {
    let filters = SeccompFilters::compile().unwrap();
    let nr = u32::try_from(nr).unwrap();
    filters
        .programs
        .iter()
        .map(|p| run(p, arch, nr, args))
        .min_by_key(|ret| (ret & libc::SECCOMP_RET_ACTION_FULL) as i32)
        .unwrap()
}

fn verdict(nr: i64, args: [u64; 6]) -> u32 {
    verdict_on(NATIVE.unwrap().1, nr, args)
}

fn with_first(arg: u64) -> [u64; 6] {
    [arg, 0, 0, 0, 0, 0]
}

#[test]
fn every_denied_call_is_refused_with_eperm() {
    assert!(DENIED.len() >= 40, "{}", DENIED.len());
    for (name, nr) in DENIED {
        assert_eq!(verdict(*nr, [0; 6]), EPERM, "{name}");
    }
}

#[test]
fn ordinary_calls_are_allowed() {
    for nr in [
        libc::SYS_read,
        libc::SYS_write,
        libc::SYS_openat,
        libc::SYS_mmap,
        libc::SYS_execve,
        libc::SYS_socket,
        libc::SYS_futex,
        libc::SYS_wait4,
        libc::SYS_exit_group,
    ] {
        assert_eq!(verdict(nr, [3, 4, 5, 6, 7, 8]), ALLOW, "{nr}");
    }
}

#[test]
fn clone_is_refused_only_with_a_namespace_flag() {
    let thread = libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM
        | libc::CLONE_SETTLS
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_CLEARTID;
    let fork = libc::SIGCHLD | libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID;
    let vfork = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    for flags in [thread, fork, vfork] {
        let flags = u64::from(flags.unsigned_abs());
        assert_eq!(verdict(libc::SYS_clone, with_first(flags)), ALLOW);
    }
    for flag in CLONE_NAMESPACE_FLAGS {
        let flags = u64::from((flag | libc::SIGCHLD).unsigned_abs());
        assert_eq!(
            verdict(libc::SYS_clone, with_first(flags)),
            EPERM,
            "{flag:#x}"
        );
    }
}

#[test]
fn unshare_is_refused_only_with_a_namespace_flag() {
    for flag in [libc::CLONE_NEWUSER, libc::CLONE_NEWNET, libc::CLONE_NEWTIME] {
        let flags = u64::from(flag.unsigned_abs());
        assert_eq!(verdict(libc::SYS_unshare, with_first(flags)), EPERM);
    }
    let harmless = u64::from((libc::CLONE_FILES | libc::CLONE_FS).unsigned_abs());
    assert_eq!(verdict(libc::SYS_unshare, with_first(harmless)), ALLOW);
}

#[test]
fn clone3_and_x32_calls_answer_enosys() {
    assert_eq!(verdict(libc::SYS_clone3, [0; 6]), ENOSYS);
    if cfg!(target_arch = "x86_64") {
        let x32_read = i64::from(X32_SYSCALL_BIT) | libc::SYS_read;
        assert_eq!(verdict(x32_read, [0; 6]), ENOSYS);
    }
}

#[test]
fn another_architecture_is_killed() {
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    assert_eq!(
        verdict_on(AUDIT_ARCH_I386, 1, [0; 6]),
        libc::SECCOMP_RET_KILL_PROCESS
    );
}

#[test]
fn personality_may_query_and_switch_but_not_weaken_randomisation() {
    let linux32 = 0x0008;
    for allowed in [PERSONALITY_QUERY, 0, linux32] {
        assert_eq!(
            verdict(libc::SYS_personality, with_first(allowed)),
            ALLOW,
            "{allowed:#x}"
        );
    }
    for flag in UNSAFE_PERSONALITY_FLAGS {
        let persona = u64::from(flag.unsigned_abs());
        assert_eq!(
            verdict(libc::SYS_personality, with_first(persona)),
            EPERM,
            "{flag:#x}"
        );
    }
}

/// Installs the filter in a forked child (no root needed: the filter sets `no_new_privs`)
/// and checks the real kernel's answers there; the child reports the first failed check as
/// its exit code.
#[test]
fn the_kernel_enforces_the_filter() {
    let filters = SeccompFilters::compile().unwrap();
    // SAFETY: the child runs only raw system calls (no allocation, no locks) and `_exit`s,
    // which is what a child of a multi-threaded process may do.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let errno_of = |ret: libc::c_long| {
            if ret == -1 {
                // SAFETY: reads this thread's errno.
                unsafe { *libc::__errno_location() }
            } else {
                0
            }
        };
        let code = if filters.install().is_err() {
            1
        } else {
            // SAFETY: each call has valid (null or integer) arguments; the denied ones fail
            // before the kernel looks at them.
            let checks = unsafe {
                [
                    errno_of(libc::syscall(libc::SYS_unshare, libc::CLONE_NEWUSER)) == libc::EPERM,
                    errno_of(libc::syscall(libc::SYS_clone3, 0, 0)) == libc::ENOSYS,
                    errno_of(libc::syscall(libc::SYS_keyctl, 0, 0)) == libc::EPERM,
                    errno_of(libc::syscall(libc::SYS_bpf, 0, 0, 0)) == libc::EPERM,
                    errno_of(libc::syscall(libc::SYS_ptrace, 0, 0, 0, 0)) == libc::EPERM,
                    libc::syscall(libc::SYS_getpid) > 0,
                ]
            };
            checks
                .iter()
                .position(|ok| !ok)
                .map_or(0, |i| i32::try_from(i).unwrap_or(99) + 2)
        };
        // SAFETY: ends the child without running the parent's destructors or test harness.
        unsafe { libc::_exit(code) }
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked; `status` is a valid out pointer.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "child died: {status:#x}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "check {} failed",
        libc::WEXITSTATUS(status)
    );
}
