//! Paging of the Logs operations: page sizes, and tokens. An event's place is its timestamp
//! and how many events of the same millisecond came before it (in its stream, or in the group
//! for FilterLogEvents): unlike an offset in a file, it stays true while older files rotate
//! away.

use super::{LogEvent, LogsError, MAX_PAGE_BYTES};

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

/// `limit` checked against 1..=`max`; `max` when not given.
pub fn page_limit(limit: Option<i64>, max: usize) -> Result<usize, LogsError> {
    match limit {
        None => Ok(max),
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                LogsError::InvalidParameter(format!(
                    "1 validation error detected: Value '{n}' at 'limit' failed to satisfy \
                     constraint: Member must have value {}",
                    if n < 1 {
                        "greater than or equal to 1".to_owned()
                    } else {
                        format!("less than or equal to {max}")
                    }
                ))
            }),
    }
}

/// The end of a page starting at `from`: at most `limit` events and [`MAX_PAGE_BYTES`].
pub fn fit_forward(events: &[(Place, LogEvent)], from: usize, limit: usize) -> usize {
    let mut bytes = 0;
    let mut to = from;
    while to < events.len() && to - from < limit {
        bytes += events[to].1.message.len();
        if bytes > MAX_PAGE_BYTES && to > from {
            break;
        }
        to += 1;
    }
    to
}

/// The start of a page ending at `to`: at most `limit` events and [`MAX_PAGE_BYTES`].
pub fn fit_backward(events: &[(Place, LogEvent)], to: usize, limit: usize) -> usize {
    let mut bytes = 0;
    let mut from = to;
    while from > 0 && to - from < limit {
        bytes += events[from - 1].1.message.len();
        if bytes > MAX_PAGE_BYTES && from < to {
            break;
        }
        from -= 1;
    }
    from
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
    fn a_page_holds_at_most_its_limit_and_a_megabyte() {
        let event = |n: usize| LogEvent {
            stream: "s".into(),
            timestamp: 1,
            ingestion_time: 1,
            message: "x".repeat(n),
        };
        let small: Vec<(Place, LogEvent)> = places([1; 10])
            .into_iter()
            .zip((0..10).map(|_| event(1)))
            .collect();
        assert_eq!(fit_forward(&small, 2, 5), 7);
        assert_eq!(fit_backward(&small, 10, 3), 7);
        let big: Vec<(Place, LogEvent)> = places([1; 3])
            .into_iter()
            .zip((0..3).map(|_| event(MAX_PAGE_BYTES / 2 + 1)))
            .collect();
        assert_eq!(fit_forward(&big, 0, 100), 1);
        assert_eq!(fit_backward(&big, 3, 100), 2);
        // One event larger than a page still makes a page of its own.
        let huge = vec![(
            Place {
                timestamp: 1,
                rank: 0,
            },
            event(MAX_PAGE_BYTES + 1),
        )];
        assert_eq!(fit_forward(&huge, 0, 100), 1);
        assert_eq!(page_limit(None, 50).unwrap(), 50);
        assert_eq!(page_limit(Some(50), 50).unwrap(), 50);
        assert!(page_limit(Some(51), 50).is_err());
        assert!(page_limit(Some(0), 50).is_err());
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
