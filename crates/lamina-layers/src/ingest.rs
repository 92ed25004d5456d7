//! Decodes an inline base64 `ZipFile` into a writer, hashing the bytes on the way.

use std::io::Write;
use std::sync::mpsc;
use std::thread;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lamina_types::layer::Digest;
use sha2::{Digest as _, Sha256};

/// Base64 characters decoded per step: a multiple of 4, so every chunk but the last decodes on
/// its own, and 65,535 decoded bytes, so the output buffer stays at 64 KiB.
const ENCODED_CHUNK_BYTES: usize = 87_380;

/// Decoded bytes produced by one full chunk.
const DECODED_CHUNK_BYTES: usize = ENCODED_CHUNK_BYTES / 4 * 3;

/// What was written: the SHA-256 of the decoded bytes and their count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodedZip {
    /// SHA-256 of the decoded bytes.
    pub digest: Digest,
    /// Number of decoded bytes.
    pub size: u64,
}

/// Why decoding failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The member is not valid base64.
    #[error("invalid base64")]
    InvalidBase64,
    /// The decoded ZIP would exceed `limit` bytes.
    #[error("zip exceeds {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Writing the decoded bytes failed.
    #[error("write decoded zip")]
    Write(#[source] std::io::Error),
}

/// Decodes `encoded` (standard base64 with padding) into `out` in bounded chunks, hashing as
/// it goes. Fails before writing anything if the decoded size would exceed `max_decoded`.
///
/// The input must be canonical: a multiple of 4 characters, `=` only as the final one or two,
/// no whitespace. An invalid character anywhere, including in the last chunk, fails with
/// [`IngestError::InvalidBase64`], possibly after earlier chunks were written; the caller
/// discards `out` on any error. Inputs over 256 KiB are hashed on a second thread while the
/// calling thread decodes and writes. Memory use is at most three 64 KiB buffers whatever the
/// input size.
pub fn decode_base64_into(
    encoded: &[u8],
    out: &mut impl Write,
    max_decoded: u64,
) -> Result<DecodedZip, IngestError> {
    let size = decoded_len(encoded).ok_or(IngestError::InvalidBase64)?;
    if size > max_decoded {
        return Err(IngestError::TooLarge { limit: max_decoded });
    }
    let digest = if encoded.len() < PARALLEL_HASH_MIN_BYTES {
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; DECODED_CHUNK_BYTES];
        for chunk in Chunks::new(encoded) {
            let decoded = chunk.decode_into(&mut buf)?;
            hasher.update(decoded);
            out.write_all(decoded).map_err(IngestError::Write)?;
        }
        hasher.finalize().into()
    } else {
        decode_hashing_in_parallel(encoded, out)?
    };
    Ok(DecodedZip {
        digest: Digest(digest),
        size,
    })
}

/// Base64 input below which hashing stays on the calling thread, in bytes.
const PARALLEL_HASH_MIN_BYTES: usize = 256 * 1024;

/// Decoded buffers in flight between the decoding and the hashing thread.
const BUFFERS_IN_FLIGHT: usize = 3;

/// Decodes and writes on this thread while another hashes; buffers go round between them.
fn decode_hashing_in_parallel(
    encoded: &[u8],
    out: &mut impl Write,
) -> Result<[u8; 32], IngestError> {
    thread::scope(|scope| {
        let (to_hash, decoded) = mpsc::sync_channel::<Vec<u8>>(BUFFERS_IN_FLIGHT);
        let (to_reuse, reusable) = mpsc::sync_channel::<Vec<u8>>(BUFFERS_IN_FLIGHT);
        let hasher = scope.spawn(move || {
            let mut hasher = Sha256::new();
            for buf in decoded {
                hasher.update(&buf);
                // Fails only once the decoding side has stopped, which needs no more buffers.
                let _ = to_reuse.send(buf);
            }
            hasher.finalize()
        });

        // `feed` owns `to_hash`, so the hasher's loop ends when it returns, on error too.
        let fed = feed(encoded, out, to_hash, &reusable);
        let digest = hasher
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        fed.map(|()| digest.into())
    })
}

