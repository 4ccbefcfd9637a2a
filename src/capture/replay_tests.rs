//! A capture replays every outcome: processes of an in-memory source (read, read through a
//! live thread when the main thread has exited, denied, cut short by an exec, gone, failing
//! mid-read, malformed, zombie, kernel thread) are scanned live, captured, and scanned again
//! from the archive: the same rows, totals and coverage.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Mutex;

use super::{CaptureOptions, capture};
use crate::model::{GroupBy, Query, Report, Source, SourceChoice};
use crate::scan::scan;
use crate::source::archive::index::Limits;
use crate::source::{ArchiveSource, PidDir, ProcSource};

/// What one open of a file answers.
#[derive(Clone)]
enum Answer {
    Bytes(Vec<u8>),
    OpenFails(i32),
    FailsAfter(Vec<u8>, i32),
}

struct MemProc {
    owner: u32,
    gone: bool,
    /// The entries of `task/`.
    threads: Vec<u32>,
    /// Each file's answers, in the order of its opens (the last one repeats).
    files: HashMap<&'static str, Vec<Answer>>,
}

struct MemSource {
    procs: HashMap<u32, MemProc>,
    opened: Mutex<u32>,
}

struct MemPid<'a> {
    proc_: &'a MemProc,
    opens: Mutex<HashMap<String, usize>>,
}

impl PidDir for MemPid<'_> {
    fn owner(&self) -> Option<u32> {
        Some(self.proc_.owner)
    }
    fn open(&self, name: &str) -> io::Result<Box<dyn Read + '_>> {
        let answers = self
            .proc_
            .files
            .get(name)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
        let mut opens = self.opens.lock().expect("lock");
        let n = opens.entry(name.to_string()).or_insert(0);
        let answer = answers[(*n).min(answers.len() - 1)].clone();
        *n += 1;
        match answer {
            Answer::Bytes(b) => Ok(Box::new(io::Cursor::new(b))),
            Answer::OpenFails(e) => Err(io::Error::from_raw_os_error(e)),
            Answer::FailsAfter(b, e) => Ok(Box::new(io::Cursor::new(b).chain(FailingRead(e)))),
        }
    }
    fn threads(&self, cap: usize) -> io::Result<Vec<u32>> {
        Ok(self.proc_.threads.iter().copied().take(cap).collect())
    }
}

struct FailingRead(i32);

impl Read for FailingRead {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::from_raw_os_error(self.0))
    }
}

impl ProcSource for MemSource {
    fn describe(&self) -> String {
        "/proc".into()
    }
    fn list_pids(&self) -> io::Result<(Vec<u32>, Option<u32>)> {
        let mut pids: Vec<u32> = self.procs.keys().copied().collect();
        pids.sort_unstable();
        Ok((pids, None))
    }
    fn open_pid(&self, pid: u32) -> io::Result<Box<dyn PidDir + '_>> {
        *self.opened.lock().expect("lock") += 1;
        match self.procs.get(&pid) {
            Some(p) if !p.gone => Ok(Box::new(MemPid {
                proc_: p,
                opens: Mutex::new(HashMap::new()),
            })),
            _ => Err(io::Error::from_raw_os_error(libc::ENOENT)),
        }
    }
    fn read_file(&self, rel: &str, _cap: usize) -> io::Result<Vec<u8>> {
        match rel {
            "sys/kernel/hostname" => Ok(b"memhost\n".to_vec()),
            "sys/kernel/osrelease" => Ok(b"6.1.0-test\n".to_vec()),
            _ => Err(io::Error::from_raw_os_error(libc::ENOENT)),
        }
    }
    fn hidden_processes(&self) -> Option<String> {
        None
    }
    fn user_name(&self, uid: u32) -> Option<String> {
        (uid == 1000).then(|| "alice".to_string())
    }
    fn lookup_uid(&self, name: &str) -> Option<u32> {
        (name == "alice").then_some(1000)
    }
    fn pid_path(&self, pid: u32, file: &str) -> String {
        format!("/proc/{pid}/{file}")
    }
}

/// A `stat` line whose address-space fields (26-28, 45-51) all read `addr`.
fn stat(pid: u32, comm: &str, state: char, flags: u64, addr: u64) -> Vec<u8> {
    let mut fields = vec![0u64; 53];
    fields[9] = flags;
    fields[22] = 5000 + u64::from(pid);
    fields[23] = if addr == 0 { 0 } else { 8 << 20 };
    for i in [26, 27, 28, 45, 46, 47, 48, 49, 50, 51] {
        fields[i] = addr;
    }
    let rest: Vec<String> = fields[4..].iter().map(u64::to_string).collect();
    format!("{pid} ({comm}) {state} {}\n", rest.join(" ")).into_bytes()
}

