//! A file row is one mapped object (device and inode), not a path: containers each have their
//! own `/usr/lib/libc.so.6`, and a report that merged them by path would give them one row
//! and the wrong sharing. The tree (sizes in kB):
//!
//! | pid | libc.so.6 object | its libc mappings (size, RSS, PSS) | also |
//! |---|---|---|---|
//! | 10 | A: `fe:00` inode 5001 | text 1024/400/200 shared, data 16/8/8 private dirty | [heap] |
//! | 20 | B: `fe:00` inode 7002 | text 1024/600/600 private clean, data 16/8/8 private dirty | [heap] |
//! | 30 | A | as 10 (the same object, shared with 10: half of each page each) | [heap] |
//! | 40 | C: `fe:01` inode 5001 | text 1024/300/150 shared (with a process outside) | [heap] |
//!
//! B is another file than A on the same device; C has A's inode number on another device.
//! Each [heap] is 132/64/64 private dirty, on `00:00` inode 0.

use super::tree::run;
use crate::support::*;

const LIBC: &[u8] = b"/usr/lib/libc.so.6";
const A: (&str, u64) = ("fe:00", 5001);
const B: (&str, u64) = ("fe:00", 7002);
const C: (&str, u64) = ("fe:01", 5001);

/// One smaps record of `size` kB at `start` (in kB from 0x7f00_0000_0000) of `object`.
fn record(
    start_kb: u64,
    perms: &str,
    (dev, inode): (&str, u64),
    path: &[u8],
    kb: SmapsKb,
) -> Vec<u8> {
    let start = 0x7f00_0000_0000 + start_kb * KB;
    let header = map_header(start, start + kb.size * KB, perms, 0, dev, inode, path);
    full_smaps_record(header, kb)
}

/// Text shared with one other process: RSS `rss` kB, PSS half of it.
fn shared_text(start_kb: u64, object: (&str, u64), rss: u64) -> Vec<u8> {
    let kb = SmapsKb {
        size: 1024,
        rss,
        pss: rss / 2,
        shared_clean: rss,
        ..SmapsKb::default()
    };
    record(start_kb, "r-xp", object, LIBC, kb)
}

fn data(start_kb: u64, object: (&str, u64)) -> Vec<u8> {
    record(
        start_kb,
        "rw-p",
        object,
        LIBC,
        SmapsKb::private_dirty(16, 8),
    )
}

fn heap() -> Vec<u8> {
    record(
        0x1000,
        "rw-p",
        NO_OBJECT,
        b"[heap]",
        SmapsKb::private_dirty(132, 64),
    )
}

/// The tree of the table above.
fn containers() -> FakeProc {
    let fake = FakeProc::new();
    let a = [shared_text(0, A, 400), data(1024, A), heap()].concat();
    // 600 of B's 1024 kB of text are resident, mapped by 20 alone.
    let b_text = SmapsKb {
        size: 1024,
        rss: 600,
        pss: 600,
        private_clean: 600,
        ..SmapsKb::default()
    };
    let b = [record(0, "r-xp", B, LIBC, b_text), data(1024, B), heap()].concat();
    let c = [shared_text(0, C, 300), heap()].concat();
    for (pid, smaps) in [(10, &a), (20, &b), (30, &a), (40, &c)] {
        fake.process(pid).comm(b"web").smaps(smaps).write();
    }
    fake
}

/// One row of the file view of [`containers`] (amounts in kB).
#[derive(Clone, Copy)]
struct Want {
    path: &'static str,
    kind: &'static str,
    object: (&'static str, u64),
    processes: u64,
    mappings: u64,
    /// Size, RSS, PSS, USS, shared (no swap).
    kb: [u64; 5],
}

/// The file view of [`containers`], by PSS.
const ROWS: [Want; 4] = [
    Want {
        path: "/usr/lib/libc.so.6",
        kind: "file",
        object: B,
        processes: 1,
        mappings: 2,
        kb: [1040, 608, 608, 608, 0],
    },
    // 10 and 30: each page's PSS split between them.
    Want {
        path: "/usr/lib/libc.so.6",
        kind: "file",
        object: A,
        processes: 2,
        mappings: 4,
        kb: [2080, 816, 416, 16, 800],
    },
    Want {
        path: "[heap]",
        kind: "heap",
        object: NO_OBJECT,
        processes: 4,
        mappings: 4,
        kb: [528, 256, 256, 256, 0],
    },
    Want {
        path: "/usr/lib/libc.so.6",
        kind: "file",
        object: C,
        processes: 1,
        mappings: 1,
        kb: [1024, 300, 150, 0, 300],
    },
];

impl Want {
    fn csv(&self) -> String {
        let (device, inode) = self.object;
        let [size, rss, pss, uss, shared] = self.kb.map(k);
        format!(
            "{},{},{device},{inode},{},{},{size},{rss},{pss},{uss},{shared},0,0",
            self.path, self.kind, self.processes, self.mappings
        )
    }

