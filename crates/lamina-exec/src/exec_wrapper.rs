//! Wrapper scripts: `AWS_LAMBDA_EXEC_WRAPPER` names a program that a managed runtime is started
//! through, with the runtime's own start command as its arguments (so `exec "$@"` at its end
//! starts the runtime).
//!
//! What AWS does, and what was verified: AWS documents that wrapper scripts apply to every
//! managed runtime and not to the OS-only ones (`provided.*`), and that the wrapper receives
//! the interpreter's path and all the original arguments
//! (docs.aws.amazon.com/lambda/latest/dg/runtimes-modify.html, "Wrapper scripts"). The check
//! and its wording are those of the managed runtimes' own `/var/runtime/bootstrap`, a bash
//! script, as several independent public copies taken from AWS's base images show it
//! (python3.10, python3.11, nodejs14.x, nodejs18.x, identical in this part):
//! `[ ! -f "$wrapper" ]` prints `$wrapper: does not exist` on standard output and exits 127;
//! `[ ! -x "$wrapper" ]` prints `$wrapper: is not an executable` and exits 126; otherwise
//! `exec -- "$wrapper" /var/lang/bin/python3.X /var/runtime/bootstrap.py`. The runtime's exit
//! before `next` is then AWS's `Runtime.ExitError` "Runtime exited with error: exit status
//! 127" (126), which the exit-before-next path already reports. Guessed, not verified: that
//! the Init log shows nothing more than the script's line (Lamina adds nothing).
//!
//! Lamina does the same check inside the environment, as the sandbox user, by starting
//! `/bin/sh` with the check: paths resolve as the function sees them (`/opt/...` from a layer,
//! `/var/task/...`), and `-x` is judged for the user the runtime runs as. Without a wrapper
//! nothing changes: no shell is started.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The variable that names the wrapper.
pub const VARIABLE: &str = "AWS_LAMBDA_EXEC_WRAPPER";

/// The shell that checks and starts the wrapper, present in every environment (the jail binds
/// the host's `/bin` and `/usr`).
const SHELL: &str = "/bin/sh";

/// The check of AWS's bootstrap. `$1` is the wrapper, the rest the runtime's start command.
/// `exec` without `--`: dash's `exec` takes no options and would run a program named `--`.
const CHECK_AND_EXEC: &str = r#"wrapper="$1"
shift
if [ ! -f "$wrapper" ]; then
  echo "$wrapper: does not exist"
  exit 127
fi
if [ ! -x "$wrapper" ]; then
  echo "$wrapper: is not an executable"
  exit 126
fi
exec "$wrapper" "$@""#;

/// The name the shell runs under (its `$0`), seen in `ps`.
const SHELL_NAME: &str = "lamina-exec-wrapper";

/// Where a path the function names is found when there is no mount namespace: `/opt` and
/// `/var/task` stand for the merged layers and the code. Other paths are used as they are.
pub struct PathMap<'a> {
    /// What `/opt` is.
    pub opt: &'a Path,
    /// What `/var/task` is.
    pub task: &'a Path,
}

impl PathMap<'_> {
    fn resolve(&self, wrapper: &str) -> PathBuf {
        let path = Path::new(wrapper);
        for (aws, here) in [("/opt", self.opt), ("/var/task", self.task)] {
            if let Ok(rest) = path.strip_prefix(aws) {
                return here.join(rest);
            }
        }
        path.to_owned()
    }
}