fn smaps(records: &[(&str, u64)]) -> Vec<u8> {
    let mut out = String::new();
    for (i, (path, kb)) in records.iter().enumerate() {
        let start = 0x1000_0000 + (i as u64) * 0x10_0000;
        out.push_str(&format!(
            "{start:08x}-{:08x} rw-p 00000000 fe:00 {} {path}\n",
            start + kb * 1024,
            i + 1
        ));
        for key in ["Size", "Rss", "Pss", "Private_Dirty"] {
            out.push_str(&format!("{key}: {kb} kB\n"));
        }
        for key in [
            "Shared_Clean",
            "Shared_Dirty",
            "Private_Clean",
            "Swap",
            "SwapPss",
        ] {
            out.push_str(&format!("{key}: 0 kB\n"));
        }
    }
    out.into_bytes()
}

/// What `maps` answers where `smaps` answers `a`: the header lines of its records.
fn maps_of(a: &Answer) -> Answer {
    let headers = |b: &[u8]| -> Vec<u8> {
        b.split_inclusive(|&c| c == b'\n')
            .filter(|l| crate::parse::is_header_line(l))
            .flatten()
            .copied()
            .collect()
    };
    match a {
        Answer::Bytes(b) => Answer::Bytes(headers(b)),
        Answer::OpenFails(e) => Answer::OpenFails(*e),
        Answer::FailsAfter(b, e) => Answer::FailsAfter(headers(b), *e),
    }
}

