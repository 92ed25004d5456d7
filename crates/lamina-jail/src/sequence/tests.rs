//! The jail's steps, checked against a recording fake of the kernel.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::process::Resource;

use super::*;
use crate::syscall::HostEntry;

/// Records every call; fails the first call that starts with `fail_on`. `fork` answers
/// from `forks` (child side when empty) and `wait_any` from `waits`.
#[derive(Default)]
struct Recorder {
    calls: RefCell<Vec<String>>,
    fail_on: Option<&'static str>,
    forks: RefCell<VecDeque<Option<u32>>>,
    waits: RefCell<VecDeque<(u32, i32)>>,
    /// The path each directory held open was opened at, by descriptor.
    opened: RefCell<BTreeMap<i32, PathBuf>>,
    /// Each overlay's lower directories (top first, as opened) and target.
    overlays: RefCell<Vec<(Vec<PathBuf>, PathBuf)>>,
}

impl Recorder {
    fn record(&self, call: String) -> io::Result<()> {
        let failing = self.fail_on.is_some_and(|f| call.starts_with(f));
        self.calls.borrow_mut().push(call);
        if failing {
            Err(io::Error::other("refused"))
        } else {
            Ok(())
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

impl Syscall for Recorder {
    fn join_cgroup(&self, procs_file: &Path) -> io::Result<()> {
        self.record(format!("join {}", procs_file.display()))
    }
    fn join_network(&self, namespace: &Path) -> io::Result<()> {
        self.record(format!("setns net {}", namespace.display()))
    }
    fn unshare_namespaces(&self) -> io::Result<()> {
        self.record("unshare NEWNS|NEWPID|NEWIPC|NEWUTS".into())
    }
    fn pipe(&self) -> io::Result<(OwnedFd, OwnedFd)> {
        self.record("pipe".into())?;
        let (r, w) = std::io::pipe()?;
        Ok((r.into(), w.into()))
    }
    fn fork(&self) -> io::Result<Option<u32>> {
        self.record("fork".into())?;
        Ok(self.forks.borrow_mut().pop_front().flatten())
    }
    fn wait_any(&self) -> io::Result<(u32, i32)> {
        self.record("wait".into())?;
        self.waits
            .borrow_mut()
            .pop_front()
            .ok_or_else(|| io::Error::other("no children"))
    }
    fn kill(&self, pid: u32) -> io::Result<()> {
        self.record(format!("kill {pid}"))
    }
    fn redirect_output(&self, fd: i32) -> io::Result<()> {
        self.record(format!("output to {fd}"))
    }
    fn write_report(&self, fd: i32, bytes: &[u8]) -> io::Result<()> {
        self.record(format!("report to {fd}: {bytes:?}"))
    }
    fn close_fd(&self, fd: i32) {
        let _ = self.record(format!("close {fd}"));
    }
    fn die_with_parent(&self) -> io::Result<()> {
        self.record("die with parent".into())
    }
    fn make_mounts_private(&self) -> io::Result<()> {
        self.record("private /".into())
    }
    fn set_hostname(&self, name: &str) -> io::Result<()> {
        self.record(format!("hostname {name}"))
    }
    fn host_entry(&self, path: &Path) -> HostEntry {
        // A merged-/usr host with no 32-bit libraries and no /dev/tty.
        match path.to_str().unwrap_or("") {
            "/usr" | "/etc/ssl" | "/etc/alternatives" | "/etc/ld.so.conf.d" => HostEntry::Dir,
            "/bin" => HostEntry::Symlink("usr/bin".into()),
            "/sbin" => HostEntry::Symlink("usr/sbin".into()),
            "/lib" => HostEntry::Symlink("usr/lib".into()),
            "/lib64" => HostEntry::Symlink("usr/lib64".into()),
            "/lib32" | "/libx32" | "/dev/tty" => HostEntry::Missing,
            _ => HostEntry::File,
        }
    }
    fn open_dir(&self, path: &Path) -> io::Result<OwnedFd> {
        self.record(format!("open {}", path.display()))?;
        let fd = std::fs::File::open("/").map(OwnedFd::from)?;
        use std::os::fd::AsRawFd;
        self.opened
            .borrow_mut()
            .insert(fd.as_raw_fd(), path.to_owned());
        Ok(fd)
    }
    fn mount_overlay(&self, lower: &[&Path], target: &Path) -> io::Result<()> {
        let opened = self.opened.borrow();
        let resolved = lower
            .iter()
            .map(|p| {
                p.strip_prefix("/proc/self/fd")
                    .ok()
                    .and_then(|n| n.to_str()?.parse().ok())
                    .and_then(|fd: i32| opened.get(&fd).cloned())
                    .unwrap_or_else(|| p.to_path_buf())
            })
            .collect();
        self.overlays
            .borrow_mut()
            .push((resolved, target.to_owned()));
        let lower: Vec<_> = lower.iter().map(|p| fd_or_path(p)).collect();
        self.record(format!(
            "overlay {} on {}",
            lower.join(":"),
            target.display()
        ))
    }
    fn mount_tmpfs(&self, target: &Path, options: &str) -> io::Result<()> {
        self.record(format!("tmpfs {} {options}", target.display()))
    }
    fn mount_proc(&self, target: &Path) -> io::Result<()> {
        self.record(format!("proc {}", target.display()))
    }
    fn mask(&self, source: &Path, target: &Path) -> io::Result<()> {
        self.record(format!(
            "mask {} with {}",
            target.display(),
            source.display()
        ))
    }
    fn bind(&self, source: &Path, target: &Path, ro: bool) -> io::Result<()> {
        let source = fd_or_path(source);
        let mode = if ro { "ro" } else { "rw" };
        self.record(format!("bind {source} on {} {mode}", target.display()))
    }
    fn remount_read_only(&self, target: &Path) -> io::Result<()> {
        self.record(format!("remount ro {}", target.display()))
    }
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        self.record(format!("mkdir {}", path.display()))
    }
    fn write_file(&self, path: &Path, contents: &[u8]) -> io::Result<()> {
        let first = String::from_utf8_lossy(contents);
        let first = first.lines().last().unwrap_or("");
        self.record(format!("write {} {first}", path.display()))
    }
    fn read_host_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.record(format!("read {}", path.display()))?;
        Ok(b"127.0.0.1 localhost\n10.0.0.1 stand-in.example".to_vec())
    }
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        self.record(format!(
            "symlink {} -> {}",
            link.display(),
            target.display()
        ))
    }
    fn pivot_root(&self, new_root: &Path) -> io::Result<()> {
        self.record(format!("pivot_root {}", new_root.display()))
    }
    fn set_rlimit(&self, resource: Resource, limit: u64) -> io::Result<()> {
        self.record(format!("rlimit {resource:?} {limit}"))
    }
    fn set_gid(&self, gid: u32) -> io::Result<()> {
        self.record(format!("setgid {gid}"))
    }
    fn drop_bounding_set(&self) -> io::Result<()> {
        self.record("drop capabilities".into())
    }
    fn set_uid(&self, uid: u32) -> io::Result<()> {
        self.record(format!("setuid {uid}"))
    }
    fn set_no_new_privs(&self) -> io::Result<()> {
        self.record("no_new_privs".into())
    }
    fn chdir(&self, path: &Path) -> io::Result<()> {
        self.record(format!("chdir {}", path.display()))
    }
    fn install_seccomp(&self, _filters: &SeccompFilters) -> io::Result<()> {
        self.record("seccomp".into())
    }
    fn exec(&self, program: &Path, _args: &[String], _env: &BTreeMap<String, String>) -> io::Error {
        let _ = self.record(format!("exec {}", program.display()));
        io::Error::other("recorded")
    }
}

