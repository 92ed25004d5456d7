//! What `lamina __jail` is told by the server, as command-line flags.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::JailError;

/// What `lamina __jail` is told: host directories to mount, who to run as and the runtime
/// to exec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JailArgs {
    /// Extracted function code, mounted read-only at `/var/task`.
    pub task: PathBuf,
    /// Lamina's runtime files, mounted read-only at `/var/runtime`.
    pub runtime: PathBuf,
    /// The environment's scratch space (a tmpfs the server mounted), bound at `/tmp`.
    pub tmp: PathBuf,
    /// An empty host directory the new root file system is mounted on before `pivot_root`.
    pub root: PathBuf,
    /// The interpreter's installation prefix, mounted read-only at `/var/lang`.
    pub lang: Option<PathBuf>,
    /// Layer trees in the function's order; later ones win in `/opt`.
    pub layers: Vec<PathBuf>,
    /// `cgroup.procs` files of the environment's cgroups, joined before anything else.
    pub cgroups: Vec<PathBuf>,
    /// The unprivileged uid and gid the runtime runs as.
    pub uid: u32,
    /// See `uid`.
    pub gid: u32,
    /// The runtime executable (a path inside the jail) and its arguments.
    pub command: Vec<OsString>,
    /// Runs the runtime without the seccomp filter (`--without-seccomp`): only to measure
    /// what the filter costs; `lamina serve` always filters.
    pub without_seccomp: bool,
    /// The runtime's whole environment, when it came with a standby plan (otherwise the
    /// jail's own environment is passed on).
    pub env: Option<Vec<(OsString, OsString)>>,
}

/// Encodes a plan for a standby jail (`lamina __jail --standby`), which reads it from its
/// standard input: NUL-separated fields, the number of arguments first, then the arguments
/// (as `parse_args` takes them), then `KEY=VALUE` environment entries.
pub fn encode_plan<'a>(
    args: &[OsString],
    env: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut field = |bytes: &[u8]| {
        out.extend_from_slice(bytes);
        out.push(0);
    };
    field(args.len().to_string().as_bytes());
    for arg in args {
        field(arg.as_encoded_bytes());
    }
    for (key, value) in env {
        field(format!("{key}={value}").as_bytes());
    }
    out
}

