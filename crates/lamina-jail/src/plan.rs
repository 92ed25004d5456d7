//! The jail's steps, in order, and its arguments.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::syscall::Syscall;

/// What `lamina __jail` is told: host directories to mount and the runtime to exec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JailArgs {
    /// Extracted function code, mounted read-only at `/var/task`.
    pub task: PathBuf,
    /// Lamina's runtime files, mounted read-only at `/var/runtime`.
    pub runtime: PathBuf,
    /// The environment's scratch directory, mounted read-write at `/tmp`.
    pub tmp: PathBuf,
    /// The interpreter's installation prefix, mounted read-only at `/var/lang`.
    pub lang: Option<PathBuf>,
    /// Layer trees in the function's order; later ones win in `/opt`.
    pub layers: Vec<PathBuf>,
    /// The runtime executable (a path inside the jail) and its arguments.
    pub command: Vec<OsString>,
}

/// A step of the jail that failed. Each variant is one step.
#[derive(Debug, thiserror::Error)]
pub enum JailError {
    /// The arguments are not what `lamina serve` passes.
    #[error("bad jail arguments: {0}")]
    Arguments(String),
    /// `unshare(CLONE_NEWNS)` failed.
    #[error("failed to create a mount namespace: {0}")]
    UnshareMountNamespace(#[source] io::Error),
    /// Making `/` a slave mount failed.
    #[error("failed to make mounts private: {0}")]
    MakeMountsPrivate(#[source] io::Error),
    /// A source directory could not be opened.
    #[error("failed to open {path}: {source}")]
    OpenSource {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A layer path cannot be written in overlayfs options.
    #[error("layer path {0} contains ':' or ','")]
    LayerPath(PathBuf),
    /// Mounting `/opt` failed.
    #[error("failed to mount the layers at /opt: {0}")]
    MountOpt(#[source] io::Error),
    /// Mounting the private `/var` failed.
    #[error("failed to mount a private /var: {0}")]
    MountVar(#[source] io::Error),
    /// Creating a mount point failed.
    #[error("failed to create mount point {path}: {source}")]
    CreateMountPoint {
        /// The mount point.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A bind mount failed.
    #[error("failed to bind {target}: {source}")]
    Bind {
        /// The mount point.
        target: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Changing into `/var/task` failed.
    #[error("failed to enter /var/task: {0}")]
    Chdir(#[source] io::Error),
    /// Executing the runtime failed.
    #[error("failed to execute {program}: {source}")]
    Exec {
        /// The runtime executable.
        program: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// Parses `--task P --runtime P --tmp P [--lang P] [--layer P]... -- PROGRAM [ARGS...]`.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<JailArgs, JailError> {
    let mut parsed = JailArgs::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "--" {
            parsed.command = args.collect();
            break;
        }
        let value = args.next().map(PathBuf::from).ok_or_else(|| {
            JailError::Arguments(format!("{} needs a value", flag.to_string_lossy()))
        })?;
        match flag.to_str() {
            Some("--task") => parsed.task = value,
            Some("--runtime") => parsed.runtime = value,
            Some("--tmp") => parsed.tmp = value,
            Some("--lang") => parsed.lang = Some(value),
            Some("--layer") => parsed.layers.push(value),
            _ => {
                return Err(JailError::Arguments(format!(
                    "unknown flag {}",
                    flag.to_string_lossy()
                )));
            }
        }
    }
    if parsed.command.is_empty() || parsed.task.as_os_str().is_empty() {
        return Err(JailError::Arguments(
            "a task directory and a command are required".into(),
        ));
    }
    Ok(parsed)
}

/// Sets up the mount namespace and execs the runtime. Returns only on failure.
pub fn enter(args: &JailArgs, sys: &impl Syscall) -> JailError {
    match set_up(args, sys) {
        Err(e) => e,
        Ok(()) => {
            let program = PathBuf::from(&args.command[0]);
            let source = sys.exec(&program, &args.command[1..]);
            JailError::Exec { program, source }
        }
    }
}

fn set_up(args: &JailArgs, sys: &impl Syscall) -> Result<(), JailError> {
    sys.unshare_mount_namespace()
        .map_err(JailError::UnshareMountNamespace)?;
    sys.make_mounts_private()
        .map_err(JailError::MakeMountsPrivate)?;

    // Held open by path so they can be bound after the private /var hides their names.
    let open = |path: &Path| {
        sys.open_dir(path).map_err(|source| JailError::OpenSource {
            path: path.to_owned(),
            source,
        })
    };
    let task = open(&args.task)?;
    let runtime = open(&args.runtime)?;
    let tmp = open(&args.tmp)?;
    let lang = args.lang.as_deref().map(open).transpose()?;

    mount_opt(args, sys)?;
    sys.mount_tmpfs(Path::new("/var"), "mode=0755,size=1m")
        .map_err(JailError::MountVar)?;
    let mut binds: Vec<(&OwnedFd, &str, bool)> = vec![
        (&task, "/var/task", true),
        (&runtime, "/var/runtime", true),
        (&tmp, "/tmp", false),
    ];
    if let Some(lang) = &lang {
        binds.push((lang, "/var/lang", true));
    }
    for (fd, target, read_only) in binds {
        let target = Path::new(target);
        if target.starts_with("/var") {
            sys.mkdir(target)
                .map_err(|source| JailError::CreateMountPoint {
                    path: target.to_owned(),
                    source,
                })?;
        }
        let source = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        sys.bind(&source, target, read_only)
            .map_err(|source| JailError::Bind {
                target: target.to_owned(),
                source,
            })?;
    }
    sys.chdir(Path::new("/var/task")).map_err(JailError::Chdir)
}

fn mount_opt(args: &JailArgs, sys: &impl Syscall) -> Result<(), JailError> {
    let opt = Path::new("/opt");
    match args.layers.as_slice() {
        [] => {
            sys.mount_tmpfs(opt, "mode=0755,size=4k")
                .map_err(JailError::MountOpt)?;
            sys.remount_read_only(opt).map_err(JailError::MountOpt)
        }
        [only] => sys.bind(only, opt, true).map_err(JailError::MountOpt),
        layers => {
            if let Some(bad) = layers.iter().find(|l| {
                let s = l.as_os_str().as_encoded_bytes();
                s.contains(&b':') || s.contains(&b',')
            }) {
                return Err(JailError::LayerPath(bad.clone()));
            }
            // overlayfs lists the uppermost lower directory first: the last layer wins.
            let top_first: Vec<&Path> = layers.iter().rev().map(PathBuf::as_path).collect();
            sys.mount_overlay(&top_first, opt)
                .map_err(JailError::MountOpt)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[derive(Default)]
    struct Recorder {
        calls: RefCell<Vec<String>>,
        fail_on: Option<&'static str>,
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
    }

    impl Syscall for Recorder {
        fn unshare_mount_namespace(&self) -> io::Result<()> {
            self.record("unshare NEWNS".into())
        }
        fn make_mounts_private(&self) -> io::Result<()> {
            self.record("private /".into())
        }
        fn open_dir(&self, path: &Path) -> io::Result<OwnedFd> {
            self.record(format!("open {}", path.display()))?;
            std::fs::File::open("/").map(OwnedFd::from)
        }
        fn mount_overlay(&self, lower: &[&Path], target: &Path) -> io::Result<()> {
            let lower: Vec<_> = lower.iter().map(|p| p.display().to_string()).collect();
            self.record(format!(
                "overlay {} on {}",
                lower.join(":"),
                target.display()
            ))
        }
        fn mount_tmpfs(&self, target: &Path, options: &str) -> io::Result<()> {
            self.record(format!("tmpfs {} {options}", target.display()))
        }
        fn bind(&self, source: &Path, target: &Path, ro: bool) -> io::Result<()> {
            let source = if source.starts_with("/proc/self/fd") {
                "fd".into()
            } else {
                source.display().to_string()
            };
            self.record(format!("bind {source} on {} ro={ro}", target.display()))
        }
        fn remount_read_only(&self, target: &Path) -> io::Result<()> {
            self.record(format!("remount ro {}", target.display()))
        }
        fn mkdir(&self, path: &Path) -> io::Result<()> {
            self.record(format!("mkdir {}", path.display()))
        }
        fn chdir(&self, path: &Path) -> io::Result<()> {
            self.record(format!("chdir {}", path.display()))
        }
        fn exec(&self, program: &Path, _args: &[OsString]) -> io::Error {
            let _ = self.record(format!("exec {}", program.display()));
            io::Error::other("recorded")
        }
    }

    fn args(layers: &[&str]) -> JailArgs {
        parse_args(
            [
                "--task",
                "/d/task",
                "--runtime",
                "/d/rt",
                "--tmp",
                "/d/tmp",
                "--lang",
                "/usr",
            ]
            .into_iter()
            .chain(layers.iter().flat_map(|l| ["--layer", *l]))
            .chain([
                "--",
                "/var/lang/bin/python3.11",
                "/var/runtime/bootstrap.py",
            ])
            .map(OsString::from),
        )
        .unwrap()
    }

    #[test]
    fn mounts_in_order_with_the_last_layer_on_top() {
        let sys = Recorder::default();
        let error = enter(&args(&["/l/one", "/l/two"]), &sys);
        assert!(matches!(error, JailError::Exec { .. }));
        assert_eq!(
            sys.calls.into_inner(),
            vec![
                "unshare NEWNS",
                "private /",
                "open /d/task",
                "open /d/rt",
                "open /d/tmp",
                "open /usr",
                "overlay /l/two:/l/one on /opt",
                "tmpfs /var mode=0755,size=1m",
                "mkdir /var/task",
                "bind fd on /var/task ro=true",
                "mkdir /var/runtime",
                "bind fd on /var/runtime ro=true",
                "bind fd on /tmp ro=false",
                "mkdir /var/lang",
                "bind fd on /var/lang ro=true",
                "chdir /var/task",
                "exec /var/lang/bin/python3.11",
            ]
        );
    }

    #[test]
    fn one_layer_is_a_bind_and_none_an_empty_read_only_opt() {
        let sys = Recorder::default();
        enter(&args(&["/l/one"]), &sys);
        assert!(
            sys.calls
                .borrow()
                .contains(&"bind /l/one on /opt ro=true".to_owned())
        );
        let sys = Recorder::default();
        enter(&args(&[]), &sys);
        let calls = sys.calls.into_inner();
        assert!(calls.contains(&"tmpfs /opt mode=0755,size=4k".to_owned()));
        assert!(calls.contains(&"remount ro /opt".to_owned()));
    }

    #[test]
    fn each_failing_step_has_its_own_error_and_stops_the_sequence() {
        let sys = Recorder {
            fail_on: Some("overlay"),
            ..Default::default()
        };
        assert!(matches!(
            enter(&args(&["/a", "/b"]), &sys),
            JailError::MountOpt(_)
        ));
        assert_eq!(
            sys.calls.borrow().last().map(String::as_str),
            Some("overlay /b:/a on /opt")
        );
        let sys = Recorder {
            fail_on: Some("unshare"),
            ..Default::default()
        };
        assert!(matches!(
            enter(&args(&[]), &sys),
            JailError::UnshareMountNamespace(_)
        ));
        assert!(matches!(
            enter(&args(&["/a:b", "/c"]), &Recorder::default()),
            JailError::LayerPath(_)
        ));
    }

    #[test]
    fn arguments_are_checked() {
        assert!(parse_args(["--task".into()]).is_err());
        assert!(parse_args(["--bogus".into(), "x".into()]).is_err());
        assert!(parse_args(["--task".into(), "/t".into()]).is_err());
    }
}