fn process(owner: u32, files: Vec<(&'static str, Vec<Answer>)>) -> MemProc {
    let mut files: HashMap<&'static str, Vec<Answer>> = files.into_iter().collect();
    for (smaps, maps) in [("smaps", "maps"), ("task/20/smaps", "task/20/maps")] {
        if let Some(answers) = files.get(smaps) {
            let derived = answers.iter().map(maps_of).collect();
            files.insert(maps, derived);
        }
    }
    MemProc {
        owner,
        gone: false,
        threads: Vec::new(),
        files,
    }
}

fn bytes(b: Vec<u8>) -> Vec<Answer> {
    vec![Answer::Bytes(b)]
}

fn user_process(pid: u32, owner: u32, map: Vec<Answer>) -> MemProc {
    let status = format!("Name:\tp{pid}\nUid:\t{owner}\t{owner}\t{owner}\t{owner}\n");
    process(
        owner,
        vec![
            (
                "stat",
                bytes(stat(pid, &format!("p{pid}"), 'S', 0, 0x5555_0000)),
            ),
            ("status", bytes(status.into_bytes())),
            ("cmdline", bytes(format!("/bin/p{pid}\0--x\0").into_bytes())),
            ("comm", bytes(format!("p{pid}\n").into_bytes())),
            ("smaps", map),
        ],
    )
}

fn mem_source() -> MemSource {
    let lib = smaps(&[("/usr/lib/libc.so.6", 400), ("[heap]", 100), ("", 64)]);
    let mut procs = HashMap::new();
    procs.insert(10, user_process(10, 1000, bytes(lib.clone())));
    procs.insert(
        11,
        user_process(11, 0, vec![Answer::OpenFails(libc::EACCES)]),
    );
    // Exec'd while read: the read is short and the second stat shows another image.
    let mut execd = user_process(12, 1000, bytes(lib[..lib.len() / 2].to_vec()));
    execd.files.insert(
        "stat",
        vec![
            Answer::Bytes(stat(12, "p12", 'S', 0, 0x5555_0000)),
            Answer::Bytes(stat(12, "p12", 'S', 0, 0x6666_0000)),
        ],
    );
    procs.insert(12, execd);
    let mut gone = user_process(13, 0, bytes(lib.clone()));
    gone.gone = true;
    procs.insert(13, gone);
    procs.insert(
        14,
        user_process(14, 1000, vec![Answer::FailsAfter(lib.clone(), libc::EIO)]),
    );
    procs.insert(
        15,
        user_process(15, 0, bytes(b"not smaps at all\n".to_vec())),
    );
    let mut zombie = user_process(16, 0, bytes(Vec::new()));
    zombie.files.insert("stat", bytes(stat(16, "z", 'Z', 0, 0)));
    procs.insert(16, zombie);
    procs.insert(
        17,
        process(
            0,
            vec![("stat", bytes(stat(17, "kworker/0:1", 'I', 0x0020_0000, 0)))],
        ),
    );
    procs.insert(
        18,
        user_process(18, 0, bytes(smaps(&[("/usr/lib/libc.so.6", 200)]))),
    );
    // Its main thread has exited (a zombie without an address space); thread 20 lives on
    // with the memory.
    let mut leaderless = user_process(19, 1000, bytes(Vec::new()));
    leaderless.threads = vec![19, 20];
    leaderless.files.extend(
        process(
            1000,
            vec![
                ("stat", bytes(stat(19, "p19", 'Z', 0, 0))),
                ("task/20/stat", bytes(stat(20, "p19", 'S', 0, 0x7777_0000))),
                ("task/20/cmdline", bytes(b"/bin/p19\0".to_vec())),
                ("task/20/smaps", bytes(smaps(&[("/srv/p19.db", 300)]))),
            ],
        )
        .files,
    );
    procs.insert(19, leaderless);
    MemSource {
        procs,
        opened: Mutex::new(0),
    }
}

fn report(src: &dyn ProcSource, group_by: GroupBy, file: Source) -> Report {
    let query = Query {
        group_by,
        source: SourceChoice::Fixed(file),
        threads: Some(2),
        ..Query::default()
    };
    let mut r = scan(src, &query, None).expect("scan");
    r.rows.sort_by_key(|row| format!("{:?}", row.key));
    r
}

#[test]
fn a_report_from_a_capture_equals_the_live_one_outcome_for_outcome() {
    let live = mem_source();
    let mut archive = Vec::new();
    let opts = CaptureOptions {
        file: Source::Smaps,
        threads: Some(2),
        level: 1,
    };
    let summary = capture(&live, &opts, &mut archive).expect("capture");
    let from = ArchiveSource::from_reader(&archive[..], "mem.tar.zst", &Limits::DEFAULT)
        .expect("open the capture");
    for group_by in [
        GroupBy::File,
        GroupBy::Process,
        GroupBy::User,
        GroupBy::Kind,
    ] {
        for file in [Source::Smaps, Source::Maps] {
            let a = report(&live, group_by, file);
            let b = report(&from, group_by, file);
            assert_eq!(a.rows, b.rows, "{group_by:?} {file:?}");
            assert_eq!(a.totals, b.totals, "{group_by:?} {file:?}");
            assert_eq!(a.coverage, b.coverage, "{group_by:?} {file:?}");
        }
    }
    let c = report(&from, GroupBy::Process, Source::Smaps).coverage;
    assert_eq!(summary.coverage.counts, c.counts);
    let count = |k| c.count(k);
    use crate::model::OutcomeKind::*;
    assert_eq!(
        [
            Read,
            Denied,
            Incomplete,
            Vanished,
            Error,
            Zombie,
            KernelThread
        ]
        .map(count),
        [3, 1, 1, 1, 2, 1, 1]
    );
    let files = report(&from, GroupBy::File, Source::Smaps);
    let db = files
        .rows
        .iter()
        .find(|r| r.key.file().is_some_and(|f| f.0 == b"/srv/p19.db"));
    assert_eq!(
        db.map(|r| r.counters.pss),
        Some(300 * 1024),
        "read through its thread"
    );
    let users: Vec<String> = report(&from, GroupBy::User, Source::Smaps)
        .rows
        .iter()
        .map(|r| format!("{:?}", r.key))
        .collect();
    assert!(users.iter().any(|u| u.contains("alice")), "{users:?}");
    let meta = report(&from, GroupBy::File, Source::Smaps).meta;
    let cap = meta.capture.expect("capture meta");
    assert_eq!(cap.host.as_deref(), Some("memhost"));
    assert_eq!(meta.host.as_deref(), Some("memhost"));
    assert_eq!(cap.kernel.as_deref(), Some("6.1.0-test"));
    assert!(from.offers(Source::Maps) && !from.offers(Source::Rollup));
    assert_eq!(from.lookup_uid("alice"), Some(1000));
}

#[test]
fn a_capture_of_the_rollup_answers_only_for_the_rollup() {
    let live = mem_source();
    let mut archive = Vec::new();
    let opts = CaptureOptions {
        file: Source::Rollup,
        threads: Some(1),
        level: 1,
    };
    capture(&live, &opts, &mut archive).expect("capture");
    let from = ArchiveSource::from_reader(&archive[..], "r", &Limits::DEFAULT).expect("open");
    assert!(from.offers(Source::Rollup));
    assert!(!from.offers(Source::Smaps) && !from.offers(Source::Maps));
}