/// Decodes each chunk into a buffer (three new ones, then those the hasher hands back),
/// writes it to `out` and passes it on to the hasher.
fn feed(
    encoded: &[u8],
    out: &mut impl Write,
    to_hash: mpsc::SyncSender<Vec<u8>>,
    reusable: &mpsc::Receiver<Vec<u8>>,
) -> Result<(), IngestError> {
    for (n, chunk) in Chunks::new(encoded).enumerate() {
        let mut buf = if n < BUFFERS_IN_FLIGHT {
            Vec::new()
        } else {
            reusable.recv().unwrap_or_default()
        };
        buf.resize(DECODED_CHUNK_BYTES, 0);
        let len = chunk.decode_into(&mut buf)?.len();
        buf.truncate(len);
        out.write_all(&buf).map_err(IngestError::Write)?;
        if to_hash.send(buf).is_err() {
            break;
        }
    }
    Ok(())
}

/// The input split into chunks of `ENCODED_CHUNK_BYTES`.
struct Chunks<'a> {
    inner: std::iter::Peekable<std::slice::Chunks<'a, u8>>,
}

impl<'a> Chunks<'a> {
    fn new(encoded: &'a [u8]) -> Self {
        Self {
            inner: encoded.chunks(ENCODED_CHUNK_BYTES).peekable(),
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Chunk<'a>;

    fn next(&mut self) -> Option<Chunk<'a>> {
        let encoded = self.inner.next()?;
        Some(Chunk {
            encoded,
            last: self.inner.peek().is_none(),
        })
    }
}

/// One chunk of base64 and whether padding may end it.
struct Chunk<'a> {
    encoded: &'a [u8],
    last: bool,
}

impl Chunk<'_> {
    /// Decodes into `buf` (`DECODED_CHUNK_BYTES` long) and returns the decoded bytes.
    fn decode_into<'b>(&self, buf: &'b mut [u8]) -> Result<&'b [u8], IngestError> {
        let n = STANDARD
            .decode_slice(self.encoded, &mut *buf)
            .map_err(|_| IngestError::InvalidBase64)?;
        // A full chunk that decodes short ended in padding, which only the last may hold.
        if n != DECODED_CHUNK_BYTES && !self.last {
            return Err(IngestError::InvalidBase64);
        }
        buf.get(..n).ok_or(IngestError::InvalidBase64)
    }
}