/// Decodes what [`encode_plan`] wrote.
pub fn decode_plan(bytes: &[u8]) -> Result<JailArgs, JailError> {
    let bad = |why: &str| JailError::Arguments(format!("bad standby plan: {why}"));
    let mut fields = bytes
        .strip_suffix(&[0])
        .ok_or_else(|| bad("not NUL-terminated"))?
        .split(|b| *b == 0)
        .map(|f| OsString::from(String::from_utf8_lossy(f).into_owned()));
    let count: usize = fields
        .next()
        .and_then(|n| n.to_str()?.parse().ok())
        .ok_or_else(|| bad("no argument count"))?;
    let args: Vec<OsString> = fields.by_ref().take(count).collect();
    if args.len() != count {
        return Err(bad("too few arguments"));
    }
    let env = fields
        .map(|entry| {
            let entry = entry.to_string_lossy().into_owned();
            entry
                .split_once('=')
                .map(|(k, v)| (OsString::from(k), OsString::from(v)))
                .ok_or_else(|| bad("environment entry without '='"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut parsed = parse_args(args)?;
    parsed.env = Some(env);
    Ok(parsed)
}

/// Parses the arguments of a standby jail: `--standby [--cgroup P]...`; `None` when the
/// first argument is not `--standby`.
pub fn parse_standby(args: &[OsString]) -> Option<Result<Vec<PathBuf>, JailError>> {
    let (first, rest) = args.split_first()?;
    if first != "--standby" {
        return None;
    }
    let mut cgroups = Vec::new();
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        match (flag.to_str(), rest.next()) {
            (Some("--cgroup"), Some(path)) => cgroups.push(PathBuf::from(path)),
            _ => {
                let why = format!("unexpected standby argument {}", flag.to_string_lossy());
                return Some(Err(JailError::Arguments(why)));
            }
        }
    }
    Some(Ok(cgroups))
}

/// Parses `--task P --runtime P --tmp P --root P --uid N --gid N [--lang P] [--layer P]...
/// [--cgroup P]... [--without-seccomp] -- PROGRAM [ARGS...]`.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<JailArgs, JailError> {
    let mut parsed = JailArgs::default();
    let (mut uid, mut gid) = (None, None);
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "--" {
            parsed.command = args.collect();
            break;
        }
        if flag == "--without-seccomp" {
            parsed.without_seccomp = true;
            continue;
        }
        let value = args.next().ok_or_else(|| {
            JailError::Arguments(format!("{} needs a value", flag.to_string_lossy()))
        })?;
        let id = || {
            value
                .to_str()
                .and_then(|v| v.parse::<u32>().ok())
                .filter(|id| *id != 0)
                .ok_or_else(|| JailError::Arguments("ids must be non-zero numbers".into()))
        };
        match flag.to_str() {
            Some("--task") => parsed.task = value.into(),
            Some("--runtime") => parsed.runtime = value.into(),
            Some("--tmp") => parsed.tmp = value.into(),
            Some("--root") => parsed.root = value.into(),
            Some("--lang") => parsed.lang = Some(value.into()),
            Some("--layer") => parsed.layers.push(value.into()),
            Some("--cgroup") => parsed.cgroups.push(value.into()),
            Some("--uid") => uid = Some(id()?),
            Some("--gid") => gid = Some(id()?),
            _ => {
                return Err(JailError::Arguments(format!(
                    "unknown flag {}",
                    flag.to_string_lossy()
                )));
            }
        }
    }
    let required = [&parsed.task, &parsed.runtime, &parsed.tmp, &parsed.root];
    if parsed.command.is_empty() || required.iter().any(|p| p.as_os_str().is_empty()) {
        return Err(JailError::Arguments(
            "--task, --runtime, --tmp, --root and a command are required".into(),
        ));
    }
    match (uid, gid) {
        (Some(uid), Some(gid)) => (parsed.uid, parsed.gid) = (uid, gid),
        _ => return Err(JailError::Arguments("--uid and --gid are required".into())),
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<JailArgs, JailError> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn reads_every_flag() {
        let args = parse(&[
            "--task",
            "/t",
            "--runtime",
            "/r",
            "--tmp",
            "/s/tmp",
            "--root",
            "/s/root",
            "--uid",
            "900001",
            "--gid",
            "900001",
            "--lang",
            "/usr",
            "--layer",
            "/a",
            "--layer",
            "/b",
            "--cgroup",
            "/c/cgroup.procs",
            "--",
            "/bin/run",
            "x",
        ])
        .unwrap();
        assert_eq!(args.layers, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!((args.uid, args.gid), (900_001, 900_001));
        assert_eq!(args.cgroups, [PathBuf::from("/c/cgroup.procs")]);
        assert!(!args.without_seccomp);
        assert_eq!(
            args.command,
            [OsString::from("/bin/run"), OsString::from("x")]
        );
    }

    #[test]
    fn the_filter_is_on_unless_turned_off() {
        let flags = [
            "--task",
            "/t",
            "--runtime",
            "/r",
            "--tmp",
            "/s",
            "--root",
            "/o",
            "--uid",
            "7",
            "--gid",
            "7",
        ];
        let on = parse(&[&flags[..], &["--", "/bin/run"]].concat()).unwrap();
        assert!(!on.without_seccomp);
        let off = parse(&[&flags[..], &["--without-seccomp", "--", "/bin/run"]].concat());
        assert!(off.unwrap().without_seccomp);
    }

    #[test]
    fn a_plan_round_trips_through_its_encoding() {
        let args: Vec<OsString> = [
            "--task",
            "/t",
            "--runtime",
            "/r",
            "--tmp",
            "/s/tmp",
            "--root",
            "/s/root",
            "--uid",
            "7",
            "--gid",
            "7",
            "--",
            "/bin/run",
            "a b",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let bytes = encode_plan(&args, [("A", "1"), ("B", "x=y")]);
        let plan = decode_plan(&bytes).unwrap();
        assert_eq!(
            plan.command,
            [OsString::from("/bin/run"), OsString::from("a b")]
        );
        assert_eq!(
            plan.env.unwrap(),
            [("A".into(), "1".into()), ("B".into(), "x=y".into())]
        );
        assert!(decode_plan(b"").is_err());
        assert!(decode_plan(b"3\0--task\0").is_err());
        assert!(decode_plan(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn standby_arguments_name_only_cgroups() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(parse_standby(&args(&["--task", "/t"])).is_none());
        let cgroups = parse_standby(&args(&["--standby", "--cgroup", "/c"])).unwrap();
        assert_eq!(cgroups.unwrap(), [PathBuf::from("/c")]);
        assert!(
            parse_standby(&args(&["--standby", "--task", "/t"]))
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn refuses_missing_or_bad_values() {
        assert!(parse(&["--task"]).is_err());
        assert!(parse(&["--bogus", "x"]).is_err());
        assert!(parse(&["--task", "/t", "--", "/bin/run"]).is_err());
        let without_ids = [
            "--task",
            "/t",
            "--runtime",
            "/r",
            "--tmp",
            "/s",
            "--root",
            "/o",
        ];
        assert!(parse(&[&without_ids[..], &["--", "/bin/run"]].concat()).is_err());
        let root_uid = [&without_ids[..], &["--uid", "0", "--gid", "5", "--", "/x"]].concat();
        assert!(parse(&root_uid).is_err());
    }
}
