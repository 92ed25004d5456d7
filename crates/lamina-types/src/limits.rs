//! Every AWS quota Lamina enforces, in one place, with its unit in its name.

/// Largest ZIP accepted inline (`ZipFile`), in bytes (AWS: 50 MB).
pub const MAX_ZIPPED_BYTES: u64 = 52_428_800;

/// Largest request body for an operation that carries a ZIP inline, in bytes.
pub const MAX_REQUEST_BODY_BYTES: u64 = 70_167_211;

/// Largest JSON body of the operations that carry no ZIP and no invoke payload, in bytes.
pub const MAX_SMALL_BODY_BYTES: u64 = 256 * 1024;

/// Largest synchronous invoke payload, in bytes (AWS: 6 MB).
pub const MAX_SYNC_PAYLOAD_BYTES: u64 = 6_291_456;

/// Largest asynchronous (`Event`) invoke payload, in bytes (AWS: 1 MB since 2025).
pub const MAX_ASYNC_PAYLOAD_BYTES: u64 = 1_048_576;

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

/// Shortest function `Timeout`, in seconds.
pub const MIN_TIMEOUT_SECS: u32 = 1;

/// Longest function `Timeout`, in seconds (AWS's documented 900; the newest model allows more
/// for Managed Instances, which Lamina does not offer).
pub const MAX_TIMEOUT_SECS: u32 = 900;

/// `Timeout` when none is given, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u32 = 3;

/// Smallest function `MemorySize`, in MB.
pub const MIN_MEMORY_MB: u32 = 128;

/// Largest function `MemorySize`, in MB.
pub const MAX_MEMORY_MB: u32 = 10_240;

/// `MemorySize` when none is given, in MB.
pub const DEFAULT_MEMORY_MB: u32 = 128;

/// Smallest `EphemeralStorage.Size` (`/tmp`), in MB.
pub const MIN_EPHEMERAL_STORAGE_MB: u32 = 512;

/// Largest `EphemeralStorage.Size` (`/tmp`), in MB.
pub const MAX_EPHEMERAL_STORAGE_MB: u32 = 10_240;

/// `EphemeralStorage.Size` when none is given, in MB.
pub const DEFAULT_EPHEMERAL_STORAGE_MB: u32 = 512;

/// Largest `Environment.Variables`, in bytes of its compact JSON (AWS: 4 KB).
pub const MAX_ENVIRONMENT_BYTES: usize = 4_096;

/// Longest function name (the name part, not an ARN), in characters.
pub const MAX_FUNCTION_NAME_CHARS: usize = 64;

/// Longest `Handler`, in characters.
pub const MAX_HANDLER_CHARS: usize = 128;

/// Longest `Role` ARN, in characters.
pub const MAX_ROLE_CHARS: usize = 10_000;

/// Longest alias `Name`, in characters.
pub const MAX_ALIAS_NAME_CHARS: usize = 128;

/// Longest `Qualifier`, in characters.
pub const MAX_QUALIFIER_CHARS: usize = 128;

/// Longest alias `FunctionVersion` (and routing version key), in characters.
pub const MAX_VERSION_CHARS: usize = 1_024;

/// Most extra versions in an alias's `AdditionalVersionWeights`.
pub const MAX_ALIAS_ADDITIONAL_VERSIONS: usize = 1;

/// Largest `MaxItems` the function list operations accept.
pub const MAX_FUNCTION_LIST_ITEMS: u32 = 10_000;

/// Most items one page of a function list operation returns, whatever `MaxItems` says.
pub const MAX_FUNCTION_PAGE_ITEMS: u32 = 50;

/// Longest tag key, in characters.
pub const MAX_TAG_KEY_CHARS: usize = 128;

/// Longest tag value, in characters.
pub const MAX_TAG_VALUE_CHARS: usize = 256;

/// Most tags on one function (AWS: 50 user tags per resource).
pub const MAX_TAGS_PER_FUNCTION: usize = 50;

/// Tag keys AWS keeps for itself, compared without regard to case.
pub const RESERVED_TAG_KEY_PREFIX: &str = "aws:";

/// `AccountLimit.TotalCodeSize`: code storage per region, in bytes (AWS: 75 GB).
pub const ACCOUNT_TOTAL_CODE_BYTES: u64 = 80_530_636_800;

/// `AccountLimit.ConcurrentExecutions` (and, with nothing reserved, the unreserved share).
pub const ACCOUNT_CONCURRENT_EXECUTIONS: u32 = 1_000;

/// The least `UnreservedConcurrentExecutions` an account keeps: reservations may take the rest
/// of [`ACCOUNT_CONCURRENT_EXECUTIONS`], never this (AWS: 100).
pub const MIN_UNRESERVED_CONCURRENT_EXECUTIONS: u32 = 100;

/// Largest function resource policy document, in bytes (AWS: 20 KB).
pub const MAX_FUNCTION_POLICY_BYTES: usize = 20_480;
