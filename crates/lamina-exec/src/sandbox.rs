//! What an environment gets besides its process: a scratch directory whose `tmp` is a tmpfs
//! sized by `EphemeralStorage` (it outlives resets, as AWS's `/tmp` does), a uid and gid of
//! its own, and a cgroup with its memory and process limits. Also the clean-up, when an
//! environment ends and at start for whatever a crashed run left behind.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use lamina_jail::cgroup::{self, Cgroup, CgroupTree, Limits};
use lamina_jail::{RLIMIT_NPROC, host};
use lamina_types::FunctionSpec;
use sha2::{Digest, Sha256};

use crate::launch::Isolation;

/// Environments run as uids (and gids) from 1,000,000 up: each server (data directory) has a
/// block of 65,536 of them, and each live scratch directory holds one, so no environment's
/// processes count against another's `RLIMIT_NPROC`, even across servers on one host.
const FIRST_SANDBOX_ID: u32 = 1_000_000;
const IDS_PER_SERVER: u32 = 65_536;
const SERVER_BLOCKS: u32 = 4_096;

/// A directory of one environment (kept across resets): `tmp` is its `/tmp`, `root` the
/// mount point of its root file system.
#[derive(Debug)]
pub struct Scratch {
    /// `<data>/envs/env-...`.
    pub dir: PathBuf,
    /// The uid and gid its processes run as (namespaces only).
    pub id: Option<u32>,
    /// Whether `tmp` is a tmpfs mounted on the host.
    mounted: bool,
}

impl Scratch {
    /// The environment's `/tmp`.
    pub fn tmp(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Where the jail builds the environment's root.
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// Bytes stored in the environment's `/tmp` when it is a tmpfs (memory), else 0.
    pub fn tmp_memory_bytes(&self) -> u64 {
        if !self.mounted {
            return 0;
        }
        match rustix::fs::statvfs(self.tmp()) {
            Ok(v) => v
                .f_blocks
                .saturating_sub(v.f_bfree)
                .saturating_mul(v.f_frsize),
            Err(_) => 0,
        }
    }
}

/// How environments are sandboxed on this machine.
pub struct Sandboxes {
    isolation: Isolation,
    envs_dir: PathBuf,
    cgroups: Option<Box<dyn CgroupTree>>,
    ids: Mutex<IdPool>,
}

struct IdPool {
    first: u32,
    next: u32,
    free: Vec<u32>,
}

impl Sandboxes {
    /// Finds the cgroup layout (namespaces only) and removes what an earlier run of this
    /// data directory left: the processes and cgroups of its environments, their `/tmp`
    /// mounts and their scratch directories.
    pub fn start(isolation: Isolation, envs_dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(envs_dir)?;
        let envs_dir = std::fs::canonicalize(envs_dir)?;
        let instance = instance_of(&envs_dir);
        let block = u32::from_str_radix(&instance[..4], 16).unwrap_or(0) % SERVER_BLOCKS;
        let ids = IdPool {
            first: FIRST_SANDBOX_ID + block * IDS_PER_SERVER,
            next: 0,
            free: Vec::new(),
        };
        let cgroups = match isolation {
            Isolation::None => None,
            Isolation::Namespaces => match cgroup::detect(&instance) {
                Ok(tree) => Some(tree),
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "no usable cgroups: function memory and process limits are NOT \
                         enforced and idle environments are not frozen"
                    );
                    None
                }
            },
        };
        let this = Self {
            isolation,
            envs_dir,
            cgroups,
            ids: Mutex::new(ids),
        };
        this.recover()?;
        Ok(this)
    }

    fn recover(&self) -> std::io::Result<()> {
        if let Some(tree) = &self.cgroups {
            let leftovers = tree.leftovers().map_err(std::io::Error::other)?;
            for cgroup in &leftovers {
                cgroup.kill_all().map_err(std::io::Error::other)?;
                cgroup.remove().map_err(std::io::Error::other)?;
            }
            if !leftovers.is_empty() {
                tracing::info!(
                    count = leftovers.len(),
                    "killed environments left by an earlier run"
                );
            }
        }
        if self.isolation == Isolation::Namespaces {
            let mounts = host::unmount_all_under(&self.envs_dir)?;
            if mounts > 0 {
                tracing::info!(mounts, "removed /tmp mounts left by an earlier run");
            }
        }
        std::fs::remove_dir_all(&self.envs_dir)?;
        std::fs::create_dir_all(&self.envs_dir)
    }

    /// Removes this server's cgroup directory (at shutdown, once its environments are gone).
    pub fn remove_cgroup_instance(&self) {
        if let Some(tree) = &self.cgroups {
            tree.remove_instance();
        }
    }

    /// `("v1" | "v2" | "none", "lamina/<instance>")`, for `/_lamina/health`.
    pub fn cgroup_info(&self) -> (&'static str, Option<String>) {
        match &self.cgroups {
            Some(tree) => (tree.version(), Some(tree.relative_path())),
            None => ("none", None),
        }
    }

    /// A new scratch directory; with namespaces its `tmp` is a tmpfs of `ephemeral_mb` MB
    /// owned by a fresh sandbox id. Blocking.
    pub fn new_scratch(&self, ephemeral_mb: u32) -> std::io::Result<Scratch> {
        let dir = tempfile::Builder::new()
            .prefix("env-")
            .tempdir_in(&self.envs_dir)?
            .keep();
        let mut scratch = Scratch {
            dir,
            id: None,
            mounted: false,
        };
        let prepared = (|| {
            std::fs::create_dir(scratch.tmp())?;
            if self.isolation == Isolation::Namespaces {
                std::fs::create_dir(scratch.root())?;
                let id = self.take_id();
                scratch.id = Some(id);
                host::mount_scratch(&scratch.tmp(), ephemeral_mb, id, id)?;
                scratch.mounted = true;
            }
            Ok(())
        })();
        match prepared {
            Ok(()) => Ok(scratch),
            Err(e) => {
                self.remove_scratch(scratch);
                Err(e)
            }
        }
    }

    /// Unmounts and deletes a scratch directory and frees its id. Blocking.
    pub fn remove_scratch(&self, scratch: Scratch) {
        if let Some(Err(e)) = scratch.mounted.then(|| host::unmount(&scratch.tmp())) {
            tracing::warn!(dir = %scratch.dir.display(), error = %e, "unmounting /tmp failed");
            return;
        }
        if let Err(e) = std::fs::remove_dir_all(&scratch.dir) {
            tracing::warn!(dir = %scratch.dir.display(), error = %e, "removing scratch failed");
        }
        if let Some(id) = scratch.id {
            self.ids
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .free
                .push(id);
        }
    }

    /// Whether environments get cgroups.
    pub fn has_cgroups(&self) -> bool {
        self.cgroups.is_some()
    }

    /// The cgroup of a new environment, limited as its spec says; `None` without cgroups.
    /// Blocking.
    pub fn create_cgroup(
        &self,
        name: &str,
        limits: &Limits,
    ) -> Result<Option<Box<dyn Cgroup>>, cgroup::CgroupError> {
        match &self.cgroups {
            Some(tree) => tree.create(name, limits).map(Some),
            None => Ok(None),
        }
    }

    /// A cgroup with the given limits (for standby environments). Blocking.
    pub fn cgroup_with(
        &self,
        name: &str,
        limits: &Limits,
    ) -> Result<Box<dyn Cgroup>, cgroup::CgroupError> {
        match &self.cgroups {
            Some(tree) => tree.create(name, limits),
            None => Err(cgroup::CgroupError::Unusable("no cgroups".into())),
        }
    }

    fn take_id(&self) -> u32 {
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        ids.free.pop().unwrap_or_else(|| {
            // Past a block's end (65,536 live environments) ids wrap within the block.
            ids.next = (ids.next + 1) % IDS_PER_SERVER;
            ids.first + ids.next
        })
    }
}

