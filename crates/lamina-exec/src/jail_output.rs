//! The pipes a process started for an environment writes to: the runtime's (the process's
//! own standard output and error) and, for a jail, its extensions' and its report (see
//! [`lamina_jail::output`]). Output is read apart, so a line one process writes in two pieces
//! is never cut by another's output, as AWS keeps function and extension logs apart.

use std::io::PipeReader;
use std::os::fd::OwnedFd;
use std::process::Stdio;

use tokio::process::{Child, Command};

/// The read ends of a started process's output.
pub struct OutputPipes {
    /// The runtime's (the process's standard output and error).
    pub runtime: PipeReader,
    /// The extensions' (jails only).
    pub extensions: Option<PipeReader>,
    /// The jail's report of whose ending its own is (jails only; see
    /// [`lamina_jail::JailReport`]).
    pub report: Option<PipeReader>,
}

/// Starts `command` writing to new output pipes; a `jail` also gets the extensions' pipe and
/// the report pipe, and a SnapStart template's jail its `control` socket.
pub fn spawn(
    command: &mut Command,
    jail: bool,
    control: Option<&OwnedFd>,
) -> std::io::Result<(Child, OutputPipes)> {
    let (runtime, writer) = std::io::pipe()?;
    command
        .stdout(Stdio::from(writer.try_clone()?))
        .stderr(Stdio::from(writer));
    if !jail {
        let child = command.spawn()?;
        return Ok((
            child,
            OutputPipes {
                runtime,
                extensions: None,
                report: None,
            },
        ));
    }
    let (extensions, extensions_writer) = std::io::pipe()?;
    let (report, report_writer) = std::io::pipe()?;
    // Read only once the jail ended, or to see that it has not: never waited on.
    rustix::io::ioctl_fionbio(&report, true)?;
    lamina_jail::output::hand_over(
        command.as_std_mut(),
        &extensions_writer,
        &report_writer,
        control.map(|c| c as &dyn std::os::fd::AsRawFd),
    );
    let child = command.spawn()?;
    // The parent's write ends close here: each pipe ends when the processes that write to it
    // do.
    drop((extensions_writer, report_writer));
    Ok((
        child,
        OutputPipes {
            runtime,
            extensions: Some(extensions),
            report: Some(report),
        },
    ))
}
