//! Settings kept beside a function's versions rather than in them: the recursive loop
//! setting (`PutFunctionRecursionConfig`, one per function) and the runtime update mode
//! (`PutRuntimeManagementConfig`, one per version).

/// `RecursiveLoop`: what Lambda does when it finds the function in a recursive loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecursiveLoop {
    /// The loop may go on.
    Allow,
    /// The loop is stopped (AWS's default).
    #[default]
    Terminate,
}

impl RecursiveLoop {
    /// The model's enumeration, in its order.
    pub const NAMES: [&'static str; 2] = ["Allow", "Terminate"];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "Allow",
            Self::Terminate => "Terminate",
        }
    }

    /// Reads a wire name; `None` for anything outside the enumeration.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Allow" => Some(Self::Allow),
            "Terminate" => Some(Self::Terminate),
            _ => None,
        }
    }
}

/// `UpdateRuntimeOn`: when a version moves to a newer runtime version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpdateRuntimeOn {
    /// As soon as one is released (AWS's default).
    #[default]
    Auto,
    /// At the function's next update.
    FunctionUpdate,
    /// Never: the version stays on `RuntimeVersionArn`.
    Manual,
}

impl UpdateRuntimeOn {
    /// The model's enumeration, in its order.
    pub const NAMES: [&'static str; 3] = ["Auto", "Manual", "FunctionUpdate"];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "Auto",
            Self::FunctionUpdate => "FunctionUpdate",
            Self::Manual => "Manual",
        }
    }

    /// Reads a wire name; `None` for anything outside the enumeration.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Auto" => Some(Self::Auto),
            "FunctionUpdate" => Some(Self::FunctionUpdate),
            "Manual" => Some(Self::Manual),
            _ => None,
        }
    }
}

/// One version's runtime management configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuntimeManagement {
    /// `UpdateRuntimeOn`.
    pub update_runtime_on: UpdateRuntimeOn,
    /// `RuntimeVersionArn`: only with [`UpdateRuntimeOn::Manual`].
    pub runtime_version_arn: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for name in RecursiveLoop::NAMES {
            assert_eq!(
                RecursiveLoop::parse(name).map(RecursiveLoop::as_str),
                Some(name)
            );
        }
        for name in UpdateRuntimeOn::NAMES {
            assert_eq!(
                UpdateRuntimeOn::parse(name).map(UpdateRuntimeOn::as_str),
                Some(name)
            );
        }
        assert_eq!(RecursiveLoop::parse("allow"), None);
        assert_eq!(UpdateRuntimeOn::parse(""), None);
        assert_eq!(RecursiveLoop::default(), RecursiveLoop::Terminate);
        assert_eq!(UpdateRuntimeOn::default(), UpdateRuntimeOn::Auto);
    }
}
