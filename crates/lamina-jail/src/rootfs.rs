//! The minimal root file system an environment sees, assembled on a tmpfs before
//! `pivot_root`: read-only binds of the host's system directories and a few `/etc` files,
//! the layers at `/opt` and the code at `/var/task` (each with its bytecode sidecar above it
//! when it has one), the runtime under a private `/var`, the scratch `/tmp`
//! and a minimal `/dev`. Nothing else of the host (its data, home directories, other
//! environments) has a path in it.
//!
//! Nor does the host's data directory show in the environment's `/proc/self/mountinfo`: a
//! bind mount shows the path of its source inside the host's file system, so the code, the
//! runtime files, the interpreter and the layers are mounted as read-only overlays whose
//! lower directories are given as `/proc/self/fd/N` (overlayfs keeps the option text, not
//! the resolved path). What still shows is the host's own path of what is mounted at the
//! same path inside (`/usr`, the `/etc` files, the devices), and so of an interpreter
//! installed under `/usr`.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::error::JailError;
use crate::plan::JailPlan;
use crate::syscall::{HostEntry, Syscall};

/// Host system directories shared read-only (or recreated as the same symlinks on merged
/// `/usr` systems).
const SYSTEM_DIRS: [&str; 7] = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// Host `/etc` entries a runtime needs: name resolution, the dynamic linker's cache, time
/// zone, TLS roots and the `alternatives` links some `/usr/bin` tools go through.
const ETC_ENTRIES: [&str; 13] = [
    "resolv.conf",
    "nsswitch.conf",
    "host.conf",
    "gai.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "protocols",
    "services",
    "mime.types",
    "ssl",
    "alternatives",
];

/// The names AWS resolves to the environment itself, added to its `/etc/hosts`: Telemetry
/// and Logs API listeners bind `sandbox.localdomain`.
const SANDBOX_HOSTS: &str = "127.0.0.1\tsandbox.localdomain sandbox\n";

/// Device nodes bound from the host into the private `/dev`.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// The name AWS gives the sandbox user.
const SANDBOX_USER: &str = "sbx_user1051";

/// Directories held open by `O_PATH` before the root is built, so sources anywhere (even
/// under `/var` or `/tmp`) can still be bound once their host paths are hidden.
pub struct Sources {
    task: OwnedFd,
    task_bytecode: Option<OwnedFd>,
    runtime: OwnedFd,
    runtime_sdk: Option<OwnedFd>,
    tmp: OwnedFd,
    lang: Option<OwnedFd>,
    layers: Vec<OwnedFd>,
}

/// Opens the directories the environment binds.
pub fn open_sources(args: &JailPlan, sys: &impl Syscall) -> Result<Sources, JailError> {
    let open = |path: &Path| {
        sys.open_dir(path).map_err(|source| JailError::OpenSource {
            path: path.to_owned(),
            source,
        })
    };
    Ok(Sources {
        task: open(&args.task)?,
        task_bytecode: args.task_bytecode.as_deref().map(open).transpose()?,
        runtime: open(&args.runtime)?,
        runtime_sdk: args.runtime_sdk.as_deref().map(open).transpose()?,
        tmp: open(&args.tmp)?,
        lang: args.lang.as_deref().map(open).transpose()?,
        layers: args
            .layers
            .iter()
            .map(|layer| open(layer))
            .collect::<Result<_, _>>()?,
    })
}

