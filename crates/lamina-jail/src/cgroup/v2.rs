//! cgroup v2: one unified hierarchy. `lamina` and `lamina/<instance>` hold no processes and
//! delegate memory, pids (and cpu where offered) to the environments below them.

use std::path::{Path, PathBuf};

use super::control_file::ControlFile;
use super::mountinfo::CgroupMount;
use super::{
    Cgroup, CgroupError, CgroupTree, LAMINA_DIR, Limits, Usage, check_component, create_dir,
    instance_dir, kill_loop, read_keyed, remove_dirs, remove_if_empty, subdirectories, writable,
    write_file,
};

/// The controllers an environment cannot do without.
const REQUIRED_CONTROLLERS: [&str; 2] = ["memory", "pids"];

/// The first writable whole-hierarchy `cgroup2` mount whose root offers memory and pids; the
/// reason when there is none.
pub(crate) fn usable_root(mounts: &[CgroupMount]) -> Result<PathBuf, String> {
    let mut reasons = Vec::new();
    for mount in mounts.iter().filter(|m| m.v2 && m.root == "/") {
        let dir = &mount.mount_point;
        let offered = controllers(&dir.join("cgroup.controllers"));
        let lacking: Vec<&str> = REQUIRED_CONTROLLERS
            .into_iter()
            .filter(|c| !offered.iter().any(|o| o == c))
            .collect();
        if !lacking.is_empty() {
            reasons.push(format!(
                "cgroup2 at {} lacks the {} controller",
                dir.display(),
                lacking.join(" and ")
            ));
        } else if !writable(dir) {
            reasons.push(format!("cgroup2 at {} is not writable", dir.display()));
        } else {
            return Ok(dir.clone());
        }
    }
    if reasons.is_empty() {
        reasons.push("no cgroup2 mount".to_owned());
    }
    Err(reasons.join(", "))
}

/// The controller names in a `cgroup.controllers` or `cgroup.subtree_control` file; none when it
/// is missing. A leading `+` (as written, in a fake) is ignored.
fn controllers(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .map(|c| c.trim_start_matches('+').to_owned())
        .collect()
}

/// The v2 layout of one server instance.
#[derive(Debug, Clone)]
pub struct V2Tree {
    root: PathBuf,
    instance: String,
}

impl V2Tree {
    /// The tree of `instance` below the cgroup2 mount `root`. Creates nothing yet.
    pub fn new(root: PathBuf, instance: &str) -> Result<Self, CgroupError> {
        check_component(instance)?;
        Ok(Self {
            root,
            instance: instance.to_owned(),
        })
    }

    fn instance_dir(&self) -> PathBuf {
        instance_dir(&self.root, &self.instance)
    }

    fn cgroup(&self, name: &str) -> V2Cgroup {
        let dir = self.instance_dir().join(name);
        V2Cgroup {
            name: name.to_owned(),
            freeze: ControlFile::writer(dir.join("cgroup.freeze")),
            peak_memory: ControlFile::reader(dir.join("memory.peak")),
            dir,
        }
    }

    /// Creates `lamina/<instance>` and enables the controllers down to it: in the mount root,
    /// `lamina` and `lamina/<instance>`, each of which holds no processes. A directory whose
    /// `cgroup.subtree_control` already lists memory and pids is left as it is.
    fn prepare(&self) -> Result<(), CgroupError> {
        let lamina = self.root.join(LAMINA_DIR);
        let instance = self.instance_dir();
        for dir in [&self.root, &lamina, &instance] {
            if dir != &self.root {
                create_dir(dir)?;
            }
            let subtree = dir.join("cgroup.subtree_control");
            let enabled = controllers(&subtree);
            if REQUIRED_CONTROLLERS
                .iter()
                .all(|c| enabled.iter().any(|e| e == c))
            {
                continue;
            }
            // cpu is only for accounting and may be held back by the host; a write naming it
            // fails as a whole, so retry without it.
            let with_cpu = controllers(&dir.join("cgroup.controllers"))
                .iter()
                .any(|c| c == "cpu")
                && write_file(&subtree, "+cpu +memory +pids").is_ok();
            if !with_cpu {
                write_file(&subtree, "+memory +pids")?;
            }
        }
        Ok(())
    }
}

