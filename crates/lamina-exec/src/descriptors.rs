//! The server's file descriptors, shared by environments and everything else the server does.
//!
//! Each environment holds descriptors in the server (its pipes, its Runtime API listener and
//! up to [`MAX_CONNECTIONS_PER_ENVIRONMENT`] connections), so enough environments could take
//! the last ones, and then the API could no longer accept a client, SQLite open its journal or
//! an upload its temporary file. So every environment is charged its whole share up front: a
//! cold start goes ahead only if all environments could grow to their share and still leave a
//! reserve free. Otherwise the invoke is throttled (429, which SDKs retry) and the server keeps
//! serving.

use rustix::process::{Resource, getrlimit};

use crate::runtime_api::MAX_CONNECTIONS_PER_ENVIRONMENT;

/// Most descriptors one environment holds in the server: its Runtime API connections, plus
/// its listener, pipes and process handles (4 to 5, measured; 16 allowed).
pub const ENVIRONMENT_SHARE: u64 = MAX_CONNECTIONS_PER_ENVIRONMENT as u64 + 16;

/// Most descriptors kept back from environments, whatever the limit.
const MOST_RESERVED: u64 = 4096;

/// The reserve for a server whose open-file limit is `limit`: a quarter of it, at most
/// [`MOST_RESERVED`].
pub fn default_reserve(limit: u64) -> u64 {
    (limit / 4).min(MOST_RESERVED)
}

/// The server's current open-file limit, if it has one.
pub fn open_file_limit() -> Option<u64> {
    getrlimit(Resource::Nofile).current
}

/// Whether `environments` (the one about to start included) could each take a whole
/// [`ENVIRONMENT_SHARE`] more and still leave `reserve` descriptors free. Counting what is
/// open already charges the environments' present use twice, which errs on the safe side.
/// Counts `/proc/self/fd`, so it is only asked before a cold start; answers `true` where it
/// cannot count.
pub fn room_for(environments: usize, reserve: u64) -> bool {
    let Some(limit) = open_file_limit() else {
        return true;
    };
    let Ok(open) = std::fs::read_dir("/proc/self/fd") else {
        return true;
    };
    let needed = reserve.saturating_add(ENVIRONMENT_SHARE.saturating_mul(environments as u64));
    limit.saturating_sub(open.count() as u64) >= needed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_a_quarter_of_the_limit_up_to_a_ceiling() {
        assert_eq!(default_reserve(1024), 256);
        assert_eq!(default_reserve(20_000), 4096);
        assert_eq!(default_reserve(0), 0);
    }

    #[test]
    fn room_runs_out_at_the_limit_less_the_reserve() {
        let limit = open_file_limit().expect("a finite open-file limit");
        assert!(room_for(0, 0));
        assert!(!room_for(0, limit));
        // This process holds a few descriptors: reserving all but a handful leaves no room.
        assert!(!room_for(0, limit - 2));
        // Rounded up, so their shares alone exceed the limit whatever it is.
        let environments = limit.div_ceil(ENVIRONMENT_SHARE) as usize;
        assert!(!room_for(environments, 0));
        assert!(room_for(environments / 2, 0));
    }
}