    fn json(&self) -> FileRow {
        let [size, rss, pss, uss, shared] = self.kb.map(k);
        FileRow {
            path: self.path.into(),
            path_hex: None,
            kind: Some(self.kind.into()),
            device: Some(self.object.0.into()),
            inode: Some(self.object.1),
            processes: self.processes,
            mappings: Some(self.mappings),
            size_bytes: Some(size),
            rss_bytes: Some(rss),
            pss_bytes: Some(pss),
            uss_bytes: Some(uss),
            shared_bytes: Some(shared),
            swap_bytes: Some(0),
            swap_pss_bytes: Some(0),
        }
    }
}

/// The file-view CSV of `rows`, in that order.
fn file_csv(rows: &[Want]) -> String {
    let rows: Vec<String> = rows.iter().map(Want::csv).collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    csv(FILE_HEADER, &rows)
}

#[test]
fn files_with_one_path_are_one_row_per_object_in_csv_and_json() {
    let fake = containers();
    let out = run(&fake, &["-f", "csv"]);
    assert_eq!(expect_exit(&out, 0), file_csv(&ROWS));

    let out = run(&fake, &["-f", "json"]);
    let doc: FileDoc = serde_json::from_str(&expect_exit(&out, 0)).expect("JSON schema");
    let want: Vec<FileRow> = ROWS.iter().map(Want::json).collect();
    assert_eq!(doc.rows, want);
    assert_eq!(doc.meta.rows_total, 4);
    // The totals: four processes, every mapping once.
    assert_eq!(doc.totals.processes, 4);
    assert_eq!(doc.totals.mappings, Some(11));
    assert_eq!(doc.totals.pss_bytes, Some(k(608 + 416 + 256 + 150)));
}

#[test]
fn the_table_shows_device_and_inode_when_rows_share_a_path() {
    let fake = containers();
    let out = run(&fake, &[]);
    let text = expect_exit(&out, 0);
    let want = "\
Mapping             Kind  Device  Inode  Procs  Maps   VSZ   RSS   PSS   USS  Shared  Swap  SwapPSS
------------------- ----- ------- ------ ------ ----- ----- ----- ----- ----- ------- ----- --------
/usr/lib/libc.so.6  file  fe:00    7002      1     2  1.0M  608K  608K  608K       0     0        0
/usr/lib/libc.so.6  file  fe:00    5001      2     4  2.0M  816K  416K   16K    800K     0        0
[heap]              heap  00:00       0      4     4  528K  256K  256K  256K       0     0        0
/usr/lib/libc.so.6  file  fe:01    5001      1     1  1.0M  300K  150K     0    300K     0        0
TOTAL                                        4    11  4.6M  1.9M  1.4M  880K    1.1M     0        0
4 processes: 4 read; 11 mappings from smaps; <t> s
";
    assert_eq!(without_duration(&text), want, "got:\n{text}");
    // Sorted by path (bytes: `/` before `[`), the rows of one path by device, then inode.
    let out = run(&fake, &["-s", "path", "-f", "csv"]);
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&[ROWS[1], ROWS[0], ROWS[3], ROWS[2]])
    );
    // Each file's processes under it; a process row leaves the file's four key columns empty.
    let out = run(&fake, &["-g", "file,process", "-m", "libc"]);
    let text = expect_exit(&out, 0);
    let want = "\
Mapping             Kind  Device  Inode  PID  User  Command  Procs  Maps   VSZ   RSS   PSS   USS  Shared  Swap  SwapPSS
------------------- ----- ------- ------ ---- ----- -------- ------ ----- ----- ----- ----- ----- ------- ----- --------
/usr/lib/libc.so.6  file  fe:00    7002                          1     2  1.0M  608K  608K  608K       0     0        0
                                          20  root  [web]              2  1.0M  608K  608K  608K       0     0        0
/usr/lib/libc.so.6  file  fe:00    5001                          2     4  2.0M  816K  416K   16K    800K     0        0
                                          10  root  [web]              2  1.0M  408K  208K    8K    400K     0        0
                                          30  root  [web]              2  1.0M  408K  208K    8K    400K     0        0
/usr/lib/libc.so.6  file  fe:01    5001                          1     1  1.0M  300K  150K     0    300K     0        0
                                          40  root  [web]              1  1.0M  300K  150K     0    300K     0        0
