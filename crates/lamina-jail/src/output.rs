//! The two pipes the server hands a jail process at fixed descriptors, besides its standard
//! output and error (the runtime's output):
//! - [`EXTENSIONS_OUTPUT_FD`], the write end of the extensions' output: the jail makes it each
//!   extension's standard output and error;
//! - [`JAIL_REPORT_FD`], where the keeper writes, as it ends, whose ending it mirrors (see
//!   [`JailReport`]): the runtime's, or an extension's whose crash ended the environment;
//! - for a SnapStart template only, [`TEMPLATE_CONTROL_FD`], the socket the server asks the
//!   template's runtime for restored copies of itself on.

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The descriptor of the extensions' output pipe in the process that runs the jail.
pub const EXTENSIONS_OUTPUT_FD: RawFd = 3;
/// The descriptor of the report pipe in the process that runs the jail.
pub const JAIL_REPORT_FD: RawFd = 4;
/// The descriptor of a SnapStart template's control socket, in the jail and in the runtime
/// it runs (see `lamina_exec::snapshot`): only a template's plan has one.
pub const TEMPLATE_CONTROL_FD: RawFd = 5;
/// Where the descriptors are moved first, so that handing one over never overwrites another.
const SCRATCH_FD_FLOOR: RawFd = 10;

/// Whose ending a jail's keeper ended as, with that process's raw wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JailReport {
    /// The runtime ended (on its own, or killed by the server).
    Runtime(i32),
    /// An extension exited, which ended the environment: the jail killed the runtime.
    Extension(i32),
}

impl JailReport {
    /// The bytes the keeper writes.
    pub fn encode(self) -> [u8; 5] {
        let (who, raw) = match self {
            Self::Runtime(raw) => (0u8, raw),
            Self::Extension(raw) => (1u8, raw),
        };
        let mut bytes = [who, 0, 0, 0, 0];
        bytes[1..].copy_from_slice(&raw.to_le_bytes());
        bytes
    }

    /// The report in `bytes`, if they are one.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (&who, raw) = bytes.split_first()?;
        let raw = i32::from_le_bytes(raw.try_into().ok()?);
        match who {
            0 => Some(Self::Runtime(raw)),
            1 => Some(Self::Extension(raw)),
            _ => None,
        }
    }
}

/// Makes `extensions_output` and `report` the [`EXTENSIONS_OUTPUT_FD`] and [`JAIL_REPORT_FD`]
/// of the process `command` starts, and `control`, if given, its [`TEMPLATE_CONTROL_FD`].
/// They must stay open until the process is spawned.
pub fn hand_over(
    command: &mut Command,
    extensions_output: &impl AsRawFd,
    report: &impl AsRawFd,
    control: Option<&dyn AsRawFd>,
) {
    let mut moves = vec![
        (extensions_output.as_raw_fd(), EXTENSIONS_OUTPUT_FD),
        (report.as_raw_fd(), JAIL_REPORT_FD),
    ];
    if let Some(control) = control {
        moves.push((control.as_raw_fd(), TEMPLATE_CONTROL_FD));
    }
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe calls
    // (`fcntl`, `dup2`, `close`) on plain descriptor numbers; `moves` was allocated before
    // the fork and is only read.
    unsafe {
        command.pre_exec(move || {
            // Above every target first: a source that is another's target is not lost.
            let mut lifted = [0; 3];
            for (slot, (source, _)) in lifted.iter_mut().zip(&moves) {
                *slot = libc::fcntl(*source, libc::F_DUPFD_CLOEXEC, SCRATCH_FD_FLOOR);
                if *slot == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (lifted, (_, target)) in lifted.into_iter().zip(&moves) {
                // `dup2` clears close-on-exec on the target.
                if libc::dup2(lifted, *target) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(lifted);
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn the_child_writes_to_each_pipe_at_its_descriptor() {
        let (mut extensions, extensions_writer) = std::io::pipe().unwrap();
        let (mut report, report_writer) = std::io::pipe().unwrap();
        let mut command = Command::new("/bin/sh");
        command.args(["-c", "echo extension >&3; echo report >&4"]);
        hand_over(&mut command, &extensions_writer, &report_writer, None);
        let status = command.status().unwrap();
        drop(command);
        drop((extensions_writer, report_writer));
        assert!(status.success());
        let mut got = String::new();
        extensions.read_to_string(&mut got).unwrap();
        assert_eq!(got, "extension\n");
        got.clear();
        report.read_to_string(&mut got).unwrap();
        assert_eq!(got, "report\n");
    }

    #[test]
    fn a_report_round_trips() {
        for report in [JailReport::Runtime(3 << 8), JailReport::Extension(9)] {
            assert_eq!(JailReport::decode(&report.encode()), Some(report));
        }
        assert_eq!(JailReport::decode(&[2, 0, 0, 0, 0]), None);
        assert_eq!(JailReport::decode(&[0, 0]), None);
        assert_eq!(JailReport::decode(&[]), None);
    }
}
