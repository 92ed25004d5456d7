//! The timestamp format of Lambda's JSON bodies: `2018-11-14T23:03:52.894+0000`.

use time::OffsetDateTime;
use time::macros::format_description;

/// Formats a UTC instant, given in milliseconds since the Unix epoch, as Lambda does.
pub fn format_millis(epoch_millis: i64) -> String {
    let nanos = i128::from(epoch_millis) * 1_000_000;
    let instant =
        OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    instant
        .format(&format)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000+0000"))
}

/// The current time in milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_lambda() {
        assert_eq!(
            format_millis(1_542_236_632_894),
            "2018-11-14T23:03:52.894+0000"
        );
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000+0000");
    }
}
