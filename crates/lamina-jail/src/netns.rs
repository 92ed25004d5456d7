//! An environment's private network namespace, made by the server ahead of the jail.
//!
//! The server (a multi-threaded tokio process) cannot `unshare` its own network namespace,
//! but one thread may: a short-lived helper thread unshares `CLONE_NEWNET`, brings the new
//! namespace's `lo` up, binds the environment's Runtime API listener there and opens the
//! namespace's file, then ends. Sockets stay in the namespace they were created in, so the
//! server serves that listener from the host as any other; the namespace lives as long as
//! its file descriptor, its listener or a process in it does. The jail joins it with
//! `setns` (see [`crate::JailPlan::network`]) before it creates its other namespaces, so a
//! namespace made while a standby waits costs the cold start nothing.
//!
//! Nothing of it outlives the server: no name is bound under `/run/netns`, and the kernel
//! removes a namespace (and the loopback in it) once its last reference is gone.

use std::io;
use std::net::{SocketAddrV4, TcpListener};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use rustix::fs::{Mode, OFlags};
use rustix::thread::UnshareFlags;

/// A new network namespace with only `lo`, up, and a listener bound in it.
#[derive(Debug)]
pub struct PrivateNetwork {
    /// The namespace's file (`/proc/thread-self/ns/net` of the thread that made it).
    pub namespace: OwnedFd,
    /// The listener, non-blocking, bound in the namespace.
    pub listener: TcpListener,
}

impl PrivateNetwork {
    /// Creates the namespace and binds `listen` (normally `127.0.0.1:9001`) in it. Needs
    /// `CAP_SYS_ADMIN`. The calling thread's own namespace does not change.
    pub fn create(listen: SocketAddrV4) -> io::Result<Self> {
        on_helper_thread(move || create_on_this_thread(listen))
    }

    /// Takes over `namespace`, a network namespace another process made (a SnapStart copy's,
    /// see `lamina_exec::snapshot`): brings its loopback up and listens at `listen` in it,
    /// on a helper thread that joins it (the server may join any namespace; the copy could
    /// not join one the server made).
    pub fn adopt(namespace: OwnedFd, listen: SocketAddrV4) -> io::Result<Self> {
        on_helper_thread(move || {
            rustix::thread::move_into_link_name_space(
                namespace.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )?;
            listen_here(namespace, listen)
        })
    }

    /// See [`path_of`].
    pub fn path(&self) -> PathBuf {
        path_of(&self.namespace)
    }
}

/// A path that opens the namespace whose file is `namespace` for as long as that descriptor
/// is open (through this process's descriptor table: `/proc/<pid>/fd/<fd>`), for another
/// process (the jail) to join.
pub fn path_of(namespace: &OwnedFd) -> PathBuf {
    PathBuf::from(format!(
        "/proc/{}/fd/{}",
        std::process::id(),
        namespace.as_raw_fd()
    ))
}

/// On a thread that ends right after: its network namespace is not the process's any more.
fn create_on_this_thread(listen: SocketAddrV4) -> io::Result<PrivateNetwork> {
    // SAFETY: `unshare_unsafe` is unsafe only for `CLONE_FILES`, which is not among the flags;
    // a new network namespace applies to this thread alone.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) }?;
    let namespace = rustix::fs::open(
        "/proc/thread-self/ns/net",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    listen_here(namespace, listen)
}

/// Runs `work` on a thread of its own, which ends right after: the namespace it joins or
/// makes is never the process's.
fn on_helper_thread(
    work: impl FnOnce() -> io::Result<PrivateNetwork> + Send + 'static,
) -> io::Result<PrivateNetwork> {
    std::thread::Builder::new()
        .name("lamina-netns".into())
        .spawn(work)?
        .join()
        .map_err(|_| io::Error::other("the network namespace helper thread panicked"))?
}

/// Brings up the loopback of this thread's network namespace, `namespace`, and listens at
/// `listen` in it.
fn listen_here(namespace: OwnedFd, listen: SocketAddrV4) -> io::Result<PrivateNetwork> {
    set_loopback_up()?;
    let listener = TcpListener::bind(listen)?;
    listener.set_nonblocking(true)?;
    Ok(PrivateNetwork {
        namespace,
        listener,
    })
}

/// Brings `lo` of this thread's network namespace up (a new namespace has it down), with
/// the two `ioctl`s `ip link set lo up` makes, without starting a process.
fn set_loopback_up() -> io::Result<()> {
    // SAFETY: `socket` takes no pointers; a negative result is an error.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor nothing else owns.
    let socket = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
    // SAFETY: `ifreq` is plain old data; all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    let fd = socket.as_fd().as_raw_fd();
    // SAFETY: `request` is a valid, writable `ifreq` naming an interface, as SIOCGIFFLAGS
    // expects; `fd` is an open socket for the whole call.
    if unsafe { libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut request) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    let flags = unsafe { request.ifr_ifru.ifru_flags };
    request.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: as above; SIOCSIFFLAGS reads the name and the flags.
    if unsafe { libc::ioctl(fd, libc::SIOCSIFFLAGS, &request) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpStream};

    use super::*;

    #[test]
    #[ignore = "needs root (CAP_SYS_ADMIN): run by scripts/test"]
    fn the_listener_is_in_a_namespace_of_its_own() {
        let listen = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9001);
        let a = PrivateNetwork::create(listen).unwrap();
        // The same address again: another namespace, so no conflict.
        let b = PrivateNetwork::create(listen).unwrap();
        assert_eq!(a.listener.local_addr().unwrap().port(), 9001);
        let ours = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
        let theirs = std::fs::read_link(a.path()).unwrap();
        assert_ne!(ours, theirs);
        assert_ne!(theirs, std::fs::read_link(b.path()).unwrap());
        // From the host's namespace, nothing listens there for us (unless the host has its
        // own 9001; then at least it is not ours, which never accepts this connection).
        if let Ok(stream) = TcpStream::connect(listen) {
            drop(stream);
            assert!(a.listener.accept().is_err());
        }
    }

    #[test]
    #[ignore = "needs root (CAP_SYS_ADMIN): run by scripts/test"]
    fn a_process_that_joins_it_reaches_the_listener_on_its_loopback() {
        let network = PrivateNetwork::create(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9001)).unwrap();
        let path = network.path();
        let connected = std::thread::spawn(move || {
            let ns = std::fs::File::open(path)?;
            rustix::thread::move_into_link_name_space(
                ns.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )?;
            TcpStream::connect("127.0.0.1:9001").map(|_| ())
        })
        .join()
        .unwrap();
        connected.unwrap();
        network.listener.set_nonblocking(false).unwrap();
        assert!(network.listener.accept().is_ok());
    }
}
