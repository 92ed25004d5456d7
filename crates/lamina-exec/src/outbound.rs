//! Outbound connectivity for private networks, as container runtimes give it: a bridge of
//! the server's own, a veth pair per environment (its end is the environment's `eth0`, with
//! a default route through the bridge) and masquerading by an nftables table of the server's
//! own. From an environment, the host itself (its loopback, the Lamina API on any address),
//! other environments (bridge ports are isolated from each other) and link-local addresses
//! are dropped; the rest of the world is reached through NAT.
//!
//! Everything is named after the data directory, so two servers on one host keep apart and a
//! restarted server finds what its crashed predecessor left: the bridge `lm<key>br`, the
//! veths `lm<key>v<n>`, the table `ip lamina_<key>`. IPv4 forwarding is a setting of the whole
//! host, shared by every server on it: the first server to switch it on keeps the value it found
//! in `/run/lamina/ip_forward`, and the last one to go (no Lamina bridge left) puts it back.
//! Both steps hold `/run/lamina/network.lock`, so a server stopping never switches forwarding
//! off under one that is starting. The kernel removes an environment's veth pair with its
//! namespace. The commands run are `ip`, `nsenter` and `nft` (Debian: iproute2, util-linux,
//! nftables); they run while standbys are prepared, not on a warm path.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use sha2::{Digest, Sha256};

