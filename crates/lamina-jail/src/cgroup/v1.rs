//! cgroup v1: one hierarchy per controller (memory, pids, and where mounted cpuacct and
//! freezer), each with its own `lamina/<instance>/<name>` directory.

use std::path::{Path, PathBuf};

use super::control_file::ControlFile;
use super::mountinfo::CgroupMount;
use super::{
    Cgroup, CgroupError, CgroupTree, LAMINA_DIR, Limits, Usage, check_component, create_dir,
    instance_dir, kill_loop, read_keyed, read_u64, remove_dirs, remove_if_empty, subdirectories,
    writable, write_file,
};

/// The mount points of the v1 hierarchies Lamina uses. Two fields may name the same directory
/// when controllers are co-mounted (`cpu,cpuacct`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Roots {
    /// The memory controller's hierarchy (required).
    pub memory: PathBuf,
    /// The pids controller's hierarchy (required).
    pub pids: PathBuf,
    /// The cpuacct controller's hierarchy, for CPU time; `None` leaves it unaccounted.
    pub cpuacct: Option<PathBuf>,
    /// The freezer controller's hierarchy; `None` makes freezing a no-op.
    pub freezer: Option<PathBuf>,
}

impl V1Roots {
    /// Every distinct hierarchy root, memory first.
    fn distinct(&self) -> Vec<PathBuf> {
        let mut roots: Vec<PathBuf> = Vec::with_capacity(4);
        let all = [
            Some(&self.memory),
            Some(&self.pids),
            self.cpuacct.as_ref(),
            self.freezer.as_ref(),
        ];
        for root in all.into_iter().flatten() {
            if !roots.contains(root) {
                roots.push(root.clone());
            }
        }
        roots
    }
}

/// Finds writable, whole-hierarchy (root `/`) v1 mounts of memory and pids, and of cpuacct and
/// freezer when present; the reason when memory or pids is missing.
pub(crate) fn usable_roots(mounts: &[CgroupMount]) -> Result<V1Roots, String> {
    let find = |controller: &str| {
        mounts
            .iter()
            .filter(|m| !m.v2 && m.root == "/" && m.has_controller(controller))
            .map(|m| m.mount_point.clone())
            .find(|dir| writable(dir))
    };
    let missing: Vec<&str> = ["memory", "pids"]
        .into_iter()
        .filter(|c| find(c).is_none())
        .collect();
    match (find("memory"), find("pids")) {
        (Some(memory), Some(pids)) => Ok(V1Roots {
            memory,
            pids,
            cpuacct: find("cpuacct"),
            freezer: find("freezer"),
        }),
        _ => Err(format!(
            "cgroup v1 has no writable {} hierarchy",
            missing.join(" or ")
        )),
    }
}

/// The v1 layout of one server instance.
#[derive(Debug, Clone)]
pub struct V1Tree {
    roots: V1Roots,
    instance: String,
}

impl V1Tree {
    /// The tree of `instance` below the given hierarchy roots. Creates nothing yet.
    pub fn new(roots: V1Roots, instance: &str) -> Result<Self, CgroupError> {
        check_component(instance)?;
        Ok(Self {
            roots,
            instance: instance.to_owned(),
        })
    }

    fn cgroup(&self, name: &str) -> V1Cgroup {
        let dir = |root: &Path| instance_dir(root, &self.instance).join(name);
        V1Cgroup {
            name: name.to_owned(),
            memory: dir(&self.roots.memory),
            pids: dir(&self.roots.pids),
            cpuacct: self.roots.cpuacct.as_deref().map(dir),
            freezer: self.roots.freezer.as_deref().map(dir),
            dirs: self.roots.distinct().iter().map(|r| dir(r)).collect(),
            freezer_state: self
                .roots
                .freezer
                .as_deref()
                .map(|root| ControlFile::writer(dir(root).join("freezer.state"))),
            peak_memory: ControlFile::reader(
                dir(&self.roots.memory).join("memory.max_usage_in_bytes"),
            ),
        }
    }
}

