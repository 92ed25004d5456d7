//! The data directory of one server: made absolute once at start, and locked so that a
//! second `lamina serve` on it stops before it touches anything.
//!
//! The lock is an exclusive `flock` on `<data>/lamina.lock`, held for the life of the server.
//! The kernel releases it when the server's process ends, however it ends (kill -9 included),
//! so a stale lock file never blocks a restart. The file is opened close-on-exec (as Rust
//! opens every file), so jails and standbys, which are re-executions of `lamina`, never hold
//! it. The file also says who holds the lock (pid and listen address), for the message the
//! second server prints; it is never removed, since removing a lock file races with the next
//! server opening it.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek};
use std::net::SocketAddr;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lamina_types::NodeId;
use rustix::fs::FlockOperation;

/// The data directory when neither `--data-dir` nor `LAMINA_DATA_DIR` names one (relative to
/// the working directory; `lamina serve` makes it absolute at start).
pub const DEFAULT_DATA_DIR: &str = lamina_cli::DEFAULT_DATA_DIR;

/// The lock file's name inside the data directory.
const LOCK_FILE: &str = "lamina.lock";

/// The file holding this node's id.
const NODE_ID_FILE: &str = "node-id";

/// A holder writes its pid right after it takes the lock; a second server that finds the
/// file still empty waits this long, in steps, for the holder to finish writing it.
const HOLDER_WRITE_WAIT: Duration = Duration::from_millis(200);
const HOLDER_WRITE_POLL: Duration = Duration::from_millis(20);

/// A locked data directory: the absolute path and the lock, released on drop.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    lock: File,
}

/// Why the data directory could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// The directory could not be created.
    #[error("creating data dir {}: {source}", path.display())]
    Create { path: PathBuf, source: io::Error },
    /// The directory could not be made absolute.
    #[error("resolving data dir {}: {source}", path.display())]
    Resolve { path: PathBuf, source: io::Error },
    /// The lock file could not be opened or created.
    #[error("opening lock file {}: {source}", path.display())]
    OpenLock { path: PathBuf, source: io::Error },
    /// Another server holds the lock.
    #[error(
        "another lamina serve ({holder}) holds the data dir {}; stop it first, or pass \
         another --data-dir",
        path.display()
    )]
    Held { path: PathBuf, holder: Holder },
    /// `flock` failed for another reason than the lock being held.
    #[error("locking {}: {source}", path.display())]
    Lock { path: PathBuf, source: io::Error },
    /// The holder's pid and address could not be written into the lock file.
    #[error("writing lock file {}: {source}", path.display())]
    WriteHolder { path: PathBuf, source: io::Error },
    /// The node id file could not be read or written, or holds something else.
    #[error("node id file {}: {source}", path.display())]
    NodeId { path: PathBuf, source: io::Error },
}

/// Who holds a data directory, as its lock file says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holder {
    /// The holder's process id.
    pub pid: Option<u32>,
    /// The address it listens on (the address asked for until it has bound).
    pub listen: Option<String>,
}

impl Holder {
    fn of_this_process(listen: SocketAddr) -> Self {
        Self {
            pid: Some(std::process::id()),
            listen: Some(listen.to_string()),
        }
    }

    /// `pid 1234\nlisten 127.0.0.1:8900\n`.
    fn to_text(&self) -> String {
        let mut text = String::new();
        if let Some(pid) = self.pid {
            text.push_str(&format!("pid {pid}\n"));
        }
        if let Some(listen) = &self.listen {
            text.push_str(&format!("listen {listen}\n"));
        }
        text
    }

    /// Reads what [`Holder::to_text`] wrote; unknown or malformed lines are ignored.
    fn parse(text: &str) -> Self {
        let mut holder = Self::default();
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("pid", pid)) => holder.pid = pid.trim().parse().ok(),
                Some(("listen", listen)) => holder.listen = Some(listen.trim().to_owned()),
                _ => {}
            }
        }
        holder
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "pid {pid}")?,
            None => write!(f, "pid unknown")?,
        }
        match &self.listen {
            Some(listen) => write!(f, ", listening on http://{listen}"),
            None => Ok(()),
        }
    }
}

