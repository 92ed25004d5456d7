//! `lamina layer build` with a real pip, offline.
//!
//! Needs `LAMINA_TEST_PYTHON` (an interpreter with pip, such as `target/e2e-venv/bin/python`)
//! and `LAMINA_TEST_WHEELS` (a directory with the cp312 manylinux wheels of `requests` and its
//! dependencies for x86_64 and aarch64), both set up by `scripts/prepare-tests`. So every test
//! here is `#[ignore]`d in a plain `cargo test`; `scripts/test` runs them with
//! `--include-ignored`, and there they fail, not skip, when either is missing. pip runs with
//! `--no-index --find-links` from a requirements file, so nothing reaches the network.

#![allow(clippy::unwrap_used)] // a test: a failed step should stop it loudly

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lamina_cli::local::Arch;
use lamina_cli::local::build::{BuildArgs, LayoutArg, run};
use lamina_cli::local::inspect::InspectArgs;
use lamina_layers::build::{BuildError, BuildSpec, Layout, build_layer, write_reproducible_zip};
use lamina_layers::inspect::{EM_AARCH64, EM_X86_64, Severity, elf_machine, inspect};
use lamina_types::Architecture;

fn required_env(name: &str, what: &str) -> PathBuf {
    let value = std::env::var_os(name).unwrap_or_else(|| {
        panic!("{name} is not set: it must name {what} (scripts/prepare-tests sets it up)")
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
    let dir = required_env(
        "LAMINA_TEST_WHEELS",
        "a directory of cp312 manylinux wheels of requests for x86_64 and aarch64",
    );
    for arch in ["x86_64", "aarch64"] {
        let found = fs::read_dir(&dir).unwrap().any(|e| {
            let name = e.unwrap().file_name().into_string().unwrap_or_default();
            name.starts_with("charset_normalizer-") && name.contains("cp312") && name.contains(arch)
        });
        assert!(
            found,
            "no cp312 {arch} charset_normalizer wheel in {}",
            dir.display()
        );
    }
    dir
}

/// A requirements file that keeps pip offline, installing from `find_links` only.
fn requirements(dir: &Path, find_links: &Path, packages: &[&str]) -> PathBuf {
    let path = dir.join("requirements.txt");
    let mut text = format!("--no-index\n--find-links {}\n", find_links.display());
    for p in packages {
        text.push_str(p);
        text.push('\n');
    }
    fs::write(&path, text).unwrap();
    path
}

fn args(req: PathBuf, output: PathBuf, arch: Arch) -> BuildArgs {
    BuildArgs {
        packages: vec![],
        requirements: Some(req),
        package_json: None,
        runtime: String::from("python3.12"),
        arch,
        out: output,
        python: Some(python()),
        npm: None,
        scripts: false,
        layout: Some(LayoutArg::Python),
    }
}

#[test]
#[ignore = "needs LAMINA_TEST_PYTHON and LAMINA_TEST_WHEELS (scripts/prepare-tests): run by scripts/test"]
fn an_arm64_build_has_aarch64_binaries_and_inspect_for_x86_64_warns() {
    let dir = tempfile::tempdir().unwrap();
    let req = requirements(dir.path(), &wheels(), &["charset-normalizer"]);
    let out = dir.path().join("arm.zip");
    assert_eq!(
        run(&args(req, out.clone(), Arch::Arm64)).unwrap(),
        ExitCode::SUCCESS
    );
    let bytes = fs::read(&out).unwrap();

    let mut archive = lamina_layers::inspect::Archive::read(&bytes).unwrap();
    archive.entries.retain(|e| e.name.ends_with(".so"));
    assert!(
        !archive.entries.is_empty(),
        "no .so files in the arm64 build"
    );
    for entry in &archive.entries {
        assert_eq!(elf_machine(&entry.head), Some(EM_AARCH64), "{}", entry.name);
        assert_ne!(elf_machine(&entry.head), Some(EM_X86_64));
    }

    let on_x86 = inspect(&bytes, Some("python3.12"), Architecture::X86_64).unwrap();
    assert!(
        on_x86
            .findings
            .iter()
            .any(|f| f.severity == Severity::Warning && f.message.contains("aarch64")),
        "{:?}",
        on_x86.findings
    );
    let on_arm = inspect(&bytes, Some("python3.12"), Architecture::Arm64).unwrap();
    assert!(on_arm.findings.is_empty(), "{:?}", on_arm.findings);
    let code = lamina_cli::local::inspect::run(
        &InspectArgs {
            zip: out,
            runtime: None,
            arch: Arch::X86_64,
        },
        false,
    )
    .unwrap();
    assert_eq!(
        code,
        ExitCode::SUCCESS,
        "warnings alone do not fail inspect"
    );
}

#[test]
#[ignore = "needs LAMINA_TEST_PYTHON and LAMINA_TEST_WHEELS (scripts/prepare-tests): run by scripts/test"]
fn the_site_packages_layout_is_for_the_runtime_version() {
    let dir = tempfile::tempdir().unwrap();
    let req = requirements(dir.path(), &wheels(), &["idna"]);
    let out = dir.path().join("sp.zip");
    let mut a = args(req, out.clone(), Arch::X86_64);
    a.layout = Some(LayoutArg::SitePackages);
    run(&a).unwrap();
    let report = inspect(&fs::read(&out).unwrap(), None, Architecture::X86_64).unwrap();
    assert_eq!(report.runtime, "python3.12");
    let idna = report.modules.iter().find(|m| m.name == "idna").unwrap();
    assert_eq!(
        idna.path,
        "/opt/python/lib/python3.12/site-packages/idna/__init__.py"
    );
}

/// A wheel with an x86_64-only native tag, built by hand into `dir`.
fn x86_only_wheel(dir: &Path) {
    let tree = dir.join("wheel-tree");
    let info = tree.join("nativeonly-1.0.dist-info");
    fs::create_dir_all(tree.join("nativeonly")).unwrap();
    fs::create_dir_all(&info).unwrap();
    fs::write(tree.join("nativeonly/__init__.py"), "").unwrap();
    fs::write(
        info.join("METADATA"),
        "Metadata-Version: 2.1\nName: nativeonly\nVersion: 1.0\n",
    )
    .unwrap();
    fs::write(
        info.join("WHEEL"),
        "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: false\n\
         Tag: cp312-cp312-manylinux_2_17_x86_64\n",
    )
    .unwrap();
    fs::write(
        info.join("RECORD"),
        "nativeonly/__init__.py,,\nnativeonly-1.0.dist-info/METADATA,,\n\
         nativeonly-1.0.dist-info/WHEEL,,\nnativeonly-1.0.dist-info/RECORD,,\n",
    )
    .unwrap();
    let wheel = dir.join("nativeonly-1.0-cp312-cp312-manylinux_2_17_x86_64.whl");
    write_reproducible_zip(&tree, fs::File::create(wheel).unwrap(), &mut |_| {}).unwrap();
    fs::remove_dir_all(tree).unwrap();
}

#[test]
#[ignore = "needs LAMINA_TEST_PYTHON and LAMINA_TEST_WHEELS (scripts/prepare-tests): run by scripts/test"]
fn a_package_without_a_wheel_for_the_architecture_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let links = dir.path().join("links");
    fs::create_dir_all(&links).unwrap();
    x86_only_wheel(&links);
    let req = requirements(dir.path(), &links, &["nativeonly"]);
    let spec = |arch| BuildSpec {
        packages: vec![],
        requirements: Some(req.clone()),
        runtime: String::from("python3.12"),
        arch,
        layout: Layout::Python,
        python: python(),
    };
    build_layer(
        &spec(Architecture::X86_64),
        &dir.path().join("x86.zip"),
        &mut |_| {},
    )
    .unwrap();
    let out = dir.path().join("arm.zip");
    let err = build_layer(&spec(Architecture::Arm64), &out, &mut |_| {}).unwrap_err();
    assert!(matches!(err, BuildError::NoWheel { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("nativeonly"), "{text}");
    assert!(text.contains("arm64"), "{text}");
    assert!(text.contains("aarch64"), "{text}");
    assert!(!out.exists(), "a failed build left {}", out.display());
}

#[test]
#[ignore = "needs LAMINA_TEST_PYTHON and LAMINA_TEST_WHEELS (scripts/prepare-tests): run by scripts/test"]
fn inspect_shows_what_a_real_layer_provides() {
    let dir = tempfile::tempdir().unwrap();
    let req = requirements(dir.path(), &wheels(), &["requests"]);
    let out = dir.path().join("layer.zip");
    run(&args(req, out.clone(), Arch::X86_64)).unwrap();
    let report = inspect(&fs::read(&out).unwrap(), None, Architecture::X86_64).unwrap();
    let text = lamina_cli::local::inspect::render("layer.zip", &report);
    eprintln!("{text}");
    assert!(text.contains("/opt/python/requests/__init__.py"), "{text}");
    assert!(text.contains("No findings."), "{text}");
}