impl CgroupTree for V1Tree {
    fn version(&self) -> &'static str {
        "v1"
    }

    fn relative_path(&self) -> String {
        format!("{LAMINA_DIR}/{}", self.instance)
    }

    fn create(&self, name: &str, limits: &Limits) -> Result<Box<dyn Cgroup>, CgroupError> {
        check_component(name)?;
        let cgroup = self.cgroup(name);
        for dir in &cgroup.dirs {
            if let Err(e) = create_dir(dir) {
                let _ = cgroup.remove();
                return Err(e);
            }
        }
        if let Err(e) = cgroup.apply(limits) {
            let _ = cgroup.remove();
            return Err(e);
        }
        Ok(Box::new(cgroup))
    }

    fn leftovers(&self) -> Result<Vec<Box<dyn Cgroup>>, CgroupError> {
        let mut names = std::collections::BTreeSet::new();
        for root in self.roots.distinct() {
            names.append(&mut subdirectories(&instance_dir(&root, &self.instance))?);
        }
        Ok(names
            .into_iter()
            .map(|name| Box::new(self.cgroup(&name)) as Box<dyn Cgroup>)
            .collect())
    }

    fn remove_instance(&self) {
        let dirs: Vec<PathBuf> = self
            .roots
            .distinct()
            .iter()
            .map(|root| instance_dir(root, &self.instance))
            .collect();
        remove_if_empty(&dirs);
    }
}

/// One environment's directories in the v1 hierarchies.
#[derive(Debug)]
struct V1Cgroup {
    name: String,
    memory: PathBuf,
    pids: PathBuf,
    cpuacct: Option<PathBuf>,
    freezer: Option<PathBuf>,
    /// Each distinct directory once, memory first.
    dirs: Vec<PathBuf>,
    /// `freezer.state`, kept open: written twice per invoke.
    freezer_state: Option<ControlFile>,
    /// `memory.max_usage_in_bytes`, kept open: read for every REPORT line.
    peak_memory: ControlFile,
}

impl V1Cgroup {
    fn apply(&self, limits: &Limits) -> Result<(), CgroupError> {
        let memory = limits.memory_bytes.to_string();
        let limit = self.memory.join("memory.limit_in_bytes");
        let memsw = self.memory.join("memory.memsw.limit_in_bytes");
        // memsw (memory plus swap) may never be below the memory limit, so raising an existing
        // limit has to go memsw first; lowering (and a fresh cgroup) goes memory first.
        match (write_file(&limit, &memory), memsw.exists()) {
            (Ok(()), true) => write_file(&memsw, &memory)?,
            (Ok(()), false) => {}
            (Err(_), true) => {
                write_file(&memsw, &memory)?;
                write_file(&limit, &memory)?;
            }
            (Err(e), false) => return Err(e),
        }
        write_file(&self.pids.join("pids.max"), &limits.pids.to_string())
    }

    fn freeze(&self, frozen: bool) -> Result<(), CgroupError> {
        match &self.freezer_state {
            Some(file) => file.write(if frozen { "FROZEN" } else { "THAWED" }),
            None => Ok(()),
        }
    }
}

impl Cgroup for V1Cgroup {
    fn name(&self) -> &str {
        &self.name
    }

    fn set_limits(&self, limits: &Limits) -> Result<(), CgroupError> {
        self.apply(limits)
    }

    fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        self.freeze(frozen)
    }

    fn peak_memory_bytes(&self) -> Option<u64> {
        self.peak_memory.read_u64()
    }

    fn usage(&self) -> Usage {
        Usage {
            peak_memory_bytes: self.peak_memory_bytes(),
            oom_kills: read_keyed(&self.memory.join("memory.oom_control"), "oom_kill").unwrap_or(0),
            cpu_nanos: self
                .cpuacct
                .as_ref()
                .and_then(|dir| read_u64(&dir.join("cpuacct.usage"))),
        }
    }

    fn kill_all(&self) -> Result<(), CgroupError> {
        let freeze = |frozen| self.freeze(frozen);
        let freeze: Option<&dyn Fn(bool) -> Result<(), CgroupError>> = match self.freezer {
            Some(_) => Some(&freeze),
            None => None,
        };
        kill_loop(&self.memory, &self.procs_files(), freeze)
    }

    fn remove(&self) -> Result<(), CgroupError> {
        if let Some(file) = &self.freezer_state {
            file.close();
        }
        self.peak_memory.close();
        remove_dirs(&self.dirs)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// A fake of four v1 hierarchies in a tempdir, cpu and cpuacct co-mounted.
    fn fake() -> (tempfile::TempDir, V1Roots) {
        let tmp = tempfile::tempdir().unwrap();
        let roots = V1Roots {
            memory: tmp.path().join("memory"),
            pids: tmp.path().join("pids"),
            cpuacct: Some(tmp.path().join("cpu,cpuacct")),
            freezer: Some(tmp.path().join("freezer")),
        };
        for root in roots.distinct() {
            fs::create_dir(&root).unwrap();
        }
        (tmp, roots)
    }

    /// Writes the files the kernel would provide in a new cgroup.
    fn kernel_files(cgroup: &V1Cgroup) {
        fs::write(
            cgroup.memory.join("memory.memsw.limit_in_bytes"),
            "9223372036854771712\n",
        )
        .unwrap();
        fs::write(
            cgroup.memory.join("memory.max_usage_in_bytes"),
            "52428800\n",
        )
        .unwrap();
        fs::write(
            cgroup.memory.join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        )
        .unwrap();
        if let Some(dir) = &cgroup.cpuacct {
            fs::write(dir.join("cpuacct.usage"), "123456789\n").unwrap();
        }
    }

    /// Deletes the plain files of a fake cgroup, as the kernel does when its directory goes.
    fn drop_control_files(dirs: &[PathBuf]) {
        for dir in dirs {
            for entry in fs::read_dir(dir).unwrap() {
                fs::remove_file(entry.unwrap().path()).unwrap();
            }
        }
    }

    #[test]
    fn create_applies_limits_in_every_hierarchy() {
        let (_tmp, roots) = fake();
        let tree = V1Tree::new(roots.clone(), "inst").unwrap();
        assert_eq!(tree.relative_path(), "lamina/inst");
        let limits = Limits {
            memory_bytes: 128 << 20,
            pids: 64,
        };
        // memsw exists on a real kernel before the first write; pre-create the directory too.
        let env = tree.cgroup("env-1");
        fs::create_dir_all(&env.memory).unwrap();
        fs::write(env.memory.join("memory.memsw.limit_in_bytes"), "max").unwrap();
        let cgroup = tree.create("env-1", &limits).unwrap();
        assert_eq!(cgroup.name(), "env-1");

        let read = |path: PathBuf| fs::read_to_string(path).unwrap();
        assert_eq!(read(env.memory.join("memory.limit_in_bytes")), "134217728");
        assert_eq!(
            read(env.memory.join("memory.memsw.limit_in_bytes")),
            "134217728"
        );
        assert_eq!(read(env.pids.join("pids.max")), "64");
        assert_eq!(
            cgroup.procs_files(),
            vec![
                roots.memory.join("lamina/inst/env-1/cgroup.procs"),
                roots.pids.join("lamina/inst/env-1/cgroup.procs"),
                tree.roots
                    .cpuacct
                    .clone()
                    .unwrap()
                    .join("lamina/inst/env-1/cgroup.procs"),
                tree.roots
                    .freezer
                    .clone()
                    .unwrap()
                    .join("lamina/inst/env-1/cgroup.procs"),
            ]
        );
    }

    #[test]
    fn usage_reads_kernel_files_and_tolerates_missing_ones() {
        let (_tmp, roots) = fake();
        let tree = V1Tree::new(roots, "inst").unwrap();
        let limits = Limits {
            memory_bytes: 1 << 20,
            pids: 4,
        };
        let cgroup = tree.create("env", &limits).unwrap();
        assert_eq!(cgroup.usage(), Usage::default());
        kernel_files(&tree.cgroup("env"));
        assert_eq!(
            cgroup.usage(),
            Usage {
                peak_memory_bytes: Some(52_428_800),
                oom_kills: 2,
                cpu_nanos: Some(123_456_789),
            }
        );
    }

    #[test]
    fn freeze_writes_the_freezer_state_and_is_a_no_op_without_freezer() {
        let (_tmp, roots) = fake();
        let limits = Limits {
            memory_bytes: 1 << 20,
            pids: 4,
        };
        let tree = V1Tree::new(roots.clone(), "inst").unwrap();
        let cgroup = tree.create("env", &limits).unwrap();
        let state = tree.cgroup("env").freezer.unwrap().join("freezer.state");
        cgroup.set_frozen(true).unwrap();
        assert_eq!(fs::read_to_string(&state).unwrap(), "FROZEN");
        cgroup.set_frozen(false).unwrap();
        assert_eq!(fs::read_to_string(&state).unwrap(), "THAWED");

        let without = V1Tree::new(
            V1Roots {
                freezer: None,
                ..roots
            },
            "other",
        )
        .unwrap();
        let cgroup = without.create("env", &limits).unwrap();
        cgroup.set_frozen(true).unwrap();
        assert_eq!(cgroup.procs_files().len(), 3);
    }

    #[test]
    fn kill_all_on_empty_cgroup_returns_at_once() {
        let (_tmp, roots) = fake();
        let tree = V1Tree::new(roots, "inst").unwrap();
        let limits = Limits {
            memory_bytes: 1 << 20,
            pids: 4,
        };
        let cgroup = tree.create("env", &limits).unwrap();
        for file in cgroup.procs_files() {
            fs::write(file, "").unwrap();
        }
        cgroup.kill_all().unwrap();
    }

    #[test]
    fn remove_deletes_every_directory_and_tolerates_missing_ones() {
        let (_tmp, roots) = fake();
        let tree = V1Tree::new(roots, "inst").unwrap();
        let limits = Limits {
            memory_bytes: 1 << 20,
            pids: 4,
        };
        let cgroup = tree.create("env", &limits).unwrap();
        let dirs = tree.cgroup("env").dirs;
        drop_control_files(&dirs);
        cgroup.remove().unwrap();
        assert!(dirs.iter().all(|d| !d.exists()));
        cgroup.remove().unwrap();
    }

    #[test]
    fn leftovers_lists_this_instance_only() {
        let (_tmp, roots) = fake();
        let limits = Limits {
            memory_bytes: 1 << 20,
            pids: 4,
        };
        let mine = V1Tree::new(roots.clone(), "mine").unwrap();
        let theirs = V1Tree::new(roots.clone(), "theirs").unwrap();
        assert!(mine.leftovers().unwrap().is_empty());
        mine.create("b", &limits).unwrap();
        mine.create("a", &limits).unwrap();
        theirs.create("c", &limits).unwrap();
        // A directory left in one hierarchy only still counts.
        fs::create_dir_all(roots.pids.join("lamina/mine/d")).unwrap();
        fs::write(roots.memory.join("lamina/mine/stray-file"), "").unwrap();
        let names: Vec<String> = mine
            .leftovers()
            .unwrap()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        assert_eq!(names, ["a", "b", "d"]);
    }

    #[test]
    fn names_that_leave_the_instance_directory_are_refused() {
        let (_tmp, roots) = fake();
        assert!(matches!(
            V1Tree::new(roots.clone(), ".."),
            Err(CgroupError::InvalidName(_))
        ));
        let tree = V1Tree::new(roots, "inst").unwrap();
        let limits = Limits {
            memory_bytes: 1,
            pids: 1,
        };
        for bad in ["", ".", "..", "a/b"] {
            assert!(matches!(
                tree.create(bad, &limits),
                Err(CgroupError::InvalidName(_))
            ));
        }
    }
}
