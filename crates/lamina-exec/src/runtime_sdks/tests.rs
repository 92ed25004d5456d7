use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::interpreters::Interpreter;

fn runtime(name: &str) -> Runtime {
    Runtime::parse(name).expect("a runtime of the API model")
}

fn resolution(version: &str, executable: &str) -> Resolution {
    Resolution {
        interpreter: Interpreter {
            version: version.into(),
            prefix: "/usr".into(),
            executable: executable.into(),
        },
        substituted: false,
    }
}

#[test]
fn each_runtime_gets_the_set_its_interpreter_supports() {
    let python = |r: &str, v: &str| pinned_set(runtime(r), v).map(|s| s.label);
    assert_eq!(python("python3.12", "3.12"), Some(BOTO3.label));
    assert_eq!(python("python3.14", "3.14"), Some(BOTO3.label));
    // The interpreter decides: python3.12 running on 3.9 gets 3.9's boto3.
    assert_eq!(python("python3.12", "3.9"), Some(BOTO3_PY39.label));
    assert_eq!(python("python3.8", "3.8"), Some(BOTO3_PY38.label));
    assert_eq!(python("python3.8", "3.7"), None);
    assert_eq!(python("nodejs20.x", "20.20.2"), Some(AWS_SDK_JS.label));
    assert_eq!(python("nodejs18.x", "22.1.0"), Some(AWS_SDK_JS.label));
    // AWS's nodejs16.x carries the v2 SDK, which Lamina does not install.
    assert_eq!(python("nodejs16.x", "20.20.2"), None);
    assert_eq!(python("provided.al2023", "3.12"), None);
}

#[test]
fn a_python_tree_is_per_interpreter_version_and_a_node_tree_is_shared() {
    let py311 =
        SdkTree::for_runtime(runtime("python3.12"), &resolution("3.11", "bin/python3.11")).unwrap();
    let py312 =
        SdkTree::for_runtime(runtime("python3.12"), &resolution("3.12", "bin/python3.12")).unwrap();
    assert_eq!(py311.language, Language::Python);
    assert_eq!(py311.interpreter, Path::new("/usr/bin/python3.11"));
    assert!(
        py311.name().starts_with("python3.11-boto3-1.44.8-"),
        "{}",
        py311.name()
    );
    assert_ne!(py311.name(), py312.name());
    // Another runtime on the same interpreter shares the tree.
    let py313 =
        SdkTree::for_runtime(runtime("python3.13"), &resolution("3.11", "bin/python3.11")).unwrap();
    assert_eq!(py311.name(), py313.name());
    let node20 =
        SdkTree::for_runtime(runtime("nodejs20.x"), &resolution("20.1.0", "bin/node")).unwrap();
    let node22 =
        SdkTree::for_runtime(runtime("nodejs22.x"), &resolution("22.3.0", "bin/node")).unwrap();
    assert_eq!(node20.name(), node22.name());
    assert!(
        node20.name().starts_with("nodejs-client-s3-3.1173.0-"),
        "{}",
        node20.name()
    );
    assert!(
        SdkTree::for_runtime(runtime("nodejs16.x"), &resolution("20.1.0", "bin/node")).is_none()
    );
}

#[test]
fn a_changed_pin_is_another_tree() {
    let base =
        SdkTree::for_runtime(runtime("python3.12"), &resolution("3.12", "bin/python3.12")).unwrap();
    let mut packages = BOTO3.packages.to_vec();
    packages[6] = ("urllib3", "1.26.20");
    let changed = SdkTree {
        set: Box::leak(Box::new(PinnedSet {
            packages: Box::leak(packages.into_boxed_slice()),
            ..BOTO3
        })),
        ..base.clone()
    };
    assert_ne!(base.name(), changed.name());
    assert_eq!(base.name(), base.clone().name(), "the name is stable");
}

#[test]
fn every_pin_is_exact() {
    for set in [&BOTO3, &BOTO3_PY39, &BOTO3_PY38, &AWS_SDK_JS] {
        for (name, version) in set.packages {
            assert!(
                !version.is_empty()
                    && version
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.'),
                "{name} {version}"
            );
        }
    }
    assert_eq!(BOTO3.packages[0], ("boto3", "1.44.8"));
}

