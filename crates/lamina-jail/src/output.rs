//! How the server hands a jail process the pipe for its extensions' output: at a fixed
//! descriptor, [`EXTENSIONS_OUTPUT_FD`], which the jail makes each extension's standard
//! output and error (the runtime's are the jail process's own).

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The descriptor of the extensions' output pipe in the process that runs the jail.
pub const EXTENSIONS_OUTPUT_FD: RawFd = 3;

/// Makes `writer` the [`EXTENSIONS_OUTPUT_FD`] of the process `command` starts. `writer`
/// must stay open until the process is spawned.
pub fn hand_over_extensions_output(command: &mut Command, writer: &impl AsRawFd) {
    let raw = writer.as_raw_fd();
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe calls
    // (`dup2`, `fcntl`) on plain descriptor numbers.
    unsafe {
        command.pre_exec(move || {
            if raw == EXTENSIONS_OUTPUT_FD {
                // `dup2` onto itself would leave close-on-exec set.
                let flags = libc::fcntl(raw, libc::F_GETFD);
                if flags == -1 || libc::fcntl(raw, libc::F_SETFD, flags & !libc::FD_CLOEXEC) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(raw, EXTENSIONS_OUTPUT_FD) == -1 {
                return Err(std::io::Error::last_os_error());
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
    fn the_child_writes_to_the_pipe_at_its_descriptor() {
        let (mut reader, writer) = std::io::pipe().unwrap();
        let mut command = Command::new("/bin/sh");
        command.args(["-c", "echo extension >&3"]);
        hand_over_extensions_output(&mut command, &writer);
        let status = command.status().unwrap();
        drop(command);
        drop(writer);
        assert!(status.success());
        let mut got = String::new();
        reader.read_to_string(&mut got).unwrap();
        assert_eq!(got, "extension\n");
    }
}