/// The exact decoded length of canonical padded base64, or `None` if the length cannot be one
/// (not a multiple of 4). Invalid characters are found later, while decoding.
fn decoded_len(encoded: &[u8]) -> Option<u64> {
    if !encoded.len().is_multiple_of(4) {
        return None;
    }
    let padding = encoded
        .iter()
        .rev()
        .take(2)
        .take_while(|&&b| b == b'=')
        .count();
    let len = (encoded.len() / 4 * 3).checked_sub(padding)?;
    u64::try_from(len).ok()
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    /// A small deterministic generator, so failures reproduce.
    fn pseudo_random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed.to_le_bytes()[3]
            })
            .collect()
    }

    fn decode(encoded: &[u8], max: u64) -> Result<(DecodedZip, Vec<u8>), IngestError> {
        let mut out = Vec::new();
        let decoded = decode_base64_into(encoded, &mut out, max)?;
        Ok((decoded, out))
    }

    #[test]
    fn round_trips_against_the_base64_encoder() {
        let lengths = [
            0,
            1,
            2,
            3,
            4,
            DECODED_CHUNK_BYTES - 1,
            DECODED_CHUNK_BYTES,
            DECODED_CHUNK_BYTES + 1,
            DECODED_CHUNK_BYTES + 2,
            3 * DECODED_CHUNK_BYTES,
            PARALLEL_HASH_MIN_BYTES / 4 * 3 - 1,
            PARALLEL_HASH_MIN_BYTES / 4 * 3,
            1_000_003,
        ];
        for (seed, len) in (1u64..).zip(lengths) {
            let data = pseudo_random_bytes(len, seed);
            let encoded = STANDARD.encode(&data);
            let (decoded, out) = decode(encoded.as_bytes(), u64::MAX).unwrap();
            assert_eq!(out, data, "length {len}");
            assert_eq!(decoded.size, len as u64);
            assert_eq!(decoded.digest.0, <[u8; 32]>::from(Sha256::digest(&data)));
        }
    }

    #[test]
    fn empty_input_is_an_empty_zip() {
        let (decoded, out) = decode(b"", 0).unwrap();
        assert!(out.is_empty());
        assert_eq!(decoded.size, 0);
        assert_eq!(
            decoded.digest.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn size_limit_is_exact() {
        for len in [1usize, 2, 3, 100, DECODED_CHUNK_BYTES + 1] {
            let encoded = STANDARD.encode(pseudo_random_bytes(len, 7));
            let max = len as u64;
            assert_eq!(decode(encoded.as_bytes(), max).unwrap().0.size, max);
            let err = decode(encoded.as_bytes(), max - 1).unwrap_err();
            assert!(matches!(err, IngestError::TooLarge { limit } if limit == max - 1));
        }
    }

    /// A writer that fails the test if anything reaches it.
    struct MustNotWrite;

    impl Write for MustNotWrite {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            panic!("nothing may be written");
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn too_large_writes_nothing() {
        let encoded = STANDARD.encode(vec![0u8; 3 * DECODED_CHUNK_BYTES]);
        let err = decode_base64_into(encoded.as_bytes(), &mut MustNotWrite, 1000).unwrap_err();
        assert!(matches!(err, IngestError::TooLarge { limit: 1000 }));
    }

    #[test]
    fn rejects_invalid_base64() {
        let cases: [&[u8]; 6] = [b"QQ", b"QQ=", b"QQ=A", b"====", b"Q===", b"QUJD\r\n"];
        for case in cases {
            let err = decode(case, u64::MAX).unwrap_err();
            assert!(matches!(err, IngestError::InvalidBase64), "{err}");
        }

        // On both sides of the threshold for hashing on a second thread.
        for decoded_len in [2 * DECODED_CHUNK_BYTES + 10, 20 * DECODED_CHUNK_BYTES + 10] {
            let valid = STANDARD.encode(pseudo_random_bytes(decoded_len, 3));
            let mut bad_in_last_chunk = valid.clone().into_bytes();
            let last = bad_in_last_chunk.len() - 5;
            bad_in_last_chunk[last] = b'*';
            let mut bad_in_first_chunk = valid.clone().into_bytes();
            bad_in_first_chunk[10] = b'\n';
            // Padding that ends a full chunk that is not the last: each chunk decodes alone.
            let mut padded_chunk = STANDARD
                .encode(vec![1u8; DECODED_CHUNK_BYTES - 1])
                .into_bytes();
            assert_eq!(padded_chunk.len(), ENCODED_CHUNK_BYTES);
            padded_chunk.extend_from_slice(&valid.as_bytes()[..valid.len() - ENCODED_CHUNK_BYTES]);

            for case in [bad_in_last_chunk, bad_in_first_chunk, padded_chunk] {
                let err = decode(&case, u64::MAX).unwrap_err();
                assert!(matches!(err, IngestError::InvalidBase64), "{err}");
            }
        }
    }

    #[test]
    fn write_errors_are_reported() {
        /// Accepts `left` bytes, then fails.
        struct Failing {
            left: usize,
        }
        impl Write for Failing {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.left < buf.len() {
                    return Err(io::Error::other("disk full"));
                }
                self.left -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let big = STANDARD.encode(vec![5u8; 10 * DECODED_CHUNK_BYTES]);
        for (encoded, left) in [("QUJD", 0), (big.as_str(), 0), (big.as_str(), 300_000)] {
            let err = decode_base64_into(encoded.as_bytes(), &mut Failing { left }, u64::MAX)
                .unwrap_err();
            assert!(matches!(err, IngestError::Write(_)), "{err}");
        }
    }
}
