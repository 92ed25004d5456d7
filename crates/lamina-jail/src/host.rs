//! The few mounts the server makes on the host itself: each environment's `/tmp` is a tmpfs
//! mounted on its scratch directory, so it outlives a reset of the environment (AWS keeps
//! `/tmp` across one) and is sized by `EphemeralStorage`. After a crash these mounts are
//! found in `/proc/self/mountinfo` and removed.

use std::io;
use std::path::{Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};

/// Mounts a tmpfs of `size_mb` MB on `dir`, owned by `uid`:`gid` and private to them.
pub fn mount_scratch(dir: &Path, size_mb: u32, uid: u32, gid: u32) -> io::Result<()> {
    mount_tmpfs(
        dir,
        &format!("size={size_mb}m,mode=0700,uid={uid},gid={gid}"),
    )
}

/// Mounts a `nosuid,nodev` tmpfs with the given options (also the jail's own tmpfs mounts).
pub(crate) fn mount_tmpfs(target: &Path, options: &str) -> io::Result<()> {
    let options = std::ffi::CString::new(options)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    rustix::mount::mount(
        "tmpfs",
        target,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        options.as_c_str(),
    )
    .map_err(io::Error::from)
}

/// Detaches the mount on `dir` (an environment's `/tmp`).
pub fn unmount(dir: &Path) -> io::Result<()> {
    rustix::mount::unmount(dir, UnmountFlags::DETACH).map_err(io::Error::from)
}

/// Detaches every mount at or below `dir`, deepest first; returns how many there were (the
/// clean-up after a crash, when nothing else says where the mounts are).
pub fn unmount_all_under(dir: &Path) -> io::Result<usize> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    let mut mounts = mounts_under(&mountinfo, &dir);
    mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    for mount in &mounts {
        match rustix::mount::unmount(mount, UnmountFlags::DETACH) {
            Ok(()) | Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(mounts.len())
}

/// The mount points at or below `dir` listed in `mountinfo` text.
pub fn mounts_under(mountinfo: &str, dir: &Path) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape(field)))
        .filter(|mount| mount.starts_with(dir))
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space, `\134` for a backslash, ...).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|_| bytes[i] == b'\\')
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u8::from_str_radix(d, 8).ok());
        match octal {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
90 22 0:50 / /srv/lamina\\040data/envs/env-a/tmp rw,nosuid,nodev shared:40 - tmpfs tmpfs rw,size=524288k
91 22 0:51 / /srv/lamina\\040data/envs/env-b/tmp rw shared:41 - tmpfs tmpfs rw
92 22 0:52 / /srv/lamina\\040data/envs-other/x rw shared:42 - tmpfs tmpfs rw
93 22 0:53 / /srv/other rw shared:43 - tmpfs tmpfs rw
";

    #[test]
    fn finds_the_mounts_below_a_directory_with_escaped_names() {
        let found = mounts_under(MOUNTINFO, Path::new("/srv/lamina data/envs"));
        assert_eq!(
            found,
            [
                PathBuf::from("/srv/lamina data/envs/env-a/tmp"),
                PathBuf::from("/srv/lamina data/envs/env-b/tmp"),
            ]
        );
        assert!(mounts_under(MOUNTINFO, Path::new("/nowhere")).is_empty());
    }

    #[test]
    fn unescapes_only_octal_escapes() {
        assert_eq!(unescape("a\\040b\\134c"), "a b\\c");
        assert_eq!(unescape("trailing\\04"), "trailing\\04");
    }
}
