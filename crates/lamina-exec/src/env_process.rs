//! The process the server holds for an environment: the jail it started (or, without
//! isolation, the runtime itself), or a SnapStart copy restored from a template (see
//! [`crate::snapshot`]). A copy is the template's child, not the server's, so it cannot be
//! waited for: the environment's report pipe tells its end (its PID 1 writes how the runtime
//! ended there, as a jail's keeper does, and holds the pipe's only write end), and a pidfd
//! signals it.

use std::io::{self, PipeReader};
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use lamina_jail::JailReport;
use rustix::process::{Pid, PidfdFlags, Signal};
use tokio::net::unix::pipe::Receiver;
use tokio::process::Child;

/// How long a kill waits for a restored copy's environment to end.
const KILL_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// An environment's process.
pub(crate) enum EnvProcess {
    /// Started by the server.
    Child(Child),
    /// A SnapStart copy.
    Restored(Restored),
}

impl EnvProcess {
    /// Its process id on the host, while it runs.
    pub(crate) fn id(&self) -> Option<u32> {
        match self {
            Self::Child(child) => child.id(),
            Self::Restored(restored) => restored.ended.is_none().then_some(restored.pid),
        }
    }

    /// How it ended, if it has.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match self {
            Self::Child(child) => child.try_wait(),
            Self::Restored(restored) => Ok(restored.try_wait()),
        }
    }

    /// Waits until it ends.
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        match self {
            Self::Child(child) => child.wait().await,
            Self::Restored(restored) => restored.wait().await,
        }
    }

    /// Kills it and waits until it ended.
    pub(crate) async fn kill(&mut self) -> io::Result<()> {
        match self {
            Self::Child(child) => child.kill().await,
            Self::Restored(restored) => {
                restored.signal_kill();
                // Its PID 1 dies with it; should anything of it linger, the environment's
                // cgroup is killed next anyway.
                let _ = tokio::time::timeout(KILL_WAIT, restored.wait()).await;
                Ok(())
            }
        }
    }
}

/// A restored SnapStart copy: the process outside its PID namespace, whose end (killed, or
/// after its PID 1 exited) ends the environment. Its PID 1 holds the only write end of the
/// report pipe, so the pipe's end is the environment's.
pub(crate) struct Restored {
    pid: u32,
    /// For signals only: a pidfd cannot be waited for here (the copy is not our child).
    pidfd: OwnedFd,
    report: Receiver,
    received: Vec<u8>,
    ended: Option<ExitStatus>,
}

impl Restored {
    /// Watches process `pid`, which must be alive (it waits for the server), and the read end
    /// of its environment's report pipe.
    pub(crate) fn watch(pid: u32, report: PipeReader) -> io::Result<Self> {
        let raw = i32::try_from(pid).map_err(io::Error::other)?;
        let pid_handle = Pid::from_raw(raw).ok_or_else(|| io::Error::other("pid 0"))?;
        let pidfd = rustix::process::pidfd_open(pid_handle, PidfdFlags::empty())?;
        Ok(Self {
            pid,
            pidfd,
            report: Receiver::from_owned_fd(OwnedFd::from(report))?,
            received: Vec::with_capacity(5),
            ended: None,
        })
    }

    fn try_wait(&mut self) -> Option<ExitStatus> {
        let mut buf = [0u8; 5];
        while self.ended.is_none() {
            match self.report.try_read(&mut buf) {
                Ok(0) => self.ended = Some(self.reported()),
                Ok(n) => {
                    self.received.extend_from_slice(&buf[..n]);
                    // Written once the runtime was reaped: it has ended.
                    if self.received.len() >= buf.len() {
                        self.ended = Some(self.reported());
                    }
                }
                Err(_) => break,
            }
        }
        self.ended
    }

    async fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(status) = self.try_wait() {
                return Ok(status);
            }
            self.report.readable().await?;
        }
    }

    /// The runtime's status as its PID 1 reported it; without a report (the environment was
    /// killed), death by `SIGKILL`.
    fn reported(&self) -> ExitStatus {
        match JailReport::decode(&self.received) {
            Some(JailReport::Runtime(raw) | JailReport::Extension(raw)) => {
                ExitStatus::from_raw(raw)
            }
            None => ExitStatus::from_raw(Signal::KILL.as_raw()),
        }
    }

    fn signal_kill(&self) {
        if self.ended.is_none() {
            let _ = rustix::process::pidfd_send_signal(&self.pidfd, Signal::KILL);
        }
    }
}

impl Drop for Restored {
    fn drop(&mut self) {
        // As a `Child` started with `kill_on_drop`.
        self.signal_kill();
    }
}
