//! Pure byte parsers for `/proc/PID/{maps,smaps,smaps_rollup,stat,status,cmdline}`.
//!
//! Nothing here touches the file system. The smaps parser is the hot path of a full scan
//! (hundreds of thousands of records), so it matches known keys into fixed fields, borrows
//! from the caller's buffer and allocates nothing per line: [`SmapsParser`] keeps one path
//! buffer that is reused for every record.
//!
//! Paths stay raw bytes: everything after the inode field and its padding, verbatim up to the
//! newline. The kernel escapes a newline in a name as the four bytes `\012`; spaces, tabs,
//! CR and non-UTF-8 bytes come through as they are.

use std::fmt;

use crate::model::{Counters, MapHeader, MapKind, field};

/// A malformed line or file. The read stage turns it into that process's `error` outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
}

impl ParseError {
    fn new(what: &str, line: &[u8]) -> ParseError {
        let shown: Vec<u8> = line.iter().take(120).copied().collect();
        ParseError {
            message: format!("{what}: {:?}", String::from_utf8_lossy(&shown)),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

fn hex(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in bytes {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u64::from(d);
    }
    Some(v)
}

fn dec(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Splits off the next field ending at a single space; returns (field, rest after the space).
fn field_sp(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&b| b == b' ')?;
    Some((&s[..i], &s[i + 1..]))
}

/// True when a line of `smaps` starts a new mapping (its address range) rather than being a
/// `Key: value` line. Addresses are printed in lowercase hex; keys start with a capital.
#[inline]
pub fn is_header_line(line: &[u8]) -> bool {
    matches!(line.first(), Some(b'0'..=b'9' | b'a'..=b'f'))
}

/// Parses one line of `maps` (also the header of each `smaps` record), without its newline.
///
/// `start-end perms offset major:minor inode`, then padding spaces, then the path verbatim.
/// A path never starts with a space (it is absolute, bracketed or `anon_inode:`), so all the
/// spaces after the inode are padding; nothing at the end is trimmed.
pub fn parse_map_header(line: &[u8]) -> Result<MapHeader<'_>, ParseError> {
    let bad = || ParseError::new("malformed mapping line", line);
    let (range, rest) = field_sp(line).ok_or_else(bad)?;
    let dash = range.iter().position(|&b| b == b'-').ok_or_else(bad)?;
    let start = hex(&range[..dash]).ok_or_else(bad)?;
    let end = hex(&range[dash + 1..]).ok_or_else(bad)?;
    let (perms, rest) = field_sp(rest).ok_or_else(bad)?;
    let perms: [u8; 4] = perms.try_into().map_err(|_| bad())?;
    let (offset, rest) = field_sp(rest).ok_or_else(bad)?;
    let offset = hex(offset).ok_or_else(bad)?;
    let (dev, rest) = field_sp(rest).ok_or_else(bad)?;
    let colon = dev.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let dev_major = hex(&dev[..colon]).ok_or_else(bad)?;
    let dev_minor = hex(&dev[colon + 1..]).ok_or_else(bad)?;
    // The inode is the last fixed field: it ends at a space, or at the end of a line whose
    // trailing space was lost (fake trees, hand-edited captures).
    let (inode, rest) = match rest.iter().position(|&b| b == b' ') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &rest[rest.len()..]),
    };
    let inode = dec(inode).ok_or_else(bad)?;
    let pad = rest.iter().take_while(|&&b| b == b' ').count();
    if end < start || dev_major > u64::from(u32::MAX) || dev_minor > u64::from(u32::MAX) {
        return Err(bad());
    }
    Ok(MapHeader {
        start,
        end,
        perms,
        offset,
        dev_major: dev_major as u32,
        dev_minor: dev_minor as u32,
        inode,
        path: &rest[pad..],
    })
}

