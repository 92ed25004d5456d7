//! How a runtime process is started for a spec: program, arguments, environment and the
//! paths it sees, with or without a mount namespace.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use lamina_jail::JailPlan;
use lamina_types::{FunctionSpec, Runtime, RuntimeFamily};

use crate::bytecode::Sidecars;
use crate::exec_wrapper;
use crate::interpreters::Resolution;

/// How environments are isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// A plain child process; AWS's paths are mapped onto host paths through variables.
    None,
    /// A private mount namespace with `/opt`, `/var/task`, `/var/lang`, `/var/runtime` and
    /// `/tmp` mounted as on AWS (entered by re-executing `lamina` as a jail).
    Namespaces,
}

impl Isolation {
    /// The name shown in the banner and in `/_lamina/health`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Namespaces => "namespaces",
        }
    }
}

/// The host directories an environment is assembled from, besides the spec's own trees
/// (its code and layers, which the locked spec names).
#[derive(Debug, Clone)]
pub struct HostPaths {
    /// The merged `/opt` for [`Isolation::None`].
    pub opt_view: PathBuf,
    /// Lamina's runtime files (the Python bootstrap).
    pub runtime: PathBuf,
    /// The AWS SDK tree the runtime ships, seen beneath the runtime files at `/var/runtime`
    /// (`None`: the runtime gets none).
    pub runtime_sdk: Option<PathBuf>,
    /// The environment's private, writable `/tmp`.
    pub tmp: PathBuf,
    /// The empty directory the jail builds the environment's root on.
    pub root: PathBuf,
    /// The environment's uid and gid (namespaces only).
    pub sandbox_id: Option<u32>,
    /// The `cgroup.procs` files of the environment's cgroup.
    pub cgroup_procs: Vec<PathBuf>,
    /// A file that opens the environment's own network namespace; `None` on the host's.
    pub network: Option<PathBuf>,
    /// The bytecode sidecars mounted above the code and the layers (namespaces only).
    pub bytecode: Sidecars,
}

/// A runtime process to start.
#[derive(Debug, Clone)]
pub struct LaunchPlan {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Its whole environment (nothing is inherited).
    pub env: BTreeMap<String, String>,
    /// Its working directory.
    pub cwd: PathBuf,
    /// With namespaces, what the jail (`program`) is told on its standard input, in place
    /// of arguments: its mounts, limits and the runtime's own program, arguments and
    /// environment.
    pub jail: Option<JailPlan>,
    /// The names of the external extensions the jail starts (none without namespaces).
    pub extensions: Vec<String>,
}

/// Why a runtime cannot be started; worded as the error the invoker returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    /// No interpreter on this machine runs the runtime.
    #[error("no interpreter on this machine runs {0}")]
    NoInterpreter(Runtime),
    /// A custom runtime with no `bootstrap` in the code or the layers.
    #[error("Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]")]
    NoBootstrap,
    /// A custom runtime whose `bootstrap` (its path as the function sees it) may not be run.
    #[error("fork/exec {}: permission denied", .0.display())]
    BootstrapNotExecutable(PathBuf),
    /// A name that is no runtime of the API model (a record this server did not write).
    #[error("the runtime is not one of the API model's")]
    UnknownRuntime,
    /// A runtime Lamina does not run yet.
    #[error("runtime {0} is not supported by this Lamina server")]
    UnsupportedRuntime(Runtime),
}

/// What every plan needs besides the spec.
pub struct LaunchContext<'a> {
    /// Isolation mode.
    pub isolation: Isolation,
    /// The interpreter for Python and Node.js runtimes (its prefix is `/var/lang`).
    pub interpreter: Option<&'a Resolution>,
    /// `host:port/token` of the Runtime API for this environment.
    pub runtime_api: &'a str,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`.
    pub log_stream: &'a str,
    /// The `lamina` executable, re-executed as the jail.
    pub jail_program: &'a Path,
    /// Whether the jail installs its seccomp filter (see [`ExecConfig::seccomp`]).
    ///
    /// [`ExecConfig::seccomp`]: crate::ExecConfig::seccomp
    pub seccomp: bool,
}

struct GuestPaths {
    task: PathBuf,
    opt: PathBuf,
    lang: PathBuf,
    runtime: PathBuf,
}

