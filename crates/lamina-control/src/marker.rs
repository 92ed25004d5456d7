//! Opaque pagination markers. Clients must treat them as opaque, so their shape is free;
//! a prefix per listing keeps a marker from one listing from meaning anything in another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lamina_types::LambdaError;

/// Encodes a listing position.
pub fn encode(listing: &str, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{listing}:{position}"))
}

/// Decodes a marker made by [`encode`] for the same listing.
pub fn decode(listing: &str, marker: &str) -> Result<String, LambdaError> {
    let invalid = || LambdaError::InvalidParameterValue(format!("Invalid marker: {marker}"));
    let bytes = URL_SAFE_NO_PAD.decode(marker).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(listing)
        .and_then(|rest| rest.strip_prefix(':'))
        .map(str::to_owned)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refuse_foreign() {
        let m = encode("versions", "7");
        assert_eq!(decode("versions", &m).unwrap(), "7");
        assert!(decode("layers", &m).is_err());
        assert!(decode("layers", "!!").is_err());
    }
}
