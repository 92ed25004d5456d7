//! The server's side of the words a SnapStart copy and the server exchange on the copy's
//! channel (see `runtimes/python/lamina_snapstart.py`), and the timing of a copy's steps.

use std::io::IoSliceMut;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lamina_jail::seccomp::SeccompFilters;
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};

/// How long each step of a restore took, for the debug log.
pub(super) struct Steps {
    last: Instant,
    taken: Vec<(&'static str, Duration)>,
}

impl Steps {
    pub(super) fn new() -> Self {
        Self {
            last: Instant::now(),
            taken: Vec::with_capacity(10),
        }
    }

    pub(super) fn done(&mut self, step: &'static str) {
        let now = Instant::now();
        self.taken.push((step, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for Steps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (step, took) in &self.taken {
            write!(f, "{step} {:.2} ms, ", took.as_secs_f64() * 1e3)?;
        }
        Ok(())
    }
}

/// The copy's `hello`: its process id on the host, from the message's credentials.
pub(super) fn hello(channel: &OwnedFd) -> std::io::Result<u32> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmCredentials(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut buf = [0u8; 16];
    let received = rustix::net::recvmsg(
        channel,
        &mut [IoSliceMut::new(&mut buf)],
        &mut control,
        RecvFlags::empty(),
    )?;
    if buf.get(..received.bytes) != Some(b"hello".as_slice()) {
        return Err(std::io::Error::other("the SnapStart copy did not start"));
    }
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmCredentials(credentials) = message {
            return u32::try_from(credentials.pid.as_raw_nonzero().get())
                .map_err(std::io::Error::other);
        }
    }
    Err(std::io::Error::other(
        "the SnapStart copy's hello had no credentials",
    ))
}

pub(super) fn expect(channel: &OwnedFd, word: &[u8]) -> std::io::Result<()> {
    let mut buf = [0u8; 16];
    let (n, _) = rustix::net::recv(channel, &mut buf[..], RecvFlags::empty())?;
    if buf.get(..n) == Some(word) {
        return Ok(());
    }
    Err(std::io::Error::other(format!(
        "the SnapStart copy answered {:?} instead of {:?}",
        String::from_utf8_lossy(&buf[..n]),
        String::from_utf8_lossy(word)
    )))
}

/// The full seccomp programs each copy stacks, hex-encoded as its `go` carries them: compiled
/// once for the server's life (they never change), not at every restore.
pub(super) fn seccomp_programs() -> std::io::Result<&'static str> {
    static PROGRAMS: OnceLock<Result<String, String>> = OnceLock::new();
    PROGRAMS
        .get_or_init(|| {
            SeccompFilters::compile()
                .map(|filters| hex(&filters.to_bytes()))
                .map_err(|e| e.to_string())
        })
        .as_deref()
        .map_err(|e| std::io::Error::other(e.clone()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
