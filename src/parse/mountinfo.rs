//! `/proc/self/mountinfo`: the options of the proc mount (`hidepid=`, `gid=`), and where the
//! cgroup hierarchies are mounted.

use super::dec;

/// The `hidepid=` option of a proc mount: which processes it keeps from users who may not
/// ptrace them (proc(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HidePid {
    /// `0` / `off`: every process is listed and its public files readable.
    Off,
    /// `1` / `noaccess`: listed, but other users' directories are unreadable (EPERM).
    NoAccess,
    /// `2` / `invisible`: other users' processes are not listed at all.
    Invisible,
    /// `4` / `ptraceable`: only processes the reader may ptrace are listed.
    Ptraceable,
}

impl HidePid {
    pub fn as_str(self) -> &'static str {
        match self {
            HidePid::Off => "off",
            HidePid::NoAccess => "noaccess",
            HidePid::Invisible => "invisible",
            HidePid::Ptraceable => "ptraceable",
        }
    }
}

/// What a proc mount's options say about which processes it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcMount {
    pub hidepid: HidePid,
    /// `gid=N`: members of this group see every process whatever `hidepid` says.
    pub gid: Option<u32>,
}

/// Undoes the octal escapes of a mountinfo path field (`\040` space, `\011` tab, `\012`
/// newline, `\134` backslash).
fn unescape_mount_path(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let oct = field.get(i + 1..i + 4).filter(|d| {
            field[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)) && d[0] <= b'3'
        });
        match oct {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

/// The options of the proc mount whose mount point is `mount_point` (an absolute,
/// canonical path), from the text of `/proc/self/mountinfo`; `None` when no proc file
/// system is mounted there. When several mounts share the mount point, the last one listed
/// is the one on top.
///
/// A mountinfo line: `ID PARENT MAJ:MIN ROOT MOUNT_POINT MOUNT_OPTS [OPTIONAL...] - FSTYPE
/// SOURCE SUPER_OPTS`; proc's `hidepid=` and `gid=` are super options (numbers before Linux
/// 5.8, names since).
pub fn proc_mount(mountinfo: &[u8], mount_point: &[u8]) -> Option<ProcMount> {
    let mut found = None;
    for line in mountinfo.split(|&b| b == b'\n') {
        let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        if fields.len() < 7 || unescape_mount_path(fields[4]) != mount_point {
            continue;
        }
        let Some(dash) = fields.iter().skip(6).position(|f| *f == b"-") else {
            continue;
        };
        let after = &fields[6 + dash + 1..];
        if after.first() != Some(&&b"proc"[..]) {
            found = None;
            continue;
        }
        let mut mount = ProcMount {
            hidepid: HidePid::Off,
            gid: None,
        };
        let options = after.get(2).into_iter().chain(fields.get(5));
        for opt in options.flat_map(|o| o.split(|&b| b == b',')) {
            if let Some(v) = opt.strip_prefix(b"hidepid=") {
                mount.hidepid = match v {
                    b"1" | b"noaccess" => HidePid::NoAccess,
                    b"2" | b"invisible" => HidePid::Invisible,
                    b"4" | b"ptraceable" => HidePid::Ptraceable,
                    _ => HidePid::Off,
                };
            } else if let Some(v) = opt.strip_prefix(b"gid=") {
                mount.gid = dec(v).and_then(|g| u32::try_from(g).ok());
            }
        }
        found = Some(mount);
    }
    found
}

/// A mounted cgroup hierarchy: the cgroup path at its root (not `/` inside a cgroup
/// namespace or a bind mount) and where it is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    pub root: Vec<u8>,
    pub mount_point: Vec<u8>,
}

/// The cgroup hierarchies that hold memory counters: the unified one (`cgroup2`) and the v1
/// memory controller's (`cgroup` with the `memory` super option). The first mount of each
/// is taken (later ones are usually bind mounts of the same hierarchy).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CgroupMounts {
    pub v2: Option<CgroupMount>,
    pub v1_memory: Option<CgroupMount>,
}

