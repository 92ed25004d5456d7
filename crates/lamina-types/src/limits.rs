//! Every AWS quota Lamina enforces, in one place, with its unit in its name.

/// Largest ZIP accepted inline (`ZipFile`), in bytes (AWS: 50 MB).
pub const MAX_ZIPPED_BYTES: u64 = 52_428_800;

/// Largest request body for an operation that carries a ZIP inline, in bytes.
pub const MAX_REQUEST_BODY_BYTES: u64 = 70_167_211;

/// Largest unzipped size of a function plus all its layers, in bytes (AWS: 250 MB).
pub const MAX_UNZIPPED_BYTES: u64 = 262_144_000;

/// Most entries a ZIP may hold. AWS publishes no number; this is far above any real layer
/// (a full SciPy stack is ~20,000 files) and bounds the work a hostile archive can cause.
pub const MAX_ZIP_ENTRIES: usize = 100_000;

/// Most symlinks followed while resolving one path inside a layer, as Linux's `MAXSYMLINKS`.
pub const MAX_SYMLINK_HOPS: usize = 40;

/// Most layers a function may reference.
pub const MAX_LAYERS_PER_FUNCTION: usize = 5;

/// Validity of a `Content.Location` download URL, in seconds.
pub const CONTENT_URL_TTL_SECS: u64 = 600;

/// `MaxItems` bounds for the layer list operations.
pub const MAX_LAYER_LIST_ITEMS: u32 = 50;

/// Longest `Description` of a layer version, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 256;

/// Longest `LicenseInfo` of a layer version, in characters.
pub const MAX_LICENSE_INFO_CHARS: usize = 512;

/// Most entries in `CompatibleRuntimes`.
pub const MAX_COMPATIBLE_RUNTIMES: usize = 15;

/// Most entries in `CompatibleArchitectures`.
pub const MAX_COMPATIBLE_ARCHITECTURES: usize = 2;

/// Largest layer version policy document, in bytes (AWS: 20 KB).
pub const MAX_LAYER_POLICY_BYTES: usize = 20_480;
