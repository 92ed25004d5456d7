use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lamina_types::layer::Digest;
use lamina_types::{ExtractedTree, FunctionSpec};

use super::*;

/// A data directory's tree, bytecode and scratch directories for one digest.
struct Data {
    dir: tempfile::TempDir,
}

impl Data {
    fn new() -> Self {
        let data = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(data.scratch()).unwrap();
        data
    }

    fn scratch(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// The tree of `n`, with `files` (path, contents) written into it.
    fn tree(&self, n: u8, files: &[(&str, &[u8])]) -> ExtractedTree {
        let hex = Digest([n; 32]).to_hex();
        let tree = ExtractedTree {
            digest: Digest([n; 32]),
            path: self.dir.path().join("trees").join(&hex),
            bytecode: Some(self.dir.path().join("bytecode").join(&hex)),
        };
        fs::create_dir_all(&tree.path).unwrap();
        for (path, contents) in files {
            let path = tree.path.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, contents).unwrap();
        }
        tree
    }
}

/// Every file under `root` (relative path, contents), symlinks as their targets.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            let rel = path.strip_prefix(root).unwrap().to_owned();
            if kind.is_symlink() {
                let target = fs::read_link(&path).unwrap();
                found.insert(rel, target.into_os_string().into_encoded_bytes());
            } else if kind.is_dir() {
                found.insert(rel, b"<dir>".to_vec());
                dirs.push(path);
            } else {
                found.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    found
}

fn python() -> Interpreter {
    Interpreters::discover()
        .in_use()
        .last()
        .map(|i| (*i).clone())
        .expect("these tests need a python3 interpreter")
}

/// `cpython-312` for Python 3.12.
fn cache_tag(interpreter: &Interpreter) -> String {
    format!("cpython-{}", interpreter.version.replace('.', ""))
}

/// A stand-in interpreter: a shell script.
fn fake_python(dir: &Path, script: &str) -> Interpreter {
    let bin = dir.join("fake/bin");
    fs::create_dir_all(&bin).unwrap();
    let path = bin.join("python3.99");
    fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    Interpreter {
        version: "3.99".into(),
        prefix: dir.join("fake"),
        executable: "bin/python3.99".into(),
    }
}

async fn compile(data: &Data, interpreter: &Interpreter, tree: &ExtractedTree) -> Compiled {
    compile_tree(
        interpreter,
        tree,
        &data.scratch(),
        2,
        Duration::from_secs(120),
    )
    .await
    .unwrap()
    .unwrap()
}

#[test]
fn a_sidecar_is_named_by_the_python_version_beside_the_others() {
    let bytecode = Path::new("/data/bytecode/sha256/ab/abcd");
    assert_eq!(
        sidecar_dir(bytecode, "3.12"),
        Path::new("/data/bytecode/sha256/ab/abcd/python3.12")
    );
    assert_eq!(
        empty_marker(bytecode, "3.9"),
        Path::new("/data/bytecode/sha256/ab/abcd/python3.9.empty")
    );
}

#[test]
fn lookup_finds_a_ready_sidecar_or_the_marker() {
    let data = Data::new();
    let tree = data.tree(1, &[]);
    assert_eq!(lookup(&tree, "3.12"), Sidecar::Missing);
    let bytecode = tree.bytecode.clone().unwrap();
    fs::create_dir_all(bytecode.join("python3.12")).unwrap();
    fs::write(bytecode.join("python3.11.empty"), b"").unwrap();
    assert_eq!(
        lookup(&tree, "3.12"),
        Sidecar::Ready(bytecode.join("python3.12"))
    );
    assert_eq!(lookup(&tree, "3.11"), Sidecar::NoSources);
    assert_eq!(lookup(&tree, "3.13"), Sidecar::Missing);
    let without = ExtractedTree {
        bytecode: None,
        ..tree
    };
    assert_eq!(lookup(&without, "3.12"), Sidecar::Missing);
}

#[test]
fn no_layer_sidecar_is_used_below_a_layer_whose_sidecar_is_missing() {
    let data = Data::new();
    let trees: Vec<ExtractedTree> = (1..=5).map(|n| data.tree(n, &[])).collect();
    let ready = |tree: &ExtractedTree| {
        let dir = sidecar_dir(tree.bytecode.as_ref().unwrap(), "3.12");
        fs::create_dir_all(&dir).unwrap();
        dir
    };
    // The code (1) and layers 2 (bottom) to 5 (top): 2, 3 and 5 ready, 4 without sources.
    let code = ready(&trees[0]);
    let (l2, l3, l5) = (ready(&trees[1]), ready(&trees[2]), ready(&trees[4]));
    let l4 = trees[3].bytecode.as_ref().unwrap();
    fs::create_dir_all(l4).unwrap();
    fs::write(empty_marker(l4, "3.12"), b"").unwrap();
    let spec = FunctionSpec {
        code: trees[0].clone(),
        layers: trees[1..].to_vec(),
        ..crate::test_specs::spec("python3.12", &trees[0].path, &[])
    };
    let all = sidecars(&spec, "3.12");
    assert_eq!(all.task.as_ref(), Some(&code));
    assert_eq!(
        all.layers,
        [Some(l2.clone()), Some(l3.clone()), None, Some(l5.clone())]
    );
    assert!(all.missing.is_empty());

    // Layer 3's sidecar missing: layer 2's could show through for layer 3's sources.
    fs::remove_dir(&l3).unwrap();
    let partial = sidecars(&spec, "3.12");
    assert_eq!(partial.layers, [None, None, None, Some(l5)]);
    assert_eq!(partial.missing, [trees[2].clone()]);

    // The code's sidecar stands alone: /var/task is an overlay of its own.
    fs::remove_dir(&code).unwrap();
    let no_code = sidecars(&spec, "3.12");
    assert_eq!(no_code.task, None);
    assert_eq!(no_code.missing, [trees[0].clone(), trees[2].clone()]);
}

