//! The control plane: Lambda's business rules over typed commands.
//!
//! The HTTP layer turns requests into the commands defined here and renders what they
//! return; every AWS rule (validation, versioning, policies, limits) lives in this crate.
//! It stores through `lamina-store` and ingests ZIPs through `lamina-layers`.

pub mod functions;
mod ingest;
mod internal_errors;
pub mod layers;
mod paging;
mod policy;
#[cfg(test)]
mod test_zip;
pub mod trees;
mod zip_errors;

pub use functions::{FunctionService, ResolvedFunction};
pub use layers::{LayerPublished, LayerService};
pub use paging::Page;
