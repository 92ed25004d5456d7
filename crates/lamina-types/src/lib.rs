//! Lamina's vocabulary: names, ARNs, runtimes, limits, timestamps and the AWS error enum.
//!
//! This crate owns every rule that can be checked without I/O, so the API, the control plane
//! and the CLI agree on what is valid. It never touches the network, the disk or a database.

pub mod arn;
pub mod destination;
pub mod error;
pub mod function;
pub mod function_arn;
pub mod function_config;
pub mod function_policy;
pub mod function_settings;
pub mod function_state;
pub mod function_url;
pub mod layer;
pub mod limits;
pub mod node;
pub mod runtime;
pub mod timestamp;
pub mod validation;

pub use arn::{AccountId, LayerName, LayerVersionArn, Region, Scope};
pub use error::LambdaError;
pub use function::{ConcurrencyLimit, ExtractedTree, FunctionSpec, JsonLogLevels};
pub use node::NodeId;
pub use runtime::{Architecture, Runtime, RuntimeFamily};