/// The `bootstrap` a custom runtime starts: the function's own, else the last layer's that
/// has one (later layers win at `/opt`), as the function sees its path.
fn custom_bootstrap(spec: &FunctionSpec, guest: &GuestPaths) -> Result<PathBuf, LaunchError> {
    use std::os::unix::fs::PermissionsExt;
    let task = &spec.code.path;
    let found = if task.join("bootstrap").is_file() {
        Some((task.join("bootstrap"), guest.task.join("bootstrap")))
    } else {
        spec.layers
            .iter()
            .rev()
            .map(|layer| layer.path.join("bootstrap"))
            .find(|path| path.is_file())
            .map(|path| (path, guest.opt.join("bootstrap")))
    };
    let (on_host, as_seen) = found.ok_or(LaunchError::NoBootstrap)?;
    let executable = std::fs::metadata(&on_host).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    if executable {
        Ok(as_seen)
    } else {
        Err(LaunchError::BootstrapNotExecutable(as_seen))
    }
}

/// Builds the launch plan of one environment.
pub fn plan(
    spec: &FunctionSpec,
    host: &HostPaths,
    ctx: &LaunchContext<'_>,
) -> Result<LaunchPlan, LaunchError> {
    let lang_host = ctx.interpreter.map(|r| r.interpreter.prefix.clone());
    let guest = match ctx.isolation {
        Isolation::Namespaces => GuestPaths {
            task: "/var/task".into(),
            opt: "/opt".into(),
            lang: "/var/lang".into(),
            runtime: "/var/runtime".into(),
        },
        Isolation::None => GuestPaths {
            task: spec.code.path.clone(),
            opt: host.opt_view.clone(),
            lang: lang_host.clone().unwrap_or_else(|| "/var/lang".into()),
            runtime: host.runtime.clone(),
        },
    };
    let (program, args) = match spec.runtime.family() {
        RuntimeFamily::Python => {
            let resolution = ctx
                .interpreter
                .ok_or(LaunchError::NoInterpreter(spec.runtime))?;
            let python = guest.lang.join(&resolution.interpreter.executable);
            (
                python,
                vec![guest.runtime.join("bootstrap.py").into_os_string()],
            )
        }
        RuntimeFamily::NodeJs => {
            let resolution = ctx
                .interpreter
                .ok_or(LaunchError::NoInterpreter(spec.runtime))?;
            let node = guest.lang.join(&resolution.interpreter.executable);
            (node, vec![guest.runtime.join("index.cjs").into_os_string()])
        }
        RuntimeFamily::Custom => (custom_bootstrap(spec, &guest)?, Vec::new()),
        RuntimeFamily::Other => {
            return Err(LaunchError::UnsupportedRuntime(spec.runtime));
        }
    };
    // AWS starts only the managed runtimes through a wrapper script, never `provided.*`.
    let (program, args) = if spec.runtime.family() == RuntimeFamily::Custom {
        (program, args)
    } else {
        let paths = exec_wrapper::PathMap {
            opt: &guest.opt,
            task: &guest.task,
        };
        let unmounted = (ctx.isolation == Isolation::None).then_some(&paths);
        let wrapper = spec.environment.get(exec_wrapper::VARIABLE);
        exec_wrapper::wrap(wrapper.map(String::as_str), program, args, unmounted)
    };
    let env = environment(spec, &guest, ctx, host);
    match ctx.isolation {
        Isolation::None => Ok(LaunchPlan {
            program,
            args,
            env,
            cwd: guest.task,
            jail: None,
            // Without a jail there is no process to start them in the sandbox (phase 1).
            extensions: Vec::new(),
        }),
        Isolation::Namespaces => {
            let extensions =
                crate::extension_files::discover(spec.layers.iter().map(|l| l.path.as_path()));
            let node_modules = match spec.runtime.family() {
                RuntimeFamily::NodeJs => {
                    let layers: Vec<&Path> = spec.layers.iter().map(|l| l.path.as_path()).collect();
                    crate::node_modules::links(
                        node_major(spec.runtime),
                        &layers,
                        host.runtime_sdk.as_deref(),
                    )
                }
                _ => Vec::new(),
            };
            Ok(LaunchPlan {
                program: ctx.jail_program.to_owned(),
                args: vec![lamina_jail::SUBCOMMAND.into()],
                // The jail starts with nothing; the runtime's environment travels in its plan.
                env: BTreeMap::new(),
                cwd: "/".into(),
                jail: Some(JailPlan {
                    task: spec.code.path.clone(),
                    task_bytecode: host.bytecode.task.clone(),
                    runtime: host.runtime.clone(),
                    runtime_sdk: host.runtime_sdk.clone(),
                    node_modules,
                    tmp: host.tmp.clone(),
                    root: host.root.clone(),
                    lang: lang_host,
                    layers: opt_lower_dirs(spec, &host.bytecode),
                    cgroups: host.cgroup_procs.clone(),
                    // Scratch made for namespaces always has an id; `nobody` would be the safe guess.
                    uid: host.sandbox_id.unwrap_or(65_534),
                    gid: host.sandbox_id.unwrap_or(65_534),
                    program,
                    // Guest paths: Lamina's own, so UTF-8 (the plan's strings must be).
                    args: args
                        .iter()
                        .map(|a| a.to_string_lossy().into_owned())
                        .collect(),
                    env,
                    network: host.network.clone(),
                    extensions: extensions.iter().map(|(_, path)| path.clone()).collect(),
                    seccomp: ctx.seccomp,
                    template: false,
                }),
                extensions: extensions.into_iter().map(|(name, _)| name).collect(),
            })
        }
    }
}

