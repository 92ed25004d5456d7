//! The options every remote command takes, and the SDK client they configure.

use std::time::Duration;

use anyhow::Context as _;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::{ProfileFileCredentialsProvider, ProfileFileRegionProvider};
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region, timeout::TimeoutConfig};

/// Where the remote commands go when neither `--endpoint-url` nor `LAMINA_ENDPOINT_URL` is
/// given: the default address of `lamina serve`.
pub const DEFAULT_ENDPOINT_URL: &str = "http://127.0.0.1:8900";

/// The region when neither `--region`, the environment nor the profile names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// How long the client waits for a TCP connection before it reports the endpoint unreachable.
const CONNECT_TIMEOUT_SECS: u64 = 5;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people (the default of this tool, unlike the AWS CLI's `json`).
    Table,
    /// The API response as pretty-printed JSON, with the API's field names.
    Json,
}

/// Options of every command, accepted anywhere on the command line (as with the AWS CLI).
#[derive(clap::Args, Clone, Debug)]
pub struct GlobalArgs {
    /// The Lambda API endpoint: a `lamina serve` address, or AWS itself.
    #[arg(
        long,
        global = true,
        env = "LAMINA_ENDPOINT_URL",
        default_value = DEFAULT_ENDPOINT_URL,
        value_name = "URL"
    )]
    pub endpoint_url: String,
    /// The region to sign for [default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, or
    /// us-east-1]; for `serve`, the region of unsigned requests [default: us-east-1].
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// A profile of ~/.aws/config and ~/.aws/credentials [default: AWS_PROFILE, or default].
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// How to print results.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Credentials used when the environment, the profile files and the local data directory have
/// none: a server started with `--auth none` accepts them, as any others.
fn placeholder_credentials() -> Credentials {
    Credentials::new("lamina", "lamina", None, None, "lamina-placeholder")
}

impl GlobalArgs {
    /// Builds the SDK client. Credentials come from the AWS environment variables, then the
    /// profile files, then the root key of the local server (the key file in
    /// `LAMINA_DATA_DIR`, else `./.lamina`, when readable), then placeholder credentials;
    /// `--profile` uses that profile only.
    /// No provider that needs the network (IMDS, SSO, ECS) is consulted.
    pub(crate) async fn client(&self) -> anyhow::Result<aws_sdk_lambda::Client> {
        self.client_with(None).await
    }

    /// [`Self::client`], signing with `credentials` when given instead of looking them up.
    pub(crate) async fn client_with(
        &self,
        credentials: Option<Credentials>,
    ) -> anyhow::Result<aws_sdk_lambda::Client> {
        let region = self.region().await;
        let credentials = self.credentials_chain(credentials);
        let endpoint = self.endpoint_url.trim_end_matches('/');
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            anyhow::bail!("--endpoint-url must start with http:// or https://, got {endpoint:?}");
        }
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region)
            .credentials_provider(credentials)
            .endpoint_url(endpoint)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(CONNECT_TIMEOUT_SECS))
                    .build(),
            )
            .build();
        Ok(aws_sdk_lambda::Client::from_conf(config))
    }
}

impl GlobalArgs {
    /// The region requests are signed for: `--region`, the environment, the profile, else
    /// [`DEFAULT_REGION`].
    pub(crate) async fn region(&self) -> Region {
        match &self.region {
            Some(region) => Region::new(region.clone()),
            None => {
                let mut profile = ProfileFileRegionProvider::builder();
                if let Some(name) = &self.profile {
                    profile = profile.profile_name(name);
                }
                RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
                    .or_else(profile.build())
                    .or_else(Region::new(DEFAULT_REGION))
                    .region()
                    .await
                    .unwrap_or_else(|| Region::new(DEFAULT_REGION))
            }
        }
    }

    /// Where credentials come from (see [`Self::client`]); `given` when given.
    pub(crate) fn credentials_chain(&self, given: Option<Credentials>) -> CredentialsProviderChain {
        match (given, &self.profile) {
            (Some(given), _) => CredentialsProviderChain::first_try("Given", given),
            (None, Some(name)) => CredentialsProviderChain::first_try(
                "Profile",
                ProfileFileCredentialsProvider::builder()
                    .profile_name(name)
                    .build(),
            ),
            (None, None) => CredentialsProviderChain::first_try(
                "Environment",
                EnvironmentVariableCredentialsProvider::new(),
            )
            .or_else("Profile", ProfileFileCredentialsProvider::builder().build())
            .or_else(
                "LaminaDataDir",
                crate::account::local_root_credentials().unwrap_or_else(placeholder_credentials),
            ),
        }
    }
}

/// Runs one command's future on a fresh single-threaded runtime.
pub(crate) fn block_on<T>(
    future: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(future)
}
