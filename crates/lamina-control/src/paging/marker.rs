//! Opaque pagination markers. Clients must treat them as opaque, so their shape is free;
//! a prefix per listing keeps a marker from one listing from meaning anything in another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lamina_types::LambdaError;

use super::invalid_marker;

/// Encodes a listing position.
pub(crate) fn encode(listing: &str, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{listing}:{position}"))
}

/// Decodes a marker made by [`encode`] for the same listing.
pub(crate) fn decode(listing: &str, marker: &str) -> Result<String, LambdaError> {
    let invalid = || invalid_marker(marker);
    let bytes = URL_SAFE_NO_PAD.decode(marker).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(listing)
        .and_then(|rest| rest.strip_prefix(':'))
        .map(str::to_owned)
        .ok_or_else(invalid)
}

/// Decodes a marker whose position is a version number (the version listings).
pub(crate) fn decode_version(listing: &str, marker: &str) -> Result<i64, LambdaError> {
    decode(listing, marker)?
        .parse::<i64>()
        .map_err(|_| invalid_marker(marker))
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

    #[test]
    fn a_version_marker_holds_a_number() {
        assert_eq!(decode_version("versions", &encode("versions", "7")), Ok(7));
        let e = decode_version("versions", &encode("versions", "seven")).unwrap_err();
        assert!(
            e.message().starts_with("Invalid marker: "),
            "{}",
            e.message()
        );
    }
}