/// A directory held open shows as `fd` (its number varies).
fn fd_or_path(path: &Path) -> String {
    if path.starts_with("/proc/self/fd") {
        "fd".into()
    } else {
        path.display().to_string()
    }
}

fn args(layers: &[&str]) -> JailPlan {
    JailPlan {
        task: "/d/task".into(),
        task_bytecode: None,
        runtime: "/d/rt".into(),
        tmp: "/d/env/tmp".into(),
        root: "/d/env/root".into(),
        lang: Some("/usr".into()),
        layers: layers.iter().map(PathBuf::from).collect(),
        cgroups: vec![
            "/cg/memory/e/cgroup.procs".into(),
            "/cg/pids/e/cgroup.procs".into(),
        ],
        uid: 900_007,
        gid: 900_007,
        program: "/var/lang/bin/python3.11".into(),
        args: vec!["/var/runtime/bootstrap.py".into()],
        env: BTreeMap::new(),
        network: None,
        extensions: Vec::new(),
        runtime_sdk: None,
        node_modules: Vec::new(),
        seccomp: true,
        template: false,
    }
}

/// Runs the child side of every fork: keeper → init → runtime, up to the recorded exec.
fn runtime_side(sys: &Recorder, args: &JailPlan) -> JailError {
    enter(args, sys).unwrap_err()
}

