//! What the reports of the fake tree must be, each written once: the file view of processes
//! 100-400 (as CSV, parsed CSV, JSON rows and the table), and their per-process numbers from
//! smaps and from the rollup.

use crate::support::*;

/// One row of the file view of processes 100-400 (amounts in kB).
pub struct FileSpec {
    /// As the table and JSON show it (escaped).
    pub path: &'static str,
    /// As the CSV has it (quoted where needed).
    pub csv_path: &'static str,
    /// JSON `path_hex`, for a name that is not UTF-8.
    pub path_hex: Option<&'static str>,
    pub kind: &'static str,
    /// The mapped object: device as `maps` prints it and inode, from the tree's map headers
    /// ([`NO_OBJECT`] for anonymous memory and pseudo-mappings).
    pub object: (&'static str, u64),
    pub processes: u64,
    pub mappings: u64,
    /// size, RSS, PSS, USS, shared, swap.
    pub kb: [u64; 6],
    /// `None` where the kernel gave no `SwapPss:` (unknown, not 0).
    pub swap_pss: Option<u64>,
}

const fn spec(
    path: &'static str,
    kind: &'static str,
    object: (&'static str, u64),
    counts: [u64; 2],
    kb: [u64; 6],
) -> FileSpec {
    FileSpec {
        path,
        csv_path: path,
        path_hex: None,
        kind,
        object,
        processes: counts[0],
        mappings: counts[1],
        kb,
        swap_pss: Some(0),
    }
}

/// The file view of processes 100-400, by PSS: the spec every file-view test starts from.
///
/// The objects are the tree's (`tree::header`): files on `fe:00`, with the inode of their
/// `Map` (`tree::private` gives a file at `start` the inode 2000 + start % 997), and
/// anonymous memory and the kernel's `[...]` names on `00:00` with inode 0.
pub const FILE_ROWS: [FileSpec; 11] = [
    FileSpec {
        swap_pss: Some(8),
        ..spec(
            "",
            "anon",
            NO_OBJECT,
            [2, 2],
            [2560, 1280, 1280, 1280, 0, 8],
        )
    },
    spec(
        "/SYSV0000abcd (deleted)",
        "shm",
        ("fe:00", 43981),
        [2, 2],
        [2048, 1024, 512, 0, 1024, 0],
    ),
    spec(
        "/memfd:cache (deleted)",
        "memfd",
        ("fe:00", 77),
        [1, 1],
        [512, 512, 512, 512, 0, 0],
    ),
    spec(
        "/usr/lib/libshared.so.1",
        "file",
        ("fe:00", 1001),
        [3, 6],
        [3264, 1080, 360, 0, 1080, 0],
    ),
    spec(
        "[heap]",
        "heap",
        NO_OBJECT,
        [2, 2],
        [396, 192, 192, 192, 0, 0],
    ),
    spec(
        "/var/tmp/old.log (deleted)",
        "deleted",
        ("fe:00", 2606),
        [1, 1],
        [40, 40, 40, 40, 0, 0],
    ),
    FileSpec {
        path_hex: Some("2f6f70742f636166e92f6c69622e736f"),
        ..spec(
            "/opt/caf\\xe9/lib.so",
            "file",
            ("fe:00", 2824),
            [1, 1],
            [32, 32, 32, 32, 0, 0],
        )
    },
    spec(
        "[stack]",
        "stack",
        NO_OBJECT,
        [2, 2],
        [264, 28, 28, 28, 0, 0],
    ),
    FileSpec {
        swap_pss: None,
        ..spec(
            "/usr/lib/libold.so",
            "file",
            ("fe:00", 2611),
            [1, 1],
            [100, 20, 20, 20, 0, 0],
        )
    },
    FileSpec {
        csv_path: "\"/tmp/data,\"\"quoted\"\".db\"",
        ..spec(
            "/tmp/data,\"quoted\".db",
            "file",
            ("fe:00", 2105),
            [1, 1],
            [16, 16, 16, 16, 0, 0],
        )
    },
    spec("[vdso]", "vdso", NO_OBJECT, [2, 2], [16, 8, 0, 0, 8, 0]),
];

/// The file-view table of processes 100-400 up to its TOTAL row; the coverage line that
/// follows depends on who runs pmaps and with which filter.
pub const FILE_TABLE: &str = "\
Mapping                     Kind     Procs  Maps   VSZ   RSS   PSS   USS  Shared  Swap  SwapPSS
--------------------------- -------- ------ ----- ----- ----- ----- ----- ------- ----- --------
[anon]                      anon         2     2  2.5M  1.2M  1.2M  1.2M       0    8K       8K
/SYSV0000abcd (deleted)     shm          2     2  2.0M  1.0M  512K     0    1.0M     0        0
/memfd:cache (deleted)      memfd        1     1  512K  512K  512K  512K       0     0        0
/usr/lib/libshared.so.1     file         3     6  3.2M  1.1M  360K     0    1.1M     0        0
[heap]                      heap         2     2  396K  192K  192K  192K       0     0        0
/var/tmp/old.log (deleted)  deleted      1     1   40K   40K   40K   40K       0     0        0
/opt/caf\\xe9/lib.so         file         1     1   32K   32K   32K   32K       0     0        0
[stack]                     stack        2     2  264K   28K   28K   28K       0     0        0
/usr/lib/libold.so          file         1     1  100K   20K   20K   20K       0     0        -
/tmp/data,\"quoted\".db       file         1     1   16K   16K   16K   16K       0     0        0
[vdso]                      vdso         2     2   16K    8K     0     0      8K     0        0
TOTAL                                    4    21  9.0M  4.1M  2.9M  2.1M    2.1M    8K        -
";

/// The outcomes of the processes in [`GOOD`](super::tree::GOOD): 4 read, 1 vanished, 1 zombie, 1 kernel thread.
pub const GOOD_OUTCOMES: Outcomes = Outcomes {
    read: 4,
    vanished: 1,
    zombie: 1,
    kernel_thread: 1,
    denied: 0,
    incomplete: 0,
    error: 0,
};

/// The table's coverage line for a run over [`GOOD`](super::tree::GOOD) (`-p` leaves out 700 and 900), with
/// `what` the middle part (`21 mappings from smaps`, `totals from smaps_rollup`).
pub fn good_coverage(what: &str) -> String {
    format!(
        "7 processes: 4 read, 1 vanished, 1 zombie, 1 kernel thread; {what}; 2 filtered out; \
         <t> s\n"
    )
}

/// One file-view CSV row: path and kind as they appear in CSV, the object (device, inode),
/// then counts and amounts in kB.
pub fn file_row(
    path: &str,
    kind: &str,
    (device, inode): (&str, u64),
    [processes, mappings]: [u64; 2],
    kb: [u64; 6],
    swap_pss: Option<u64>,
) -> String {
    format!(
        "{path},{kind},{device},{inode},{processes},{}",
        amounts_csv(Some(mappings), (kb, swap_pss))
    )
}

impl FileSpec {
    /// The CSV key fields of the file: path, kind, device, inode.
    pub fn key_csv(&self) -> String {
        let (device, inode) = self.object;
        format!("{},{},{device},{inode}", self.csv_path, self.kind)
    }

    /// The CSV fields from `processes` on.
    pub fn counts_and_amounts_csv(&self) -> String {
        format!(
            "{},{}",
            self.processes,
            amounts_csv(Some(self.mappings), (self.kb, self.swap_pss))
        )
    }
}

/// The expected file-view row of `path` (as shown).
pub fn spec_of(path: &str) -> &'static FileSpec {
    FILE_ROWS
        .iter()
        .find(|s| s.path == path)
        .unwrap_or_else(|| panic!("no expected row for {path:?}"))
}

/// The file-view CSV of the rows named (by their shown path), in that order.
pub fn file_csv(order: &[&str]) -> String {
    let rows: Vec<String> = order
        .iter()
        .map(|want| {
            let s = spec_of(want);
            file_row(
                s.csv_path,
                s.kind,
                s.object,
                [s.processes, s.mappings],
                s.kb,
                s.swap_pss,
            )
        })
        .collect();
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    csv(FILE_HEADER, &refs)
}

/// The shown path of every row, in the default (PSS) order.
pub fn all_file_paths() -> Vec<&'static str> {
    FILE_ROWS.iter().map(|s| s.path).collect()
}

