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

/// The instant of a timestamp [`format_millis`] wrote, in milliseconds since the Unix epoch;
/// `None` when `stamp` is not of that form.
pub fn parse_millis(stamp: &str) -> Option<i64> {
    // Fixed positions: `YYYY-MM-DDTHH:MM:SS.mmm+0000` (the `time` crate's parser is a feature
    // this workspace does not build).
    let b = stamp.as_bytes();
    if b.len() != 28 || &stamp[23..] != "+0000" {
        return None;
    }
    let separators = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ];
    if separators.iter().any(|(i, c)| b[*i] != *c) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u16> {
        let digits = &stamp[range];
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())
            .flatten()
    };
    let month = time::Month::try_from(u8::try_from(number(5..7)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(
        i32::from(number(0..4)?),
        month,
        u8::try_from(number(8..10)?).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms_milli(
        u8::try_from(number(11..13)?).ok()?,
        u8::try_from(number(14..16)?).ok()?,
        u8::try_from(number(17..19)?).ok()?,
        number(20..23)?,
    )
    .ok()?;
    let instant = time::PrimitiveDateTime::new(date, clock).assume_utc();
    i64::try_from(instant.unix_timestamp_nanos() / 1_000_000).ok()
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

    #[test]
    fn parses_what_it_formats() {
        assert_eq!(
            parse_millis("2018-11-14T23:03:52.894+0000"),
            Some(1_542_236_632_894)
        );
        assert_eq!(parse_millis("2018-11-14 23:03:52"), None);
    }
}
