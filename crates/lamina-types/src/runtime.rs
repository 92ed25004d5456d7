//! Runtime identifiers and instruction-set architectures, as the API model spells them.

use std::fmt;

/// Every `Runtime` value of the API model, in the model's order. `ListLayers` filters and
/// PublishLayerVersion's `CompatibleRuntimes` accept any of them (AWS publishes layers for
/// deprecated runtimes); functions accept only [`Runtime::is_supported`] ones.
pub const ALL_RUNTIMES: [&str; 52] = [
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "java8",
    "java8.al2",
    "java11",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "dotnet8",
    "nodejs4.3-edge",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "provided",
    "provided.al2",
    "nodejs18.x",
    "python3.10",
    "java17",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "python3.11",
    "nodejs20.x",
    "provided.al2023",
    "python3.12",
    "java21",
    "python3.13",
    "nodejs22.x",
    "nodejs24.x",
    "python3.14",
    "java25",
    "dotnet10",
    "ruby4.0",
    "nodejs26.x",
    "java8.al2023",
    "java11.al2023",
    "java17.al2023",
    "python3.15",
    "custom",
];

/// The runtimes AWS accepts for CreateFunction and UpdateFunctionConfiguration, in the order
/// AWS lists them in the message that refuses an unknown `Runtime` (recorded January 2026).
/// Both the check and that message use this one list, so the order matters: it is AWS's, not
/// an alphabetical or model order. Model values missing here are deprecated (or never offered,
/// like `java17.al2023`) and are refused for functions; layers accept them (see
/// [`ALL_RUNTIMES`]).
pub const SUPPORTED_RUNTIMES: [&str; 25] = [
    "nodejs20.x",
    "python3.14",
    "provided.al2023",
    "python3.12",
    "python3.13",
    "nodejs24.x",
    "nodejs22.x",
    "java25",
    "python3.10",
    "python3.11",
    "java21",
    "ruby3.3",
    "ruby3.4",
    "ruby3.2",
    "python3.8",
    "python3.9",
    "java17",
    "nodejs16.x",
    "dotnet10",
    "dotnet8",
    "java11",
    "dotnet6",
    "nodejs18.x",
    "provided.al2",
    "java8.al2",
];

/// A runtime identifier that appears in the API model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Runtime(&'static str);

impl Runtime {
    /// Parses a model identifier; `None` if the model does not know it.
    pub fn parse(s: &str) -> Option<Self> {
        ALL_RUNTIMES.iter().find(|r| **r == s).map(|r| Self(r))
    }

    /// The identifier as AWS spells it.
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// Whether AWS still accepts this runtime for creating or updating functions.
    pub fn is_supported(&self) -> bool {
        SUPPORTED_RUNTIMES.contains(&self.0)
    }

    /// Whether AWS offers SnapStart for it: Python from 3.12 on (and Java and .NET, which
    /// Lamina does not run).
    pub fn has_snap_start(&self) -> bool {
        self.as_str()
            .strip_prefix("python3.")
            .and_then(|minor| minor.parse::<u32>().ok())
            .is_some_and(|minor| minor >= 12)
    }

    /// The language family, which decides how an environment starts the runtime.
    pub fn family(&self) -> RuntimeFamily {
        let id = self.0;
        if id.starts_with("python") {
            RuntimeFamily::Python
        } else if id.starts_with("nodejs") {
            RuntimeFamily::NodeJs
        } else if id.starts_with("provided") {
            RuntimeFamily::Custom
        } else {
            RuntimeFamily::Other
        }
    }
}

/// How a runtime's environment is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuntimeFamily {
    /// `python*`: an interpreter runs Lamina's Python runtime client.
    Python,
    /// `nodejs*`.
    NodeJs,
    /// `provided*`: the function's (or a layer's) own `bootstrap`.
    Custom,
    /// Java, .NET, Ruby, Go and the other managed runtimes.
    Other,
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Architecture identifiers of the API model.
pub const ALL_ARCHITECTURES: [&str; 2] = ["x86_64", "arm64"];

/// An instruction-set architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Architecture {
    /// `x86_64`, AWS's default.
    #[default]
    X86_64,
    /// `arm64`
    Arm64,
}

impl Architecture {
    /// Parses the model's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "x86_64" => Some(Self::X86_64),
            "arm64" => Some(Self::Arm64),
            _ => None,
        }
    }

    /// The model's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_is_subset_of_all() {
        for r in SUPPORTED_RUNTIMES {
            assert!(Runtime::parse(r).is_some(), "{r}");
        }
        assert!(Runtime::parse("python3.8").is_some_and(|r| r.is_supported()));
        assert!(Runtime::parse("python2.7").is_some_and(|r| !r.is_supported()));
        assert!(Runtime::parse("cobol").is_none());
    }

    #[test]
    fn every_runtime_has_its_family() {
        let family = |id| Runtime::parse(id).map(|r| r.family());
        assert_eq!(family("python3.12"), Some(RuntimeFamily::Python));
        assert_eq!(family("nodejs20.x"), Some(RuntimeFamily::NodeJs));
        assert_eq!(family("provided.al2023"), Some(RuntimeFamily::Custom));
        assert_eq!(family("provided"), Some(RuntimeFamily::Custom));
        assert_eq!(family("java21"), Some(RuntimeFamily::Other));
        assert_eq!(family("ruby3.3"), Some(RuntimeFamily::Other));
    }

    #[test]
    fn supported_is_awss_list_in_awss_order() {
        assert_eq!(
            format!("[{}]", SUPPORTED_RUNTIMES.join(", ")),
            "[nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, nodejs24.x, \
             nodejs22.x, java25, python3.10, python3.11, java21, ruby3.3, ruby3.4, ruby3.2, \
             python3.8, python3.9, java17, nodejs16.x, dotnet10, dotnet8, java11, dotnet6, \
             nodejs18.x, provided.al2, java8.al2]"
        );
    }

    #[test]
    fn deprecated_and_al2023_java_are_model_values_but_not_supported() {
        for r in [
            "python3.7",
            "nodejs12.x",
            "java8",
            "go1.x",
            "provided",
            "java17.al2023",
        ] {
            let parsed = Runtime::parse(r);
            assert!(parsed.is_some_and(|p| !p.is_supported()), "{r}");
        }
    }
}
