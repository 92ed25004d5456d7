//! Paging tokens of the Logs operations. An event's place is its timestamp and how many events
//! of the same millisecond came before it (in its stream, or in the group for
//! FilterLogEvents): unlike an offset in a file, it stays true while older files rotate away.

use super::LogsError;

/// The place of an event: its timestamp, and its rank among the events of that millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// Events of the same timestamp before it.
    pub rank: u32,
}

/// Which way a GetLogEvents token reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the place on (`f/`).
    Forward,
    /// Before the place (`b/`).
    Backward,
}

/// The places of events in order: each event's timestamp and its rank within that
/// millisecond.
pub fn places(timestamps: impl IntoIterator<Item = i64>) -> Vec<Place> {
    let mut out: Vec<Place> = Vec::new();
    for timestamp in timestamps {
        let rank = match out.last() {
            Some(last) if last.timestamp == timestamp => last.rank + 1,
            _ => 0,
        };
        out.push(Place { timestamp, rank });
    }
    out
}

/// A GetLogEvents token: `f/` or `b/`, then the place (AWS's tokens also start so).
pub fn stream_token(direction: Direction, place: Place) -> String {
    let d = match direction {
        Direction::Forward => 'f',
        Direction::Backward => 'b',
    };
    format!("{d}/{}/{}", place.timestamp, place.rank)
}

/// Reads a GetLogEvents token.
pub fn parse_stream_token(token: &str) -> Result<(Direction, Place), LogsError> {
    let (direction, place) = match token.split_once('/') {
        Some(("f", rest)) => (Direction::Forward, rest),
        Some(("b", rest)) => (Direction::Backward, rest),
        _ => return Err(invalid_token()),
    };
    Ok((direction, parse_place(place)?))
}

/// A FilterLogEvents token: the place of the next event to return.
pub fn filter_token(place: Place) -> String {
    format!("{}/{}", place.timestamp, place.rank)
}

/// Reads a FilterLogEvents token.
pub fn parse_filter_token(token: &str) -> Result<Place, LogsError> {
    parse_place(token)
}

/// A listing's token: how many items came before the next page.
pub fn offset_token(offset: usize) -> String {
    format!("o/{offset}")
}

/// Reads a listing's token.
pub fn parse_offset_token(token: &str) -> Result<usize, LogsError> {
    token
        .strip_prefix("o/")
        .and_then(|n| n.parse().ok())
        .ok_or_else(invalid_token)
}

fn parse_place(text: &str) -> Result<Place, LogsError> {
    let (timestamp, rank) = text.split_once('/').ok_or_else(invalid_token)?;
    Ok(Place {
        timestamp: timestamp.parse().map_err(|_| invalid_token())?,
        rank: rank.parse().map_err(|_| invalid_token())?,
    })
}

/// Guessed: AWS's text for a token it did not issue.
fn invalid_token() -> LogsError {
    LogsError::InvalidParameter("The specified nextToken is invalid.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_of_one_millisecond_are_ranked() {
        let p = places([5, 5, 6, 6, 6, 9]);
        let ranks: Vec<u32> = p.iter().map(|p| p.rank).collect();
        assert_eq!(ranks, [0, 1, 0, 1, 2, 0]);
        assert!(p.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn tokens_read_back() {
        let place = Place {
            timestamp: 1_700_000_000_123,
            rank: 4,
        };
        let token = stream_token(Direction::Backward, place);
        assert_eq!(token, "b/1700000000123/4");
        assert_eq!(
            parse_stream_token(&token).unwrap(),
            (Direction::Backward, place)
        );
        assert_eq!(parse_filter_token(&filter_token(place)).unwrap(), place);
        assert_eq!(parse_offset_token(&offset_token(50)).unwrap(), 50);
    }

    #[test]
    fn foreign_tokens_are_refused() {
        for bad in ["", "x/1/2", "f/1", "f/a/b", "1/2/3/4", "o/x"] {
            assert!(parse_stream_token(bad).is_err(), "{bad}");
        }
        assert!(parse_filter_token("abc").is_err());
        assert!(parse_offset_token("5").is_err());
    }
}