#[test]
fn a_tree_appears_only_when_complete() {
    let dir = tempfile::tempdir().unwrap();
    // A crash mid-install left a partial tree: it is never taken for the tree.
    let partial = dir.path().join(".t.partial-1-x");
    std::fs::create_dir_all(partial.join("boto3")).unwrap();
    assert!(!dir.path().join("t").exists());
    // A failed install leaves nothing behind, the crash's leftovers included.
    let failed = install_with(dir.path(), "t", |staging| {
        std::fs::write(staging.join("half.py"), "").unwrap();
        Err(SdkError("network down".into()))
    });
    assert_eq!(failed, Err(SdkError("network down".into())));
    assert!(!dir.path().join("t").exists());
    assert!(!partial.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A complete one is renamed into place, readable by every user.
    install_with(dir.path(), "t", |staging| {
        std::fs::create_dir(staging.join("pkg")).unwrap();
        let file = staging.join("pkg/__init__.py");
        std::fs::write(&file, "x = 1\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(staging.join("pkg"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        Ok(())
    })
    .unwrap();
    let installed = dir.path().join("t/pkg/__init__.py");
    assert_eq!(std::fs::read_to_string(&installed).unwrap(), "x = 1\n");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&installed), 0o644);
    assert_eq!(mode(&dir.path().join("t/pkg")), 0o755);
    // Once there, it is never filled again.
    install_with(dir.path(), "t", |_| panic!("installed twice")).unwrap();
}

#[tokio::test]
async fn cached_uses_what_is_there_and_never_installs() {
    let dir = tempfile::tempdir().unwrap();
    let tree =
        SdkTree::for_runtime(runtime("python3.12"), &resolution("3.12", "bin/python3.12")).unwrap();
    let sdks = RuntimeSdks::new(SdkPolicy::Cached, dir.path().to_owned());
    let missing = sdks.ensure(&tree).await.unwrap_err();
    assert!(missing.0.contains("boto3 1.44.8 is not in"), "{missing}");
    assert!(missing.0.contains("--runtime-sdks off"), "{missing}");
    std::fs::create_dir(dir.path().join(tree.name())).unwrap();
    // The failure is remembered for a while; a new server (or a later need) finds the tree.
    let later = RuntimeSdks::new(SdkPolicy::Cached, dir.path().to_owned());
    assert_eq!(
        later.ensure(&tree).await.unwrap(),
        Some(dir.path().join(tree.name()))
    );
    assert_eq!(RuntimeSdks::off().ensure(&tree).await.unwrap(), None);
}

#[test]
fn a_failure_says_what_the_client_said_last() {
    let mut command = Command::new("sh");
    command.args([
        "-c",
        "echo step one >&2; echo 'ERROR: network is unreachable' >&2; exit 1",
    ]);
    let error = run(command, "pip could not install boto3 1.44.8").unwrap_err();
    assert!(
        error
            .0
            .starts_with("pip could not install boto3 1.44.8 (exit status: 1): "),
        "{error}"
    );
    assert!(
        error
            .0
            .ends_with("step one | ERROR: network is unreachable"),
        "{error}"
    );
    assert_eq!(
        tail(&"x".repeat(50), 1, 10),
        format!("...{}", "x".repeat(10))
    );
}

/// The real clients against the real registries (as the machine is configured): the pinned
/// versions exist and install. Needs pip, npm and the registries: run by scripts/test.
#[test]
#[ignore = "installs from PyPI and the npm registry"]
fn the_pinned_sets_install_from_the_registries() {
    let found = crate::interpreters::Interpreters::discover();
    let dir = tempfile::tempdir().unwrap();
    let python = found.resolve("python3.12").expect("a Python interpreter");
    let tree = SdkTree::for_runtime(runtime("python3.12"), &python).unwrap();
    install(dir.path(), &tree).unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().join(tree.name());
    assert!(root.join("boto3/__init__.py").is_file());
    assert!(root.join(MANIFEST).is_file());
    let pycache = std::fs::read_dir(root.join("botocore/__pycache__"))
        .unwrap()
        .count();
    assert!(pycache > 10, "botocore is byte-compiled");
    let node = found.resolve("nodejs20.x").expect("a node");
    let tree = SdkTree::for_runtime(runtime("nodejs20.x"), &node).unwrap();
    install(dir.path(), &tree).unwrap_or_else(|e| panic!("{e}"));
    let modules = dir.path().join(tree.name()).join("node_modules/@aws-sdk");
    for (name, version) in AWS_SDK_JS.packages {
        let manifest = dir
            .path()
            .join(tree.name())
            .join("node_modules")
            .join(name)
            .join("package.json");
        let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            text.contains(&format!("\"version\": \"{version}\"")),
            "{name} is not {version}"
        );
    }
    assert!(!modules.join("client-s3/dist-types").exists());
}