/// Builds the new root on `args.root` and leaves it read-only, ready for `pivot_root`.
pub fn build(args: &JailPlan, sources: &Sources, sys: &impl Syscall) -> Result<(), JailError> {
    let root = args.root.as_path();
    sys.mount_tmpfs(root, "mode=0755,size=256k,nr_inodes=256")
        .map_err(|source| JailError::MountRoot {
            path: root.to_owned(),
            source,
        })?;
    let inside = |path: &str| root.join(path);
    let create = |path: &Path, result: std::io::Result<()>| {
        result.map_err(|source| JailError::CreateInRoot {
            path: path.to_owned(),
            source,
        })
    };
    let mkdir = |path: &Path| create(path, sys.mkdir(path));
    let bind = |source: &Path, target: &Path, read_only: bool| {
        sys.bind(source, target, read_only)
            .map_err(|source| JailError::Bind {
                target: target.to_owned(),
                source,
            })
    };
    // Mirrors a host entry at the same place in the new root, read-only.
    let mirror = |host: &Path, target: &Path| match sys.host_entry(host) {
        HostEntry::Missing => Ok(()),
        HostEntry::Symlink(to) => create(target, sys.symlink(&to, target)),
        HostEntry::Dir => {
            mkdir(target)?;
            bind(host, target, true)
        }
        HostEntry::File => {
            create(target, sys.write_file(target, b""))?;
            bind(host, target, true)
        }
    };

    for dir in SYSTEM_DIRS {
        mirror(&Path::new("/").join(dir), &inside(dir))?;
    }

    let etc = inside("etc");
    mkdir(&etc)?;
    for entry in ETC_ENTRIES {
        mirror(&Path::new("/etc").join(entry), &etc.join(entry))?;
    }
    // The host's names as they are when the environment starts, and the sandbox's own.
    let hosts = etc.join("hosts");
    let mut contents = sys
        .read_host_file(Path::new("/etc/hosts"))
        .unwrap_or_else(|_| b"127.0.0.1\tlocalhost\n::1\tlocalhost\n".to_vec());
    if !contents.is_empty() && !contents.ends_with(b"\n") {
        contents.push(b'\n');
    }
    contents.extend_from_slice(SANDBOX_HOSTS.as_bytes());
    create(&hosts, sys.write_file(&hosts, &contents))?;
    let (uid, gid) = (args.uid, args.gid);
    let passwd = format!(
        "root:x:0:0:root:/root:/sbin/nologin\n\
         {SANDBOX_USER}:x:{uid}:{gid}::/tmp:/sbin/nologin\n"
    );
    let group = format!("root:x:0:\n{SANDBOX_USER}:x:{gid}:\n");
    for (name, contents) in [("passwd", passwd), ("group", group)] {
        let path = etc.join(name);
        create(&path, sys.write_file(&path, contents.as_bytes()))?;
    }

    let opt = inside("opt");
    mkdir(&opt)?;
    mount_opt(&sources.layers, &opt, sys)?;

    let var = inside("var");
    mkdir(&var)?;
    sys.mount_tmpfs(&var, "mode=0755,size=64k,nr_inodes=64")
        .map_err(JailError::MountVar)?;
    // The runtime files on top of the runtime's AWS SDK, when it has one.
    let runtime_layers: Vec<&OwnedFd> = std::iter::once(&sources.runtime)
        .chain(sources.runtime_sdk.as_ref())
        .collect();
    // The code's bytecode sidecar, if any, above the code.
    let task_layers: Vec<&OwnedFd> = sources
        .task_bytecode
        .iter()
        .chain(std::iter::once(&sources.task))
        .collect();
    let mut var_mounts = vec![(task_layers, "task"), (runtime_layers, "runtime")];
    // An interpreter under a mirrored system directory is bound: its host path already shows
    // (as that directory's), and Python starts about 0.4 ms faster than through a fresh
    // overlay. One elsewhere (pyenv's, under a home directory) is an overlay like the rest.
    let lang_path_shows = args.lang.as_deref().is_some_and(in_system_dir);
    let lang_target = var.join("lang");
    if let Some(lang) = &sources.lang {
        if lang_path_shows {
            mkdir(&lang_target)?;
            bind(&fd_path(lang), &lang_target, true)?;
        } else {
            var_mounts.push((vec![lang], "lang"));
        }
    }
    for (fds, name) in var_mounts {
        let target = var.join(name);
        mkdir(&target)?;
        mount_tree(&fds, &target, sys).map_err(|source| JailError::MountTree {
            target: target.clone(),
            source,
        })?;
    }
    sys.remount_read_only(&var).map_err(JailError::MountVar)?;

    let tmp = inside("tmp");
    mkdir(&tmp)?;
    bind(&fd_path(&sources.tmp), &tmp, false)?;

    if !args.node_modules.is_empty() {
        build_node_modules(&inside("node_modules"), &args.node_modules, sys)?;
    }

    build_dev(&inside("dev"), sys)?;
    mkdir(&inside("proc"))?;
    sys.remount_read_only(root).map_err(JailError::RemountRoot)
}

