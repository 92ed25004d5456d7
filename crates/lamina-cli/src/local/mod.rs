//! STUB – replaced at merge by the local commands of the `cli-local` branch.
//!
//! Commands that work on files without a server: `layer build`, `layer inspect`, and the
//! rendering of `function check`.

pub mod build;
pub mod check;
pub mod inspect;