/// Why outbound networking could not be set up or given to an environment.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// A command is not installed.
    #[error("{program} not found (Debian package {package})")]
    Missing {
        /// The program.
        program: &'static str,
        /// The Debian package that has it.
        package: &'static str,
    },
    /// A command could not be started.
    #[error("running {program} failed: {source}")]
    Spawn {
        /// The program.
        program: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A command failed.
    #[error("{what} failed: {stderr}")]
    Command {
        /// What it was doing.
        what: String,
        /// Its standard error.
        stderr: String,
    },
    /// Every candidate subnet (10.200.0.0/16 to 10.254.0.0/16) is in use on this host.
    #[error("no free 10.x.0.0/16 subnet for the environments' bridge")]
    NoFreeSubnet,
    /// The forwarding setting could not be read, recorded or changed.
    #[error("changing net.ipv4.ip_forward failed: {0}")]
    Forwarding(#[source] std::io::Error),
    /// The bridge and table were made, but a trial environment network was not.
    #[error("making a trial environment network failed: {0}")]
    Trial(#[source] std::io::Error),
}

/// What starting `program` failed with: [`OutboundError::Missing`] when it is not installed.
fn spawn_error(program: &'static str, source: std::io::Error) -> OutboundError {
    if source.kind() != std::io::ErrorKind::NotFound {
        return OutboundError::Spawn { program, source };
    }
    let package = match program {
        "nft" => "nftables",
        "nsenter" => "util-linux",
        _ => "iproute2",
    };
    OutboundError::Missing { program, package }
}

const FORWARDING: &str = "/proc/sys/net/ipv4/ip_forward";

/// The server's bridge, table and address pool.
#[derive(Debug)]
pub struct Outbound {
    key: String,
    /// The second octet of the environments' `10.N.0.0/16`.
    subnet: u8,
    next_host: AtomicU32,
    forwarding_record: PathBuf,
}

impl Outbound {
    /// Removes what a server on `data_dir` left (a crash), then makes the bridge, the table
    /// and turns forwarding on.
    pub fn start(data_dir: &Path) -> Result<Self, OutboundError> {
        let _host = host_lock().map_err(OutboundError::Forwarding)?;
        let key = key_of(data_dir);
        remove_leftovers(&key);
        let subnet = free_subnet()?;
        // A random first host, so a veth of a crashed run still being removed by the kernel
        // never holds the name a new one wants.
        let first = u32::from(uuid::Uuid::new_v4().as_bytes()[0]) << 8;
        let this = Self {
            key,
            subnet,
            next_host: AtomicU32::new(first),
            forwarding_record: host_state_dir().join("ip_forward"),
        };
        if let Err(e) = this.set_up() {
            this.stop_locked();
            return Err(e);
        }
        Ok(this)
    }

    fn set_up(&self) -> Result<(), OutboundError> {
        let bridge = self.bridge();
        let gateway = self.gateway();
        ip_batch(
            &format!(
                "link add {bridge} type bridge\n\
                 addr add {gateway}/16 dev {bridge}\n\
                 link set {bridge} up\n"
            ),
            "creating the environments' bridge",
        )?;
        run_with_input(
            "nft",
            &["-f", "-"],
            &self.ruleset(),
            "loading the nftables table",
        )?;
        self.forward()
    }

    /// The table: nothing from the environments reaches the host itself (replies to what
    /// the host sent excepted), nor link-local or loopback addresses, nor another Lamina
    /// bridge; what leaves for elsewhere is masqueraded, on fully random ports: environments
    /// pick their source ports each in its own namespace, and a port kept as they chose it can
    /// meet the server's TIME_WAIT of another environment's connection to the same address,
    /// whose answer conntrack then drops (seen as a connection that hangs).
    fn ruleset(&self) -> String {
        let (bridge, table, subnet) = (self.bridge(), self.table(), self.subnet);
        format!(
            "table ip {table} {{\n\
             \tchain input {{\n\
             \t\ttype filter hook input priority filter; policy accept;\n\
             \t\tiifname \"{bridge}\" ct state established,related accept\n\
             \t\tiifname \"{bridge}\" drop\n\
             \t}}\n\
             \tchain forward {{\n\
             \t\ttype filter hook forward priority filter; policy accept;\n\
             \t\tiifname \"{bridge}\" ip daddr {{ 127.0.0.0/8, 169.254.0.0/16 }} drop\n\
             \t\tiifname \"{bridge}\" oifname \"lm*\" drop\n\
             \t}}\n\
             \tchain postrouting {{\n\
             \t\ttype nat hook postrouting priority srcnat; policy accept;\n\
             \t\tip saddr 10.{subnet}.0.0/16 oifname != \"{bridge}\" masquerade fully-random\n\
             \t}}\n\
             }}\n"
        )
    }

    /// Switches IPv4 forwarding on, recording the value found first (unless a crashed run
    /// recorded it already: that one is the host's own).
    fn forward(&self) -> Result<(), OutboundError> {
        let found = std::fs::read_to_string(FORWARDING).map_err(OutboundError::Forwarding)?;
        if !self.forwarding_record.exists() {
            std::fs::write(&self.forwarding_record, found.trim())
                .map_err(OutboundError::Forwarding)?;
        }
        if found.trim() != "1" {
            std::fs::write(FORWARDING, "1").map_err(OutboundError::Forwarding)?;
        }
        Ok(())
    }

    /// Gives the environment whose network namespace `namespace` opens an `eth0` on the
    /// bridge, an address and a default route. Blocking (two commands).
    pub fn connect(&self, namespace: &Path) -> Result<(), OutboundError> {
        let n = self.next_host.fetch_add(1, Ordering::Relaxed) % 65_533 + 2;
        let address = Ipv4Addr::new(10, self.subnet, (n >> 8) as u8, (n & 0xff) as u8);
        let veth = format!("lm{}v{n:04x}", self.key);
        let (bridge, gateway) = (self.bridge(), self.gateway());
        ip_batch(
            &format!(
                "link add {veth} type veth peer name eth0 netns {}\n\
                 link set {veth} master {bridge}\n\
                 link set dev {veth} type bridge_slave isolated on\n\
                 link set {veth} up\n",
                namespace.display()
            ),
            "creating the environment's veth pair",
        )?;
        let net = format!("--net={}", namespace.display());
        run_with_input(
            "nsenter",
            &[&net, "ip", "-batch", "-"],
            &format!(
                "addr add {address}/16 dev eth0\n\
                 link set eth0 up\n\
                 route add default via {gateway}\n"
            ),
            "configuring the environment's eth0",
        )
    }

    /// Removes the table and the bridge (its veths go with their namespaces), and restores
    /// forwarding once no Lamina bridge is left on the host.
    pub fn stop(&self) {
        // Without the lock the restore could still be right, but could race a starting
        // server; stopping goes on either way.
        let _host = host_lock();
        self.stop_locked();
    }

    fn stop_locked(&self) {
        remove_leftovers(&self.key);
        let others = lamina_bridges();
        if !others.is_empty() {
            return;
        }
        if let Ok(found) = std::fs::read_to_string(&self.forwarding_record) {
            if found.trim() != "1" {
                let _ = std::fs::write(FORWARDING, found.trim());
            }
            let _ = std::fs::remove_file(&self.forwarding_record);
        }
    }

    fn bridge(&self) -> String {
        format!("lm{}br", self.key)
    }

    fn table(&self) -> String {
        format!("lamina_{}", self.key)
    }

    fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, self.subnet, 0, 1)
    }

    /// The bridge's name, for the banner.
    pub fn describe(&self) -> String {
        format!(
            "bridge {} on 10.{}.0.0/16, nftables table ip {}",
            self.bridge(),
            self.subnet,
            self.table()
        )
    }
}

/// Where the servers of this host keep what they share: `/run/lamina` (a tmpfs, emptied at
/// boot, as forwarding is reset), else a directory of the temporary directory.
fn host_state_dir() -> PathBuf {
    let run = Path::new("/run/lamina");
    if std::fs::create_dir_all(run).is_ok() {
        return run.to_owned();
    }
    let tmp = std::env::temp_dir().join("lamina");
    let _ = std::fs::create_dir_all(&tmp);
    tmp
}

/// Holds the host-wide network lock until dropped (closing the file releases it).
fn host_lock() -> std::io::Result<std::fs::File> {
    lock_in(&host_state_dir())
}

