//! STUB – replaced at merge: the rendering of `lamina function check`, plus a stand-in for
//! `lamina_layers::inspect` (module [`inspect_stub`]).

/// Renders conflicts as a table (STUB).
pub fn render(conflicts: &[inspect_stub::Conflict]) -> String {
    if conflicts.is_empty() {
        return "no file or module is provided twice\n".to_owned();
    }
    conflicts
        .iter()
        .map(|c| {
            format!(
                "{}  {}  wins: {}\n",
                c.what,
                c.providers.join(", "),
                c.winner
            )
        })
        .collect()
}

/// STUB – replaced at merge by `lamina_layers::inspect` (the `cli-local` branch); only the
/// API is here, the analysis finds nothing.
pub mod inspect_stub {
    /// Where a source is mounted in the sandbox.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Mount {
        /// A layer, under `/opt`.
        Opt,
        /// The function's code, under `/var/task`.
        Task,
    }

    /// One ZIP the function sees, in mount order.
    #[derive(Debug)]
    pub struct Source {
        /// How the source is named in the output (a layer version ARN, or "function code").
        pub label: String,
        /// The ZIP bytes.
        pub zip: Vec<u8>,
        /// Where it is mounted.
        pub mount: Mount,
    }

    /// A file or module provided by more than one source.
    #[derive(Debug, serde::Serialize)]
    pub struct Conflict {
        /// The file or module.
        pub what: String,
        /// The labels of the sources that provide it, in mount order.
        pub providers: Vec<String>,
        /// The label of the source whose copy the function sees.
        pub winner: String,
    }

    /// Why the analysis failed.
    #[derive(Debug)]
    pub struct InspectError(pub String);

    impl std::fmt::Display for InspectError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for InspectError {}

    /// The files and modules provided by more than one source (STUB: always none).
    pub fn conflicts(_runtime: &str, _sources: &[Source]) -> Result<Vec<Conflict>, InspectError> {
        Ok(Vec::new())
    }
}
