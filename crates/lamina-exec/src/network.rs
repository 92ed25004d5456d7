//! Which network a function's environment has, and its Runtime API socket in it.
//!
//! With [`FunctionNetwork::Isolated`], each environment has a network namespace of its own
//! (see [`lamina_jail::netns`]): its Runtime API listens at `127.0.0.1:9001` on the
//! environment's own loopback, as on AWS, and nothing else can reach it; the host's
//! loopback, the Lamina API and other environments are out of the function's reach. With
//! [`FunctionNetwork::Host`], environments share the host's network: each Runtime API
//! listens on a free host loopback port, guarded by a peer-ownership check (see
//! [`crate::peer`]), and the function reaches everything the host does.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lamina_jail::netns::PrivateNetwork;

use crate::outbound::{Outbound, OutboundError};

/// Where an environment's Runtime API listens in its own network namespace: AWS's address.
pub const PRIVATE_RUNTIME_API: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9001);

/// The network environments get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionNetwork {
    /// The host's own network namespace: functions reach every loopback service.
    Host,
    /// A network namespace per environment: its own loopback, and the outside world through
    /// NAT (see [`crate::outbound`]); needs namespace isolation, so root.
    Isolated,
}

impl FunctionNetwork {
    /// The name shown in the banner and in `/_lamina/health`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Isolated => "isolated",
        }
    }
}

/// How new environments get their network. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Networks {
    /// The host's.
    Host,
    /// Each its own, connected to the outside through the server's bridge.
    Private(Arc<Outbound>),
}

impl Networks {
    /// Prepares private networks for a server on `data_dir`: its bridge, nftables table and
    /// forwarding (see [`Outbound::start`]), then one trial environment network, made and
    /// dropped, so that what each environment needs (a namespace, a veth pair, `nsenter`)
    /// is known to work before the server says it is isolated. Blocking (a few commands);
    /// needs root. On failure nothing is left on the host.
    pub fn private(data_dir: &Path) -> Result<Self, OutboundError> {
        let outbound = Outbound::start(data_dir)?;
        // The trial's veth pair goes with its namespace when the socket is dropped.
        if let Err(e) = RuntimeApiSocket::bind_private(Some(&outbound)) {
            outbound.stop();
            return Err(OutboundError::Trial(e));
        }
        Ok(Self::Private(Arc::new(outbound)))
    }

    /// Which kind this is.
    pub fn kind(&self) -> FunctionNetwork {
        match self {
            Self::Host => FunctionNetwork::Host,
            Self::Private(_) => FunctionNetwork::Isolated,
        }
    }

    /// The Runtime API socket of a restored SnapStart copy, in `namespace`, the network
    /// namespace the copy made itself, which is connected here like a new one. Blocking.
    pub fn adopt(&self, namespace: OwnedFd) -> std::io::Result<RuntimeApiSocket> {
        match self {
            Self::Host => Err(std::io::Error::other(
                "SnapStart copies need private networks (the host's network is shared)",
            )),
            Self::Private(outbound) => {
                let private = PrivateNetwork::adopt(namespace, PRIVATE_RUNTIME_API)?;
                outbound
                    .connect(&lamina_jail::netns::path_of(&private.namespace))
                    .map_err(std::io::Error::other)?;
                RuntimeApiSocket::new(private.listener, Some(private.namespace))
            }
        }
    }

    /// A new environment's Runtime API socket, in its network. A private network takes a
    /// few milliseconds (a namespace and two commands for its veth pair): call it off the
    /// async runtime's workers, as standbys do ahead of need.
    pub fn runtime_api(&self) -> std::io::Result<RuntimeApiSocket> {
        match self {
            Self::Host => RuntimeApiSocket::bind_host(),
            Self::Private(outbound) => RuntimeApiSocket::bind_private(Some(outbound)),
        }
    }
}

