//! Cutting a runtime's output into log events, as CloudWatch does: one event per line, and a
//! line longer than [`MAX_EVENT_BYTES`] split into events of at most that size.
//!
//! Each byte is looked at once and copied at most once, so output without newlines costs
//! O(bytes) however it arrives, and at most one event's worth of a line is held.

/// Largest log event (AWS: 256 KB per CloudWatch log event); longer lines are split.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// Splits a byte stream into events; keeps the unfinished line between chunks.
#[derive(Default)]
pub struct EventSplitter {
    /// The line begun in earlier chunks, at most [`MAX_EVENT_BYTES`].
    partial: Vec<u8>,
    /// Bytes searched for a newline so far (each byte once).
    scanned: u64,
    /// Bytes copied into `partial` so far (each byte at most once).
    copied: u64,
}

impl EventSplitter {
    /// Feeds the next chunk of output; `emit` gets each complete event, without its newline.
    pub fn feed(&mut self, mut chunk: &[u8], mut emit: impl FnMut(&[u8])) {
        while let Some(end) = chunk.iter().position(|b| *b == b'\n') {
            self.scanned += end as u64 + 1;
            let line = &chunk[..end];
            if self.partial.is_empty() {
                emit_split(line, &mut emit);
            } else {
                self.append(line, &mut emit);
                emit(&self.partial);
                self.partial.clear();
            }
            chunk = &chunk[end + 1..];
        }
        self.scanned += chunk.len() as u64;
        self.append(chunk, &mut emit);
    }

    /// Emits the unfinished line, if any, as an event (at the end of an invocation or of the
    /// output).
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.partial.is_empty() {
            emit(&self.partial);
            self.partial.clear();
        }
    }

    /// Bytes searched for newlines so far: equal to the bytes fed, never more.
    pub fn scanned(&self) -> u64 {
        self.scanned
    }

    /// Bytes copied into the unfinished line so far: at most the bytes fed.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn copied(&self) -> u64 {
        self.copied
    }

    /// Adds bytes of an unfinished line, emitting a full event each time the line outgrows
    /// [`MAX_EVENT_BYTES`].
    fn append(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(&[u8])) {
        loop {
            let room = MAX_EVENT_BYTES - self.partial.len();
            if bytes.len() <= room {
                self.partial.extend_from_slice(bytes);
                self.copied += bytes.len() as u64;
                return;
            }
            self.partial.extend_from_slice(&bytes[..room]);
            self.copied += room as u64;
            bytes = &bytes[room..];
            // More of the line follows a full event: emit it, carrying over the bytes of a
            // character the cut would split (at most 3).
            let cut = event_end(&self.partial, bytes.first().copied());
            emit(&self.partial[..cut]);
            self.partial.drain(..cut);
        }
    }
}

/// Emits a complete line as events of at most [`MAX_EVENT_BYTES`].
fn emit_split(mut line: &[u8], emit: &mut impl FnMut(&[u8])) {
    while line.len() > MAX_EVENT_BYTES {
        let cut = event_end(&line[..MAX_EVENT_BYTES], line.get(MAX_EVENT_BYTES).copied());
        emit(&line[..cut]);
        line = &line[cut..];
    }
    emit(line);
}

/// Where a full event of `full` ends, `next` being the byte after it: before a UTF-8
/// character the cut would split, when `full` ends inside one (so both events stay valid
/// text); at the full length otherwise, or when the bytes are not UTF-8 anyway.
fn event_end(full: &[u8], next: Option<u8>) -> usize {
    let is_continuation = |b: u8| b & 0xC0 == 0x80;
    if !next.is_some_and(is_continuation) {
        return full.len();
    }
    // The character began in the last 3 bytes; cut before its first byte.
    (1..=3)
        .map(|back| full.len() - back)
        .find(|&at| full.get(at).is_some_and(|b| !is_continuation(*b)))
        .filter(|&at| at > 0)
        .unwrap_or(full.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events_of(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, EventSplitter) {
        let mut splitter = EventSplitter::default();
        let mut events = Vec::new();
        for chunk in chunks {
            splitter.feed(chunk, |e| events.push(e.to_vec()));
        }
        splitter.finish(|e| events.push(e.to_vec()));
        (events, splitter)
    }

    #[test]
    fn lines_become_events_across_chunks() {
        let (events, _) = events_of(&[b"one\ntw", b"o\n\nthr", b"ee"]);
        assert_eq!(events, [&b"one"[..], b"two", b"", b"three"]);
    }

    #[test]
    fn a_1_mb_line_without_newline_is_four_events_of_256_kb() {
        let line = vec![b'x'; 1 << 20];
        let chunks: Vec<&[u8]> = line.chunks(16 * 1024).collect();
        let (events, _) = events_of(&chunks);
        assert_eq!(events.len(), 4);
        assert!(events.iter().all(|e| e.len() == MAX_EVENT_BYTES));
    }

    #[test]
    fn a_long_line_in_one_chunk_is_split_the_same_way() {
        let mut text = vec![b'y'; MAX_EVENT_BYTES * 2 + 10];
        text.push(b'\n');
        let (events, _) = events_of(&[&text]);
        let sizes: Vec<usize> = events.iter().map(Vec::len).collect();
        assert_eq!(sizes, [MAX_EVENT_BYTES, MAX_EVENT_BYTES, 10]);
    }

    #[test]
    fn a_line_of_exactly_one_event_is_one_event() {
        let mut text = vec![b'z'; MAX_EVENT_BYTES];
        text.push(b'\n');
        for chunks in [vec![&text[..]], text.chunks(1000).collect()] {
            let (events, _) = events_of(&chunks);
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].len(), MAX_EVENT_BYTES);
        }
    }

    #[test]
    fn a_split_never_cuts_a_character() {
        // 'é' is 2 bytes: one byte of padding puts a character across the 256 KB mark.
        let mut text = b"a".to_vec();
        text.extend("é".repeat(MAX_EVENT_BYTES).as_bytes());
        for chunks in [vec![&text[..]], text.chunks(4096).collect()] {
            let (events, _) = events_of(&chunks);
            assert_eq!(events[0].len(), MAX_EVENT_BYTES - 1);
            assert!(events.iter().all(|e| std::str::from_utf8(e).is_ok()));
            assert_eq!(events.concat(), text);
        }
    }

    #[test]
    fn output_without_newlines_is_scanned_and_copied_once() {
        const FED: u64 = 64 << 20;
        let chunk = vec![b'x'; 16 * 1024];
        let mut splitter = EventSplitter::default();
        let mut emitted = 0u64;
        for _ in 0..FED / chunk.len() as u64 {
            splitter.feed(&chunk, |e| emitted += e.len() as u64);
        }
        splitter.finish(|e| emitted += e.len() as u64);
        assert_eq!(splitter.scanned(), FED);
        assert_eq!(splitter.copied(), FED);
        assert_eq!(emitted, FED);
        assert!(splitter.partial.capacity() <= 2 * MAX_EVENT_BYTES);
    }

    #[test]
    fn complete_lines_are_not_copied() {
        let text = "a line\n".repeat(10_000);
        let (events, splitter) = events_of(&[text.as_bytes()]);
        assert_eq!(events.len(), 10_000);
        assert_eq!(splitter.copied(), 0);
        assert_eq!(splitter.scanned(), text.len() as u64);
    }
}
