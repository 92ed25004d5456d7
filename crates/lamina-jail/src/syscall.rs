//! The kernel calls the jail makes, behind a trait so tests can record them.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{CWD, Mode, OFlags};
use rustix::mount::{
    MountFlags, MountPropagationFlags, MoveMountFlags, OpenTreeFlags, UnmountFlags,
};
use rustix::process::{Resource, Rlimit, Signal, WaitOptions};
use rustix::thread::{CapabilitySet, UnshareFlags};

use crate::seccomp::SeccompFilters;

/// Largest host file [`Syscall::read_host_file`] reads.
const HOST_FILE_MAX: u64 = 64 * 1024;

/// What a host path is, to mirror it in the jail's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEntry {
    /// Nothing there.
    Missing,
    /// A directory.
    Dir,
    /// A file (or a symlink to one).
    File,
    /// A symbolic link to a directory, with its target as written (merged `/usr` systems).
    Symlink(PathBuf),
}

/// The kernel calls of the jail, each one step.
pub trait Syscall {
    /// Moves this process into a cgroup by writing its pid to a `cgroup.procs` file.
    fn join_cgroup(&self, procs_file: &Path) -> io::Result<()>;
    /// Joins the network namespace that the file at `namespace` opens.
    fn join_network(&self, namespace: &Path) -> io::Result<()>;
    /// Creates new mount, PID, IPC and UTS namespaces (the PID one applies to children).
    fn unshare_namespaces(&self) -> io::Result<()>;
    /// A close-on-exec pipe: (read end, write end).
    fn pipe(&self) -> io::Result<(OwnedFd, OwnedFd)>;
    /// Forks: `None` in the child, the child's pid in the parent.
    fn fork(&self) -> io::Result<Option<u32>>;
    /// Waits for any child; returns its pid and raw wait status.
    fn wait_any(&self) -> io::Result<(u32, i32)>;
    /// Sends SIGKILL to a child.
    fn kill(&self, pid: u32) -> io::Result<()>;
    /// Makes `fd` this process's standard output and error, and closes it.
    fn redirect_output(&self, fd: i32) -> io::Result<()>;
    /// Closes `fd` (one this process inherited and does not need).
    fn close_fd(&self, fd: i32);
    /// Writes `bytes` to the inherited descriptor `fd` (the server's report pipe).
    fn write_report(&self, fd: i32, bytes: &[u8]) -> io::Result<()>;
    /// Asks for SIGKILL when the parent dies. (The parent is outside the new PID namespace,
    /// so `getppid` cannot tell whether it already died; the server's kill of the whole
    /// cgroup covers that window.)
    fn die_with_parent(&self) -> io::Result<()>;
    /// Stops mount events from propagating back to the host (`MS_REC | MS_SLAVE` on `/`).
    fn make_mounts_private(&self) -> io::Result<()>;
    /// Sets the host name of the new UTS namespace.
    fn set_hostname(&self, name: &str) -> io::Result<()>;
    /// What `path` is on the host.
    fn host_entry(&self, path: &Path) -> HostEntry;
    /// Opens a directory by path only (`O_PATH`), to bind it after its path is hidden.
    fn open_dir(&self, path: &Path) -> io::Result<OwnedFd>;
    /// Mounts a read-only overlay whose lower directories are given top first.
    fn mount_overlay(&self, lower_top_first: &[&Path], target: &Path) -> io::Result<()>;
    /// Mounts a `nosuid,nodev` tmpfs with the given options.
    fn mount_tmpfs(&self, target: &Path, options: &str) -> io::Result<()>;
    /// Mounts the `/proc` of this process's PID namespace.
    fn mount_proc(&self, target: &Path) -> io::Result<()>;
    /// Mounts a copy of the mount at `source` on `target` itself, even when `target` is a
    /// symbolic link (which `mount` would follow), to hide what `target` shows.
    fn mask(&self, source: &Path, target: &Path) -> io::Result<()>;
    /// Bind-mounts `source` on `target`, read-only if asked.
    fn bind(&self, source: &Path, target: &Path, read_only: bool) -> io::Result<()>;
    /// Remounts a mount read-only (and `nosuid,nodev`).
    fn remount_read_only(&self, target: &Path) -> io::Result<()>;
    /// Creates a directory.
    fn mkdir(&self, path: &Path) -> io::Result<()>;
    /// Writes a file (also an empty one, as a mount point for a file bind).
    fn write_file(&self, path: &Path, contents: &[u8]) -> io::Result<()>;
    /// Reads a small host file (at most 64 KiB; larger is an error).
    fn read_host_file(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Creates a symbolic link at `link` pointing to `target`.
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()>;
    /// Makes `new_root` the root of this mount namespace and detaches the old one.
    fn pivot_root(&self, new_root: &Path) -> io::Result<()>;
    /// Sets both limits of a resource.
    fn set_rlimit(&self, resource: Resource, limit: u64) -> io::Result<()>;
    /// Sets the supplementary groups to `[gid]` and the real, effective and saved gid.
    fn set_gid(&self, gid: u32) -> io::Result<()>;
    /// Empties the capability bounding set.
    fn drop_bounding_set(&self) -> io::Result<()>;
    /// Sets the real, effective and saved uid; leaving root clears all capabilities.
    fn set_uid(&self, uid: u32) -> io::Result<()>;
    /// Sets `no_new_privs`, so no exec can gain privileges.
    fn set_no_new_privs(&self) -> io::Result<()>;
    /// Changes the working directory.
    fn chdir(&self, path: &Path) -> io::Result<()>;
    /// Installs the seccomp filter on this (single-threaded) process.
    fn install_seccomp(&self, filters: &SeccompFilters) -> io::Result<()>;
    /// Replaces this process with `program`, with standard input from `/dev/null` and
    /// exactly the given environment; returns only on failure.
    fn exec(&self, program: &Path, args: &[String], env: &BTreeMap<String, String>) -> io::Error;
}

/// The real kernel.
pub struct LinuxSyscall;

impl Syscall for LinuxSyscall {
    fn join_cgroup(&self, procs_file: &Path) -> io::Result<()> {
        crate::cgroup::join(&[procs_file.to_owned()]).map_err(io::Error::other)
    }

