//! The tests' own reading of the kernel's `/proc/PID/smaps`, `maps` and `stat`: the one
//! independent oracle the expected numbers come from, written apart from pmaps' parser so
//! that a bug in pmaps cannot hide by being in the expectation too.

/// One record of an smaps file: its header (a maps line) and the `Key: value` lines under it.
#[derive(Clone, Debug)]
pub struct SmapsRecord {
    /// The header line, without its newline.
    pub header: Vec<u8>,
    /// The header's path column (empty for anonymous memory).
    pub path: Vec<u8>,
    /// Every numeric `Key: N [kB]` line, in file order.
    pub fields: Vec<(String, u64)>,
    /// The `VmFlags:` line as printed, without its newline.
    pub vm_flags: Option<Vec<u8>>,
    /// The record's exact bytes, newlines included.
    pub raw: Vec<u8>,
}

impl SmapsRecord {
    /// The value of `key` (in kB for amounts), if the record has that line.
    pub fn kb(&self, key: &str) -> Option<u64> {
        self.fields.iter().find(|(k, _)| k == key).map(|&(_, v)| v)
    }
}

/// Splits smaps text into records. Lines before the first header are ignored; a value that
/// is not a number (other than `VmFlags:`) fails the test.
pub fn parse_smaps(text: &[u8]) -> Vec<SmapsRecord> {
    let mut out: Vec<SmapsRecord> = Vec::new();
    for line in text.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        if let Some(path) = maps_line_path(line) {
            out.push(SmapsRecord {
                header: line.to_vec(),
                path: path.to_vec(),
                fields: Vec::new(),
                vm_flags: None,
                raw: Vec::new(),
            });
        } else if let Some(record) = out.last_mut() {
            if line.starts_with(b"VmFlags:") {
                record.vm_flags = Some(line.to_vec());
            } else {
                record.fields.push(smaps_field(line));
            }
        } else {
            continue;
        }
        let record = out
            .last_mut()
            .expect("a record was just pushed or extended");
        record.raw.extend_from_slice(line);
        record.raw.push(b'\n');
    }
    out
}

/// `Key:   123 kB` (or a unitless `Key:   1`) as (key, number).
fn smaps_field(line: &[u8]) -> (String, u64) {
    let s = String::from_utf8_lossy(line);
    let (key, value) = s
        .split_once(':')
        .unwrap_or_else(|| panic!("not a `key: value` smaps line: {s:?}"));
    let v: u64 = value
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("bad smaps line {s:?}: {e}"));
    (key.to_string(), v)
}

/// The records of the live `/proc/<pid>/smaps`.
pub fn read_smaps(pid: u32) -> Vec<SmapsRecord> {
    let text = std::fs::read(format!("/proc/{pid}/smaps"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/smaps: {e}"));
    parse_smaps(&text)
}

/// The sum of `key` (in kB) over the records of the live `/proc/<pid>/smaps` whose path column
/// is exactly `path` (e.g. `b"/tmp/x (deleted)"`, `b"[heap]"`, `b""` for anonymous); `None`
/// when no record matches.
pub fn smaps_kb(pid: u32, path: &[u8], key: &str) -> Option<u64> {
    read_smaps(pid)
        .iter()
        .filter(|r| r.path == path)
        .filter_map(|r| r.kb(key))
        .reduce(|a, b| a + b)
}

/// The path column of a maps/smaps header line (`Some(b"")` for anonymous mappings), or
/// `None` when `line` is not a header (a `Key: value` line): after five fields and the
/// padding, verbatim.
pub fn maps_line_path(line: &[u8]) -> Option<&[u8]> {
    let first = line.split(|&c| c == b' ').next()?;
    if !first.contains(&b'-') || first.contains(&b':') {
        return None;
    }
    let mut rest = line;
    for _ in 0..5 {
        let sp = rest.iter().position(|&c| c == b' ')?;
        rest = &rest[sp + 1..];
    }
    let start = rest.iter().position(|&c| c != b' ').unwrap_or(rest.len());
    Some(&rest[start..])
}

/// The lines of the live `/proc/<pid>/maps`, without their newlines.
fn maps_raw_lines(pid: u32) -> Vec<Vec<u8>> {
    let maps = std::fs::read(format!("/proc/{pid}/maps"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/maps: {e}"));
    maps.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Lines of `/proc/<pid>/maps` as the kernel prints them: the number of mappings, the
/// `[vsyscall]` gate area included (smaps lists it too).
pub fn maps_count(pid: u32) -> usize {
    maps_raw_lines(pid).len()
}

/// The path column of every line of `/proc/<pid>/maps`, in order.
pub fn maps_paths(pid: u32) -> Vec<Vec<u8>> {
    maps_raw_lines(pid)
        .iter()
        .map(|l| {
            maps_line_path(l)
                .unwrap_or_else(|| panic!("not a maps line: {}", String::from_utf8_lossy(l)))
                .to_vec()
        })
        .collect()
}

/// The objects (device as printed, inode) of the lines of the live `/proc/<pid>/maps` whose
/// path column is exactly `path`: one for a file mapped once or in several segments, more
/// when different files print alike.
pub fn maps_objects(pid: u32, path: &[u8]) -> std::collections::BTreeSet<(String, u64)> {
    maps_raw_lines(pid)
        .iter()
        .filter(|l| maps_line_path(l) == Some(path))
        .map(|l| {
            let f: Vec<&[u8]> = l.splitn(6, |&c| c == b' ').collect();
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let inode = text(f[4])
                .parse()
                .unwrap_or_else(|e| panic!("bad inode in maps line {}: {e}", text(l)));
            (text(f[3]), inode)
        })
        .collect()
}

/// One line of `/proc/PID/maps`, split into the columns `pmaps show` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapsLine {
    pub address: String,
    pub perms: String,
    pub offset: String,
    pub device: String,
    pub inode: String,
    pub path: String,
}

/// The lines of the live `/proc/<pid>/maps`, split into columns.
pub fn proc_maps(pid: u32) -> Vec<MapsLine> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    maps_raw_lines(pid)
        .iter()
        .map(|line| {
            let fields: Vec<&[u8]> = line.splitn(6, |&c| c == b' ').collect();
            assert!(fields.len() >= 5, "short maps line {}", text(line));
            MapsLine {
                address: text(fields[0]),
                perms: text(fields[1]),
                offset: text(fields[2]),
                device: text(fields[3]),
                inode: text(fields[4]),
                path: text(maps_line_path(line).expect("maps line")),
            }
        })
        .collect()
}

/// The fields of a `stat` line after `(comm)`, from field 3 (state) on, without the final
/// newline. The comm may hold spaces and `)`, so it ends at the *last* `)`.
pub fn stat_fields(stat: &[u8]) -> Option<Vec<&[u8]>> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = stat.get(close + 2..)?;
    let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
    Some(rest.split(|&b| b == b' ').collect())
}

/// The start time (field 22 of the live `/proc/<pid>/stat`, clock ticks since boot): with the
/// PID, a process's identity.
pub fn stat_start_time(pid: u32) -> u64 {
    let stat = std::fs::read(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/stat: {e}"));
    let fields = stat_fields(&stat).unwrap_or_else(|| panic!("bad /proc/{pid}/stat"));
    // Field 3 (state) is fields[0], so field 22 is fields[19].
    let raw = String::from_utf8_lossy(fields.get(19).expect("stat field 22"));
    raw.parse()
        .unwrap_or_else(|e| panic!("stat field 22 of {pid} is {raw:?}: {e}"))
}