/// The limits of a function's environment.
pub fn limits_for(spec: &FunctionSpec) -> Limits {
    Limits {
        memory_bytes: u64::from(spec.memory_mb) << 20,
        // The jail's keeper and init come on top of the function's own processes.
        pids: u32::try_from(RLIMIT_NPROC)
            .unwrap_or(u32::MAX)
            .saturating_add(2),
    }
}

/// The limits of an environment that takes over a `/tmp` kept from a reset one, holding
/// `kept_tmp_bytes`. A tmpfs's pages were charged to the reset environment's cgroup, which is
/// gone, so they are counted here instead: the new environment may use that much less memory.
/// `None` when the kept `/tmp` holds more than half the function's memory: the next
/// environment would have too little left, and gets a new, empty `/tmp` instead.
pub fn limits_with_kept_tmp(spec: &FunctionSpec, kept_tmp_bytes: u64) -> Option<Limits> {
    let limits = limits_for(spec);
    (kept_tmp_bytes <= limits.memory_bytes / 2).then(|| Limits {
        memory_bytes: limits.memory_bytes - kept_tmp_bytes,
        ..limits
    })
}

/// Kills what is left in an ended environment's cgroup and removes it. Blocking.
pub fn remove_cgroup(cgroup: &dyn Cgroup) {
    let removed = cgroup.kill_all().and_then(|()| cgroup.remove());
    if let Err(e) = removed {
        tracing::warn!(cgroup = cgroup.name(), error = %e, "removing an environment's cgroup failed");
    }
}

/// A short, stable name for the server that owns `envs_dir`, so servers with different data
/// directories on one host never touch each other's cgroups.
fn instance_of(envs_dir: &Path) -> String {
    let digest = Sha256::digest(envs_dir.as_os_str().as_encoded_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn spec(memory_mb: u32) -> FunctionSpec {
        FunctionSpec {
            function_name: "f".into(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            version: "$LATEST".into(),
            region: "us-east-1".into(),
            runtime: lamina_types::Runtime::parse("python3.12").unwrap(),
            handler: "h".into(),
            code: lamina_types::ExtractedTree {
                digest: lamina_types::layer::Digest([1; 32]),
                path: "/code".into(),
                bytecode: None,
            },
            layers: Vec::new(),
            memory_mb,
            timeout_secs: 3,
            ephemeral_storage_mb: 1024,
            environment: BTreeMap::new(),
            architecture: lamina_types::Architecture::X86_64,
            log_group: "/aws/lambda/f".into(),
            json_log_level: None,
            snap_start: false,
            concurrency: Default::default(),
        }
    }

    #[test]
    fn a_kept_tmp_counts_against_memory_up_to_half_of_it() {
        let mb = 1u64 << 20;
        let full = limits_for(&spec(128));
        assert_eq!(limits_with_kept_tmp(&spec(128), 0), Some(full));
        let kept = limits_with_kept_tmp(&spec(128), 40 * mb).unwrap();
        assert_eq!(kept.memory_bytes, 88 * mb);
        assert_eq!(kept.pids, full.pids);
        assert_eq!(
            limits_with_kept_tmp(&spec(128), 64 * mb).map(|l| l.memory_bytes),
            Some(64 * mb)
        );
        assert_eq!(limits_with_kept_tmp(&spec(128), 64 * mb + 1), None);
    }
}