/// The kind of a mapping, from its path field alone.
pub fn classify(path: &[u8]) -> MapKind {
    const DELETED: &[u8] = b" (deleted)";
    match path {
        [] => MapKind::Anon,
        b"[heap]" => MapKind::Heap,
        b"[stack]" => MapKind::Stack,
        b"[vdso]" | b"[vvar]" | b"[vvar_vclock]" | b"[vsyscall]" => MapKind::Vdso,
        [b'[', ..] if path.starts_with(b"[stack:") => MapKind::Stack,
        [b'/', ..] => {
            let deleted = path.ends_with(DELETED);
            if deleted && path.starts_with(b"/memfd:") {
                MapKind::Memfd
            } else if deleted && is_sysv(&path[..path.len() - DELETED.len()]) {
                MapKind::Shm
            } else if path == b"/dev/zero (deleted)" {
                // Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) is backed by /dev/zero.
                MapKind::Other
            } else if deleted {
                MapKind::Deleted
            } else {
                MapKind::File
            }
        }
        _ => MapKind::Other,
    }
}

/// `/SYSV` followed by the 8-hex-digit key, as the kernel names SysV segments.
fn is_sysv(name: &[u8]) -> bool {
    name.len() == 13 && name.starts_with(b"/SYSV") && name[5..].iter().all(u8::is_ascii_hexdigit)
}

/// The value of one `Key: value` line of smaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValue<'a> {
    /// `N kB`, in bytes.
    Bytes(u64),
    /// A number without a unit (`THPeligible:`, `ProtectionKey:`).
    Number(u64),
    /// Anything else (`VmFlags: rd wr mr mw me ac`), trimmed of the padding.
    Text(&'a [u8]),
}

/// Splits a `Key: value` line into its key and value. `None` when it has no colon.
pub fn parse_field(line: &[u8]) -> Option<(&[u8], FieldValue<'_>)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let key = &line[..colon];
    let raw = &line[colon + 1..];
    let lead = raw.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    let value = &raw[lead..];
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    let parsed = match (&value[digits..], dec(&value[..digits])) {
        (b" kB", Some(n)) => FieldValue::Bytes(n.saturating_mul(1024)),
        (b"", Some(n)) => FieldValue::Number(n),
        _ => {
            let trail = value.iter().rev().take_while(|&&b| b == b' ').count();
            FieldValue::Text(&value[..value.len() - trail])
        }
    };
    Some((key, parsed))
}

/// Applies one `Key: N kB` line to `c`. Keys are matched exactly (`Pss` is not `Pss_Dirty`);
/// keys pmaps does not keep and keys of future kernels are ignored. A kept key whose value is
/// not `N kB` is malformed.
#[inline]
pub fn apply_field(c: &mut Counters, line: &[u8]) -> Result<(), ParseError> {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(ParseError::new("malformed smaps line", line));
    };
    let (slot, bit) = match &line[..colon] {
        b"Size" => (&mut c.size, field::SIZE),
        b"Rss" => (&mut c.rss, field::RSS),
        b"Pss" => (&mut c.pss, field::PSS),
        b"Shared_Clean" => (&mut c.shared_clean, field::SHARED_CLEAN),
        b"Shared_Dirty" => (&mut c.shared_dirty, field::SHARED_DIRTY),
        b"Private_Clean" => (&mut c.private_clean, field::PRIVATE_CLEAN),
        b"Private_Dirty" => (&mut c.private_dirty, field::PRIVATE_DIRTY),
        b"Swap" => (&mut c.swap, field::SWAP),
        b"SwapPss" => (&mut c.swap_pss, field::SWAP_PSS),
        b"Referenced" => (&mut c.referenced, field::REFERENCED),
        b"Anonymous" => (&mut c.anonymous, field::ANONYMOUS),
        b"Locked" => (&mut c.locked, field::LOCKED),
        _ => return Ok(()),
    };
    let v = &line[colon + 1..];
    let lead = v.iter().take_while(|&&b| b == b' ').count();
    let v = &v[lead..];
    let digits = v.iter().take_while(|b| b.is_ascii_digit()).count();
    match (dec(&v[..digits]), &v[digits..]) {
        (Some(n), b" kB") => {
            *slot = n.saturating_mul(1024);
            c.known |= bit;
            Ok(())
        }
        _ => Err(ParseError::new("malformed smaps value", line)),
    }
}

/// One complete smaps record: its header (path borrowed from the parser) and counters.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub header: MapHeader<'a>,
    pub counters: &'a Counters,
}

/// A streaming parser for `smaps` and `smaps_rollup`: feed it lines (without their `\n`) in
/// order; it calls back with each complete record. It owns one path buffer reused across
/// records, so the caller's line buffer may be refilled between calls.
#[derive(Debug, Default)]
pub struct SmapsParser {
    open: bool,
    start: u64,
    end: u64,
    perms: [u8; 4],
    offset: u64,
    dev: (u32, u32),
    inode: u64,
    path: Vec<u8>,
    counters: Counters,
    records: u64,
}