#[test]
fn the_whole_sequence_from_cgroups_to_exec() {
    let sys = Recorder::default();
    let error = runtime_side(&sys, &args(&["/l/one", "/l/two"]));
    assert!(matches!(error, JailError::Exec { .. }), "{error}");
    let r = "/d/env/root";
    let expected: Vec<String> = [
        "join /cg/memory/e/cgroup.procs",
        "join /cg/pids/e/cgroup.procs",
        "unshare NEWNS|NEWPID|NEWIPC|NEWUTS",
        "pipe",
        "fork",
        "close 4",
        "die with parent",
        "private /",
        "hostname localhost",
        "open /d/task",
        "open /d/rt",
        "open /d/env/tmp",
        "open /usr",
        "open /l/one",
        "open /l/two",
        &format!("tmpfs {r} mode=0755,size=256k,nr_inodes=256"),
        &format!("mkdir {r}/usr"),
        &format!("bind /usr on {r}/usr ro"),
        &format!("symlink {r}/bin -> usr/bin"),
        &format!("symlink {r}/sbin -> usr/sbin"),
        &format!("symlink {r}/lib -> usr/lib"),
        &format!("symlink {r}/lib64 -> usr/lib64"),
        &format!("mkdir {r}/etc"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let calls = sys.calls();
    assert_eq!(calls[..expected.len()], expected[..]);

    let rest: Vec<&str> = calls[expected.len()..]
        .iter()
        .map(String::as_str)
        .filter(|c| !c.contains("/etc/"))
        .collect();
    let r = |s: &str| s.replace("R/", "/d/env/root/");
    let tail: Vec<String> = [
        "mkdir R/opt",
        "overlay fd:fd on R/opt",
        "mkdir R/var",
        "tmpfs R/var mode=0755,size=64k,nr_inodes=64",
        "mkdir R/var/lang",
        "bind fd on R/var/lang ro",
        "mkdir R/var/task",
        "open R/var/task",
        "overlay fd:fd on R/var/task",
        "mkdir R/var/runtime",
        "open R/var/runtime",
        "overlay fd:fd on R/var/runtime",
        "remount ro R/var",
        "mkdir R/tmp",
        "bind fd on R/tmp rw",
        "mkdir R/dev",
        "tmpfs R/dev mode=0755,size=16k,nr_inodes=32",
        "write R/dev/null ",
        "bind /dev/null on R/dev/null rw",
        "write R/dev/zero ",
        "bind /dev/zero on R/dev/zero rw",
        "write R/dev/full ",
        "bind /dev/full on R/dev/full rw",
        "write R/dev/random ",
        "bind /dev/random on R/dev/random rw",
        "write R/dev/urandom ",
        "bind /dev/urandom on R/dev/urandom rw",
        "symlink R/dev/fd -> /proc/self/fd",
        "symlink R/dev/stdin -> /proc/self/fd/0",
        "symlink R/dev/stdout -> /proc/self/fd/1",
        "symlink R/dev/stderr -> /proc/self/fd/2",
        "remount ro R/dev",
        "mkdir R/proc",
        "remount ro /d/env/root",
        "pivot_root /d/env/root",
        "proc /proc",
        "mask /proc/net with /dev/null",
        "close 3",
        "fork",
        "rlimit Nofile 1024",
        "rlimit Nproc 1024",
        "setgid 900007",
        "drop capabilities",
        "setuid 900007",
        "no_new_privs",
        "chdir /var/task",
        "seccomp",
        "exec /var/lang/bin/python3.11",
    ]
    .iter()
    .map(|s| r(s))
    .collect();
    assert_eq!(rest, tail);
}

#[test]
fn etc_has_the_selected_host_files_and_its_own_users() {
    let sys = Recorder::default();
    runtime_side(&sys, &args(&[]));
    let calls = sys.calls();
    let etc = "/d/env/root/etc";
    for expected in [
        format!("write {etc}/resolv.conf "),
        format!("bind /etc/resolv.conf on {etc}/resolv.conf ro"),
        format!("bind /etc/ld.so.cache on {etc}/ld.so.cache ro"),
        format!("mkdir {etc}/ssl"),
        format!("bind /etc/ssl on {etc}/ssl ro"),
        format!("write {etc}/passwd sbx_user1051:x:900007:900007::/tmp:/sbin/nologin"),
        format!("write {etc}/group sbx_user1051:x:900007:"),
        // The host's names, then the sandbox's own.
        "read /etc/hosts".to_owned(),
        format!("write {etc}/hosts 127.0.0.1\tsandbox.localdomain sandbox"),
    ] {
        assert!(
            calls.contains(&expected),
            "missing {expected:?} in {calls:#?}"
        );
    }
    assert!(!calls.iter().any(|c| c.contains("shadow")));
    assert!(!calls.iter().any(|c| c.contains("on /d/env/root/etc/hosts")));
}

#[test]
fn one_layer_is_an_overlay_on_the_empty_mount_point_and_none_an_empty_read_only_opt() {
    let sys = Recorder::default();
    runtime_side(&sys, &args(&["/l/one"]));
    let calls = sys.calls();
    let opt = calls
        .iter()
        .position(|c| c == "open /d/env/root/opt")
        .unwrap();
    assert_eq!(calls[opt + 1], "overlay fd:fd on /d/env/root/opt");

    let sys = Recorder::default();
    runtime_side(&sys, &args(&[]));
    let calls = sys.calls();
    assert!(calls.contains(&"tmpfs /d/env/root/opt mode=0755,size=4k,nr_inodes=4".to_owned()));
    assert!(calls.contains(&"remount ro /d/env/root/opt".to_owned()));
}

#[test]
fn bytecode_sidecars_lie_just_above_their_trees() {
    let sys = Recorder::default();
    // The executor's plan: each layer followed by its sidecar, when it has one.
    let plan = JailPlan {
        task_bytecode: Some("/b/task/python3.11".into()),
        ..args(&["/l/one", "/b/one/python3.11", "/l/two"])
    };
    runtime_side(&sys, &plan);
    let overlays = sys.overlays.borrow();
    let lowers = |target: &str| -> Vec<PathBuf> {
        overlays
            .iter()
            .find(|(_, t)| t == Path::new(target))
            .map(|(lower, _)| lower.clone())
            .unwrap()
    };
    let paths = |p: &[&str]| -> Vec<PathBuf> { p.iter().map(PathBuf::from).collect() };
    assert_eq!(
        lowers("/d/env/root/opt"),
        paths(&["/l/two", "/b/one/python3.11", "/l/one"])
    );
    // Two lower directories: no empty mount point beneath.
    assert_eq!(
        lowers("/d/env/root/var/task"),
        paths(&["/b/task/python3.11", "/d/task"])
    );
    // Without a sidecar the code stands on the empty mount point, as before.
    let sys = Recorder::default();
    runtime_side(&sys, &args(&[]));
    let overlays = sys.overlays.borrow();
    let (task, _) = overlays
        .iter()
        .find(|(_, t)| t == Path::new("/d/env/root/var/task"))
        .unwrap();
    assert_eq!(task, &paths(&["/d/task", "/d/env/root/var/task"]));
}

#[test]
fn a_private_network_is_joined_after_the_cgroups_and_before_the_other_namespaces() {
    let sys = Recorder::default();
    let plan = JailPlan {
        network: Some("/proc/42/fd/9".into()),
        ..args(&[])
    };
    runtime_side(&sys, &plan);
    let calls = sys.calls();
    assert_eq!(
        calls[1..4],
        [
            "join /cg/pids/e/cgroup.procs",
            "setns net /proc/42/fd/9",
            "unshare NEWNS|NEWPID|NEWIPC|NEWUTS",
        ]
    );
    // The host's network (no plan for one) is never left.
    let sys = Recorder::default();
    runtime_side(&sys, &args(&[]));
    assert!(!sys.calls().iter().any(|c| c.starts_with("setns")));
    // A namespace that cannot be joined stops the jail before anything else.
    let sys = Recorder {
        fail_on: Some("setns"),
        ..Default::default()
    };
    let error = runtime_side(&sys, &plan);
    assert!(
        matches!(&error, JailError::JoinNetwork { path, .. } if path.ends_with("9")),
        "{error}"
    );
    assert_eq!(sys.calls().last().unwrap(), "setns net /proc/42/fd/9");
}

#[test]
fn each_failing_step_has_its_own_error_and_stops_the_sequence() {
    type IsExpected = fn(&JailError) -> bool;
    let cases: [(&str, IsExpected); 9] = [
        ("join", |e| matches!(e, JailError::JoinCgroup { .. })),
        ("unshare", |e| matches!(e, JailError::Unshare(_))),
        ("overlay", |e| matches!(e, JailError::MountOpt(_))),
        ("pivot_root", |e| matches!(e, JailError::PivotRoot(_))),
        ("proc", |e| matches!(e, JailError::MountProc(_))),
        ("mask", |e| matches!(e, JailError::MaskProcNet(_))),
        ("setuid", |e| matches!(e, JailError::SetUid(_))),
        ("drop", |e| matches!(e, JailError::DropCapabilities(_))),
        ("seccomp", |e| matches!(e, JailError::Seccomp(_))),
    ];
    for (step, is_expected) in cases {
        let sys = Recorder {
            fail_on: Some(step),
            ..Default::default()
        };
        let error = runtime_side(&sys, &args(&["/a", "/b"]));
        assert!(is_expected(&error), "{step}: {error}");
        assert!(
            sys.calls().last().unwrap().starts_with(step),
            "{step} was not last"
        );
        assert!(!sys.calls().iter().any(|c| c.starts_with("exec")));
    }
    // Without layers, the first overlay is the code's.
    let sys = Recorder {
        fail_on: Some("overlay"),
        ..Default::default()
    };
    let error = runtime_side(&sys, &args(&[]));
    assert!(
        matches!(&error, JailError::MountTree { target, .. } if target.ends_with("var/task")),
        "{error}"
    );
}

#[test]
fn the_runtime_sdk_lies_beneath_the_runtime_files_and_node_modules_are_links() {
    let sys = Recorder::default();
    let plan = JailPlan {
        runtime_sdk: Some("/d/sdk".into()),
        node_modules: vec![
            ("tslib".into(), "/var/runtime/node_modules/tslib".into()),
            (
                "@aws-sdk/client-s3".into(),
                "/opt/nodejs/node_modules/@aws-sdk/client-s3".into(),
            ),
            (
                "@aws-sdk/client-sqs".into(),
                "/var/runtime/node_modules/@aws-sdk/client-sqs".into(),
            ),
        ],
        ..args(&[])
    };
    runtime_side(&sys, &plan);
    let calls = sys.calls();
    let opened = |path: &str| calls.iter().position(|c| c == &format!("open {path}"));
    // Opened before the root is built, right after the runtime files.
    assert_eq!(opened("/d/sdk"), opened("/d/rt").map(|i| i + 1));
    let runtime = calls
        .iter()
        .position(|c| c == "mkdir /d/env/root/var/runtime")
        .unwrap();
    // Two lower directories (the runtime files on top): no empty mount point beneath.
    assert_eq!(
        calls[runtime + 1],
        "overlay fd:fd on /d/env/root/var/runtime"
    );
    let modules = calls
        .iter()
        .position(|c| c == "mkdir /d/env/root/node_modules")
        .unwrap();
    let r = "/d/env/root/node_modules";
    assert_eq!(
        calls[modules + 1..modules + 7],
        [
            format!("tmpfs {r} mode=0755,size=16k,nr_inodes=22"),
            format!("symlink {r}/tslib -> /var/runtime/node_modules/tslib"),
            format!("mkdir {r}/@aws-sdk"),
            format!(
                "symlink {r}/@aws-sdk/client-s3 -> /opt/nodejs/node_modules/@aws-sdk/client-s3"
            ),
            format!(
                "symlink {r}/@aws-sdk/client-sqs -> /var/runtime/node_modules/@aws-sdk/client-sqs"
            ),
            format!("remount ro {r}"),
        ]
    );
}

#[test]
fn an_interpreter_outside_the_system_directories_is_an_overlay_too() {
    let sys = Recorder::default();
    let pyenv = JailPlan {
        lang: Some("/home/u/.pyenv/versions/3.11.9".into()),
        ..args(&[])
    };
    runtime_side(&sys, &pyenv);
    let calls = sys.calls();
    let lang = calls
        .iter()
        .position(|c| c == "open /d/env/root/var/lang")
        .unwrap();
    assert_eq!(calls[lang + 1], "overlay fd:fd on /d/env/root/var/lang");
    assert!(
        !calls
            .iter()
            .any(|c| c.contains("on /d/env/root/var/lang ro"))
    );
}

#[test]
fn layer_paths_reach_overlayfs_as_descriptors_whatever_their_characters() {
    let sys = Recorder::default();
    let error = runtime_side(&sys, &args(&["/l/a:b", "/l/c,d"]));
    assert!(matches!(error, JailError::Exec { .. }), "{error}");
    assert!(
        sys.calls()
            .contains(&"overlay fd:fd on /d/env/root/opt".to_owned())
    );
}

#[test]
fn the_seccomp_filter_comes_last_before_exec_unless_turned_off() {
    let sys = Recorder::default();
    runtime_side(&sys, &args(&[]));
    let calls = sys.calls();
    let at = |call: &str| calls.iter().position(|c| c.starts_with(call)).unwrap();
    assert!(at("no_new_privs") < at("seccomp"));
    assert_eq!(at("seccomp") + 1, at("exec"));

    let sys = Recorder::default();
    let without = JailPlan {
        seccomp: false,
        ..args(&[])
    };
    runtime_side(&sys, &without);
    let calls = sys.calls();
    assert!(!calls.iter().any(|c| c == "seccomp"), "{calls:#?}");
    assert!(calls.last().unwrap().starts_with("exec"));
}

#[test]
fn the_keeper_returns_what_the_init_reported() {
    // Parent side of the first fork: the keeper waits for the init (pid 40), ignoring other
    // children, and decodes the report the init wrote.
    for report in [
        JailReport::Runtime(3 << 8),
        JailReport::Runtime(0),
        JailReport::Runtime(9),
        JailReport::Extension(2 << 8),
    ] {
        let sys = Recorder::default();
        sys.waits.borrow_mut().extend([(41, 0), (40, 1 << 8)]);
        // The recorder's pipe is real: the init side is not run, so write the report here.
        let (reader, writer) = std::io::pipe().unwrap();
        std::io::Write::write_all(&mut &writer, &report.encode()).unwrap();
        drop(writer);
        let got = keep(40, std::fs::File::from(OwnedFd::from(reader)), &sys).unwrap();
        assert_eq!(got, report);
    }
}

#[test]
fn the_keeper_ends_as_the_reported_process_did_and_reports_whose_ending_it_is() {
    let plan = JailPlan {
        extensions: vec!["/opt/extensions/a".into()],
        ..args(&[])
    };
    // Keeper side: the init (pid 40) ends after reporting an extension's exit code 2. The
    // report pipe is written by the init in the real jail; here the recorder's pipe is empty,
    // so the keeper falls back to the init's own status.
    let sys = Recorder::default();
    sys.forks.borrow_mut().push_back(Some(40));
    sys.waits.borrow_mut().push_back((40, 2 << 8));
    let ending = enter(&plan, &sys).unwrap();
    assert_eq!(ending, Ending::Exit(2));
    let calls = sys.calls();
    assert!(
        calls.contains(&format!(
            "report to 4: {:?}",
            JailReport::Runtime(2 << 8).encode()
        )),
        "{calls:?}"
    );
}

#[test]
fn without_a_report_the_keeper_ends_as_the_init_did() {
    let sys = Recorder::default();
    sys.waits.borrow_mut().push_back((40, 126 << 8));
    let (reader, writer) = std::io::pipe().unwrap();
    drop(writer);
    let report = keep(40, std::fs::File::from(OwnedFd::from(reader)), &sys).unwrap();
    assert_eq!(report, JailReport::Runtime(126 << 8));
}

#[test]
fn the_init_reaps_orphans_and_reports_the_runtime_status() {
    let sys = Recorder::default();
    // First fork (keeper → init): child side. Second fork (init → runtime): parent side.
    sys.forks.borrow_mut().extend([None, Some(2)]);
    sys.waits.borrow_mut().extend([(7, 0), (8, 9), (2, 5 << 8)]);
    let ending = enter(&args(&[]), &sys).unwrap();
    assert_eq!(ending, Ending::Exit(0));
    let waits = sys.calls().iter().filter(|c| *c == "wait").count();
    assert_eq!(waits, 3);
}

#[test]
fn a_standby_joins_its_cgroups_before_its_plan_comes() {
    let standby = JailRequest::Standby {
        cgroups: vec!["/cg/s/cgroup.procs".into()],
    };
    let plan = JailPlan {
        cgroups: Vec::new(),
        ..args(&[])
    };
    let stream = [standby.encode().unwrap(), plan.encode().unwrap()].concat();
    let sys = Recorder {
        fail_on: Some("unshare"),
        ..Recorder::default()
    };
    let error = run_from(stream.as_slice(), &sys).unwrap_err();
    assert!(matches!(error, JailError::Unshare(_)), "{error}");
    assert_eq!(
        sys.calls()[..2],
        [
            "join /cg/s/cgroup.procs",
            "unshare NEWNS|NEWPID|NEWIPC|NEWUTS"
        ]
    );

    // Unused (the server closed the stream): it ends quietly.
    let sys = Recorder::default();
    let ending = run_from(standby.encode().unwrap().as_slice(), &sys).unwrap();
    assert_eq!(ending, Ending::Exit(0));
    assert_eq!(sys.calls(), ["join /cg/s/cgroup.procs"]);
}

#[test]
fn a_jail_told_nothing_or_garbage_does_nothing() {
    let standby = JailRequest::Standby {
        cgroups: Vec::new(),
    }
    .encode()
    .unwrap();
    for (stream, expected) in [
        (Vec::new(), "no plan"),
        (b"--task /t --uid 0\n".to_vec(), "bad jail frame"),
        ([standby.clone(), standby].concat(), "unexpected"),
    ] {
        let sys = Recorder::default();
        let error = run_from(stream.as_slice(), &sys).unwrap_err();
        assert!(matches!(error, JailError::Plan(_)), "{error}");
        assert!(error.to_string().contains(expected), "{error}");
        assert!(!sys.calls().iter().any(|c| c.starts_with("unshare")));
    }
}

#[test]
fn extensions_are_started_before_the_runtime_each_as_the_runtime_is() {
    let plan = JailPlan {
        extensions: vec!["/opt/extensions/a".into(), "/opt/extensions/b".into()],
        ..args(&[])
    };
    // The keeper's fork is the child side (the init); the first extension's fork is the
    // parent side, so the second extension is the child that execs.
    let sys = Recorder::default();
    sys.forks.borrow_mut().extend([None, Some(5)]);
    let error = runtime_side(&sys, &plan);
    assert!(
        matches!(error, JailError::Exec { ref program, .. } if program == Path::new("/opt/extensions/b")),
        "{error}"
    );
    let calls = sys.calls();
    assert_eq!(
        calls.iter().filter(|c| *c == "fork").count(),
        3,
        "{calls:?}"
    );
    let after_fork = calls.iter().rposition(|c| c == "fork").unwrap();
    // Its output goes to the extensions' own pipe.
    assert_eq!(calls[after_fork + 1], "output to 3", "{calls:?}");
    // Dropped to the sandbox user, filtered, then exec'ed, as the runtime is.
    assert_eq!(calls.last().unwrap(), "exec /opt/extensions/b");
    assert!(
        calls[after_fork..].iter().any(|c| c.starts_with("setuid")),
        "{calls:?}"
    );
    assert!(
        calls[after_fork..].iter().any(|c| c.starts_with("seccomp")),
        "{calls:?}"
    );

    // Both extensions forked (parent side), then the runtime.
    let sys = Recorder::default();
    sys.forks.borrow_mut().extend([None, Some(5), Some(6)]);
    let error = runtime_side(&sys, &plan);
    assert!(
        matches!(error, JailError::Exec { ref program, .. } if program == Path::new("/var/lang/bin/python3.11")),
        "{error}"
    );
    // The runtime is forked after the init closed the extensions' pipe: it writes only to
    // its own output.
    let calls = sys.calls();
    let closed = calls.iter().position(|c| c == "close 3").unwrap();
    let runtime_fork = calls.iter().rposition(|c| c == "fork").unwrap();
    assert!(closed < runtime_fork, "{calls:?}");
    assert!(!calls.iter().any(|c| c == "output to 3"), "{calls:?}");
}

#[test]
fn an_extension_that_exits_ends_the_runtime() {
    let plan = JailPlan {
        extensions: vec!["/opt/extensions/a".into()],
        ..args(&[])
    };
    let sys = Recorder::default();
    // Init (child side), the extension (pid 5), the runtime (pid 6).
    sys.forks.borrow_mut().extend([None, Some(5), Some(6)]);
    // An orphan, the extension's exit, then the runtime's death by SIGKILL.
    sys.waits.borrow_mut().extend([(9, 0), (5, 1 << 8), (6, 9)]);
    let ending = enter(&plan, &sys).unwrap();
    assert_eq!(ending, Ending::Exit(0));
    let calls = sys.calls();
    assert_eq!(
        calls.iter().filter(|c| *c == "kill 6").count(),
        1,
        "{calls:?}"
    );
}

#[test]
fn a_templates_init_outlives_its_runtime_until_its_copies_end() {
    let plan = JailPlan {
        template: true,
        ..args(&[])
    };
    let sys = Recorder::default();
    // Init (child side), the runtime (pid 2).
    sys.forks.borrow_mut().extend([None, Some(2)]);
    // The runtime ends while two restored copies (7, 8) still run; then they end too.
    sys.waits.borrow_mut().extend([(2, 9), (7, 0), (8, 0)]);
    let ending = enter(&plan, &sys).unwrap();
    assert_eq!(ending, Ending::Exit(0));
    let calls = sys.calls();
    // Every child reaped, then the wait that finds none, before the report.
    let waits = calls.iter().filter(|c| *c == "wait").count();
    assert_eq!(waits, 4, "{calls:?}");
    let fork = calls.iter().rposition(|c| c == "fork").unwrap();
    let closed = calls.iter().rposition(|c| c == "close 5").unwrap();
    assert!(
        closed > fork,
        "the init closes the control socket once the runtime has it: {calls:?}"
    );
}
