//! Validates a stored ZIP and extracts it into a fresh directory.

use std::path::Path;

/// Bounds applied while extracting.
#[derive(Debug, Clone, Copy)]
pub struct ExtractLimits {
    /// Most bytes the extracted files may hold in total.
    pub max_unzipped_bytes: u64,
    /// Most entries the archive may have.
    pub max_entries: usize,
}

/// What an extraction produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extracted {
    /// Total bytes of the extracted regular files.
    pub unzipped_bytes: u64,
    /// Number of entries (files, directories, symlinks).
    pub entries: u64,
}

/// Why a ZIP was refused or could not be extracted.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// Placeholder until implemented.
    #[error("not implemented")]
    NotImplemented,
}

/// Validates the ZIP at `zip_path` and extracts it into `dest`, an existing empty directory.
pub fn extract_zip(
    zip_path: &Path,
    dest: &Path,
    limits: &ExtractLimits,
) -> Result<Extracted, ExtractError> {
    let _ = (zip_path, dest, limits);
    Err(ExtractError::NotImplemented)
}