impl SmapsParser {
    pub fn new() -> SmapsParser {
        SmapsParser::default()
    }

    /// Forgets any state, keeping the path buffer's capacity.
    pub fn reset(&mut self) {
        self.open = false;
        self.path.clear();
        self.records = 0;
    }

    /// Number of records completed so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Feeds one line. A header line completes the previous record (passed to `emit`).
    #[inline]
    pub fn line(
        &mut self,
        line: &[u8],
        emit: &mut impl FnMut(Record<'_>),
    ) -> Result<(), ParseError> {
        if is_header_line(line) {
            self.finish(emit);
            let h = parse_map_header(line)?;
            self.open = true;
            self.start = h.start;
            self.end = h.end;
            self.perms = h.perms;
            self.offset = h.offset;
            self.dev = (h.dev_major, h.dev_minor);
            self.inode = h.inode;
            self.path.clear();
            self.path.extend_from_slice(h.path);
            self.counters = Counters::unknown();
            Ok(())
        } else if !self.open {
            Err(ParseError::new("smaps field before any mapping", line))
        } else {
            apply_field(&mut self.counters, line)
        }
    }

    /// Completes the last record (at end of file).
    pub fn finish(&mut self, emit: &mut impl FnMut(Record<'_>)) {
        if !self.open {
            return;
        }
        self.open = false;
        self.records += 1;
        emit(Record {
            header: MapHeader {
                start: self.start,
                end: self.end,
                perms: self.perms,
                offset: self.offset,
                dev_major: self.dev.0,
                dev_minor: self.dev.1,
                inode: self.inode,
                path: &self.path,
            },
            counters: &self.counters,
        });
    }
}

/// Counters for one line of `maps`: only the virtual size is known.
pub fn maps_counters(h: &MapHeader<'_>) -> Counters {
    Counters {
        size: h.end - h.start,
        known: field::SIZE,
        ..Counters::unknown()
    }
}

/// What pmaps needs from `/proc/PID/stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat<'a> {
    pub pid: u32,
    /// Raw comm: between the first `(` and the **last** `)` (comm may contain `)`).
    pub comm: &'a [u8],
    pub state: u8,
    pub flags: u64,
    pub start_time: u64,
    /// Virtual size in bytes (0 when the process has no mm).
    pub vsize: u64,
    /// Fields that describe the process's current address space (startcode … env_end).
    /// They change on exec and read 0 once the mm is gone, so comparing them before and
    /// after an smaps read detects a read that an exit or exec cut short.
    pub mm_fingerprint: [u64; 10],
}

/// PF_KTHREAD in the `flags` field of stat.
pub const PF_KTHREAD: u64 = 0x0020_0000;

impl Stat<'_> {
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// Parses `/proc/PID/stat`.
pub fn parse_stat(buf: &[u8]) -> Result<Stat<'_>, ParseError> {
    let bad = || ParseError::new("malformed stat", buf);
    let open = buf.iter().position(|&b| b == b'(').ok_or_else(bad)?;
    let close = buf.iter().rposition(|&b| b == b')').ok_or_else(bad)?;
    if close < open {
        return Err(bad());
    }
    let pid = dec(trim_ascii_spaces(&buf[..open])).ok_or_else(bad)?;
    let comm = &buf[open + 1..close];
    // Fields after the comm, numbered as in proc(5): 3 = state.
    let mut fields = buf[close + 1..]
        .split(|&b| b == b' ' || b == b'\n')
        .filter(|f| !f.is_empty());
    let mut nth = [0u64; 53];
    let state = fields
        .next()
        .and_then(|s| s.first().copied())
        .ok_or_else(bad)?;
    let mut n = 3;
    for f in fields {
        n += 1;
        if n >= nth.len() {
            break;
        }
        // Signed fields (priority, nice…) may be negative; pmaps uses none of them.
        nth[n] = dec(f).unwrap_or(0);
    }
    // Fields up to vsize (23) are printed by every kernel since 2.6.
    if n < 23 {
        return Err(bad());
    }
    let pick = |i: usize| nth[i];
    Ok(Stat {
        pid: u32::try_from(pid).map_err(|_| bad())?,
        comm,
        state,
        flags: pick(9),
        start_time: pick(22),
        vsize: pick(23),
        mm_fingerprint: [
            pick(26),
            pick(27),
            pick(28),
            pick(45),
            pick(46),
            pick(47),
            pick(48),
            pick(49),
            pick(50),
            pick(51),
        ],
    })
}

