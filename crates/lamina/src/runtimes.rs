//! `lamina runtimes`: the runtime to interpreter mapping of this machine.

use lamina_exec::interpreters::Interpreters;

/// Prints each supported Python runtime and the interpreter that runs it.
pub fn run() -> anyhow::Result<()> {
    let found = Interpreters::discover();
    for minor in 8..=14 {
        let runtime = format!("python3.{minor}");
        match found.resolve(&runtime) {
            Some(r) if !r.substituted => println!(
                "{runtime:<16} {}",
                r.interpreter
                    .prefix
                    .join(&r.interpreter.executable)
                    .display()
            ),
            Some(r) => println!(
                "{runtime:<16} {}  (nearest: Python {}; functions log a warning)",
                r.interpreter
                    .prefix
                    .join(&r.interpreter.executable)
                    .display(),
                r.interpreter.version
            ),
            None => println!("{runtime:<16} -  (no Python 3 interpreter found)"),
        }
    }
    println!(
        "{:<16} /var/task/bootstrap, else /opt/bootstrap",
        "provided.al2023"
    );
    println!(
        "{:<16} /var/task/bootstrap, else /opt/bootstrap",
        "provided.al2"
    );
    Ok(())
}
