//! The pipes a process started for an environment writes to: the runtime's (the process's
//! own standard output and error) and, for a jail, its extensions' (see
//! [`lamina_jail::output`]). They are read apart, so a line one process writes in two pieces
//! is never cut by another's output, as AWS keeps function and extension logs apart.

use std::io::PipeReader;
use std::process::Stdio;

use tokio::process::{Child, Command};

/// The read ends of a started process's output.
pub struct OutputPipes {
    /// The runtime's (the process's standard output and error).
    pub runtime: PipeReader,
    /// The extensions' (jails only).
    pub extensions: Option<PipeReader>,
}

/// Starts `command` writing to new output pipes; a `jail` also gets the extensions' pipe.
pub fn spawn(command: &mut Command, jail: bool) -> std::io::Result<(Child, OutputPipes)> {
    let (runtime, writer) = std::io::pipe()?;
    command
        .stdout(Stdio::from(writer.try_clone()?))
        .stderr(Stdio::from(writer));
    let extensions = if jail {
        let (reader, writer) = std::io::pipe()?;
        lamina_jail::output::hand_over_extensions_output(command.as_std_mut(), &writer);
        Some((reader, writer))
    } else {
        None
    };
    let child = command.spawn()?;
    // The parent's write ends close here (the command's own with it): each pipe ends when
    // the processes that write to it do.
    Ok((
        child,
        OutputPipes {
            runtime,
            extensions: extensions.map(|(reader, _writer)| reader),
        },
    ))
}