/// The rows as the csv crate reads them back: plain fields, amounts in bytes, an unknown
/// amount empty.
pub fn file_records() -> Vec<Vec<String>> {
    FILE_ROWS
        .iter()
        .map(|s| {
            let mut r = vec![
                s.path.to_string(),
                s.kind.to_string(),
                s.object.0.to_string(),
                s.object.1.to_string(),
                s.processes.to_string(),
                s.mappings.to_string(),
            ];
            r.extend(s.kb.iter().map(|&v| k(v).to_string()));
            r.push(s.swap_pss.map_or(String::new(), |v| k(v).to_string()));
            r
        })
        .collect()
}

/// The rows as typed JSON rows.
pub fn file_json_rows() -> Vec<FileRow> {
    FILE_ROWS
        .iter()
        .map(|s| FileRow {
            path: s.path.into(),
            path_hex: s.path_hex.map(str::to_string),
            kind: Some(s.kind.into()),
            device: Some(s.object.0.into()),
            inode: Some(s.object.1),
            processes: s.processes,
            mappings: Some(s.mappings),
            size_bytes: Some(k(s.kb[0])),
            rss_bytes: Some(k(s.kb[1])),
            pss_bytes: Some(k(s.kb[2])),
            uss_bytes: Some(k(s.kb[3])),
            shared_bytes: Some(k(s.kb[4])),
            swap_bytes: Some(k(s.kb[5])),
            swap_pss_bytes: s.swap_pss.map(k),
        })
        .collect()
}