impl DataDir {
    /// Creates the directory if needed, makes its path absolute and takes its lock without
    /// waiting; `listen` is recorded in the lock file with this process's pid. Only the
    /// directory and the (empty) lock file are created before the lock is held, and nothing
    /// is changed when another server holds it ([`DataDirError::Held`]).
    pub fn lock(path: &Path, listen: SocketAddr) -> Result<Self, DataDirError> {
        std::fs::create_dir_all(path).map_err(|source| DataDirError::Create {
            path: path.to_owned(),
            source,
        })?;
        let path = std::fs::canonicalize(path).map_err(|source| DataDirError::Resolve {
            path: path.to_owned(),
            source,
        })?;
        let lock_path = path.join(LOCK_FILE);
        // No truncation on open: until the lock is ours, the file is the holder's.
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&lock_path)
            .map_err(|source| DataDirError::OpenLock {
                path: lock_path.clone(),
                source,
            })?;
        match rustix::fs::flock(&lock, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let holder = read_holder(&mut lock);
                return Err(DataDirError::Held { path, holder });
            }
            Err(e) => {
                return Err(DataDirError::Lock {
                    path: lock_path,
                    source: e.into(),
                });
            }
        }
        let this = Self { path, lock };
        this.write_holder(&Holder::of_this_process(listen))?;
        Ok(this)
    }

    /// The data directory, absolute.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This node's id, kept in `<data>/node-id`: created at the first start, the same at
    /// every later one, so a restarted node takes back at once what it held in a cluster.
    pub fn node_id(&self) -> Result<NodeId, DataDirError> {
        let path = self.path.join(NODE_ID_FILE);
        let failed = |source| DataDirError::NodeId {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => NodeId::parse(text.trim()).ok_or_else(|| {
                failed(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{:?} is not a node id (node-<16 hex digits>)", text.trim()),
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bits = u64::from_le_bytes(
                    uuid::Uuid::new_v4().as_bytes()[..8]
                        .try_into()
                        .unwrap_or_default(),
                );
                let id = NodeId::from_random(bits);
                std::fs::write(&path, format!("{id}\n")).map_err(failed)?;
                Ok(id)
            }
            Err(e) => Err(failed(e)),
        }
    }

    /// Records the address the server actually listens on (`--listen` may have port 0).
    pub fn record_listen(&self, listen: SocketAddr) -> Result<(), DataDirError> {
        self.write_holder(&Holder::of_this_process(listen))
    }

    fn write_holder(&self, holder: &Holder) -> Result<(), DataDirError> {
        let text = holder.to_text();
        self.lock
            .set_len(0)
            .and_then(|()| self.lock.write_all_at(text.as_bytes(), 0))
            .map_err(|source| DataDirError::WriteHolder {
                path: self.path.join(LOCK_FILE),
                source,
            })
    }
}

/// The holder named in a lock file held by another process. Waits briefly for a holder that
/// has just taken the lock to write its pid.
fn read_holder(lock: &mut File) -> Holder {
    let mut waited = Duration::ZERO;
    loop {
        let mut text = String::new();
        let read = lock.read_to_string(&mut text);
        let holder = Holder::parse(&text);
        if read.is_err() || holder.pid.is_some() || waited >= HOLDER_WRITE_WAIT {
            return holder;
        }
        std::thread::sleep(HOLDER_WRITE_POLL);
        waited += HOLDER_WRITE_POLL;
        if lock.rewind().is_err() {
            return holder;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_held_data_dir_names_its_holder_and_is_free_again_after_drop() {
        let temp = tempfile::tempdir().unwrap();
        let first = DataDir::lock(temp.path(), listen(0)).unwrap();
        first.record_listen(listen(8901)).unwrap();

        match DataDir::lock(temp.path(), listen(8902)) {
            Err(DataDirError::Held { path, holder }) => {
                assert_eq!(path, first.path());
                assert_eq!(holder.pid, Some(std::process::id()));
                assert_eq!(holder.listen.as_deref(), Some("127.0.0.1:8901"));
                let message = DataDirError::Held { path, holder }.to_string();
                assert!(message.contains(&format!("pid {}", std::process::id())));
                assert!(message.contains("http://127.0.0.1:8901"), "{message}");
            }
            other => panic!("a second lock was not refused: {other:?}"),
        }
        // The refused attempt changed nothing.
        let text = std::fs::read_to_string(first.path().join(LOCK_FILE)).unwrap();
        assert!(text.contains("listen 127.0.0.1:8901"), "{text}");

        drop(first);
        let second = DataDir::lock(temp.path(), listen(8902)).unwrap();
        let text = std::fs::read_to_string(second.path().join(LOCK_FILE)).unwrap();
        assert_eq!(
            text,
            format!("pid {}\nlisten 127.0.0.1:8902\n", std::process::id())
        );
    }

    #[test]
    fn the_node_id_is_made_once_and_kept() {
        let temp = tempfile::tempdir().unwrap();
        let first = DataDir::lock(temp.path(), listen(0))
            .unwrap()
            .node_id()
            .unwrap();
        let again = DataDir::lock(temp.path(), listen(0))
            .unwrap()
            .node_id()
            .unwrap();
        assert_eq!(first, again);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            DataDir::lock(other.path(), listen(0))
                .unwrap()
                .node_id()
                .unwrap(),
            first
        );
        std::fs::write(temp.path().join(NODE_ID_FILE), "nonsense\n").unwrap();
        let refused = DataDir::lock(temp.path(), listen(0)).unwrap().node_id();
        assert!(matches!(refused, Err(DataDirError::NodeId { .. })));
    }

    #[test]
    fn a_relative_data_dir_is_created_and_made_absolute() {
        let temp = tempfile::tempdir().unwrap();
        let cwd = std::env::current_dir().unwrap();
        let relative = pathdiff(temp.path().join("a/b"), &cwd);
        assert!(relative.is_relative());

        let data = DataDir::lock(&relative, listen(0)).unwrap();

        assert!(data.path().is_absolute());
        assert_eq!(data.path(), temp.path().join("a/b").canonicalize().unwrap());
    }

    #[test]
    fn the_lock_file_is_close_on_exec() {
        let temp = tempfile::tempdir().unwrap();
        let data = DataDir::lock(temp.path(), listen(0)).unwrap();
        let flags = rustix::io::fcntl_getfd(&data.lock).unwrap();
        assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
    }

    #[test]
    fn an_empty_lock_file_held_elsewhere_gives_an_unknown_holder() {
        let temp = tempfile::tempdir().unwrap();
        let file = File::create(temp.path().join(LOCK_FILE)).unwrap();
        rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive).unwrap();
        // flock locks belong to the open file description: a second open is another
        // description, so this stands in for another process.
        match DataDir::lock(temp.path(), listen(0)) {
            Err(DataDirError::Held { holder, .. }) => {
                assert_eq!(holder, Holder::default());
                assert_eq!(holder.to_string(), "pid unknown");
            }
            other => panic!("a second lock was not refused: {other:?}"),
        }
        drop(file);
    }

    #[test]
    fn holder_text_round_trips_and_ignores_junk() {
        let holder = Holder {
            pid: Some(42),
            listen: Some("[::1]:8900".to_owned()),
        };
        assert_eq!(Holder::parse(&holder.to_text()), holder);
        assert_eq!(Holder::parse("pid x\nwho knows\n"), Holder::default());
    }

    /// `target` relative to `base` (both absolute), with `..` steps.
    fn pathdiff(target: PathBuf, base: &Path) -> PathBuf {
        let target: Vec<_> = target.components().collect();
        let base: Vec<_> = base.components().collect();
        let common = target.iter().zip(&base).take_while(|(a, b)| a == b).count();
        let mut relative = PathBuf::new();
        for _ in common..base.len() {
            relative.push("..");
        }
        relative.extend(&target[common..]);
        relative
    }
}
