//! What every remote command holds: the client, the endpoint for messages, the output format.

use crate::global::{GlobalArgs, OutputFormat};

/// A configured client and the options that shape its output.
pub(crate) struct Api {
    /// The SDK client.
    pub client: aws_sdk_lambda::Client,
    /// The endpoint URL, named in connection errors.
    pub endpoint: String,
    /// How results are printed.
    pub output: OutputFormat,
}

impl Api {
    /// The client for these global options.
    pub(crate) async fn new(global: &GlobalArgs) -> anyhow::Result<Self> {
        Ok(Self {
            client: global.client().await?,
            endpoint: global.endpoint_url.clone(),
            output: global.output,
        })
    }

    /// Whether results are printed as JSON.
    pub(crate) fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }
}

/// A layer version named `NAME:VERSION` or by its version ARN
/// (`arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerVersionRef {
    /// The layer name, or the layer ARN without the version (the API accepts both).
    pub name: String,
    /// The version number.
    pub version: i64,
}

impl std::str::FromStr for LayerVersionRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parsed = s.rsplit_once(':').and_then(|(name, version)| {
            let version = version.parse::<i64>().ok().filter(|v| *v > 0)?;
            (!name.is_empty()).then(|| Self {
                name: name.to_owned(),
                version,
            })
        });
        parsed.ok_or_else(|| format!("expected NAME:VERSION or a layer version ARN, got {s:?}"))
    }
}

/// The layer name inside a layer (version) ARN, or `arn` itself if it is not one.
pub(crate) fn layer_name_of(arn: &str) -> &str {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "layer", name, ..] => name,
        _ => arn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_version_refs_parse_from_names_and_arns() {
        let r: LayerVersionRef = "deps:3".parse().unwrap();
        assert_eq!((r.name.as_str(), r.version), ("deps", 3));
        let r: LayerVersionRef = "arn:aws:lambda:us-east-1:123456789012:layer:deps:12"
            .parse()
            .unwrap();
        assert_eq!(r.name, "arn:aws:lambda:us-east-1:123456789012:layer:deps");
        assert_eq!(r.version, 12);
        assert!("deps".parse::<LayerVersionRef>().is_err());
        assert!(":3".parse::<LayerVersionRef>().is_err());
        assert!("deps:0".parse::<LayerVersionRef>().is_err());
    }

    #[test]
    fn layer_names_come_out_of_arns() {
        assert_eq!(
            layer_name_of("arn:aws:lambda:us-east-1:123456789012:layer:deps:2"),
            "deps"
        );
        assert_eq!(layer_name_of("deps"), "deps");
    }
}