#[tokio::test]
async fn a_tree_compiles_into_a_sidecar_of_pyc_files_only_and_stays_as_it_was() {
    let python = python();
    let tag = cache_tag(&python);
    let data = Data::new();
    let own_pyc = format!("python/own/__pycache__/broken.{tag}.pyc");
    let tree = data.tree(
        1,
        &[
            ("python/pkg/__init__.py", b"from .mod import VALUE\n"),
            ("python/pkg/mod.py", b"VALUE = 42\n"),
            ("python/bad.py", b"def (:\n"),
            ("python/own/broken.py", b"def (:\n"),
            (&own_pyc, b"the tree's own pyc"),
            ("python/pkg/__pycache__/mod.cpython-30.pyc", b"stale"),
            ("python/data.txt", b"not python"),
            ("lib/native.so", b"\x7fELF"),
        ],
    );
    std::os::unix::fs::symlink("pkg", tree.path.join("python/linked")).unwrap();
    let before = snapshot(&tree.path);

    let compiled = compile(&data, &python, &tree).await;

    assert_eq!((compiled.compiled, compiled.failed), (2, 2));
    assert_eq!(snapshot(&tree.path), before, "the tree is never written");
    let sidecar = sidecar_dir(tree.bytecode.as_ref().unwrap(), &python.version);
    assert_eq!(
        lookup(&tree, &python.version),
        Sidecar::Ready(sidecar.clone())
    );
    let files: Vec<PathBuf> = snapshot(&sidecar)
        .into_iter()
        .filter(|(_, contents)| contents != b"<dir>")
        .map(|(path, _)| path)
        .collect();
    let expected: Vec<PathBuf> = [
        format!("python/__pycache__/bad.{tag}.pyc"),
        own_pyc.clone(),
        format!("python/pkg/__pycache__/__init__.{tag}.pyc"),
        format!("python/pkg/__pycache__/mod.{tag}.pyc"),
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    let mut files = files;
    files.sort();
    assert_eq!(
        files, expected,
        "only .pyc, none under the symlinked directory"
    );

    // Unchecked hash-based: flags 0b01 (hash-based, source not checked).
    let pyc = fs::read(sidecar.join(format!("python/pkg/__pycache__/mod.{tag}.pyc"))).unwrap();
    assert_eq!(u32::from_le_bytes(pyc[4..8].try_into().unwrap()), 0b01);
    // A source that does not compile: the tree's own .pyc, else one no interpreter accepts.
    assert_eq!(
        fs::read(sidecar.join(&own_pyc)).unwrap(),
        b"the tree's own pyc"
    );
    let never = fs::read(sidecar.join(format!("python/__pycache__/bad.{tag}.pyc"))).unwrap();
    assert_eq!(&never[..4], &[0, 0, 0, 0]);
    // Readable by the sandbox's uid through the overlay.
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sidecar), 0o755);
    assert_eq!(mode(&sidecar.join("python/pkg/__pycache__")), 0o755);
    assert_eq!(
        mode(&sidecar.join(format!("python/pkg/__pycache__/mod.{tag}.pyc"))),
        0o644
    );
    assert_eq!(fs::read_dir(data.scratch()).unwrap().count(), 0);
}

