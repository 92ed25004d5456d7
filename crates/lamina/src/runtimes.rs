//! `lamina runtimes`: what runs each runtime AWS accepts, on this machine.

use std::path::PathBuf;
use std::process::ExitCode;

use lamina_exec::interpreters::Interpreters;
use lamina_exec::runtime_sdks::{self, SdkPolicy, SdkTree};
use lamina_types::runtime::SUPPORTED_RUNTIMES;
use lamina_types::{Runtime, RuntimeFamily};

/// Options of `lamina runtimes`.
#[derive(clap::Args)]
pub struct RuntimesArgs {
    /// Install the AWS SDK of every runtime this machine runs into the SDK directory now
    /// (from PyPI and the npm registry), e.g. to copy that directory to a server that cannot
    /// reach them and start it with `--runtime-sdks cached --runtime-sdks-dir DIR`.
    #[arg(long)]
    install_sdks: bool,
    /// The data directory whose `runtime-sdks` is meant, unless `--runtime-sdks-dir` names one.
    #[arg(long, default_value = crate::data_dir::DEFAULT_DATA_DIR, env = "LAMINA_DATA_DIR")]
    data_dir: PathBuf,
    #[command(flatten)]
    sdks: crate::runtime_sdks::SdkArgs,
}

/// Prints every runtime AWS accepts for functions, grouped by family, with what runs it here:
/// the interpreter of a Python or Node.js runtime, the `bootstrap` of a custom one, or that
/// this Lamina does not run it; then the AWS SDKs those runtimes ship, installed or not.
pub fn run(args: &RuntimesArgs) -> anyhow::Result<ExitCode> {
    let found = Interpreters::discover();
    for line in lines(&found) {
        println!("{line}");
    }
    println!();
    println!("Where an interpreter comes from (Debian packages; a line above says whether this");
    println!("Lamina runs the runtime):");
    for (family, package) in PACKAGES {
        println!("  {family:<14} {package}");
    }
    let sdks = args.sdks.open(&args.data_dir)?;
    println!();
    if sdks.policy() == SdkPolicy::Off {
        println!("AWS SDKs: off (--runtime-sdks off)");
        return Ok(ExitCode::SUCCESS);
    }
    println!("AWS SDKs the runtimes ship (in {}):", sdks.dir().display());
    let mut failed = false;
    for (tree, runtimes) in sdk_trees(&found) {
        let path = sdks.path_of(&tree);
        if args.install_sdks && !path.is_dir() {
            let started = std::time::Instant::now();
            match runtime_sdks::install(sdks.dir(), &tree) {
                Ok(()) => println!(
                    "  installed {} in {:.1} s",
                    tree.set.label,
                    started.elapsed().as_secs_f32()
                ),
                Err(e) => {
                    eprintln!("lamina runtimes: {}: {e}", tree.set.label);
                    failed = true;
                }
            }
        }
        let state = if path.is_dir() {
            path.display().to_string()
        } else {
            "not installed yet".to_owned()
        };
        println!(
            "  {:<48} {}\n  {:<48} {state}",
            tree.set.label,
            runtimes.join(", "),
            ""
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Each SDK tree this machine's runtimes get, with the runtimes that get it.
fn sdk_trees(found: &Interpreters) -> Vec<(SdkTree, Vec<&'static str>)> {
    let mut trees: Vec<(SdkTree, Vec<&'static str>)> = Vec::new();
    for name in SUPPORTED_RUNTIMES {
        let Some(runtime) = Runtime::parse(name) else {
            continue;
        };
        let Some(tree) = found
            .resolve(name)
            .and_then(|r| SdkTree::for_runtime(runtime, &r))
        else {
            continue;
        };
        match trees.iter_mut().find(|(t, _)| t.name() == tree.name()) {
            Some((_, runtimes)) => runtimes.push(name),
            None => trees.push((tree, vec![name])),
        }
    }
    for (_, runtimes) in &mut trees {
        runtimes.sort_by_key(|r| natural_key(r));
    }
    trees.sort_by_key(|(tree, runtimes)| {
        (
            tree.language != runtime_sdks::Language::Python,
            natural_key(runtimes[0]),
        )
    });
    trees
}

/// The package that provides each family's interpreter on Debian, by family as AWS names its
/// runtimes. It says where an interpreter would come from, not that Lamina runs it.
const PACKAGES: [(&str, &str); 6] = [
    (
        "python3.X",
        "python3.X (Debian ships one or two 3.X per release, e.g. python3.11 on bookworm; \
         others: pyenv, or the deadsnakes PPA on Ubuntu)",
    ),
    ("provided.*", "none: the function brings its own bootstrap"),
    (
        "nodejsNN.x",
        "nodejs (or NodeSource's nodejs for another major version)",
    ),
    ("javaNN", "openjdk-NN-jre-headless"),
    ("rubyX.Y", "rubyX.Y (e.g. ruby3.1 on bookworm)"),
    (
        "dotnetN",
        "dotnet-runtime-N.0 (Microsoft's package repository, not Debian's)",
    ),
];

fn lines(found: &Interpreters) -> Vec<String> {
    let mut runtimes: Vec<Runtime> = SUPPORTED_RUNTIMES
        .iter()
        .filter_map(|r| Runtime::parse(r))
        .collect();
    runtimes.sort_by_key(|r| (family_rank(r.family()), natural_key(r.as_str())));
    runtimes
        .into_iter()
        .map(|runtime| format!("{:<16} {}", runtime.as_str(), what_runs(runtime, found)))
        .collect()
}

fn what_runs(runtime: Runtime, found: &Interpreters) -> String {
    match runtime.family() {
        RuntimeFamily::Python => match found.resolve(runtime.as_str()) {
            Some(r) => {
                let path = r.interpreter.prefix.join(&r.interpreter.executable);
                if r.substituted {
                    format!(
                        "{}  (nearest: Python {}; functions log a warning)",
                        path.display(),
                        r.interpreter.version
                    )
                } else {
                    path.display().to_string()
                }
            }
            None => "-  (no Python 3 interpreter found)".to_owned(),
        },
        RuntimeFamily::NodeJs => match found.resolve(runtime.as_str()) {
            Some(r) => {
                let path = r.interpreter.prefix.join(&r.interpreter.executable);
                if r.substituted {
                    format!(
                        "{}  (nearest: Node.js {}; functions log a warning)",
                        path.display(),
                        r.interpreter.version
                    )
                } else {
                    path.display().to_string()
                }
            }
            None => "-  (no node found: install Node.js, e.g. apt-get install nodejs)".to_owned(),
        },
        RuntimeFamily::Custom => "/var/task/bootstrap, else /opt/bootstrap".to_owned(),
        RuntimeFamily::Other => "-  (not run by this Lamina yet; functions stay Failed)".to_owned(),
    }
}

fn family_rank(family: RuntimeFamily) -> u8 {
    match family {
        RuntimeFamily::Python => 0,
        RuntimeFamily::Custom => 1,
        RuntimeFamily::NodeJs => 2,
        RuntimeFamily::Other => 3,
    }
}

/// `python3.9` before `python3.10`: digit runs compare as numbers.
fn natural_key(id: &str) -> Vec<(String, u32)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut chars = id.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut number = c.to_digit(10).unwrap_or(0);
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                number = number.saturating_mul(10).saturating_add(d);
                chars.next();
            }
            key.push((std::mem::take(&mut text), number));
        } else {
            text.push(c);
        }
    }
    key.push((text, 0));
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runtime_aws_accepts_is_listed_once_python_first_in_version_order() {
        let lines = lines(&Interpreters::discover());
        assert_eq!(lines.len(), SUPPORTED_RUNTIMES.len());
        let names: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(
            &names[..7],
            [
                "python3.8",
                "python3.9",
                "python3.10",
                "python3.11",
                "python3.12",
                "python3.13",
                "python3.14"
            ]
        );
        assert_eq!(&names[7..9], ["provided.al2", "provided.al2023"]);
        let java = lines.iter().find(|l| l.starts_with("java21 ")).unwrap();
        assert!(java.contains("not run by this Lamina yet"), "{java}");
    }

    #[test]
    fn every_family_of_the_api_model_names_its_package() {
        let families: Vec<&str> = PACKAGES.iter().map(|(family, _)| *family).collect();
        for runtime in SUPPORTED_RUNTIMES {
            // `nodejsNN.x` covers `nodejs20.x`: the lowercase stem is the family.
            let covered = families.iter().any(|family| {
                let stem: String = family
                    .chars()
                    .take_while(char::is_ascii_lowercase)
                    .collect();
                runtime.starts_with(&stem)
            });
            assert!(covered, "no package named for {runtime}");
        }
    }
}
