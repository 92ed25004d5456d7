//! The `lamina` command line (stand-in holding only the local commands; see `local`).

pub mod local;