fn trim_ascii_spaces(s: &[u8]) -> &[u8] {
    let a = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let z = s[a..]
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_whitespace())
        .count();
    &s[a..s.len() - z]
}

/// What pmaps needs from `/proc/PID/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Effective uid (the second value of `Uid:`), as `ps` shows it.
    pub euid: Option<u32>,
    /// `VmSize:` in bytes; absent for kernel threads and zombies.
    pub vm_size: Option<u64>,
    /// `Kthread:` (Linux 6.x); absent on older kernels.
    pub kthread: Option<bool>,
}

/// Parses `/proc/PID/status`. Unknown or malformed lines are skipped: a missing value stays
/// unknown.
pub fn parse_status(buf: &[u8]) -> Status {
    let mut st = Status::default();
    for line in buf.split(|&b| b == b'\n') {
        let Some((key, value)) = parse_field(line) else {
            continue;
        };
        match (key, value) {
            (b"Uid", FieldValue::Text(t)) => {
                st.euid = t
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|f| !f.is_empty())
                    .nth(1)
                    .and_then(dec)
                    .and_then(|v| u32::try_from(v).ok());
            }
            (b"VmSize", FieldValue::Bytes(n)) => st.vm_size = Some(n),
            (b"Kthread", FieldValue::Number(n)) => st.kthread = Some(n != 0),
            _ => {}
        }
    }
    st
}

/// `cmdline` for display: NUL separators become spaces, trailing NULs go.
pub fn cmdline_display(buf: &[u8]) -> Vec<u8> {
    let end = buf.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    buf[..end]
        .iter()
        .map(|&b| if b == 0 { b' ' } else { b })
        .collect()
}

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

/// The effective capability set (`CapEff:`, hex) from `/proc/PID/status`.
pub fn status_cap_eff(status: &[u8]) -> Option<u64> {
    let line = status
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"CapEff:"))?;
    let value = trim_ascii_spaces(line);
    hex(value)
}

