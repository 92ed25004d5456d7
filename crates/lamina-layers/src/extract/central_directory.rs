//! The raw end-of-central-directory record and central directory, read beside the ZIP reader:
//! the entry count declared before the directory is parsed, and the first name stored twice.

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use zip::result::ZipError;

use super::{ExtractError, io_at};

/// End-of-central-directory record: signature, size, and offset of its entry count.
const EOCD_SIGNATURE: &[u8] = b"PK\x05\x06";
const EOCD_BYTES: usize = 22;
const EOCD_TOTAL_ENTRIES_AT: usize = 10;
const EOCD_COMMENT_LEN_AT: usize = 20;

/// ZIP64 end-of-central-directory locator and record.
const ZIP64_LOCATOR_SIGNATURE: &[u8] = b"PK\x06\x07";
const ZIP64_LOCATOR_BYTES: usize = 20;
const ZIP64_LOCATOR_OFFSET_AT: usize = 8;
const ZIP64_EOCD_SIGNATURE: &[u8] = b"PK\x06\x06";
const ZIP64_EOCD_BYTES: usize = 56;
const ZIP64_EOCD_TOTAL_ENTRIES_AT: usize = 32;

/// Central directory file header.
const CENTRAL_HEADER_SIGNATURE: &[u8] = b"PK\x01\x02";
const CENTRAL_HEADER_BYTES: usize = 46;

/// Maps an error from parsing the central directory.
pub(super) fn archive_error(error: ZipError, zip_path: &Path) -> ExtractError {
    match error {
        ZipError::Io(e)
            if !matches!(
                e.kind(),
                io::ErrorKind::InvalidData
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::UnexpectedEof
            ) =>
        {
            ExtractError::Io {
                path: zip_path.to_owned(),
                source: e,
            }
        }
        e => ExtractError::NotAZip {
            reason: e.to_string(),
        },
    }
}

/// The entry count the end-of-central-directory record declares, read before the directory
/// itself is parsed. `None` when a ZIP64 count cannot be found this way; the parsed directory
/// is then checked instead.
pub(super) fn declared_entry_count(
    file: &File,
    len: u64,
    zip_path: &Path,
) -> Result<Option<u64>, ExtractError> {
    let max_tail = (ZIP64_LOCATOR_BYTES + EOCD_BYTES + usize::from(u16::MAX)) as u64;
    let tail_len = len.min(max_tail);
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact_at(&mut tail, len - tail_len)
        .map_err(io_at(zip_path))?;

    // The last record whose comment ends the file, else the last record at all (some tools
    // append junk); the ZIP reader applies its own, finer rules next.
    let candidates: Vec<usize> = (0..tail.len().saturating_sub(EOCD_BYTES - 1))
        .rev()
        .filter(|&at| {
            tail.get(at..)
                .is_some_and(|rest| rest.starts_with(EOCD_SIGNATURE))
        })
        .collect();
    let exact = candidates.iter().copied().find(|&at| {
        le_u16(&tail, at + EOCD_COMMENT_LEN_AT)
            .is_some_and(|comment| at + EOCD_BYTES + usize::from(comment) == tail.len())
    });
    let Some(eocd) = exact.or(candidates.first().copied()) else {
        return Err(ExtractError::NotAZip {
            reason: "no end of central directory record".to_owned(),
        });
    };
    let total = le_u16(&tail, eocd + EOCD_TOTAL_ENTRIES_AT).unwrap_or(u16::MAX);
    if total != u16::MAX {
        return Ok(Some(total.into()));
    }

    let Some(locator) = eocd.checked_sub(ZIP64_LOCATOR_BYTES).filter(|&at| {
        tail.get(at..)
            .is_some_and(|rest| rest.starts_with(ZIP64_LOCATOR_SIGNATURE))
    }) else {
        return Ok(None);
    };
    let Some(record_at) = le_u64(&tail, locator + ZIP64_LOCATOR_OFFSET_AT) else {
        return Ok(None);
    };
    let mut record = [0u8; ZIP64_EOCD_BYTES];
    if file.read_exact_at(&mut record, record_at).is_err()
        || !record.starts_with(ZIP64_EOCD_SIGNATURE)
    {
        return Ok(None);
    }
    Ok(le_u64(&record, ZIP64_EOCD_TOTAL_ENTRIES_AT))
}

/// Finds the first name stored twice by walking the raw central directory, which the ZIP
/// reader collapses by name. Only used to name the culprit in an error.
pub(super) fn first_repeated_name(file: &File, dir_start: u64, len: u64) -> Option<String> {
    let size = usize::try_from(len.checked_sub(dir_start)?).ok()?;
    let mut dir = vec![0u8; size];
    file.read_exact_at(&mut dir, dir_start).ok()?;
    let mut seen = HashSet::new();
    let mut at = 0usize;
    while let Some(header) = dir.get(at..at + CENTRAL_HEADER_BYTES)
        && header.starts_with(CENTRAL_HEADER_SIGNATURE)
    {
        let name_len = usize::from(le_u16(header, 28)?);
        let extra_len = usize::from(le_u16(header, 30)?);
        let comment_len = usize::from(le_u16(header, 32)?);
        let name_at = at + CENTRAL_HEADER_BYTES;
        let name = dir.get(name_at..name_at + name_len)?;
        if !seen.insert(name) {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
        at = name_at + name_len + extra_len + comment_len;
    }
    None
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::test_support::{Fixture, LIMITS, Raw, pseudo_random_bytes, raw_zip};

    #[test]
    fn not_a_zip_is_refused() {
        let valid = raw_zip(&[Raw::file("a", b"a")]);
        let cases: [&[u8]; 4] = [
            b"",
            b"hello, this is not a zip file at all",
            &pseudo_random_bytes(100_000, 9),
            // Cut inside the central directory.
            &valid[..valid.len() - 30],
        ];
        for case in cases {
            let fixture = Fixture::new(case);
            let err = fixture.extract(&LIMITS).unwrap_err();
            assert!(matches!(err, ExtractError::NotAZip { .. }), "{err}");
        }
    }

    #[test]
    fn declared_count_is_checked_before_the_directory_is_parsed() {
        let mut zip = raw_zip(&[Raw::file("a", b"a")]);
        // Claim 60,000 entries in the end record; the directory holds one.
        let at = zip.len() - EOCD_BYTES;
        zip[at + 8..at + 12].copy_from_slice(&[0x60, 0xea, 0x60, 0xea]);
        let fixture = Fixture::new(&zip);
        let err = fixture.extract(&LIMITS).unwrap_err();
        assert!(
            matches!(err, ExtractError::TooManyEntries { count: 60_000, .. }),
            "{err}"
        );
    }
}
