//! The local `lamina` commands run as a user runs them: `layer build` (reproducible bytes,
//! another architecture), `layer inspect` (the layout lint) and `demo` (the seed's whole
//! flow on its own server).
//!
//! Needs `LAMINA_TEST_PYTHON` (an interpreter with pip, such as `target/e2e-venv/bin/python`)
//! and `LAMINA_TEST_WHEELS` (the wheels of `requests` for that interpreter and for cp312 on
//! x86_64 and aarch64), both set up by `scripts/prepare-tests`. pip runs with `--no-index`, so
//! nothing reaches the network. The tests that need them are `#[ignore]`d in a plain
//! `cargo test`; `scripts/test` runs them with `--include-ignored`, and there they fail, not
//! skip, when either is missing.

#![allow(clippy::unwrap_used)] // a test: a failed step should stop it loudly

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

fn required_env(name: &str, what: &str) -> PathBuf {
    let value = std::env::var_os(name).unwrap_or_else(|| {
        panic!("{name} is not set: it must name {what} (see scripts/prepare-tests)")
    });
    let path = PathBuf::from(value);
    assert!(
        path.exists(),
        "{name}={} does not exist ({what})",
        path.display()
    );
    path
}

fn python() -> PathBuf {
    required_env("LAMINA_TEST_PYTHON", "a python interpreter with pip")
}

fn wheels() -> PathBuf {
    required_env(
        "LAMINA_TEST_WHEELS",
        "a directory of the wheels of requests",
    )
}

/// `lamina ...`.
fn lamina(args: &[&str]) -> Command {
    let mut command = Command::cargo_bin("lamina").unwrap();
    command
        .args(args)
        .env("LAMINA_LOG", "warn")
        .timeout(Duration::from_secs(300));
    command
}

/// `lamina ...`, with pip kept offline on the test wheels.
fn lamina_with_test_wheels(args: &[&str]) -> Command {
    let mut command = lamina(args);
    command
        .env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", wheels());
    command
}

fn build(out: &Path, arch: &str) -> String {
    let python = python();
    let assert = lamina_with_test_wheels(&[
        "layer",
        "build",
        "requests",
        "--runtime",
        "python3.12",
        "--arch",
        arch,
        "--python",
        python.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
    .assert()
    .success();
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

/// The ELF machine of every `.so` in a ZIP.
fn machines_of_shared_objects(zip: &Path) -> Vec<u16> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut machines = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        if !entry.name().unwrap().ends_with(".so") {
            continue;
        }
        let mut head = [0u8; 20];
        entry.read_exact(&mut head).unwrap();
        assert_eq!(&head[..4], b"\x7fELF");
        machines.push(u16::from_le_bytes([head[18], head[19]]));
    }
    machines
}

#[test]
#[ignore = "needs LAMINA_TEST_PYTHON and LAMINA_TEST_WHEELS (scripts/prepare-tests): run by scripts/test"]
fn two_builds_of_the_same_packages_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("a.zip"), dir.path().join("b.zip"));
    let summary = build(&first, "x86_64");
    build(&second, "x86_64");

    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
    assert!(summary.contains("CodeSha256"), "{summary}");
    assert!(summary.contains("250 MB"), "{summary}");
}

#[test]
#[ignore = "needs LAMINA_TEST_PYTHON and LAMINA_TEST_WHEELS (scripts/prepare-tests): run by scripts/test"]
fn an_arm64_build_of_a_package_with_native_wheels_has_arm64_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("arm.zip");
    build(&zip, "arm64");

    let machines = machines_of_shared_objects(&zip);
    assert!(
        !machines.is_empty(),
        "charset-normalizer ships native extensions"
    );
    assert!(
        machines.iter().all(|m| *m == 183),
        "not all aarch64: {machines:?}"
    );
}

#[test]
fn inspect_refuses_a_module_outside_python_and_says_where_it_belongs() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("flat.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    writer
        .start_file("mymod.py", zip::write::SimpleFileOptions::default())
        .unwrap();
    writer.write_all(b"X = 1\n").unwrap();
    writer.finish().unwrap();

    let assert = lamina(&["layer", "inspect", zip.to_str().unwrap()])
        .assert()
        .code(1);
    let output = assert.get_output();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("mymod.py"), "{text}");
    assert!(text.contains("python/mymod.py"), "{text}");
}

#[test]
#[ignore = "needs LAMINA_TEST_PYTHON and LAMINA_TEST_WHEELS (scripts/prepare-tests): run by scripts/test"]
fn the_demo_runs_the_seeds_flow_on_its_own_server() {
    let python = python();
    // Nothing listens on this endpoint, so the demo starts its own server.
    let assert = lamina_with_test_wheels(&[
        "demo",
        "--python",
        python.to_str().unwrap(),
        "--endpoint-url",
        "http://127.0.0.1:9",
    ])
    .assert()
    .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();

    for step in [
        "layer build",
        "layer publish",
        "function create",
        "add-layer",
        "invoke",
    ] {
        assert!(stdout.contains(step), "no {step} step: {stdout}");
    }
    assert!(stdout.contains(r#""statusCode": 200"#), "{stdout}");
    assert!(stdout.contains("current_user_url"), "{stdout}");
}