impl CgroupTree for V2Tree {
    fn version(&self) -> &'static str {
        "v2"
    }

    fn relative_path(&self) -> String {
        format!("{LAMINA_DIR}/{}", self.instance)
    }

    fn create(&self, name: &str, limits: &Limits) -> Result<Box<dyn Cgroup>, CgroupError> {
        check_component(name)?;
        self.prepare()?;
        let cgroup = self.cgroup(name);
        create_dir(&cgroup.dir)?;
        if let Err(e) = cgroup.apply(limits) {
            let _ = cgroup.remove();
            return Err(e);
        }
        Ok(Box::new(cgroup))
    }

    fn leftovers(&self) -> Result<Vec<Box<dyn Cgroup>>, CgroupError> {
        Ok(subdirectories(&self.instance_dir())?
            .into_iter()
            .map(|name| Box::new(self.cgroup(&name)) as Box<dyn Cgroup>)
            .collect())
    }

    fn remove_instance(&self) {
        remove_if_empty(&[self.instance_dir()]);
    }
}

/// One environment's directory in the unified hierarchy.
#[derive(Debug)]
struct V2Cgroup {
    name: String,
    dir: PathBuf,
    /// `cgroup.freeze`, kept open: written twice per invoke.
    freeze: ControlFile,
    /// `memory.peak`, kept open: read for every REPORT line.
    peak_memory: ControlFile,
}

impl V2Cgroup {
    fn apply(&self, limits: &Limits) -> Result<(), CgroupError> {
        write_file(
            &self.dir.join("memory.max"),
            &limits.memory_bytes.to_string(),
        )?;
        let swap = self.dir.join("memory.swap.max");
        if swap.exists() {
            write_file(&swap, "0")?;
        }
        write_file(&self.dir.join("pids.max"), &limits.pids.to_string())
    }

    fn freeze(&self, frozen: bool) -> Result<(), CgroupError> {
        self.freeze.write(if frozen { "1" } else { "0" })
    }
}

impl Cgroup for V2Cgroup {
    fn name(&self) -> &str {
        &self.name
    }

    fn set_limits(&self, limits: &Limits) -> Result<(), CgroupError> {
        self.apply(limits)
    }