/// The command that starts the runtime through `wrapper` (the variable's value; an empty one
/// is no wrapper, as in AWS's `[ -z ]`), or the runtime's own command when there is none.
/// `paths` maps AWS's paths onto the host's when the environment has no mount namespace.
pub fn wrap(
    wrapper: Option<&str>,
    program: PathBuf,
    args: Vec<OsString>,
    paths: Option<&PathMap<'_>>,
) -> (PathBuf, Vec<OsString>) {
    let Some(wrapper) = wrapper.filter(|w| !w.is_empty()) else {
        return (program, args);
    };
    let wrapper = match paths {
        Some(map) => map.resolve(wrapper).into_os_string(),
        None => wrapper.into(),
    };
    let mut wrapped: Vec<OsString> = vec![
        "-c".into(),
        CHECK_AND_EXEC.into(),
        SHELL_NAME.into(),
        wrapper,
        program.into_os_string(),
    ];
    wrapped.extend(args);
    (SHELL.into(), wrapped)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    use super::*;

    fn python() -> (PathBuf, Vec<OsString>) {
        (
            "/var/lang/bin/python3.12".into(),
            vec!["/var/runtime/bootstrap.py".into()],
        )
    }

    #[test]
    fn no_wrapper_or_an_empty_one_starts_the_runtime_itself() {
        for wrapper in [None, Some("")] {
            let (program, args) = python();
            assert_eq!(wrap(wrapper, program, args, None), python());
        }
    }

    #[test]
    fn the_wrapper_gets_the_runtimes_command_after_the_check() {
        let (program, args) = python();
        let (shell, args) = wrap(Some("/opt/wrapper.sh"), program, args, None);
        assert_eq!(shell, Path::new("/bin/sh"));
        assert_eq!(args[0], "-c");
        assert_eq!(
            &args[2..],
            [
                SHELL_NAME,
                "/opt/wrapper.sh",
                "/var/lang/bin/python3.12",
                "/var/runtime/bootstrap.py"
            ]
        );
    }

    #[test]
    fn without_namespaces_aws_paths_are_found_in_the_layers_and_the_code() {
        let map = PathMap {
            opt: Path::new("/data/views/ab"),
            task: Path::new("/data/trees/cd"),
        };
        assert_eq!(map.resolve("/opt/bin/w"), Path::new("/data/views/ab/bin/w"));
        assert_eq!(map.resolve("/var/task/w"), Path::new("/data/trees/cd/w"));
        assert_eq!(map.resolve("/optional/w"), Path::new("/optional/w"));
        assert_eq!(map.resolve("/usr/bin/env"), Path::new("/usr/bin/env"));
    }

    /// Runs the shell as the plan would, with `echo` as the runtime.
    fn run(wrapper: &Path) -> (Option<i32>, String) {
        let (shell, args) = wrap(
            Some(&wrapper.display().to_string()),
            "/bin/echo".into(),
            vec!["runtime started".into()],
            None,
        );
        let out = Command::new(shell).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    #[test]
    fn the_check_exits_as_aws_bootstrap_does() {
        let dir = tempfile::tempdir().unwrap();
        let wrapper = dir.path().join("wrapper.sh");
        assert_eq!(
            run(&wrapper),
            (
                Some(127),
                format!("{}: does not exist\n", wrapper.display())
            )
        );
        // A directory is no file either.
        assert_eq!(run(dir.path()).0, Some(127));
        std::fs::write(&wrapper, "#!/bin/sh\necho \"wrapped: $@\"\nexec \"$@\"\n").unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (code, out) = run(&wrapper);
        // Root may execute a file with no execute bit at all: `-x` says no for it too.
        assert_eq!(
            (code, out),
            (
                Some(126),
                format!("{}: is not an executable\n", wrapper.display())
            )
        );
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            run(&wrapper),
            (
                Some(0),
                "wrapped: /bin/echo runtime started\nruntime started\n".to_owned()
            )
        );
    }

    mod plan {
        use std::collections::BTreeMap;
        use std::path::Path;

        use lamina_types::FunctionSpec;

        use crate::interpreters::{Interpreter, Resolution};
        use crate::launch::{HostPaths, Isolation, LaunchContext, LaunchPlan, plan};

        fn spec(runtime: &str, task: &Path) -> FunctionSpec {
            FunctionSpec {
                environment: BTreeMap::from([(
                    "AWS_LAMBDA_EXEC_WRAPPER".to_owned(),
                    "/opt/wrapper.sh".to_owned(),
                )]),
                ..crate::test_specs::spec(runtime, task, &[])
            }
        }

        fn launch(spec: &FunctionSpec, isolation: Isolation) -> LaunchPlan {
            let python = Resolution {
                interpreter: Interpreter {
                    version: "3.12".into(),
                    prefix: "/usr".into(),
                    executable: "bin/python3.12".into(),
                },
                substituted: false,
            };
            let host = HostPaths {
                opt_view: "/data/views/v".into(),
                runtime: "/data/runtime".into(),
                runtime_sdk: None,
                tmp: "/e/tmp".into(),
                root: "/e/root".into(),
                sandbox_id: Some(1_000_001),
                cgroup_procs: Vec::new(),
                network: None,
                bytecode: Default::default(),
            };
            let ctx = LaunchContext {
                isolation,
                interpreter: Some(&python),
                runtime_api: "127.0.0.1:9001",
                log_stream: "s",
                jail_program: Path::new("/bin/lamina"),
                seccomp: true,
            };
            plan(spec, &host, &ctx).unwrap()
        }

        #[test]
        fn a_python_runtime_starts_through_the_wrapper_in_the_jail() {
            let task = tempfile::tempdir().unwrap();
            let jail = launch(&spec("python3.12", task.path()), Isolation::Namespaces)
                .jail
                .unwrap();
            assert_eq!(jail.program, Path::new("/bin/sh"));
            assert_eq!(
                &jail.args[3..],
                [
                    "/opt/wrapper.sh",
                    "/var/lang/bin/python3.12",
                    "/var/runtime/bootstrap.py"
                ]
            );
            // The runtime still sees the variable, as on AWS.
            assert_eq!(jail.env["AWS_LAMBDA_EXEC_WRAPPER"], "/opt/wrapper.sh");
        }

        #[test]
        fn without_namespaces_the_wrapper_is_found_in_the_merged_layers() {
            let task = tempfile::tempdir().unwrap();
            let launched = launch(&spec("python3.12", task.path()), Isolation::None);
            assert_eq!(launched.program, Path::new("/bin/sh"));
            assert_eq!(launched.args[3], "/data/views/v/wrapper.sh");
            assert_eq!(launched.args[4], "/usr/bin/python3.12");
        }

        #[test]
        fn a_custom_runtime_ignores_the_wrapper() {
            use std::os::unix::fs::PermissionsExt;
            let task = tempfile::tempdir().unwrap();
            let bootstrap = task.path().join("bootstrap");
            std::fs::write(&bootstrap, "").unwrap();
            std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
            let jail = launch(&spec("provided.al2023", task.path()), Isolation::Namespaces)
                .jail
                .unwrap();
            assert_eq!(jail.program, Path::new("/var/task/bootstrap"));
            assert!(jail.args.is_empty());
        }
    }
}
