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
}

/// Parses `--task P --runtime P --tmp P --root P --uid N --gid N [--lang P] [--layer P]...
/// [--cgroup P]... -- PROGRAM [ARGS...]`.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<JailArgs, JailError> {
    let mut parsed = JailArgs::default();
    let (mut uid, mut gid) = (None, None);
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "--" {
            parsed.command = args.collect();
            break;
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
        assert_eq!(
            args.command,
            [OsString::from("/bin/run"), OsString::from("x")]
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