/// `/node_modules`: a read-only tmpfs of symbolic links, one per package name (scoped ones
/// inside their `@scope` directory), to where each resolves.
fn build_node_modules(
    dir: &Path,
    links: &[(String, PathBuf)],
    sys: &impl Syscall,
) -> Result<(), JailError> {
    let failed = |source| JailError::CreateInRoot {
        path: dir.to_owned(),
        source,
    };
    sys.mkdir(dir).map_err(failed)?;
    // One inode per link and scope directory, and a few to spare.
    let options = format!(
        "mode=0755,size={}k,nr_inodes={}",
        16 + links.len() / 8,
        2 * links.len() + 16
    );
    sys.mount_tmpfs(dir, &options).map_err(failed)?;
    let mut scopes: Vec<&str> = Vec::new();
    for (name, target) in links {
        if let Some((scope, _)) = name.split_once('/')
            && !scopes.contains(&scope)
        {
            scopes.push(scope);
            sys.mkdir(&dir.join(scope)).map_err(failed)?;
        }
        sys.symlink(target, &dir.join(name)).map_err(failed)?;
    }
    sys.remount_read_only(dir).map_err(failed)
}

/// `/dev` with the harmless character devices and the usual links into `/proc`.
fn build_dev(dev: &Path, sys: &impl Syscall) -> Result<(), JailError> {
    sys.mkdir(dev).map_err(|source| JailError::CreateInRoot {
        path: dev.to_owned(),
        source,
    })?;
    // Not `nodev` here: the device binds inherit their own flags from the host's /dev.
    sys.mount_tmpfs(dev, "mode=0755,size=16k,nr_inodes=32")
        .map_err(JailError::MountDev)?;
    for device in DEVICES {
        let host = Path::new("/dev").join(device);
        if sys.host_entry(&host) != HostEntry::File {
            continue;
        }
        let target = dev.join(device);
        sys.write_file(&target, b"").map_err(JailError::MountDev)?;
        sys.bind(&host, &target, false)
            .map_err(JailError::MountDev)?;
    }
    for (link, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        sys.symlink(Path::new(to), &dev.join(link))
            .map_err(JailError::MountDev)?;
    }
    sys.remount_read_only(dev).map_err(JailError::MountDev)
}

/// The layers at `/opt`: an overlay with the last layer on top, or an empty read-only tmpfs
/// when there is none.
fn mount_opt(layers: &[OwnedFd], opt: &Path, sys: &impl Syscall) -> Result<(), JailError> {
    if layers.is_empty() {
        sys.mount_tmpfs(opt, "mode=0755,size=4k,nr_inodes=4")
            .map_err(JailError::MountOpt)?;
        return sys.remount_read_only(opt).map_err(JailError::MountOpt);
    }
    let top_first: Vec<&OwnedFd> = layers.iter().rev().collect();
    mount_tree(&top_first, opt, sys).map_err(JailError::MountOpt)
}

/// Mounts host directories (held open, top first) read-only on `target` as an overlay named
/// by file descriptor, so no host path shows in `mountinfo`. Overlayfs wants two lower
/// directories at least: a single one gets the empty mount point itself beneath it.
fn mount_tree(top_first: &[&OwnedFd], target: &Path, sys: &impl Syscall) -> std::io::Result<()> {
    let mut lower: Vec<PathBuf> = top_first.iter().map(|fd| fd_path(fd)).collect();
    let mount_point = match top_first {
        [_] => Some(sys.open_dir(target)?),
        _ => None,
    };
    lower.extend(mount_point.as_ref().map(fd_path));
    let lower: Vec<&Path> = lower.iter().map(PathBuf::as_path).collect();
    sys.mount_overlay(&lower, target)
}

/// Whether `path` lies in one of the host directories the root mirrors at the same place.
fn in_system_dir(path: &Path) -> bool {
    SYSTEM_DIRS
        .iter()
        .any(|dir| path.starts_with(Path::new("/").join(dir)))
}

fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}
