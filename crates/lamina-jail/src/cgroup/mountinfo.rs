//! The cgroup lines of `/proc/self/mountinfo`.

use std::path::PathBuf;

/// One `cgroup` or `cgroup2` mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// The directory of the hierarchy that is mounted (`/` unless it is a bind of a sub-tree).
    pub(crate) root: String,
    /// Where it is mounted.
    pub(crate) mount_point: PathBuf,
    /// True for `cgroup2`, false for a v1 `cgroup` hierarchy.
    pub(crate) v2: bool,
    /// The super options, which for v1 name the controllers (`rw,cpu,cpuacct`).
    pub(crate) super_options: Vec<String>,
}

impl CgroupMount {
    /// Whether this v1 hierarchy carries `controller`.
    pub(crate) fn has_controller(&self, controller: &str) -> bool {
        self.super_options.iter().any(|o| o == controller)
    }
}

/// The cgroup mounts in mountinfo `text`, in file order. Lines that are malformed or of other
/// filesystems are skipped.
pub(crate) fn cgroup_mounts(text: &str) -> Vec<CgroupMount> {
    text.lines().filter_map(parse_line).collect()
}

/// Parses `36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:14 - cgroup cgroup rw,memory`:
/// six fixed fields, optional fields, a lone `-`, then type, source and super options.
fn parse_line(line: &str) -> Option<CgroupMount> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let separator = fields.iter().skip(6).position(|f| *f == "-")? + 6;
    let fs_type = *fields.get(separator + 1)?;
    let v2 = match fs_type {
        "cgroup" => false,
        "cgroup2" => true,
        _ => return None,
    };
    let super_options = fields
        .get(separator + 3)
        .map(|o| o.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    Some(CgroupMount {
        root: unescape(fields.get(3)?),
        mount_point: PathBuf::from(unescape(fields.get(4)?)),
        v2,
        super_options,
    })
}

/// Undoes the kernel's octal escapes of space, tab, newline and backslash (`\040`).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1_and_v2_lines_and_skips_others() {
        let text = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:14 master:3 - cgroup cgroup rw,memory
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
garbage
";
        let mounts = cgroup_mounts(text);
        assert_eq!(mounts.len(), 3);
        assert_eq!(
            mounts[0].mount_point,
            PathBuf::from("/sys/fs/cgroup/memory")
        );
        assert!(mounts[0].has_controller("memory"));
        assert!(!mounts[0].v2);
        assert!(mounts[1].has_controller("cpu") && mounts[1].has_controller("cpuacct"));
        assert!(mounts[2].v2);
        assert_eq!(mounts[2].root, "/");
    }

    #[test]
    fn unescapes_octal_and_keeps_the_rest() {
        assert_eq!(unescape(r"/a\040b\\c"), r"/a b\\c");
        assert_eq!(unescape(r"/tail\04"), r"/tail\04");
        assert_eq!(unescape(r"/x\134y"), r"/x\y");
    }
}
