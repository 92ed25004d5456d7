//! The kernel calls the jail makes, behind a trait so tests can record them.

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::mount::{MountFlags, MountPropagationFlags};

/// The kernel calls of the jail, each one step.
pub trait Syscall {
    /// Moves this process into a new mount namespace.
    fn unshare_mount_namespace(&self) -> io::Result<()>;
    /// Stops mount events from propagating back to the host (`MS_REC | MS_SLAVE` on `/`).
    fn make_mounts_private(&self) -> io::Result<()>;
    /// Opens a directory by path only (`O_PATH`), to bind it after its path is hidden.
    fn open_dir(&self, path: &Path) -> io::Result<OwnedFd>;
    /// Mounts a read-only overlay whose lower directories are given top first.
    fn mount_overlay(&self, lower_top_first: &[&Path], target: &Path) -> io::Result<()>;
    /// Mounts a tmpfs with the given options.
    fn mount_tmpfs(&self, target: &Path, options: &str) -> io::Result<()>;
    /// Bind-mounts `source` on `target`, read-only if asked.
    fn bind(&self, source: &Path, target: &Path, read_only: bool) -> io::Result<()>;
    /// Remounts a mount read-only.
    fn remount_read_only(&self, target: &Path) -> io::Result<()>;
    /// Creates a directory.
    fn mkdir(&self, path: &Path) -> io::Result<()>;
    /// Changes the working directory.
    fn chdir(&self, path: &Path) -> io::Result<()>;
    /// Replaces this process with `program`; returns only on failure.
    fn exec(&self, program: &Path, args: &[OsString]) -> io::Error;
}

/// The real kernel.
pub struct LinuxSyscall;

impl Syscall for LinuxSyscall {
    fn unshare_mount_namespace(&self) -> io::Result<()> {
        // SAFETY: `unshare_unsafe` is unsafe only for `CLONE_FILES`, which splits the file
        // descriptor table between threads; we unshare only the mount namespace, and the
        // jail process is single-threaded.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }
            .map_err(io::Error::from)
    }

    fn make_mounts_private(&self) -> io::Result<()> {
        rustix::mount::mount_change(
            "/",
            MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
        )
        .map_err(io::Error::from)
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
            MountFlags::RDONLY,
            data.as_c_str(),
        )
        .map_err(io::Error::from)
    }

    fn mount_tmpfs(&self, target: &Path, options: &str) -> io::Result<()> {
        let data = std::ffi::CString::new(options)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        rustix::mount::mount(
            "tmpfs",
            target,
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV,
            data.as_c_str(),
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
        rustix::mount::mount_remount(target, MountFlags::BIND | MountFlags::RDONLY, "")
            .map_err(io::Error::from)
    }

    fn mkdir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn chdir(&self, path: &Path) -> io::Result<()> {
        std::env::set_current_dir(path)
    }

    fn exec(&self, program: &Path, args: &[OsString]) -> io::Error {
        use std::os::unix::process::CommandExt;
        std::process::Command::new(program).args(args).exec()
    }
}