    fn join_network(&self, namespace: &Path) -> io::Result<()> {
        let file = std::fs::File::open(namespace)?;
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&file),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .map_err(io::Error::from)
    }

    fn unshare_namespaces(&self) -> io::Result<()> {
        let flags = UnshareFlags::NEWNS
            | UnshareFlags::NEWPID
            | UnshareFlags::NEWIPC
            | UnshareFlags::NEWUTS;
        // SAFETY: `unshare_unsafe` is unsafe only for `CLONE_FILES`, which splits the file
        // descriptor table between threads; it is not among the flags, and the jail process
        // is single-threaded.
        unsafe { rustix::thread::unshare_unsafe(flags) }.map_err(io::Error::from)
    }

    fn pipe(&self) -> io::Result<(OwnedFd, OwnedFd)> {
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(io::Error::from)
    }

    fn fork(&self) -> io::Result<Option<u32>> {
        // SAFETY: the jail is single-threaded (it runs before any thread is started), so the
        // child may go on running ordinary Rust code after the fork.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => Ok(None),
            pid => Ok(Some(pid.unsigned_abs())),
        }
    }

    fn wait_any(&self) -> io::Result<(u32, i32)> {
        loop {
            match rustix::process::wait(WaitOptions::empty()) {
                Ok(Some((pid, status))) => {
                    return Ok((pid.as_raw_nonzero().get().unsigned_abs(), status.as_raw()));
                }
                Ok(None) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn kill(&self, pid: u32) -> io::Result<()> {
        let pid = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        rustix::process::kill_process(pid, Signal::KILL).map_err(io::Error::from)
    }

    fn redirect_output(&self, fd: i32) -> io::Result<()> {
        for target in [1, 2] {
            // SAFETY: plain descriptor calls on numbers; nothing in this process owns 1 and 2
            // as Rust objects.
            if unsafe { libc::dup2(fd, target) } == -1 {
                return Err(io::Error::last_os_error());
            }
        }
        self.close_fd(fd);
        Ok(())
    }

    fn write_report(&self, fd: i32, bytes: &[u8]) -> io::Result<()> {
        // SAFETY: `bytes` is valid for its length for the whole call; `fd` is a plain number.
        let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match usize::try_from(written) {
            Ok(n) if n == bytes.len() => Ok(()),
            Ok(_) => Err(io::Error::from(io::ErrorKind::WriteZero)),
            Err(_) => Err(io::Error::last_os_error()),
        }
    }

    fn close_fd(&self, fd: i32) {
        // SAFETY: `fd` is a descriptor the process inherited and no Rust object owns.
        unsafe { libc::close(fd) };
    }

    fn die_with_parent(&self) -> io::Result<()> {
        rustix::process::set_parent_process_death_signal(Some(Signal::KILL))
            .map_err(io::Error::from)
    }

    fn make_mounts_private(&self) -> io::Result<()> {
        rustix::mount::mount_change(
            "/",
            MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
        )
        .map_err(io::Error::from)
    }

    fn set_hostname(&self, name: &str) -> io::Result<()> {
        rustix::system::sethostname(name.as_bytes()).map_err(io::Error::from)
    }

    fn host_entry(&self, path: &Path) -> HostEntry {
        match std::fs::symlink_metadata(path) {
            Err(_) => HostEntry::Missing,
            Ok(m) if m.file_type().is_symlink() => {
                match (std::fs::read_link(path), path.is_dir()) {
                    (Ok(target), true) => HostEntry::Symlink(target),
                    (Ok(_), false) if path.is_file() => HostEntry::File,
                    _ => HostEntry::Missing,
                }
            }
            Ok(m) if m.is_dir() => HostEntry::Dir,
            Ok(_) => HostEntry::File,
        }
    }

    fn open_dir(&self, path: &Path) -> io::Result<OwnedFd> {
        rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io::Error::from)
    }

    fn mount_overlay(&self, lower_top_first: &[&Path], target: &Path) -> io::Result<()> {
        let lower: Vec<String> = lower_top_first
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let data = std::ffi::CString::new(format!("lowerdir={}", lower.join(":")))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        rustix::mount::mount(
            "overlay",
            target,
            "overlay",
            MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV,
            data.as_c_str(),
        )
        .map_err(io::Error::from)
    }

    fn mount_tmpfs(&self, target: &Path, options: &str) -> io::Result<()> {
        crate::host::mount_tmpfs(target, options)
    }

    fn mount_proc(&self, target: &Path) -> io::Result<()> {
        rustix::mount::mount(
            "proc",
            target,
            "proc",
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            c"",
        )
        .map_err(io::Error::from)
    }

    fn mask(&self, source: &Path, target: &Path) -> io::Result<()> {
        let copy = rustix::mount::open_tree(
            CWD,
            source,
            OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
        )?;
        // Without MOVE_MOUNT_T_SYMLINKS, a symbolic link at `target` is not followed.
        rustix::mount::move_mount(
            &copy,
            "",
            CWD,
            target,
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
        )
        .map_err(io::Error::from)
    }

    fn bind(&self, source: &Path, target: &Path, read_only: bool) -> io::Result<()> {
        rustix::mount::mount_bind_recursive(source, target).map_err(io::Error::from)?;
        if read_only {
            self.remount_read_only(target)?;
        }
        Ok(())
    }

    fn remount_read_only(&self, target: &Path) -> io::Result<()> {
        let flags = MountFlags::BIND | MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV;
        rustix::mount::mount_remount(target, flags, "").map_err(io::Error::from)
    }

    fn mkdir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn write_file(&self, path: &Path, contents: &[u8]) -> io::Result<()> {
        std::fs::write(path, contents)
    }

    fn read_host_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut contents = Vec::new();
        std::fs::File::open(path)?
            .take(HOST_FILE_MAX + 1)
            .read_to_end(&mut contents)?;
        if contents.len() as u64 > HOST_FILE_MAX {
            return Err(io::Error::other("the file is too large"));
        }
        Ok(contents)
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        std::os::unix::fs::symlink(target, link)
    }

    fn pivot_root(&self, new_root: &Path) -> io::Result<()> {
        // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves
        // only the new root, without needing a directory to put the old one in.
        std::env::set_current_dir(new_root)?;
        rustix::process::pivot_root(".", ".")?;
        rustix::mount::unmount(".", UnmountFlags::DETACH)?;
        std::env::set_current_dir("/")
    }

    fn set_rlimit(&self, resource: Resource, limit: u64) -> io::Result<()> {
        let limit = Rlimit {
            current: Some(limit),
            maximum: Some(limit),
        };
        rustix::process::setrlimit(resource, limit).map_err(io::Error::from)
    }

    fn set_gid(&self, gid: u32) -> io::Result<()> {
        let gid = rustix::process::Gid::from_raw(gid);
        rustix::thread::set_thread_groups(&[gid])?;
        rustix::thread::set_thread_res_gid(gid, gid, gid).map_err(io::Error::from)
    }

    fn drop_bounding_set(&self) -> io::Result<()> {
        for bit in 0..64 {
            let capability = CapabilitySet::from_bits_retain(1 << bit);
            match rustix::thread::remove_capability_from_bounding_set(capability) {
                Ok(()) => {}
                // Past the last capability this kernel knows.
                Err(rustix::io::Errno::INVAL) => break,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn set_uid(&self, uid: u32) -> io::Result<()> {
        let uid = rustix::process::Uid::from_raw(uid);
        rustix::thread::set_thread_res_uid(uid, uid, uid).map_err(io::Error::from)
    }

    fn set_no_new_privs(&self) -> io::Result<()> {
        rustix::thread::set_no_new_privs(true).map_err(io::Error::from)
    }

    fn chdir(&self, path: &Path) -> io::Result<()> {
        std::env::set_current_dir(path)
    }

    fn install_seccomp(&self, filters: &SeccompFilters) -> io::Result<()> {
        filters.install()
    }

    fn exec(&self, program: &Path, args: &[String], env: &BTreeMap<String, String>) -> io::Error {
        use std::os::unix::process::CommandExt;
        std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .env_clear()
            .envs(env)
            .exec()
    }
}
