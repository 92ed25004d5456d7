//! `lamina layer build --runtime nodejsNN.x` with the machine's real npm, offline: the
//! packages are made here and packed with `npm pack`, and npm installs the tarballs, so no
//! registry is asked (tests/e2e/test_nodejs_layer_build.py builds from the registry).
//!
//! Needs `npm` on PATH (or `LAMINA_NPM`), so every test here is `#[ignore]`d in a plain
//! `cargo test`; `scripts/test` runs them with `--include-ignored`, and there a missing npm
//! fails them.

#![allow(clippy::unwrap_used)] // a test: a failed step should stop it loudly

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use lamina_cli::local::Arch;
use lamina_cli::local::build::{BuildArgs, LayoutArg, run};
use lamina_layers::build::{NodeBuildSpec, NodeLayout, build_node_layer, resolve_npm};
use lamina_layers::inspect::inspect;
use lamina_types::Architecture;

/// Writes a package `name@version` with `files` under `dir` and packs it; gives the tarball.
fn packed(dir: &Path, name: &str, version: &str, extra: &str, files: &[(&str, &str)]) -> PathBuf {
    let src = dir.join(format!("src-{name}"));
    fs::create_dir_all(&src).unwrap();
    fs::write(
        src.join("package.json"),
        format!(r#"{{"name": "{name}", "version": "{version}", "main": "index.js"{extra}}}"#),
    )
    .unwrap();
    for (path, text) in files {
        fs::write(src.join(path), text).unwrap();
    }
    let out = Command::new(resolve_npm(None))
        .args(["pack", "--silent", "--pack-destination"])
        .arg(dir)
        .arg(&src)
        .output()
        .expect("npm must be on PATH (or LAMINA_NPM set) for the Node.js layer build tests");
    assert!(
        out.status.success(),
        "npm pack: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tarball = dir.join(String::from_utf8(out.stdout).unwrap().trim());
    assert!(tarball.is_file(), "{}", tarball.display());
    tarball
}

fn args(packages: &[&Path], out: PathBuf) -> BuildArgs {
    BuildArgs {
        packages: packages.iter().map(|p| p.display().to_string()).collect(),
        requirements: None,
        package_json: None,
        runtime: String::from("nodejs20.x"),
        arch: Arch::X86_64,
        out,
        python: None,
        npm: None,
        scripts: false,
        layout: None,
    }
}

/// The archive's entry names and the text of one entry.
fn names(zip: &Path) -> Vec<String> {
    let archive = zip::ZipArchive::new(fs::File::open(zip).unwrap()).unwrap();
    archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect()
}

fn text_of(zip: &Path, name: &str) -> String {
    let mut archive = zip::ZipArchive::new(fs::File::open(zip).unwrap()).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
#[ignore = "needs npm: run by scripts/test"]
fn the_same_packages_give_the_same_bytes_in_nodejs_node_modules() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = packed(
        dir.path(),
        "tiny-lamina",
        "1.2.3",
        "",
        &[("index.js", "module.exports = 42;\n")],
    );
    let (a, b) = (dir.path().join("a.zip"), dir.path().join("b.zip"));
    assert_eq!(run(&args(&[&tiny], a.clone())).unwrap(), ExitCode::SUCCESS);
    // Another moment, another scratch directory: the same bytes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run(&args(&[&tiny], b.clone())).unwrap();
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());

    let entries = names(&a);
    assert!(
        entries.contains(&String::from("nodejs/node_modules/tiny-lamina/index.js")),
        "{entries:?}"
    );
    assert!(
        entries.contains(&String::from("nodejs/package.json")),
        "{entries:?}"
    );
    assert!(
        !entries.iter().any(|n| n.starts_with("node_modules/")),
        "{entries:?}"
    );
    let report = inspect(
        &fs::read(&a).unwrap(),
        Some("nodejs20.x"),
        Architecture::X86_64,
    )
    .unwrap();
    let tiny = report
        .node_packages
        .iter()
        .find(|p| p.name == "tiny-lamina")
        .unwrap();
    assert_eq!(tiny.version.as_deref(), Some("1.2.3"));
    assert_eq!(tiny.path, "/opt/nodejs/node_modules/tiny-lamina");
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
#[ignore = "needs npm: run by scripts/test"]
fn the_node_version_layout_is_for_the_runtimes_major() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = packed(
        dir.path(),
        "tiny-versioned",
        "0.1.0",
        "",
        &[("index.js", "")],
    );
    let out = dir.path().join("v.zip");
    let mut a = args(&[&tiny], out.clone());
    a.runtime = String::from("nodejs22.x");
    a.layout = Some(LayoutArg::NodeVersion);
    run(&a).unwrap();
    assert!(names(&out).contains(&String::from(
        "nodejs/node22/node_modules/tiny-versioned/index.js"
    )));
    let report = inspect(&fs::read(&out).unwrap(), None, Architecture::X86_64).unwrap();
    assert_eq!(report.runtime, "nodejs22.x");
    assert_eq!(
        report.node_packages[0].path,
        "/opt/nodejs/node22/node_modules/tiny-versioned"
    );
    let on_20 = inspect(
        &fs::read(&out).unwrap(),
        Some("nodejs20.x"),
        Architecture::X86_64,
    )
    .unwrap();
    assert!(on_20.node_packages.is_empty());
    assert!(
        on_20
            .findings
            .iter()
            .any(|f| f.message.contains("not on NODE_PATH of nodejs20.x"))
    );
}

#[test]
#[ignore = "needs npm: run by scripts/test"]
fn install_scripts_run_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let scripted = packed(
        dir.path(),
        "scripted-lamina",
        "1.0.0",
        r#", "scripts": {"install": "node -e \"require('fs').writeFileSync('built.txt', 'yes')\""}"#,
        &[("index.js", "")],
    );
    let skipped = dir.path().join("skipped.zip");
    let spec = NodeBuildSpec {
        packages: vec![scripted.display().to_string()],
        package_json: None,
        runtime: String::from("nodejs20.x"),
        arch: Architecture::X86_64,
        layout: NodeLayout::NodeModules,
        npm: resolve_npm(None),
        scripts: false,
    };
    let summary = build_node_layer(&spec, &skipped, &mut |_| {}).unwrap();
    assert!(!names(&skipped).iter().any(|n| n.ends_with("/built.txt")));
    assert_eq!(summary.notes.len(), 1, "{:?}", summary.notes);
    assert!(
        summary.notes[0].starts_with("scripted-lamina has install scripts"),
        "{:?}",
        summary.notes
    );
    assert!(
        summary.notes[0].contains("--scripts"),
        "{:?}",
        summary.notes
    );
    let ran = dir.path().join("ran.zip");
    let mut a = args(&[&scripted], ran.clone());
    a.scripts = true;
    run(&a).unwrap();
    assert_eq!(
        text_of(&ran, "nodejs/node_modules/scripted-lamina/built.txt"),
        "yes"
    );
}

#[test]
#[ignore = "needs npm: run by scripts/test"]
fn a_package_json_and_its_lock_are_installed_without_dev_dependencies() {
    let dir = tempfile::tempdir().unwrap();
    let runtime_dep = packed(dir.path(), "dep-prod", "1.0.0", "", &[("index.js", "")]);
    let dev_dep = packed(dir.path(), "dep-dev", "1.0.0", "", &[("index.js", "")]);
    let project = dir.path().join("project");
    fs::create_dir_all(&project).unwrap();
    fs::write(
        project.join("package.json"),
        format!(
            r#"{{"name": "p", "dependencies": {{"dep-prod": "file:{}"}}, "devDependencies": {{"dep-dev": "file:{}"}}}}"#,
            runtime_dep.display(),
            dev_dep.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("pj.zip");
    let mut a = args(&[], out.clone());
    a.package_json = Some(project.join("package.json"));
    run(&a).unwrap();
    let entries = names(&out);
    assert!(
        entries.contains(&String::from("nodejs/node_modules/dep-prod/index.js")),
        "{entries:?}"
    );
    assert!(
        !entries.iter().any(|n| n.contains("dep-dev/")),
        "{entries:?}"
    );
}