/// The lower directories of `/opt`, bottom first: each layer, then its bytecode sidecar.
fn opt_lower_dirs(spec: &FunctionSpec, bytecode: &Sidecars) -> Vec<PathBuf> {
    let mut dirs = Vec::with_capacity(spec.layers.len() * 2);
    for (i, layer) in spec.layers.iter().enumerate() {
        dirs.push(layer.path.clone());
        if let Some(Some(sidecar)) = bytecode.layers.get(i) {
            dirs.push(sidecar.clone());
        }
    }
    dirs
}

fn environment(
    spec: &FunctionSpec,
    guest: &GuestPaths,
    ctx: &LaunchContext<'_>,
    host: &HostPaths,
) -> BTreeMap<String, String> {
    let p = |path: &Path| path.display().to_string();
    let (task, opt, lang, runtime) = (
        p(&guest.task),
        p(&guest.opt),
        p(&guest.lang),
        p(&guest.runtime),
    );
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };
    set(
        "PATH",
        format!("{lang}/bin:/usr/local/bin:/usr/bin/:/bin:{opt}/bin"),
    );
    set(
        "LD_LIBRARY_PATH",
        format!("{lang}/lib:/lib64:/usr/lib64:{runtime}:{runtime}/lib:{task}:{task}/lib:{opt}/lib"),
    );
    set("LANG", "en_US.UTF-8".into());
    set("TZ", ":UTC".into());
    set("_HANDLER", spec.handler.clone());
    set("LAMBDA_TASK_ROOT", task.clone());
    set("LAMBDA_RUNTIME_DIR", runtime.clone());
    set("AWS_REGION", spec.region.clone());
    set("AWS_DEFAULT_REGION", spec.region.clone());
    set("AWS_LAMBDA_FUNCTION_NAME", spec.function_name.clone());
    set("AWS_LAMBDA_FUNCTION_VERSION", spec.version.clone());
    set(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        spec.memory_mb.to_string(),
    );
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into());
    set("AWS_LAMBDA_LOG_GROUP_NAME", spec.log_group.clone());
    // As AWS passes `LoggingConfig` to runtimes (they format their records from these).
    if let Some(levels) = &spec.json_log_level {
        set("AWS_LAMBDA_LOG_FORMAT", "JSON".into());
        set("AWS_LAMBDA_LOG_LEVEL", levels.application.clone());
    }
    set("AWS_LAMBDA_LOG_STREAM_NAME", ctx.log_stream.to_owned());
    set("AWS_LAMBDA_RUNTIME_API", ctx.runtime_api.to_owned());
    set("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR".into());
    if spec.runtime.family() == RuntimeFamily::Python {
        set("AWS_EXECUTION_ENV", format!("AWS_Lambda_{}", spec.runtime));
        set("PYTHONPATH", runtime.clone());
        set("LC_CTYPE", "C.UTF-8".into());
        set("PYTHONUNBUFFERED", "1".into());
    }
    if spec.runtime.family() == RuntimeFamily::NodeJs {
        set("AWS_EXECUTION_ENV", format!("AWS_Lambda_{}", spec.runtime));
        // Without a jail the SDK is not beneath the runtime files: name its own directory.
        let sdk = match (ctx.isolation, &host.runtime_sdk) {
            (Isolation::None, Some(sdk)) => p(sdk),
            _ => runtime.clone(),
        };
        set(
            "NODE_PATH",
            node_path(spec.runtime, &opt, &sdk, &runtime, &task),
        );
    }
    if ctx.isolation == Isolation::None {
        // No real /opt or /tmp: say where the merged layers and the scratch space are.
        set("LAMINA_OPT_ROOT", opt.clone());
        set("TMPDIR", p(&host.tmp));
        if spec.runtime.family() == RuntimeFamily::Python
            && let Some(sdk) = &host.runtime_sdk
        {
            // Nor is the Python SDK in /var/runtime: the bootstrap puts this where it would be.
            set("LAMINA_RUNTIME_SDK", p(sdk));
        }
    }
    for (k, v) in &spec.environment {
        env.insert(k.clone(), v.clone());
    }
    env
}

