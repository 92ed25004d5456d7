//! The jail protocol: what the server tells `lamina __jail`, and how.
//!
//! **Transport.** Every jail reads what it must do from its standard input, and from nothing
//! else: its command line is the subcommand alone. One stream serves both ways a jail starts.
//! A new jail is spawned and at once sent its plan. A standby is spawned before any function
//! needs it, so before its plan exists: it is first told to join its cgroups (the slow step on
//! cgroup v1), then waits on the same stream until a function claims it and the plan follows.
//! Command-line arguments could only serve the first case, and an extra descriptor would
//! only duplicate standard input, which the jail does not otherwise use (the runtime gets
//! `/dev/null`).
//!
//! **Encoding.** A stream of frames, each one [`JailRequest`] as compact JSON ended by a
//! newline (compact JSON escapes every newline inside strings, so a frame is one line). A jail
//! reads at most two: an optional [`JailRequest::Standby`], then a [`JailRequest::Run`].
//! Paths and strings must be UTF-8 (JSON strings); the server's own paths are.
//!
//! Decoding never panics: anything else on the stream is a [`JailPlanError`], which the jail
//! prints before exiting 126.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The hidden subcommand of `lamina` that runs the jail; its only argument.
pub const SUBCOMMAND: &str = "__jail";

/// The largest frame a jail accepts, in bytes. A plan is a few KB (AWS caps a function's
/// environment variables at 4 KB); the cap keeps a stray stream from filling memory.
pub const MAX_FRAME_BYTES: u64 = 1 << 20;

/// Everything one jail needs to set up an environment and exec its runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JailPlan {
    /// Extracted function code, mounted read-only at `/var/task`.
    pub task: PathBuf,
    /// The code's bytecode sidecar (`__pycache__` directories of `.pyc` only), mounted just
    /// above the code at `/var/task`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_bytecode: Option<PathBuf>,
    /// Lamina's runtime files, mounted read-only at `/var/runtime`.
    pub runtime: PathBuf,
    /// The AWS SDK the runtime ships (boto3, `node_modules/@aws-sdk/...`), beneath the
    /// runtime files at `/var/runtime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_sdk: Option<PathBuf>,
    /// The environment's scratch space (a tmpfs the server mounted), bound at `/tmp`.
    pub tmp: PathBuf,
    /// An empty host directory the new root file system is mounted on before `pivot_root`.
    pub root: PathBuf,
    /// The interpreter's installation prefix, mounted read-only at `/var/lang`.
    pub lang: Option<PathBuf>,
    /// The lower directories of `/opt`, bottom first: the layer trees in the function's
    /// order, each followed by its bytecode sidecar when it has one; later ones win.
    pub layers: Vec<PathBuf>,
    /// `cgroup.procs` files of the environment's cgroups, joined before anything else (empty
    /// for a standby, which joined its own already).
    pub cgroups: Vec<PathBuf>,
    /// The unprivileged uid the runtime runs as; never 0.
    pub uid: u32,
    /// The unprivileged gid the runtime runs as; never 0.
    pub gid: u32,
    /// The runtime executable, a path inside the jail.
    pub program: PathBuf,
    /// The runtime's arguments, after the program name.
    pub args: Vec<String>,
    /// The runtime's whole environment (nothing else is passed on).
    pub env: BTreeMap<String, String>,
    /// The `/node_modules` of a Node.js environment: each package name (`pkg` or
    /// `@scope/pkg`) with the path inside the jail it links to. ES modules resolve bare
    /// specifiers by walking up `node_modules` directories and never read `NODE_PATH`, so this
    /// directory at the top of that walk makes each name resolve to the first `NODE_PATH`
    /// entry that has it, as AWS's Node.js 18+ runtimes resolve them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_modules: Vec<(String, PathBuf)>,
    /// External extensions (paths inside the jail, `/opt/extensions/<name>`), each started
    /// with no arguments and the runtime's environment just before the runtime.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<PathBuf>,
    /// The environment's own network namespace (a file that opens it, see
    /// [`crate::netns::PrivateNetwork::path`]), joined before the other namespaces are
    /// created; `None` keeps the host's network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<PathBuf>,
    /// Whether the runtime runs under the seccomp filter. `lamina serve` always filters;
    /// off only to measure what the filter costs.
    pub seccomp: bool,
    /// The runtime is a SnapStart template (see `lamina_exec::snapshot`): it keeps its
    /// control socket at [`crate::output::TEMPLATE_CONTROL_FD`], its seccomp filter lets it
    /// move forked copies of itself into new namespaces (each copy then installs the full
    /// filter), and it runs no extensions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub template: bool,
}