/// Holds `dir/network.lock` until dropped.
fn lock_in(dir: &Path) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("network.lock"))?;
    file.lock()?;
    Ok(file)
}

/// Four hex digits naming a data directory's host objects.
fn key_of(data_dir: &Path) -> String {
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    format!("{:02x}{:02x}", digest[0], digest[1])
}

/// Deletes the table, the bridge and the veths of `key`, if any (errors mean: not there).
/// Deleting a veth's host end deletes the pair.
fn remove_leftovers(key: &str) {
    let prefix = format!("lm{key}v");
    let veths: String = std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.starts_with(&prefix))
        .map(|name| format!("link del {name}\n"))
        .collect();
    if !veths.is_empty() {
        // `-force`: one already gone does not stop the others.
        let _ = run_with_input("ip", &["-force", "-batch", "-"], &veths, "");
    }
    let _ = run_with_input(
        "nft",
        &["delete", "table", "ip", &format!("lamina_{key}")],
        "",
        "",
    );
    let _ = ip_batch(&format!("link del lm{key}br\n"), "");
}

/// The names of the Lamina bridges on this host (`lm????br`).
fn lamina_bridges() -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| is_lamina_bridge(name))
        .collect()
}

fn is_lamina_bridge(name: &str) -> bool {
    name.len() == 8
        && name.starts_with("lm")
        && name.ends_with("br")
        && name[2..6].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The first `10.N.0.0/16` (N from 200) that no address or route on this host is in.
fn free_subnet() -> Result<u8, OutboundError> {
    let routes = output("ip", &["-4", "route", "show", "table", "all"])?;
    let addresses = output("ip", &["-4", "-o", "addr"])?;
    (200..=254)
        .find(|n| {
            let prefix = format!("10.{n}.");
            !routes.contains(&prefix) && !addresses.contains(&prefix)
        })
        .ok_or(OutboundError::NoFreeSubnet)
}

fn output(program: &'static str, args: &[&str]) -> Result<String, OutboundError> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| spawn_error(program, source))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ip_batch(commands: &str, what: &str) -> Result<(), OutboundError> {
    run_with_input("ip", &["-batch", "-"], commands, what)
}

/// Runs `program` with `input` on its standard input; its failure is a
/// [`OutboundError::Command`] saying `what` it was doing.
fn run_with_input(
    program: &'static str,
    args: &[&str],
    input: &str,
    what: &str,
) -> Result<(), OutboundError> {
    let spawn = |source| spawn_error(program, source);
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).map_err(spawn)?;
    }
    let out = child.wait_with_output().map_err(spawn)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(OutboundError::Command {
            what: what.to_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_data_dirs_and_fit_an_interface_name() {
        let key = key_of(Path::new("/srv/lamina"));
        assert_eq!(key, key_of(Path::new("/srv/lamina")));
        assert_ne!(key, key_of(Path::new("/srv/other")));
        let outbound = Outbound {
            key,
            subnet: 201,
            next_host: AtomicU32::new(0),
            forwarding_record: PathBuf::new(),
        };
        assert!(is_lamina_bridge(&outbound.bridge()));
        assert!(outbound.bridge().len() <= 15);
        assert_eq!(outbound.gateway(), Ipv4Addr::new(10, 201, 0, 1));
        assert!(!is_lamina_bridge("lmzzzzbr") && !is_lamina_bridge("eth0"));
    }

    #[test]
    fn the_host_network_lock_has_one_holder_at_a_time() {
        // In a directory of its own: the host's lock may be taken by a root test meanwhile.
        let dir = tempfile::tempdir().unwrap();
        let held = lock_in(dir.path()).unwrap();
        let other = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("network.lock"))
            .unwrap();
        assert!(
            other.try_lock().is_err(),
            "a second holder while the first holds it"
        );
        drop(held);
        assert!(other.try_lock().is_ok(), "free once the first lets go");
    }

    #[test]
    fn a_missing_command_is_named_with_its_package() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(
            spawn_error("nft", missing).to_string(),
            "nft not found (Debian package nftables)"
        );
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(matches!(
            spawn_error("ip", denied),
            OutboundError::Spawn { program: "ip", .. }
        ));
        let error = run_with_input("lamina-no-such-program", &[], "", "").unwrap_err();
        assert!(matches!(error, OutboundError::Missing { .. }), "{error}");
    }

    #[test]
    fn the_ruleset_drops_the_host_and_link_local_and_masquerades_the_rest() {
        let outbound = Outbound {
            key: "ab12".into(),
            subnet: 203,
            next_host: AtomicU32::new(0),
            forwarding_record: PathBuf::new(),
        };
        let rules = outbound.ruleset();
        assert!(rules.starts_with("table ip lamina_ab12 {"));
        assert!(rules.contains("iifname \"lmab12br\" drop"));
        assert!(rules.contains("169.254.0.0/16"));
        assert!(
            rules
                .contains("ip saddr 10.203.0.0/16 oifname != \"lmab12br\" masquerade fully-random")
        );
    }
}
