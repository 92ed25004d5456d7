//! How ZIP ingest failures reach the client: hostile or broken archives are the client's
//! fault (400 with AWS's text and nothing else, as AWS answers), disk failures are ours (500).
//! What exactly was wrong with an archive goes to the server's log, where an operator can
//! look it up by the request id the client got.

use lamina_layers::{ExtractError, IngestError};
use lamina_types::LambdaError;
use lamina_types::limits::{MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES};

pub(crate) fn ingest_error(e: IngestError, member: &str) -> LambdaError {
    match e {
        IngestError::InvalidBase64 => {
            tracing::info!(member, reason = %e, "zip refused");
            LambdaError::bad_zip()
        }
        IngestError::TooLarge { .. } => LambdaError::RequestEntityTooLarge(format!(
            "Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes"
        )),
        IngestError::Write(e) => LambdaError::Service(format!("storing the zip failed: {e}")),
    }
}

pub(crate) fn extract_error(e: ExtractError, member: &str) -> LambdaError {
    match e {
        ExtractError::TooLarge { .. } => LambdaError::InvalidParameterValue(format!(
            "Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
        )),
        ExtractError::Io { .. } => {
            LambdaError::Service(format!("storing the extracted zip failed: {e}"))
        }
        // Everything else is a broken or hostile archive.
        client_fault => {
            tracing::info!(member, reason = %client_fault, "zip refused");
            LambdaError::bad_zip()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lamina_types::error::BAD_ZIP_MESSAGE;

    #[test]
    fn a_broken_archive_gets_awss_sentence_and_nothing_more() {
        let e = extract_error(
            ExtractError::NotAZip {
                reason: "no central directory".into(),
            },
            "ZipFile",
        );
        assert_eq!(e.type_name(), "InvalidParameterValueException");
        assert_eq!(e.message(), BAD_ZIP_MESSAGE);
        let e = extract_error(
            ExtractError::UnsafePath {
                name: "../etc/passwd".into(),
            },
            "Content.ZipFile",
        );
        assert_eq!(e.message(), BAD_ZIP_MESSAGE);
    }

    #[test]
    fn invalid_base64_gets_awss_sentence_and_nothing_more() {
        let e = ingest_error(IngestError::InvalidBase64, "Code.ZipFile");
        assert_eq!(e.type_name(), "InvalidParameterValueException");
        assert_eq!(e.message(), BAD_ZIP_MESSAGE);
    }

    #[test]
    fn an_oversize_archive_keeps_its_own_message() {
        let e = extract_error(
            ExtractError::TooLarge {
                name: "python/big.bin".into(),
                limit: MAX_UNZIPPED_BYTES,
            },
            "ZipFile",
        );
        assert_eq!(
            e.message(),
            format!("Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
        );
    }
}
