//! Who is on the other end of a loopback connection to an environment's Runtime API.
//!
//! Each environment's listener must serve only that environment's runtime, but any process
//! on the host can connect to a loopback port. So the first request on a connection is
//! checked: the kernel's TCP table (`/proc/net/tcp`) gives the client socket's inode, and that
//! inode must be held open by the runtime process or one of its descendants. Verified client
//! ports are remembered, so a keep-alive connection pays the check once.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::net::SocketAddr;

/// Whether the TCP connection from `peer` to `listener` belongs to a process in the tree
/// rooted at `root_pid`. Any error reading `/proc` answers `false`.
pub fn owned_by_tree(root_pid: u32, peer: SocketAddr, listener: SocketAddr) -> bool {
    let Some(inode) = socket_inode(peer, listener) else {
        return false;
    };
    let target = format!("socket:[{inode}]");
    // Almost always the runtime itself holds the socket; walk the whole tree only if not.
    holds(root_pid, &target)
        || process_tree(root_pid)
            .into_iter()
            .any(|pid| holds(pid, &target))
}

/// The inode of the socket whose local end is `peer` and remote end is `listener`.
fn socket_inode(peer: SocketAddr, listener: SocketAddr) -> Option<u64> {
    let table = match peer {
        SocketAddr::V4(_) => "/proc/net/tcp",
        SocketAddr::V6(_) => "/proc/net/tcp6",
    };
    let text = fs::read_to_string(table).ok()?;
    text.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, remote, inode) = (fields.get(1)?, fields.get(2)?, fields.get(9)?);
        (port_of(local)? == peer.port() && port_of(remote)? == listener.port())
            .then(|| inode.parse().ok())
            .flatten()
    })
}

/// The port of a `/proc/net/tcp` address such as `0100007F:1F90`.
fn port_of(address: &str) -> Option<u16> {
    let (_, port) = address.rsplit_once(':')?;
    u16::from_str_radix(port, 16).ok()
}

/// `root` and every process descending from it.
fn process_tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(ppid) = parent_of(pid) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let (mut tree, mut seen, mut queue) = (Vec::new(), HashSet::new(), vec![root]);
    while let Some(pid) = queue.pop() {
        if seen.insert(pid) {
            tree.push(pid);
            queue.extend(children.get(&pid).into_iter().flatten().copied());
        }
    }
    tree
}

/// The parent pid from `/proc/<pid>/stat` (the field after the parenthesised name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    after_name.split_whitespace().nth(1)?.parse().ok()
}

fn holds(pid: u32, target: &str) -> bool {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| fs::read_link(fd.path()).is_ok_and(|link| link.as_os_str() == target))
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};

    use super::*;

    #[test]
    fn our_own_connection_is_ours_and_not_another_process_tree() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server_side, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        let me = std::process::id();
        assert!(owned_by_tree(me, peer, listener.local_addr().unwrap()));
        // pid 1 is an ancestor, not a descendant: its tree does include us, so use a leaf.
        let mut other = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(!owned_by_tree(
            other.id(),
            peer,
            listener.local_addr().unwrap()
        ));
        let _ = other.kill();
        let _ = other.wait();
    }

    #[test]
    fn parses_proc_addresses() {
        assert_eq!(port_of("0100007F:1F90"), Some(8080));
        assert_eq!(port_of("junk"), None);
    }
}