/// An environment's Runtime API socket, listening before its runtime is planned (the plan
/// carries its address), and the environment's network namespace when it has its own.
#[derive(Debug)]
pub struct RuntimeApiSocket {
    /// The listener, non-blocking.
    pub(crate) listener: TcpListener,
    address: SocketAddr,
    /// The environment's own network namespace; `None` on the host's network.
    pub(crate) namespace: Option<OwnedFd>,
}

impl RuntimeApiSocket {
    /// Listens on a free port of the host's loopback.
    pub fn bind_host() -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        Self::new(listener, None)
    }

    /// Listens at [`PRIVATE_RUNTIME_API`] in a new network namespace (made on a helper
    /// thread), which `outbound` connects to the outside world.
    pub fn bind_private(outbound: Option<&Outbound>) -> std::io::Result<Self> {
        let private = PrivateNetwork::create(PRIVATE_RUNTIME_API)?;
        if let Some(outbound) = outbound {
            outbound
                .connect(&lamina_jail::netns::path_of(&private.namespace))
                .map_err(std::io::Error::other)?;
        }
        Self::new(private.listener, Some(private.namespace))
    }

    fn new(listener: TcpListener, namespace: Option<OwnedFd>) -> std::io::Result<Self> {
        let address = listener.local_addr()?;
        Ok(Self {
            listener,
            address,
            namespace,
        })
    }

    /// `host:port`, as `AWS_LAMBDA_RUNTIME_API` is.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// A path that opens the environment's network namespace while this socket's
    /// namespace descriptor is open, for the jail to join; `None` on the host's network.
    pub fn namespace_path(&self) -> Option<PathBuf> {
        self.namespace.as_ref().map(lamina_jail::netns::path_of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_the_hosts_network_a_free_loopback_port_and_no_namespace() {
        let socket = Networks::Host.runtime_api().unwrap();
        assert!(socket.address().starts_with("127.0.0.1:"));
        assert_ne!(socket.address(), "127.0.0.1:0");
        assert_eq!(socket.namespace_path(), None);
    }

    #[test]
    #[ignore = "needs root (CAP_SYS_ADMIN): run by scripts/test"]
    fn in_a_private_network_the_address_is_awss_and_the_namespace_can_be_joined() {
        let socket = RuntimeApiSocket::bind_private(None).unwrap();
        assert_eq!(socket.address(), "127.0.0.1:9001");
        let path = socket.namespace_path().unwrap();
        let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
        assert_ne!(std::fs::read_link(path).unwrap(), ours);
        // Two environments, two namespaces: the same address in both.
        let other = RuntimeApiSocket::bind_private(None).unwrap();
        assert_eq!(other.address(), "127.0.0.1:9001");
    }

    #[test]
    #[ignore = "needs root (CAP_NET_ADMIN, ip, nsenter, nft): run by scripts/test"]
    fn private_networks_are_prepared_with_a_trial_and_removed_at_stop() {
        let data_dir = tempfile::tempdir().unwrap();
        let networks = Networks::private(data_dir.path()).unwrap();
        assert_eq!(networks.kind(), FunctionNetwork::Isolated);
        let Networks::Private(outbound) = &networks else {
            panic!("not private: {networks:?}")
        };
        let bridge = outbound.describe();
        let bridge = bridge.split_whitespace().nth(1).unwrap().to_owned();
        let links = Path::new("/sys/class/net");
        assert!(links.join(&bridge).exists(), "{bridge}");
        // An environment's network works after the trial as before it.
        let socket = networks.runtime_api().unwrap();
        assert_eq!(socket.address(), "127.0.0.1:9001");
        drop(socket);
        outbound.stop();
        assert!(!links.join(&bridge).exists(), "{bridge}");
    }

    #[test]
    fn names() {
        assert_eq!(FunctionNetwork::Host.as_str(), "host");
        assert_eq!(FunctionNetwork::Isolated.as_str(), "isolated");
    }
}