#[tokio::test]
async fn the_interpreter_imports_from_the_sidecar_without_compiling() {
    let python = python();
    let data = Data::new();
    let tree = data.tree(1, &[("mod.py", b"VALUE = 'from the tree'\n")]);
    compile(&data, &python, &tree).await;
    let sidecar = sidecar_dir(tree.bytecode.as_ref().unwrap(), &python.version);
    // The sidecar's .pyc where the interpreter looks for it, as the overlay shows it.
    let merged = data.dir.path().join("merged");
    fs::create_dir_all(merged.join("__pycache__")).unwrap();
    fs::copy(tree.path.join("mod.py"), merged.join("mod.py")).unwrap();
    for entry in fs::read_dir(sidecar.join("__pycache__")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(
            entry.path(),
            merged.join("__pycache__").join(entry.file_name()),
        )
        .unwrap();
    }
    // Later than the .pyc's source: a timestamp-based .pyc would be stale now.
    let later = std::time::SystemTime::now() + Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(merged.join("mod.py"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let output = std::process::Command::new(python.prefix.join(&python.executable))
        .args(["-E", "-s", "-B", "-v", "-c", "import mod; print(mod.VALUE)"])
        .env_clear()
        .current_dir(&merged)
        .output()
        .unwrap();
    let verbose = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "from the tree\n",
        "{verbose}"
    );
    let loaded = format!("code object from '{}", merged.join("__pycache__").display());
    assert!(verbose.contains(&loaded), "{verbose}");
    assert!(
        !verbose.contains("mod.py'"),
        "compiled from source: {verbose}"
    );
}

#[tokio::test]
async fn a_tree_without_sources_gets_a_marker_and_starts_no_interpreter() {
    let data = Data::new();
    let tree = data.tree(1, &[("nodejs/node_modules/x/index.js", b"1")]);
    fs::create_dir_all(tree.path.join("python/__pycache__")).unwrap();
    fs::write(tree.path.join("python/__pycache__/old.py"), b"").unwrap();
    // Fails if started at all.
    let never = fake_python(data.dir.path(), "exit 3");
    let compiled = compile(&data, &never, &tree).await;
    assert_eq!((compiled.compiled, compiled.failed), (0, 0));
    assert_eq!(lookup(&tree, "3.99"), Sidecar::NoSources);
    assert!(!sidecar_dir(tree.bytecode.as_ref().unwrap(), "3.99").exists());
}

#[tokio::test]
async fn a_failed_or_stopped_compilation_leaves_nothing() {
    let data = Data::new();
    let tree = data.tree(1, &[("mod.py", b"X = 1\n")]);
    let bytecode = tree.bytecode.clone().unwrap();
    // Writes something, then fails.
    let failing = fake_python(
        data.dir.path(),
        "mkdir -p \"$5/__pycache__\"; echo half > \"$5/__pycache__/mod.pyc\"; exit 1",
    );
    let error = compile_tree(&failing, &tree, &data.scratch(), 1, Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(matches!(error, CompileError::Interpreter { .. }), "{error}");
    // Writes something, then hangs past the deadline.
    let hanging = fake_python(
        data.dir.path(),
        "mkdir -p \"$5/__pycache__\"; exec sleep 30",
    );
    let error = compile_tree(
        &hanging,
        &tree,
        &data.scratch(),
        1,
        Duration::from_millis(300),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, CompileError::Timeout(_)), "{error}");
    assert_eq!(lookup(&tree, "3.99"), Sidecar::Missing);
    assert!(!bytecode.join("python3.99").exists());
    assert_eq!(
        fs::read_dir(data.scratch()).unwrap().count(),
        0,
        "the staging directory goes too"
    );
}

#[tokio::test]
async fn each_tree_and_version_is_compiled_once_and_a_failure_is_not_retried() {
    let python = python();
    let data = Data::new();
    let bytecode = Bytecode::new(Interpreters::default(), data.scratch());
    let tree = data.tree(1, &[("mod.py", b"X = 1\n")]);
    let first = bytecode.compile(&tree, &python);
    let joined = bytecode.compile(&tree, &python);
    assert!(
        joined.0.is_some(),
        "the second caller waits for the first compilation"
    );
    first.done().await;
    joined.done().await;
    assert!(matches!(lookup(&tree, &python.version), Sidecar::Ready(_)));
    assert!(
        bytecode.compile(&tree, &python).0.is_none(),
        "nothing to do once ready"
    );

    let failing = fake_python(data.dir.path(), "exit 1");
    bytecode.compile(&tree, &failing).done().await;
    assert_eq!(lookup(&tree, "3.99"), Sidecar::Missing);
    assert!(bytecode.compile(&tree, &failing).0.is_none(), "not retried");

    assert!(Bytecode::disabled().compile(&tree, &python).0.is_none());
}

#[test]
fn a_layer_is_compiled_for_its_python_runtimes_or_for_all() {
    let bytecode = Bytecode::new(crate::interpreters::tests::with(&[9, 11, 12]), "/s".into());
    let versions = |runtimes: Option<&[&str]>| -> Vec<String> {
        let owned: Option<Vec<String>> =
            runtimes.map(|r| r.iter().map(|s| s.to_string()).collect());
        bytecode
            .interpreters_for(owned.as_deref())
            .into_iter()
            .map(|i| i.version)
            .collect()
    };
    // Those a supported runtime uses: 3.9 runs python3.8 and python3.9.
    assert_eq!(versions(None), ["3.9", "3.11", "3.12"].map(String::from));
    assert_eq!(versions(Some(&[])), versions(None));
    // python3.13 runs on the nearest here, 3.12; twice named, once compiled.
    assert_eq!(
        versions(Some(&["python3.12", "python3.13", "nodejs20.x"])),
        ["3.12"]
    );
    assert_eq!(versions(Some(&["python3.9"])), ["3.9"]);
    assert!(versions(Some(&["nodejs20.x", "provided.al2023"])).is_empty());
    assert!(Bytecode::disabled().interpreters_for(None).is_empty());
}