TOTAL                                                            4     7  4.0M  1.7M  1.1M  624K    1.1M     0        0
4 processes: 4 read; 7 mappings from smaps; <t> s
";
    assert_eq!(without_duration(&text), want, "got:\n{text}");
    // Where no two rows share a path (10 and 30 map one libc), no Device and Inode columns.
    let out = run(&fake, &["-p", "10,30"]);
    let text = expect_exit(&out, 0);
    let want = "\
Mapping             Kind  Procs  Maps   VSZ   RSS   PSS   USS  Shared  Swap  SwapPSS
------------------- ----- ------ ----- ----- ----- ----- ----- ------- ----- --------
/usr/lib/libc.so.6  file      2     4  2.0M  816K  416K   16K    800K     0        0
[heap]              heap      2     2  264K  128K  128K  128K       0     0        0
TOTAL                         2     6  2.3M  944K  544K  144K    800K     0        0
2 processes: 2 read; 6 mappings from smaps; 2 filtered out; <t> s
";
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}

#[test]
fn one_object_under_one_path_is_one_row_shared_by_its_processes() {
    let fake = containers();
    // 10 and 30 map the same libc (A): one row, both processes, each page's PSS split.
    let out = run(&fake, &["-p", "10,30", "-m", "libc", "-f", "csv"]);
    assert_eq!(expect_exit(&out, 0), file_csv(&[ROWS[1]]));
    // Per process: each has half of the text's resident pages as PSS, and its own data.
    let out = run(
        &fake,
        &[
            "-p",
            "10,30",
            "-m",
            "libc",
            "-g",
            "file,process",
            "-f",
            "csv",
        ],
    );
    // (Start time: the fake tree's default, 1000 + pid.)
    let (device, inode) = A;
    let pair = |pid: u32| {
        format!(
            "/usr/lib/libc.so.6,file,{device},{inode},{pid},{},root,[web],,2,{},{},{},{},{},0,0",
            1000 + pid,
            k(1040),
            k(408),
            k(208),
            k(8),
            k(400)
        )
    };
    assert_eq!(
        expect_exit(&out, 0),
        csv(FILE_PROCESS_HEADER, &[&pair(10), &pair(30)])
    );
}

#[test]
fn a_process_mapping_two_objects_of_one_path_lists_both_under_it() {
    // 50 maps libc A (shared with 10) and libc C, one path on two devices.
    let fake = containers();
    let both = [shared_text(0, A, 400), shared_text(2048, C, 300), heap()].concat();
    fake.process(50).comm(b"web").smaps(&both).write();
    let out = run(&fake, &["-p", "50", "-g", "process,file", "-f", "csv"]);
    let row = |(dev, inode): (&str, u64), kb: [u64; 5]| {
        let [size, rss, pss, uss, shared] = kb.map(k);
        format!(
            "50,1050,root,[web],/usr/lib/libc.so.6,file,{dev},{inode},1,{size},{rss},{pss},{uss},\
             {shared},0,0"
        )
    };
    let heap = format!(
        "50,1050,root,[web],[heap],heap,00:00,0,1,{},{},{},{},0,0,0",
        k(132),
        k(64),
        k(64),
        k(64)
    );
    let header = "pid,start_time,user,command,path,kind,device,inode,mappings,size_bytes,rss_bytes,\
                  pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes";
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            header,
            &[
                &row(A, [1024, 400, 200, 0, 400]),
                &row(C, [1024, 300, 150, 0, 300]),
                &heap
            ]
        )
    );
    // The table tells them apart by device and inode; JSON gives each its identity.
    let out = run(&fake, &["-p", "50", "-g", "process,file", "--units", "KiB"]);
    let text = expect_exit(&out, 0);
    let want = "  PID  User  Command  Mapping             Kind  Device  Inode  Maps  VSZ KiB  RSS KiB  PSS KiB  USS KiB  Shared KiB  Swap KiB  SwapPSS KiB
------ ----- -------- ------------------- ----- ------- ------ ----- -------- -------- -------- -------- ----------- --------- ------------
   50  root  [web]                                                3    2,180      764      414       64         700         0            0
                      /usr/lib/libc.so.6  file  fe:00    5001     1    1,024      400      200        0         400         0            0
                      /usr/lib/libc.so.6  file  fe:01    5001     1    1,024      300      150        0         300         0            0
                      [heap]              heap  00:00       0     1      132       64       64       64           0         0            0
TOTAL                                                             3    2,180      764      414       64         700         0            0
1 process: 1 read; 3 mappings from smaps; 4 filtered out; <t> s
";
    assert_eq!(without_duration(&text), want, "got:\n{text}");
    let out = run(&fake, &["-p", "50", "-g", "process,file", "-f", "json"]);
    assert_exit(&out, 0);
    let doc = parse_json(&out);
    let files = doc["rows"][0]["by_file"].as_array().expect("by_file");
    let ids: Vec<(&str, u64)> = files
        .iter()
        .map(|f| (f["device"].as_str().unwrap(), f["inode"].as_u64().unwrap()))
        .collect();
    assert_eq!(ids, [A, C, NO_OBJECT]);
}