/// The CSV header of the user, command and kind views: the group's column, then the counts
/// and amounts.
pub fn group_header(first: &str) -> String {
    format!(
        "{first},processes,mappings,size_bytes,rss_bytes,pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes"
    )
}

/// One process of the tree, as each view shows it.
pub struct ProcSpec {
    pub pid: u32,
    /// `stat`'s start time (clock ticks): the fake tree's default, 1000 + pid.
    pub start_time: u64,
    pub user: &'static str,
    /// The command line as JSON shows it.
    pub command: &'static str,
    /// The command line as CSV has it (formula-safe).
    pub command_csv: &'static str,
    /// The command name (comm) as CSV has it.
    pub comm_csv: &'static str,
}

/// Processes 100-400, in PID order.
pub const PROCS: [ProcSpec; 4] = [
    ProcSpec {
        pid: 100,
        start_time: 1100,
        user: "root",
        command: "alpha --serve",
        command_csv: "alpha --serve",
        comm_csv: "alpha",
    },
    ProcSpec {
        pid: 200,
        start_time: 1200,
        user: "nobody",
        command: "/usr/bin/beta -x",
        command_csv: "/usr/bin/beta -x",
        comm_csv: "beta",
    },
    ProcSpec {
        pid: 300,
        start_time: 1300,
        user: "root",
        command: "-bash",
        command_csv: "'-bash",
        comm_csv: "bash",
    },
    // `@old` would run as a formula in a spreadsheet; its empty command line shows as the
    // bracketed comm.
    ProcSpec {
        pid: 400,
        start_time: 1400,
        user: "root",
        command: "[@old]",
        command_csv: "[@old]",
        comm_csv: "'@old",
    },
];

impl ProcSpec {
    /// The CSV key fields of the process: pid, start time, user, command line.
    pub fn key_csv(&self) -> String {
        format!(
            "{},{},{},{}",
            self.pid, self.start_time, self.user, self.command_csv
        )
    }
}

/// A process's amounts in kB: size, RSS, PSS, USS, shared, swap, and SwapPss (`None`:
/// unknown, process 400's kernel has no `SwapPss:`).
pub type Amounts = ([u64; 6], Option<u64>);

/// Per process (in [`PROCS`] order), from its smaps: mapping count and amounts.
pub const FROM_SMAPS: [(u64, Amounts); 4] = [
    (7, ([4432, 1980, 1480, 1104, 876, 8], Some(8))),
    (8, ([2952, 1572, 1072, 696, 876, 0], Some(0))),
    (5, ([1764, 660, 420, 300, 360, 0], Some(0))),
    (1, ([100, 20, 20, 20, 0, 0], None)),
];

/// Per process (in [`PROCS`] order), from its rollup: VSZ from stat's vsize, PSS as the
/// rollup has it (1 kB above the smaps sum for 100 and 300).
pub const FROM_ROLLUP: [Amounts; 4] = [
    ([4424, 1980, 1481, 1104, 876, 8], Some(8)),
    ([2944, 1572, 1072, 696, 876, 0], Some(0)),
    ([1760, 660, 421, 300, 360, 0], Some(0)),
    ([96, 20, 20, 20, 0, 0], None),
];

/// The CSV fields from the mapping count on: `mappings` (empty when unknown) and amounts.
pub fn amounts_csv(mappings: Option<u64>, (kb, swap_pss): Amounts) -> String {
    let mappings = mappings.map_or(String::new(), |m| m.to_string());
    let [size, rss, pss, uss, shared, swap] = kb.map(k);
    let swap_pss = swap_pss.map_or(String::new(), |v| k(v).to_string());
    format!("{mappings},{size},{rss},{pss},{uss},{shared},{swap},{swap_pss}")
}

/// The process-view CSV of processes 100-400 from smaps (`true`) or from the rollup.
pub fn process_csv(from_smaps: bool) -> String {
    let rows: Vec<String> = PROCS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let fields = if from_smaps {
                amounts_csv(Some(FROM_SMAPS[i].0), FROM_SMAPS[i].1)
            } else {
                amounts_csv(None, FROM_ROLLUP[i])
            };
            format!("{},{fields}", p.key_csv())
        })
        .collect();
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    csv(PROCESS_HEADER, &refs)
}
