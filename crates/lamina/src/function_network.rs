//! `--function-network`: which network functions get, and why.
//!
//! `auto` (the default) gives each environment a private network wherever one works: with
//! namespace isolation, and when the server's bridge, nftables table and a trial
//! environment network can actually be made (they are made once, here, and kept for the
//! server's life). Elsewhere it falls back to the host's network and the banner says why.
//! An explicit `isolated` fails the start instead; an explicit `host` is taken as asked.

use std::path::Path;

use anyhow::bail;
use lamina_exec::launch::Isolation;
use lamina_exec::network::Networks;
use lamina_exec::outbound::OutboundError;

/// The `--function-network` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NetworkChoice {
    /// `isolated` where it works, else `host` with a warning saying why.
    Auto,
    /// A private network per environment, or no start.
    Isolated,
    /// The host's network.
    Host,
}

/// The network functions get, with why it is the host's when it is.
#[derive(Debug)]
pub struct ChosenNetwork {
    /// The networks, prepared.
    pub networks: Networks,
    /// Why functions share the host's network: asked for, or what `auto` found missing.
    pub host_because: Option<String>,
}

/// Chooses (and prepares) the network for `choice`. `isolation` is the isolation in force
/// and `no_namespaces` why it is not namespaces, if it is not; `prepare` makes the private
/// networks (normally [`Networks::private`] on the data dir; blocking).
pub async fn choose(
    choice: NetworkChoice,
    isolation: Isolation,
    no_namespaces: Option<&str>,
    prepare: impl FnOnce() -> Result<Networks, OutboundError> + Send + 'static,
) -> anyhow::Result<ChosenNetwork> {
    let host = |because: String| ChosenNetwork {
        networks: Networks::Host,
        host_because: Some(because),
    };
    match (choice, isolation) {
        (NetworkChoice::Host, _) => return Ok(host("--function-network host".into())),
        (NetworkChoice::Isolated, Isolation::None) => {
            bail!("--function-network isolated needs namespace isolation (root and overlayfs)")
        }
        (NetworkChoice::Auto, Isolation::None) => {
            let why = no_namespaces.unwrap_or("--isolation none");
            return Ok(host(format!("no namespaces: {why}")));
        }
        (NetworkChoice::Isolated | NetworkChoice::Auto, Isolation::Namespaces) => {}
    }
    match tokio::task::spawn_blocking(prepare).await? {
        Ok(networks) => Ok(ChosenNetwork {
            networks,
            host_because: None,
        }),
        Err(e) if choice == NetworkChoice::Auto => Ok(host(format!("no private network: {e}"))),
        Err(e) => bail!("--function-network isolated is not possible here: {e}"),
    }
}

/// [`choose`] with the real preparation, on `data_dir`.
pub async fn choose_for(
    choice: NetworkChoice,
    isolation: Isolation,
    no_namespaces: Option<&str>,
    data_dir: &Path,
) -> anyhow::Result<ChosenNetwork> {
    let data_dir = data_dir.to_owned();
    choose(choice, isolation, no_namespaces, move || {
        Networks::private(&data_dir)
    })
    .await
}

#[cfg(test)]
mod tests {
    use lamina_exec::network::FunctionNetwork;

    use super::*;

    fn unreachable_prepare() -> Result<Networks, OutboundError> {
        panic!("no private network may be prepared here")
    }

    fn missing_nft() -> Result<Networks, OutboundError> {
        Err(OutboundError::Missing {
            program: "nft",
            package: "nftables",
        })
    }

    #[tokio::test]
    async fn host_is_taken_as_asked_and_says_so() {
        let got = choose(
            NetworkChoice::Host,
            Isolation::Namespaces,
            None,
            unreachable_prepare,
        )
        .await
        .unwrap();
        assert_eq!(got.networks.kind(), FunctionNetwork::Host);
        assert_eq!(got.host_because.unwrap(), "--function-network host");
    }

    #[tokio::test]
    async fn auto_without_namespaces_falls_back_with_the_reason() {
        let got = choose(
            NetworkChoice::Auto,
            Isolation::None,
            Some("not running as root"),
            unreachable_prepare,
        )
        .await
        .unwrap();
        assert_eq!(got.networks.kind(), FunctionNetwork::Host);
        assert_eq!(
            got.host_because.unwrap(),
            "no namespaces: not running as root"
        );
        let asked = choose(
            NetworkChoice::Auto,
            Isolation::None,
            None,
            unreachable_prepare,
        )
        .await
        .unwrap();
        assert_eq!(
            asked.host_because.unwrap(),
            "no namespaces: --isolation none"
        );
    }

    #[tokio::test]
    async fn auto_falls_back_when_the_private_network_cannot_be_made() {
        let got = choose(
            NetworkChoice::Auto,
            Isolation::Namespaces,
            None,
            missing_nft,
        )
        .await
        .unwrap();
        assert_eq!(got.networks.kind(), FunctionNetwork::Host);
        assert_eq!(
            got.host_because.unwrap(),
            "no private network: nft not found (Debian package nftables)"
        );
    }

    #[tokio::test]
    async fn auto_and_isolated_take_the_private_network_when_it_is_made() {
        for choice in [NetworkChoice::Auto, NetworkChoice::Isolated] {
            // The host's stands in for a prepared private one: what matters is that it is
            // the one prepared, with no reason to warn.
            let got = choose(choice, Isolation::Namespaces, None, || Ok(Networks::Host))
                .await
                .unwrap();
            assert!(got.host_because.is_none());
        }
    }

    #[tokio::test]
    async fn isolated_fails_when_impossible() {
        let no_namespaces = choose(
            NetworkChoice::Isolated,
            Isolation::None,
            Some("not running as root"),
            unreachable_prepare,
        )
        .await
        .unwrap_err();
        assert!(
            no_namespaces
                .to_string()
                .contains("--function-network isolated needs namespace isolation")
        );
        let no_nft = choose(
            NetworkChoice::Isolated,
            Isolation::Namespaces,
            None,
            missing_nft,
        )
        .await
        .unwrap_err();
        assert_eq!(
            no_nft.to_string(),
            "--function-network isolated is not possible here: nft not found (Debian package \
             nftables)"
        );
    }
}