/// The cgroup mounts listed in the text of `/proc/self/mountinfo`.
pub fn cgroup_mounts(mountinfo: &[u8]) -> CgroupMounts {
    let mut found = CgroupMounts::default();
    for line in mountinfo.split(|&b| b == b'\n') {
        let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        if fields.len() < 7 {
            continue;
        }
        let Some(dash) = fields.iter().skip(6).position(|f| *f == b"-") else {
            continue;
        };
        let after = &fields[6 + dash + 1..];
        let mount = || CgroupMount {
            root: unescape_mount_path(fields[3]),
            mount_point: unescape_mount_path(fields[4]),
        };
        match after.first().copied() {
            Some(b"cgroup2") if found.v2.is_none() => found.v2 = Some(mount()),
            Some(b"cgroup")
                if found.v1_memory.is_none()
                    && after
                        .get(2)
                        .is_some_and(|o| o.split(|&b| b == b',').any(|x| x == b"memory")) =>
            {
                found.v1_memory = Some(mount())
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &[u8] = b"\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
63 43 0:39 / /tmp/x rw,relatime - proc proc rw,hidepid=invisible
64 43 0:40 / /tmp/old rw,relatime shared:5 - proc proc rw,hidepid=2,gid=27
65 43 0:41 / /tmp/with\\040space rw - proc proc rw,hidepid=ptraceable
66 43 0:42 / /tmp/na rw - proc none rw,hidepid=noaccess,subset=pid
67 43 0:43 / /tmp/x rw - tmpfs tmpfs rw,size=64k
68 43 0:44 / /tmp/x rw - proc proc rw,hidepid=1
";

    #[test]
    fn proc_mount_options_from_mountinfo() {
        let m = |p: &[u8]| proc_mount(MOUNTINFO, p);
        let hp = |h, gid| Some(ProcMount { hidepid: h, gid });
        assert_eq!(m(b"/proc"), hp(HidePid::Off, None));
        assert_eq!(m(b"/tmp/old"), hp(HidePid::Invisible, Some(27)));
        assert_eq!(m(b"/tmp/with space"), hp(HidePid::Ptraceable, None));
        assert_eq!(m(b"/tmp/na"), hp(HidePid::NoAccess, None));
        // The last mount on a mount point is the one on top.
        assert_eq!(m(b"/tmp/x"), hp(HidePid::NoAccess, None));
        // Covered by a tmpfs: not a proc mount any more.
        let cut = MOUNTINFO
            .windows(6)
            .position(|w| w == b"68 43 ")
            .expect("line 68");
        assert_eq!(proc_mount(&MOUNTINFO[..cut], b"/tmp/x"), None);
        // Not a mount point, not proc, a prefix only.
        assert_eq!(m(b"/"), None);
        assert_eq!(m(b"/tmp"), None);
        assert_eq!(m(b"/proc/1"), None);
        assert_eq!(proc_mount(b"", b"/proc"), None);
        assert_eq!(proc_mount(b"garbage line\n\n", b"/proc"), None);
    }

    #[test]
    fn mount_paths_are_unescaped() {
        assert_eq!(
            unescape_mount_path(b"/a\\040b\\011c\\012d\\134e"),
            b"/a b\tc\nd\\e"
        );
        assert_eq!(unescape_mount_path(b"/a\\9\\"), b"/a\\9\\");
    }

    #[test]
    fn cgroup_hierarchies_from_mountinfo() {
        let hybrid = b"\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
        let m = cgroup_mounts(hybrid);
        assert_eq!(
            m.v1_memory.expect("v1").mount_point,
            b"/sys/fs/cgroup/memory"
        );
        assert_eq!(m.v2.expect("v2").mount_point, b"/sys/fs/cgroup/unified");
        let ns = b"29 22 0:26 /kubepods/pod1 /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw\n";
        let m = cgroup_mounts(ns);
        let v2 = m.v2.expect("v2");
        assert_eq!(v2.root, b"/kubepods/pod1");
        assert_eq!(m.v1_memory, None);
        assert_eq!(cgroup_mounts(b""), CgroupMounts::default());
    }
}