    fn procs_files(&self) -> Vec<PathBuf> {
        vec![self.dir.join("cgroup.procs")]
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
            oom_kills: read_keyed(&self.dir.join("memory.events"), "oom_kill").unwrap_or(0),
            cpu_nanos: read_keyed(&self.dir.join("cpu.stat"), "usage_usec")
                .map(|usec| usec.saturating_mul(1_000)),
        }
    }

    fn kill_all(&self) -> Result<(), CgroupError> {
        let kill = self.dir.join("cgroup.kill");
        if kill.exists() {
            // Kills everything, frozen or not, and whatever forks meanwhile (Linux 5.14).
            write_file(&kill, "1")?;
            kill_loop(&self.dir, &self.procs_files(), None)
        } else {
            let freeze = |frozen| self.freeze(frozen);
            kill_loop(&self.dir, &self.procs_files(), Some(&freeze))
        }
    }

    fn remove(&self) -> Result<(), CgroupError> {
        self.freeze.close();
        self.peak_memory.close();
        remove_dirs(std::slice::from_ref(&self.dir))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn limits() -> Limits {
        Limits {
            memory_bytes: 256 << 20,
            pids: 32,
        }
    }

    /// A fake cgroup2 mount in a tempdir offering cpu, memory and pids.
    fn fake() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(
            tmp.path().join("cgroup.controllers"),
            "cpuset cpu io memory pids\n",
        )
        .unwrap();
        fs::write(tmp.path().join("cgroup.subtree_control"), "").unwrap();
        tmp
    }

    #[test]
    fn create_enables_controllers_and_applies_limits() {
        let tmp = fake();
        let tree = V2Tree::new(tmp.path().to_owned(), "inst").unwrap();
        assert_eq!(tree.version(), "v2");
        // The kernel offers memory.swap.max in a new cgroup when swap accounting is on.
        let dir = tmp.path().join("lamina/inst/env");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("memory.swap.max"), "max\n").unwrap();

        let cgroup = tree.create("env", &limits()).unwrap();
        let read = |path: PathBuf| fs::read_to_string(path).unwrap();
        assert_eq!(
            read(tmp.path().join("cgroup.subtree_control")),
            "+cpu +memory +pids"
        );
        // The fake `lamina` has no cgroup.controllers, so cpu is not asked for there.
        assert_eq!(
            read(tmp.path().join("lamina/cgroup.subtree_control")),
            "+memory +pids"
        );
        assert_eq!(
            read(tmp.path().join("lamina/inst/cgroup.subtree_control")),
            "+memory +pids"
        );
        assert_eq!(read(dir.join("memory.max")), "268435456");
        assert_eq!(read(dir.join("memory.swap.max")), "0");
        assert_eq!(read(dir.join("pids.max")), "32");
        assert_eq!(cgroup.procs_files(), vec![dir.join("cgroup.procs")]);
    }

    #[test]
    fn subtree_control_already_enabled_is_left_alone() {
        let tmp = fake();
        fs::write(tmp.path().join("cgroup.subtree_control"), "memory pids\n").unwrap();
        let tree = V2Tree::new(tmp.path().to_owned(), "inst").unwrap();
        tree.create("env", &limits()).unwrap();
        assert_eq!(
            fs::read_to_string(tmp.path().join("cgroup.subtree_control")).unwrap(),
            "memory pids\n"
        );
    }

    #[test]
    fn usage_reads_kernel_files_and_tolerates_missing_ones() {
        let tmp = fake();
        let tree = V2Tree::new(tmp.path().to_owned(), "inst").unwrap();
        let cgroup = tree.create("env", &limits()).unwrap();
        assert_eq!(cgroup.usage(), Usage::default());
        let dir = tmp.path().join("lamina/inst/env");
        fs::write(dir.join("memory.peak"), "7340032\n").unwrap();
        fs::write(
            dir.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
        )
        .unwrap();
        fs::write(
            dir.join("cpu.stat"),
            "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n",
        )
        .unwrap();
        assert_eq!(
            cgroup.usage(),
            Usage {
                peak_memory_bytes: Some(7_340_032),
                oom_kills: 1,
                cpu_nanos: Some(2_500_000),
            }
        );
        fs::write(dir.join("memory.peak"), "garbage").unwrap();
        assert_eq!(cgroup.usage().peak_memory_bytes, None);
    }

    #[test]
    fn freeze_and_kill_write_their_files() {
        let tmp = fake();
        let tree = V2Tree::new(tmp.path().to_owned(), "inst").unwrap();
        let cgroup = tree.create("env", &limits()).unwrap();
        let dir = tmp.path().join("lamina/inst/env");
        cgroup.set_frozen(true).unwrap();
        assert_eq!(fs::read_to_string(dir.join("cgroup.freeze")).unwrap(), "1");
        cgroup.set_frozen(false).unwrap();
        assert_eq!(fs::read_to_string(dir.join("cgroup.freeze")).unwrap(), "0");

        fs::write(dir.join("cgroup.procs"), "").unwrap();
        fs::write(dir.join("cgroup.kill"), "").unwrap();
        cgroup.kill_all().unwrap();
        assert_eq!(fs::read_to_string(dir.join("cgroup.kill")).unwrap(), "1");
    }

    #[test]
    fn remove_and_leftovers() {
        let tmp = fake();
        let mine = V2Tree::new(tmp.path().to_owned(), "mine").unwrap();
        let theirs = V2Tree::new(tmp.path().to_owned(), "theirs").unwrap();
        mine.create("x", &limits()).unwrap();
        mine.create("y", &limits()).unwrap();
        theirs.create("z", &limits()).unwrap();
        let left = mine.leftovers().unwrap();
        let names: Vec<&str> = left.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["x", "y"]);

        for cgroup in &left {
            // The kernel drops control files with the directory; a plain directory cannot.
            let dir = tmp.path().join("lamina/mine").join(cgroup.name());
            for entry in fs::read_dir(&dir).unwrap() {
                fs::remove_file(entry.unwrap().path()).unwrap();
            }
            cgroup.remove().unwrap();
            assert!(!dir.exists());
            cgroup.remove().unwrap();
        }
        assert!(mine.leftovers().unwrap().is_empty());
        assert_eq!(theirs.leftovers().unwrap().len(), 1);
    }

    #[test]
    fn usable_root_needs_memory_and_pids() {
        let tmp = fake();
        let mount = CgroupMount {
            root: "/".to_owned(),
            mount_point: tmp.path().to_owned(),
            v2: true,
            super_options: vec!["rw".to_owned()],
        };
        assert_eq!(
            usable_root(std::slice::from_ref(&mount)),
            Ok(tmp.path().to_owned())
        );
        fs::write(tmp.path().join("cgroup.controllers"), "cpu io\n").unwrap();
        let reason = usable_root(std::slice::from_ref(&mount)).unwrap_err();
        assert!(
            reason.contains("lacks the memory and pids controller"),
            "{reason}"
        );
        let sub_root = CgroupMount {
            root: "/sub".to_owned(),
            ..mount
        };
        assert_eq!(usable_root(&[sub_root]), Err("no cgroup2 mount".to_owned()));
    }
}
