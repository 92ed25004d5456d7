//! How ZIP ingest failures reach the client: hostile or broken archives are the client's
//! fault (400 with AWS's text plus what was wrong), disk failures are ours (500).

use lamina_layers::{ExtractError, IngestError};
use lamina_types::LambdaError;
use lamina_types::error::BAD_ZIP_MESSAGE;
use lamina_types::limits::{MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES};

pub(crate) fn ingest_error(e: IngestError, member: &str) -> LambdaError {
    match e {
        IngestError::InvalidBase64 => LambdaError::InvalidParameterValue(format!(
            "{BAD_ZIP_MESSAGE} ({member} is not valid base64)"
        )),
        IngestError::TooLarge { .. } => LambdaError::RequestEntityTooLarge(format!(
            "Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes"
        )),
        IngestError::Write(e) => LambdaError::Service(format!("storing the zip failed: {e}")),
    }
}

pub(crate) fn extract_error(e: ExtractError) -> LambdaError {
    match e {
        ExtractError::TooLarge { .. } => LambdaError::InvalidParameterValue(format!(
            "Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
        )),
        ExtractError::Io { .. } => {
            LambdaError::Service(format!("storing the extracted zip failed: {e}"))
        }
        // Everything else is a broken or hostile archive: AWS's sentence, then what we found,
        // so the user can fix the archive rather than guess.
        client_fault => {
            LambdaError::InvalidParameterValue(format!("{BAD_ZIP_MESSAGE} ({client_fault})"))
        }
    }
}
