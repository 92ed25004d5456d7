//! AWS's asynchronous state model of a function version: `State` (Pending, Active, Failed)
//! and `LastUpdateStatus` (InProgress, Successful, Failed), with their reasons.
//!
//! A function is recorded `Pending` (create) or `InProgress` (update) and settles once its
//! code and layers are ready to run. The transitions are decided here, so the control plane
//! and the store agree on them.

use serde::{Deserialize, Serialize};

/// `State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// Being created: not invocable, not updatable.
    Pending,
    /// Ready to run.
    Active,
    /// Creation failed: the reason says why.
    Failed,
}

/// `LastUpdateStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateStatus {
    /// An update is being prepared; invocations run the previous code and configuration.
    InProgress,
    /// The last update (or the creation) is in effect.
    Successful,
    /// The last update could not be prepared; the previous code and configuration stay.
    Failed,
}

/// `StateReasonCode` / `LastUpdateStatusReasonCode`: the values of the model's enum that
/// Lamina emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReasonCode {
    /// Being created or updated.
    Creating,
    /// The runtime cannot run on this server.
    InvalidRuntime,
    /// The code or a layer could not be made ready.
    InternalError,
    /// The function's Init failed while its SnapStart snapshot was made.
    FunctionError,
    /// The function's Init did not finish in time while its SnapStart snapshot was made.
    InitTimeout,
}

impl State {
    /// The model's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Active => "Active",
            Self::Failed => "Failed",
        }
    }
}

impl UpdateStatus {
    /// The model's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "InProgress",
            Self::Successful => "Successful",
            Self::Failed => "Failed",
        }
    }
}

impl ReasonCode {
    /// The model's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "Creating",
            Self::InvalidRuntime => "InvalidRuntime",
            Self::InternalError => "InternalError",
            Self::FunctionError => "FunctionError",
            Self::InitTimeout => "FunctionError.InitTimeout",
        }
    }
}

/// A reason code with its human-readable text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// `...ReasonCode`.
    pub code: ReasonCode,
    /// `...Reason`.
    pub text: String,
}

/// AWS's text for both a creation and an update being prepared.
pub const CREATING_REASON: &str = "The function is being created.";

/// Why a function version could not be made ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady(pub Reason);

/// The state members of one function version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionStatus {
    /// `State`.
    pub state: State,
    /// `StateReason` and `StateReasonCode`; absent while `Active`.
    pub state_reason: Option<Reason>,
    /// `LastUpdateStatus`; absent until the first settling, as on AWS.
    pub last_update: Option<UpdateStatus>,
    /// `LastUpdateStatusReason` and `LastUpdateStatusReasonCode`.
    pub last_update_reason: Option<Reason>,
}

impl FunctionStatus {
    /// A function CreateFunction has just recorded.
    pub fn creating() -> Self {
        Self {
            state: State::Pending,
            state_reason: Some(creating()),
            last_update: None,
            last_update_reason: None,
        }
    }

    /// Ready, with nothing in progress (also what every stored version had before the state
    /// model existed).
    pub fn active() -> Self {
        Self {
            state: State::Active,
            state_reason: None,
            last_update: Some(UpdateStatus::Successful),
            last_update_reason: None,
        }
    }

    /// The status after an update was accepted: `InProgress`, the state unchanged.
    pub fn updating(&self) -> Self {
        Self {
            state: self.state,
            state_reason: self.state_reason.clone(),
            last_update: Some(UpdateStatus::InProgress),
            last_update_reason: Some(creating()),
        }
    }

    /// The status of a version just published from a `$LATEST` with this status: ready
    /// when `$LATEST` is, else being created along with it (CreateFunction or
    /// UpdateFunctionCode with `Publish`).
    pub fn for_new_version(&self) -> Self {
        if self.is_settling() {
            Self::creating()
        } else {
            Self::active()
        }
    }

    /// Whether a creation or an update is still being prepared.
    pub fn is_settling(&self) -> bool {
        self.state == State::Pending || self.last_update == Some(UpdateStatus::InProgress)
    }

    /// The status once preparation ended with `outcome`. A failed creation fails the
    /// function; a failed update leaves the state as it was (the previous code and
    /// configuration stay in effect).
    pub fn settled(&self, outcome: Result<(), NotReady>) -> Self {
        match (outcome, self.state) {
            (Ok(()), _) => Self::active(),
            (Err(NotReady(reason)), State::Pending) => Self {
                state: State::Failed,
                state_reason: Some(reason.clone()),
                last_update: Some(UpdateStatus::Failed),
                last_update_reason: Some(reason),
            },
            (Err(NotReady(reason)), state) => Self {
                state,
                state_reason: self.state_reason.clone(),
                last_update: Some(UpdateStatus::Failed),
                last_update_reason: Some(reason),
            },
        }
    }
}

fn creating() -> Reason {
    Reason {
        code: ReasonCode::Creating,
        text: CREATING_REASON.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_runtime() -> NotReady {
        NotReady(Reason {
            code: ReasonCode::InvalidRuntime,
            text: "no".to_owned(),
        })
    }

    #[test]
    fn a_creation_settles_active_or_failed() {
        let created = FunctionStatus::creating();
        assert!(created.is_settling());
        assert_eq!(created.last_update, None);
        assert_eq!(created.settled(Ok(())), FunctionStatus::active());
        let failed = created.settled(Err(invalid_runtime()));
        assert_eq!(failed.state, State::Failed);
        assert_eq!(failed.last_update, Some(UpdateStatus::Failed));
        assert!(!failed.is_settling());
    }

    #[test]
    fn a_failed_update_keeps_the_state() {
        let updating = FunctionStatus::active().updating();
        assert!(updating.is_settling());
        assert_eq!(updating.state, State::Active);
        let failed = updating.settled(Err(invalid_runtime()));
        assert_eq!(failed.state, State::Active);
        assert_eq!(failed.state_reason, None);
        assert_eq!(failed.last_update, Some(UpdateStatus::Failed));
        assert_eq!(
            failed.last_update_reason.map(|r| r.code),
            Some(ReasonCode::InvalidRuntime)
        );
    }

    #[test]
    fn an_update_of_a_failed_function_can_make_it_active() {
        let failed = FunctionStatus::creating().settled(Err(invalid_runtime()));
        let updating = failed.updating();
        assert_eq!(updating.state, State::Failed);
        assert_eq!(updating.settled(Ok(())), FunctionStatus::active());
    }
}