/// Whether a `uid_map` is the initial user namespace's (`0 0 4294967295`, one line).
pub fn is_initial_id_map(map: &[u8]) -> bool {
    let lines: Vec<&[u8]> = map
        .split(|&b| b == b'\n')
        .filter(|l| !trim_ascii_spaces(l).is_empty())
        .collect();
    let [line] = lines[..] else {
        return false;
    };
    let nums: Vec<Option<u64>> = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
        .map(dec)
        .collect();
    nums == [Some(0), Some(0), Some(4_294_967_295)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &[u8] = b"\
56027b33a000-56027b33c000 r--p 00000000 fe:00 247282                     /usr/bin/head
Size:                  8 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                   8 kB
Pss:                   6 kB
Pss_Dirty:             3 kB
Shared_Clean:          1 kB
Shared_Dirty:          2 kB
Private_Clean:         4 kB
Private_Dirty:         5 kB
Referenced:            8 kB
Anonymous:             0 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:       64 kB
Private_Hugetlb:     128 kB
Swap:                  7 kB
SwapPss:               9 kB
Locked:                0 kB
THPeligible:           0
ProtectionKey:         0
VmFlags: rd mr mw me 
7ffd5b1d5000-7ffd5b1f6000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
Rss:                  12 kB
Pss:                  12 kB
Private_Dirty:        12 kB
";

    fn records(text: &[u8]) -> Result<Vec<(Vec<u8>, Counters)>, ParseError> {
        let mut p = SmapsParser::new();
        let mut out = Vec::new();
        let mut emit = |r: Record<'_>| out.push((r.header.path.to_vec(), *r.counters));
        for line in text.split(|&b| b == b'\n') {
            if !line.is_empty() {
                p.line(line, &mut emit)?;
            }
        }
        p.finish(&mut emit);
        Ok(out)
    }

    #[test]
    fn smaps_keys_are_matched_exactly_and_converted_to_bytes() {
        let recs = records(SMAPS).expect("valid smaps");
        assert_eq!(recs.len(), 2);
        let (path, c) = &recs[0];
        assert_eq!(path, b"/usr/bin/head");
        assert_eq!(c.size, 8 * 1024);
        assert_eq!(c.rss, 8 * 1024);
        // Pss_Dirty (3 kB) must not overwrite Pss (6 kB).
        assert_eq!(c.pss, 6 * 1024);
        assert_eq!(c.shared(), 3 * 1024);
        // Private_Hugetlb (128 kB) is not Private_Clean or Private_Dirty.
        assert_eq!(c.uss(), 9 * 1024);
        assert_eq!(c.swap, 7 * 1024);
        assert_eq!(c.swap_pss, 9 * 1024);
        assert!(c.is_known(field::ALL));
    }

    #[test]
    fn missing_keys_stay_unknown() {
        let recs = records(SMAPS).expect("valid smaps");
        let (path, c) = &recs[1];
        assert_eq!(path, b"[stack]");
        assert_eq!(c.uss(), 12 * 1024);
        assert!(!c.is_known(field::SWAP_PSS));
        assert!(c.is_known(field::SIZE | field::RSS | field::PSS));
        let mut total = Counters::default();
        total += &recs[0].1;
        total += &recs[1].1;
        assert!(!total.is_known(field::SWAP_PSS));
        assert!(total.is_known(field::RSS));
        assert_eq!(total.rss, 20 * 1024);
    }

    #[test]
    fn rollup_has_no_size() {
        let text =
            b"56495b1fc000-7ffc5a1ba000 ---p 00000000 00:00 0                          [rollup]
Rss:                1728 kB
Pss:                 737 kB
Pss_Dirty:           112 kB
Pss_Anon:            112 kB
Pss_File:            625 kB
Pss_Shmem:             0 kB
Private_Dirty:       112 kB
";
        let recs = records(text).expect("valid rollup");
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].0, b"[rollup]");
        assert_eq!(recs[0].1.pss, 737 * 1024);
        assert!(!recs[0].1.is_known(field::SIZE));
    }

    #[test]
    fn malformed_value_and_orphan_field_are_errors() {
        assert!(records(b"00400000-00401000 r--p 00000000 00:00 0 \nRss: 12 MB\n").is_err());
        assert!(records(b"00400000-00401000 r--p 00000000 00:00 0 \nPss: x kB\n").is_err());
        assert!(records(b"Rss: 4 kB\n").is_err());
        assert!(records(b"0040zz00-00401000 r--p 00000000 00:00 0 \n").is_err());
        // Unknown keys of future kernels are ignored, even with odd values.
        let ok = records(b"00400000-00401000 r--p 00000000 00:00 0 \nFutureKey: ?? zB\n");
        assert_eq!(ok.map(|r| r.len()), Ok(1));
    }

    #[test]
    fn header_fields_and_verbatim_paths() {
        let h = parse_map_header(
            b"7f1c2a000000-7f1c2a021000 rw-s 0001a000 08:1f 1234567                    /tmp/a b\tc\\012d (deleted)",
        )
        .expect("valid");
        assert_eq!(h.start, 0x7f1c2a000000);
        assert_eq!(h.end, 0x7f1c2a021000);
        assert_eq!(&h.perms, b"rw-s");
        assert_eq!(h.offset, 0x1a000);
        assert_eq!((h.dev_major, h.dev_minor), (8, 0x1f));
        assert_eq!(h.inode, 1234567);
        assert_eq!(h.path, b"/tmp/a b\tc\\012d (deleted)");
        // Anonymous: the line ends after the inode's space.
        let a =
            parse_map_header(b"7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0 ").expect("valid");
        assert_eq!(a.path, b"");
        // Trailing spaces and CR in a name are kept; non-UTF-8 bytes pass through.
        let t = parse_map_header(b"1000-2000 r--p 00000000 00:00 5 /x\xff\xfe \r  ").expect("ok");
        assert_eq!(t.path, b"/x\xff\xfe \r  ");
        let long = [
            b"1000-2000 r--p 00000000 00:00 5 /".as_slice(),
            &[b'a'; 5000],
        ]
        .concat();
        assert_eq!(parse_map_header(&long).expect("long").path.len(), 5001);
    }

    #[test]
    fn kinds_come_from_the_name_alone() {
        let cases: &[(&[u8], MapKind)] = &[
            (b"", MapKind::Anon),
            (b"[heap]", MapKind::Heap),
            (b"[stack]", MapKind::Stack),
            (b"[vdso]", MapKind::Vdso),
            (b"[vvar]", MapKind::Vdso),
            (b"[vvar_vclock]", MapKind::Vdso),
            (b"[vsyscall]", MapKind::Vdso),
            (b"[anon:my pool = 1]", MapKind::Other),
            (b"[anon_shmem:x]", MapKind::Other),
            (b"[future]", MapKind::Other),
            (b"anon_inode:[perf_event]", MapKind::Other),
            (b"/dev/zero (deleted)", MapKind::Other),
            (b"/SYSV0000abcd (deleted)", MapKind::Shm),
            (b"/SYSV", MapKind::File),
            (b"/SYSV0000abcd", MapKind::File),
            (b"/memfd:pool (deleted)", MapKind::Memfd),
            (b"/usr/lib/libc.so.6", MapKind::File),
            (b"/usr/lib/libc.so.6 (deleted)", MapKind::Deleted),
            (b"/srv/[heap]", MapKind::File),
            (b"/tmp/x (deleted) (deleted)", MapKind::Deleted),
        ];
        for (path, kind) in cases {
            assert_eq!(classify(path), *kind, "{:?}", String::from_utf8_lossy(path));
        }
    }

    #[test]
    fn stat_comm_is_cut_at_the_last_paren() {
        let s = parse_stat(b"42 (a) b (c)) S 1 42 42 0 -1 4194560 9 0 0 0 0 0 0 0 20 0 1 0 777 3133440 407 18446744073709551615 1 2 3 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 4 5 6 7 8 9 10 0\n")
            .expect("valid");
        assert_eq!(s.pid, 42);
        assert_eq!(s.comm, b"a) b (c)");
        assert_eq!(s.state, b'S');
        assert_eq!(s.start_time, 777);
        assert_eq!(s.vsize, 3133440);
        assert!(!s.is_kernel_thread());
        assert_eq!(s.mm_fingerprint, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        let k = parse_stat(b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
            .expect("valid");
        assert!(k.is_kernel_thread());
        assert!(parse_stat(b"12 (short) S 1 2").is_err());
        assert!(parse_stat(b"garbage").is_err());
    }

    #[test]
    fn status_uid_is_effective() {
        let st = parse_status(
            b"Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmSize:\t    3892 kB\nKthread:\t0\n",
        );
        assert_eq!(st.euid, Some(0));
        assert_eq!(st.vm_size, Some(3892 * 1024));
        assert_eq!(st.kthread, Some(false));
        assert_eq!(parse_status(b"Name:\tkworker\n"), Status::default());
    }

    #[test]
    fn cmdline_separators() {
        assert_eq!(cmdline_display(b"/bin/sh\0-c\0a b\0\0"), b"/bin/sh -c a b");
        assert_eq!(cmdline_display(b""), b"");
    }

    #[test]
    fn field_values() {
        assert_eq!(
            parse_field(b"Rss:     12 kB"),
            Some((b"Rss".as_slice(), FieldValue::Bytes(12288)))
        );
        assert_eq!(
            parse_field(b"THPeligible:    1"),
            Some((b"THPeligible".as_slice(), FieldValue::Number(1)))
        );
        assert_eq!(
            parse_field(b"VmFlags: rd mr mw me "),
            Some((b"VmFlags".as_slice(), FieldValue::Text(b"rd mr mw me")))
        );
    }

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
    fn capabilities_and_user_namespaces() {
        let status = b"Name:\tcat\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n";
        assert_eq!(status_cap_eff(status), Some(0x1ff_feff_ffff));
        assert_eq!(status_cap_eff(b"Name:\tcat\n"), None);
        assert!(is_initial_id_map(b"         0          0 4294967295\n"));
        assert!(!is_initial_id_map(b"         0          0          1\n"));
        assert!(!is_initial_id_map(b"         0     100000      65536\n"));
        assert!(!is_initial_id_map(
            b"         0          0 4294967295\n         0          0 4294967295\n"
        ));
        assert!(!is_initial_id_map(b""));
    }
}
