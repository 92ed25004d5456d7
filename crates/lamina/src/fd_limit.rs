//! The server's own open-file limit, raised at start to what the machine allows.
//!
//! Every environment holds descriptors in the server (pipes, its Runtime API listener and
//! connections) and clients hold API connections, so the shell's usual soft limit (1,024, or
//! 20,000 here) is what one noisy function would exhaust first. Raising the soft limit to the
//! hard one is always allowed; with CAP_SYS_RESOURCE the hard limit may go up to the kernel's
//! `nr_open`.
//! Runtimes never inherit it: the jail sets their own limit (1,024, as AWS).

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Most descriptors asked for, even where `nr_open` allows more.
const WANTED_OPEN_FILES: u64 = 1 << 20;

/// Raises `RLIMIT_NOFILE` as far as allowed; returns the limit before and after.
pub fn raise_open_files() -> (Option<u64>, Option<u64>) {
    let before = getrlimit(Resource::Nofile);
    let kernel_max = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(WANTED_OPEN_FILES);
    let target = WANTED_OPEN_FILES.min(kernel_max);
    // CAP_SYS_RESOURCE may raise the hard limit too; anyone may raise the soft one up to the
    // hard one.
    let maximum = match before.maximum {
        Some(hard) if hard < target => Some(target),
        hard => hard,
    };
    let raised = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(target),
            maximum,
        },
    )
    .or_else(|_| {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: before.maximum,
                maximum: before.maximum,
            },
        )
    });
    if let Err(e) = raised {
        tracing::warn!(error = %e, "could not raise the open-file limit");
    }
    (before.current, getrlimit(Resource::Nofile).current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_least_at_the_old_hard_limit() {
        let before = getrlimit(Resource::Nofile);
        let (old_soft, new_soft) = raise_open_files();
        assert_eq!(old_soft, before.current);
        let floor = before.maximum.unwrap_or(u64::MAX).min(WANTED_OPEN_FILES);
        assert!(
            new_soft.unwrap_or(u64::MAX) >= floor,
            "{new_soft:?} < {floor}"
        );
    }
}
