//! Commands that work on local files only, without a server: `lamina layer build`,
//! `lamina layer inspect`, and the rendering of `lamina function check` (whose analysis runs
//! on ZIPs the server-side command downloads).

use lamina_types::Architecture;

pub mod build;
pub mod check;
pub mod inspect;

/// `--arch` as the Lambda API spells it.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// 64-bit x86.
    #[value(name = "x86_64")]
    X86_64,
    /// 64-bit ARM (Graviton).
    #[value(name = "arm64")]
    Arm64,
}

impl From<Arch> for Architecture {
    fn from(arch: Arch) -> Self {
        match arch {
            Arch::X86_64 => Self::X86_64,
            Arch::Arm64 => Self::Arm64,
        }
    }
}

/// Bytes per "MB" in Lambda's limits (250 MB is 262,144,000 bytes).
const BYTES_PER_MB: u64 = 1_048_576;

/// A size for people: `12.3 MB`, `456.7 KB` or `89 bytes`.
pub fn human_size(bytes: u64) -> String {
    if bytes >= BYTES_PER_MB {
        format!("{:.1} MB", ratio(bytes, BYTES_PER_MB))
    } else if bytes >= 1024 {
        format!("{:.1} KB", ratio(bytes, 1024))
    } else {
        format!("{bytes} bytes")
    }
}

/// A share as a percentage with two decimals: `1.23%`.
pub fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

#[allow(clippy::cast_precision_loss)]
fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(12), "12 bytes");
        assert_eq!(human_size(2048), "2.0 KB");
        assert_eq!(human_size(262_144_000), "250.0 MB");
        assert_eq!(percent(0.012_34), "1.23%");
    }
}