/// `20` of `nodejs20.x`.
fn node_major(runtime: Runtime) -> &'static str {
    runtime
        .as_str()
        .trim_start_matches("nodejs")
        .trim_end_matches(".x")
}

/// AWS's `NODE_PATH` for a `nodejsNN.x` runtime: the layer's versioned then shared
/// `node_modules`, the runtime's own (where its AWS SDK is: `sdk_dir`, the runtime directory
/// itself in a jail), then the runtime and task directories.
fn node_path(runtime: Runtime, opt: &str, sdk_dir: &str, runtime_dir: &str, task: &str) -> String {
    let major = node_major(runtime);
    format!(
        "{opt}/nodejs/node{major}/node_modules:{opt}/nodejs/node_modules:\
         {sdk_dir}/node_modules:{runtime_dir}:{task}"
    )
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn host() -> HostPaths {
        HostPaths {
            opt_view: "/v".into(),
            runtime: "/r".into(),
            runtime_sdk: None,
            tmp: "/e/tmp".into(),
            root: "/e/root".into(),
            sandbox_id: Some(1_000_001),
            cgroup_procs: Vec::new(),
            network: None,
            bytecode: Sidecars::default(),
        }
    }

    /// A custom-runtime spec whose code is `task` and whose layers are `layers`.
    fn spec_with(task: &Path, layers: &[&Path]) -> FunctionSpec {
        FunctionSpec {
            handler: "h".into(),
            ..crate::test_specs::spec("provided.al2023", task, layers)
        }
    }

    fn guest() -> GuestPaths {
        GuestPaths {
            task: "/var/task".into(),
            opt: "/opt".into(),
            lang: "/var/lang".into(),
            runtime: "/var/runtime".into(),
        }
    }

    fn write_bootstrap(dir: &Path, mode: u32) {
        let path = dir.join("bootstrap");
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_custom_runtime_starts_the_functions_bootstrap_else_the_last_layers() {
        let (task, first, last) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let spec = spec_with(task.path(), &[first.path(), last.path()]);
        assert_eq!(
            custom_bootstrap(&spec, &guest()),
            Err(LaunchError::NoBootstrap)
        );
        write_bootstrap(first.path(), 0o755);
        write_bootstrap(last.path(), 0o644);
        // `/opt/bootstrap` is the last layer's, and that one may not be run.
        assert_eq!(
            custom_bootstrap(&spec, &guest()),
            Err(LaunchError::BootstrapNotExecutable("/opt/bootstrap".into()))
        );
        write_bootstrap(last.path(), 0o755);
        assert_eq!(
            custom_bootstrap(&spec, &guest()),
            Ok("/opt/bootstrap".into())
        );
        write_bootstrap(task.path(), 0o700);
        assert_eq!(
            custom_bootstrap(&spec, &guest()),
            Ok("/var/task/bootstrap".into())
        );
    }

    #[test]
    fn a_bootstrap_that_may_not_run_is_named_as_the_function_sees_it() {
        let task = tempfile::tempdir().unwrap();
        write_bootstrap(task.path(), 0o644);
        let error = custom_bootstrap(&spec_with(task.path(), &[]), &guest()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "fork/exec /var/task/bootstrap: permission denied"
        );
        assert_eq!(
            LaunchError::NoBootstrap.to_string(),
            "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"
        );
    }

    fn jail_plan(seccomp: bool) -> LaunchPlan {
        let task = tempfile::tempdir().unwrap();
        let bootstrap = task.path().join("bootstrap");
        std::fs::write(&bootstrap, "").unwrap();
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
        let spec = spec_with(task.path(), &[]);
        let host = HostPaths {
            network: Some("/proc/7/fd/9".into()),
            ..host()
        };
        let ctx = LaunchContext {
            isolation: Isolation::Namespaces,
            interpreter: None,
            runtime_api: "127.0.0.1:9001",
            log_stream: "s",
            jail_program: Path::new("/bin/lamina"),
            seccomp,
        };
        plan(&spec, &host, &ctx).unwrap()
    }

    #[test]
    fn a_function_gets_no_platform_credentials() {
        // AWS gives a function its role's temporary credentials; Lamina has no IAM, so it
        // gives none, and the server's own (its environment, its keys) never pass on. Users
        // cannot set these names either: they are reserved (`RESERVED_ENVIRONMENT_VARIABLES`).
        let env = jail_plan(true).jail.unwrap().env;
        for name in [
            "AWS_ACCESS_KEY_ID",
            "AWS_ACCESS_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "LAMINA_ROOT_ACCESS_KEY_ID",
            "LAMINA_ROOT_SECRET_ACCESS_KEY",
        ] {
            assert!(!env.contains_key(name), "{name} is in {env:?}");
        }
        assert!(
            env.keys().all(|k| !k.contains("SECRET")),
            "{:?}",
            env.keys()
        );
    }

    fn managed_plan(runtime: &str, isolation: Isolation, layers: &[&Path]) -> LaunchPlan {
        let task = tempfile::tempdir().unwrap();
        let spec = crate::test_specs::spec(runtime, task.path(), layers);
        let executable = if runtime.starts_with("nodejs") {
            "bin/node"
        } else {
            "bin/python3.12"
        };
        let resolution = Resolution {
            interpreter: crate::interpreters::Interpreter {
                version: "3.12".into(),
                prefix: "/usr".into(),
                executable: executable.into(),
            },
            substituted: false,
        };
        let host = HostPaths {
            runtime_sdk: Some("/data/runtime-sdks/python3.12-boto3".into()),
            ..host()
        };
        let ctx = LaunchContext {
            isolation,
            interpreter: Some(&resolution),
            runtime_api: "127.0.0.1:9001",
            log_stream: "s",
            jail_program: Path::new("/bin/lamina"),
            seccomp: true,
        };
        plan(&spec, &host, &ctx).unwrap()
    }

    #[test]
    fn the_runtimes_sdk_is_beneath_var_runtime_and_no_endpoint_is_set() {
        let jail = managed_plan("python3.12", Isolation::Namespaces, &[])
            .jail
            .unwrap();
        assert_eq!(
            jail.runtime_sdk.as_deref(),
            Some(Path::new("/data/runtime-sdks/python3.12-boto3"))
        );
        assert_eq!(jail.args, ["/var/runtime/bootstrap.py"]);
        // Inside the sandbox the SDK is in /var/runtime: no variable names the host's path.
        assert!(!jail.env.contains_key("LAMINA_RUNTIME_SDK"));
        assert!(jail.node_modules.is_empty());
        // SDK clients in a function talk to AWS's endpoints, or to the one the user sets:
        // Lamina never points them anywhere.
        for runtime in ["python3.12", "nodejs20.x"] {
            for isolation in [Isolation::Namespaces, Isolation::None] {
                let launch = managed_plan(runtime, isolation, &[]);
                let env = launch.jail.map(|j| j.env).unwrap_or(launch.env);
                assert!(
                    env.keys().all(|k| !k.starts_with("AWS_ENDPOINT_URL")),
                    "{runtime}: {env:?}"
                );
            }
        }
    }

    #[test]
    fn without_a_jail_the_sdk_is_named_by_its_host_path() {
        let python = managed_plan("python3.12", Isolation::None, &[]);
        assert_eq!(
            python.env["LAMINA_RUNTIME_SDK"],
            "/data/runtime-sdks/python3.12-boto3"
        );
        let node = managed_plan("nodejs20.x", Isolation::None, &[]);
        assert_eq!(
            node.env["NODE_PATH"],
            "/v/nodejs/node20/node_modules:/v/nodejs/node_modules:\
             /data/runtime-sdks/python3.12-boto3/node_modules:/r:/var/task"
                .replace("/var/task", &node.cwd.display().to_string())
        );
    }

    #[test]
    fn a_node_jail_links_layer_packages_into_node_modules() {
        let layer = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(layer.path().join("nodejs/node_modules/@aws-sdk/client-s3"))
            .unwrap();
        let jail = managed_plan("nodejs20.x", Isolation::Namespaces, &[layer.path()])
            .jail
            .unwrap();
        assert_eq!(
            jail.node_modules,
            [(
                "@aws-sdk/client-s3".to_owned(),
                PathBuf::from("/opt/nodejs/node_modules/@aws-sdk/client-s3")
            )]
        );
        assert_eq!(
            jail.env["NODE_PATH"],
            "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:\
             /var/runtime/node_modules:/var/runtime:/var/task"
        );
    }

    #[test]
    fn node_path_is_awss() {
        let node20 = Runtime::parse("nodejs20.x").unwrap();
        assert_eq!(
            node_path(node20, "/opt", "/var/runtime", "/var/runtime", "/var/task"),
            "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:\
             /var/runtime/node_modules:/var/runtime:/var/task"
        );
    }

    #[test]
    fn each_sidecar_follows_its_tree_in_the_jails_plan() {
        let (task, a, b) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let mut spec = crate::test_specs::spec("python3.12", task.path(), &[a.path(), b.path()]);
        spec.handler = "app.handler".into();
        let resolution = Resolution {
            interpreter: crate::interpreters::Interpreter {
                version: "3.12".into(),
                prefix: "/usr".into(),
                executable: "bin/python3.12".into(),
            },
            substituted: false,
        };
        let ctx = LaunchContext {
            isolation: Isolation::Namespaces,
            interpreter: Some(&resolution),
            runtime_api: "127.0.0.1:9001",
            log_stream: "s",
            jail_program: Path::new("/bin/lamina"),
            seccomp: true,
        };
        let with_bytecode = HostPaths {
            bytecode: Sidecars {
                task: Some("/bc/task/python3.12".into()),
                layers: vec![Some("/bc/a/python3.12".into()), None],
                missing: Vec::new(),
            },
            ..host()
        };
        let jail = plan(&spec, &with_bytecode, &ctx).unwrap().jail.unwrap();
        assert_eq!(
            jail.task_bytecode.as_deref(),
            Some(Path::new("/bc/task/python3.12"))
        );
        assert_eq!(
            jail.layers,
            [
                a.path().to_owned(),
                PathBuf::from("/bc/a/python3.12"),
                b.path().to_owned()
            ]
        );
        // Nothing changes what the function is told.
        let without = plan(&spec, &host(), &ctx).unwrap().jail.unwrap();
        assert_eq!(without.env, jail.env);
        assert_eq!(without.task_bytecode, None);
        assert_eq!(without.layers, [a.path().to_owned(), b.path().to_owned()]);
    }

    #[test]
    fn the_jail_filters_unless_told_not_to() {
        let filtered = jail_plan(true).jail.unwrap();
        assert!(filtered.seccomp);
        assert!(!jail_plan(false).jail.unwrap().seccomp);
    }

    #[test]
    fn the_jail_is_told_everything_in_its_plan_and_nothing_in_arguments() {
        let launch = jail_plan(true);
        assert_eq!(launch.program, Path::new("/bin/lamina"));
        assert_eq!(launch.args, [lamina_jail::SUBCOMMAND]);
        assert!(launch.env.is_empty());
        let jail = launch.jail.unwrap();
        assert_eq!(jail.program, Path::new("/var/task/bootstrap"));
        assert_eq!((jail.uid, jail.gid), (1_000_001, 1_000_001));
        assert_eq!(
            (jail.tmp.as_path(), jail.root.as_path()),
            (Path::new("/e/tmp"), Path::new("/e/root"))
        );
        assert_eq!(jail.env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001");
        assert_eq!(jail.network.as_deref(), Some(Path::new("/proc/7/fd/9")));
        assert_eq!(jail.env["LAMBDA_TASK_ROOT"], "/var/task");
        // What the executor builds is what a jail decodes.
        assert_eq!(JailPlan::decode(&jail.encode().unwrap()).unwrap(), jail);
    }
}