/// One frame on a jail's standard input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum JailRequest {
    /// Join these `cgroup.procs` files now, then wait for a [`JailRequest::Run`]; the end
    /// of the stream instead means the standby went unused.
    Standby {
        /// The standby's cgroups.
        cgroups: Vec<PathBuf>,
    },
    /// Set up the environment and run its runtime.
    Run(Box<JailPlan>),
}

/// Why a jail could not be told what to do. The messages are printed by the jail and end up
/// in the function's log.
#[derive(Debug, thiserror::Error)]
pub enum JailPlanError {
    /// The server could not encode a frame (a path that is not UTF-8).
    #[error("encoding a jail frame failed: {0}")]
    Encode(#[source] serde_json::Error),
    /// A frame is not a valid request.
    #[error("bad jail frame: {0}")]
    Decode(#[source] serde_json::Error),
    /// A plan decoded but cannot be run as given.
    #[error("bad jail plan: {0}")]
    Invalid(&'static str),
    /// Reading the stream failed.
    #[error("reading the jail's standard input failed: {0}")]
    Read(#[source] io::Error),
    /// The stream ended in the middle of a frame.
    #[error("the jail's standard input ended in the middle of a frame")]
    Truncated,
    /// A frame is longer than [`MAX_FRAME_BYTES`].
    #[error("a jail frame is longer than {MAX_FRAME_BYTES} bytes")]
    TooLarge,
    /// The stream ended before any frame.
    #[error("the jail was given no plan on its standard input")]
    NoPlan,
    /// A frame came that the jail did not expect at that point.
    #[error("unexpected jail frame: {0}")]
    Unexpected(&'static str),
    /// The jail was given command-line arguments; it takes everything from its standard input.
    #[error("the jail takes no arguments (its plan comes on standard input), got {0:?}")]
    Arguments(String),
}

impl JailRequest {
    /// This request as one frame: compact JSON and a newline.
    pub fn encode(&self) -> Result<Vec<u8>, JailPlanError> {
        let mut frame = serde_json::to_vec(self).map_err(JailPlanError::Encode)?;
        frame.push(b'\n');
        Ok(frame)
    }

    /// Decodes one frame (with or without its newline) and checks a plan's contents.
    pub fn decode(frame: &[u8]) -> Result<Self, JailPlanError> {
        let request: Self = serde_json::from_slice(frame).map_err(JailPlanError::Decode)?;
        if let Self::Run(plan) = &request {
            plan.validate()?;
        }
        Ok(request)
    }

    /// Reads and decodes the next frame; `None` when the stream ends before it begins.
    pub fn read(stream: &mut impl BufRead) -> Result<Option<Self>, JailPlanError> {
        let mut frame = Vec::new();
        // One byte past the cap tells a frame at the cap from a longer one.
        stream
            .take(MAX_FRAME_BYTES + 1)
            .read_until(b'\n', &mut frame)
            .map_err(JailPlanError::Read)?;
        match frame.last() {
            None => Ok(None),
            Some(_) if frame.len() as u64 > MAX_FRAME_BYTES => Err(JailPlanError::TooLarge),
            Some(b'\n') => Self::decode(&frame).map(Some),
            Some(_) => Err(JailPlanError::Truncated),
        }
    }
}

impl JailPlan {
    /// This plan as the frame that makes a jail (new or standby) run it.
    pub fn encode(&self) -> Result<Vec<u8>, JailPlanError> {
        /// The frame's shape, borrowing the plan (serialises exactly as [`JailRequest::Run`]).
        #[derive(Serialize)]
        #[serde(rename_all = "snake_case")]
        enum Frame<'a> {
            Run(&'a JailPlan),
        }
        let mut frame = serde_json::to_vec(&Frame::Run(self)).map_err(JailPlanError::Encode)?;
        frame.push(b'\n');
        Ok(frame)
    }

    /// Decodes a frame that must be a plan to run.
    pub fn decode(frame: &[u8]) -> Result<Self, JailPlanError> {
        match JailRequest::decode(frame)? {
            JailRequest::Run(plan) => Ok(*plan),
            JailRequest::Standby { .. } => Err(JailPlanError::Unexpected("standby, not a plan")),
        }
    }

    /// What the jail relies on beyond the types: the mounts have sources, the runtime is
    /// never root, there is a program.
    fn validate(&self) -> Result<(), JailPlanError> {
        let required = [&self.task, &self.runtime, &self.tmp, &self.root];
        if required.iter().any(|p| p.as_os_str().is_empty()) {
            return Err(JailPlanError::Invalid(
                "task, runtime, tmp and root are required",
            ));
        }
        if self.program.as_os_str().is_empty() {
            return Err(JailPlanError::Invalid("the runtime program is required"));
        }
        if self.uid == 0 || self.gid == 0 {
            return Err(JailPlanError::Invalid("uid and gid must be non-zero"));
        }
        if !self
            .node_modules
            .iter()
            .all(|(name, _)| is_package_name(name))
        {
            return Err(JailPlanError::Invalid(
                "a /node_modules entry is not a package name",
            ));
        }
        Ok(())
    }
}

/// `pkg` or `@scope/pkg`: one or two plain path components, the first of two a scope.
pub fn is_package_name(name: &str) -> bool {
    let plain =
        |part: &str| !part.is_empty() && part != "." && part != ".." && !part.contains(['/', '\0']);
    match name.split_once('/') {
        None => plain(name) && !name.starts_with('@'),
        Some((scope, package)) => {
            scope.len() > 1 && scope.starts_with('@') && plain(scope) && plain(package)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> JailPlan {
        JailPlan {
            task: "/d/task".into(),
            task_bytecode: Some("/d/bytecode/python3.11".into()),
            runtime: "/d/rt".into(),
            tmp: "/d/env/tmp".into(),
            root: "/d/env/root".into(),
            lang: Some("/usr".into()),
            layers: vec!["/l/a:b".into(), "/l/c,d".into()],
            cgroups: vec!["/cg/memory/e/cgroup.procs".into()],
            uid: 900_007,
            gid: 900_007,
            program: "/var/lang/bin/python3.11".into(),
            args: vec!["/var/runtime/bootstrap.py".into(), "a b\nc".into()],
            env: [("A", "1"), ("B", "x=y\n\0z"), ("É", "ü")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            network: Some("/proc/1/fd/7".into()),
            extensions: vec!["/opt/extensions/my-ext".into()],
            runtime_sdk: Some("/d/sdk".into()),
            node_modules: vec![(
                "@aws-sdk/client-s3".into(),
                "/var/runtime/node_modules/@aws-sdk/client-s3".into(),
            )],
            seccomp: true,
            template: false,
        }
    }

    #[test]
    fn a_plan_round_trips_as_one_line() {
        let plan = plan();
        let frame = plan.encode().unwrap();
        assert_eq!(frame.iter().filter(|b| **b == b'\n').count(), 1);
        assert_eq!(frame.last(), Some(&b'\n'));
        assert_eq!(JailPlan::decode(&frame).unwrap(), plan);
        let without_filter = JailPlan {
            seccomp: false,
            lang: None,
            network: None,
            extensions: vec![],
            runtime_sdk: None,
            node_modules: vec![],
            ..plan
        };
        let frame = without_filter.encode().unwrap();
        assert_eq!(JailPlan::decode(&frame).unwrap(), without_filter);
    }

    #[test]
    fn the_borrowed_encoding_is_the_request_encoding() {
        let plan = plan();
        assert_eq!(
            plan.encode().unwrap(),
            JailRequest::Run(Box::new(plan)).encode().unwrap()
        );
    }

    #[test]
    fn a_standby_then_its_plan_read_from_one_stream() {
        let standby = JailRequest::Standby {
            cgroups: vec!["/cg/pids/e/cgroup.procs".into()],
        };
        let mut stream = standby.encode().unwrap();
        stream.extend(plan().encode().unwrap());
        let mut stream = io::Cursor::new(stream);
        assert_eq!(JailRequest::read(&mut stream).unwrap(), Some(standby));
        assert_eq!(
            JailRequest::read(&mut stream).unwrap(),
            Some(JailRequest::Run(Box::new(plan())))
        );
        assert_eq!(JailRequest::read(&mut stream).unwrap(), None);
    }

    #[test]
    fn garbage_is_a_typed_error() {
        for garbage in [
            &b"--task /t --runtime /r"[..],
            b"",
            b"{}",
            b"{\"run\":{}}",
            b"\xff\xfe\n",
            b"{\"run\":null}",
            b"{\"standby\":{\"cgroups\":[1]}}",
        ] {
            let error = JailRequest::decode(garbage).unwrap_err();
            assert!(matches!(error, JailPlanError::Decode(_)), "{error}");
        }
        let mut unknown = serde_json::to_value(JailRequest::Run(Box::new(plan()))).unwrap();
        unknown["run"]["privileged"] = true.into();
        let error = JailRequest::decode(unknown.to_string().as_bytes()).unwrap_err();
        assert!(matches!(error, JailPlanError::Decode(_)), "{error}");
    }

    #[test]
    fn a_plan_that_cannot_run_is_refused() {
        let root = JailPlan { uid: 0, ..plan() };
        let error = JailPlan::decode(&root.encode().unwrap()).unwrap_err();
        assert!(matches!(error, JailPlanError::Invalid(_)), "{error}");
        let no_task = JailPlan {
            task: PathBuf::new(),
            ..plan()
        };
        assert!(JailPlan::decode(&no_task.encode().unwrap()).is_err());
        let no_program = JailPlan {
            program: PathBuf::new(),
            ..plan()
        };
        assert!(JailPlan::decode(&no_program.encode().unwrap()).is_err());
        let standby = JailRequest::Standby { cgroups: vec![] };
        let error = JailPlan::decode(&standby.encode().unwrap()).unwrap_err();
        assert!(matches!(error, JailPlanError::Unexpected(_)), "{error}");
    }

    #[test]
    fn the_stream_is_read_frame_by_frame_within_bounds() {
        let mut truncated = plan().encode().unwrap();
        truncated.pop();
        let error = JailRequest::read(&mut io::Cursor::new(truncated)).unwrap_err();
        assert!(matches!(error, JailPlanError::Truncated), "{error}");
        let endless = io::repeat(b' ').take(MAX_FRAME_BYTES + 10);
        let error = JailRequest::read(&mut io::BufReader::new(endless)).unwrap_err();
        assert!(matches!(error, JailPlanError::TooLarge), "{error}");
        assert_eq!(JailRequest::read(&mut io::empty()).unwrap(), None);
    }

    #[test]
    fn a_path_that_is_not_utf8_is_an_encode_error() {
        use std::os::unix::ffi::OsStrExt;
        let bad = JailPlan {
            task: std::ffi::OsStr::from_bytes(b"/t\xff").into(),
            ..plan()
        };
        assert!(matches!(bad.encode(), Err(JailPlanError::Encode(_))));
    }

    #[test]
    fn node_modules_entries_are_package_names() {
        for good in ["a", "left-pad", "@aws-sdk/client-s3", "@s/p.js"] {
            assert!(is_package_name(good), "{good}");
        }
        for bad in [
            "", ".", "..", "@scope", "@/x", "a/b", "@s/../x", "@s/p/q", "/abs", "..",
        ] {
            assert!(!is_package_name(bad), "{bad}");
        }
        let escaping = JailPlan {
            node_modules: vec![("../etc".into(), "/x".into())],
            ..plan()
        };
        assert!(matches!(
            JailPlan::decode(&escaping.encode().unwrap()),
            Err(JailPlanError::Invalid(_))
        ));
    }
}
