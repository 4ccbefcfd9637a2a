//! Fake `/proc` trees for `pmaps --proc-root`, and builders that print smaps/maps text in the
//! kernel's exact layout (checked against the real files in `support_selfcheck`).

use std::path::{Path, PathBuf};

use super::files::set_mode;

/// PF_KTHREAD, the `flags` bit (field 9 of `stat`) of a kernel thread.
pub const PF_KTHREAD: u64 = 0x0020_0000;
/// PF_RANDOMIZE, set on ordinary user processes (the real `flags` of `cat` is 4194304).
pub const PF_RANDOMIZE: u64 = 0x0040_0000;

/// A fake `/proc` tree in a temporary directory, for `pmaps --proc-root DIR`.
pub struct FakeProc {
    pub dir: tempfile::TempDir,
}

impl Default for FakeProc {
    fn default() -> Self {
        FakeProc::new()
    }
}

impl FakeProc {
    /// An empty tree (mode 0755, so a helper running as nobody can read it).
    pub fn new() -> FakeProc {
        let dir = tempfile::Builder::new()
            .prefix("fakeproc")
            .tempdir()
            .expect("cannot create a temporary directory");
        set_mode(dir.path(), 0o755);
        FakeProc { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `<root>/self` -> `"<pid>"` (a relative symlink, as in the real /proc).
    pub fn self_pid(&self, pid: u32) {
        let link = self.root().join("self");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(pid.to_string(), &link)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", link.display()));
    }

    /// A tree of `procs` processes (PIDs 100…, comm `app<pid>`), each mapping `files`
    /// shared libraries (`/usr/lib/x86_64-linux-gnu/libshared<f>.so.1`, the same files in
    /// every process, half of each one's pages shared) and one file of its own:
    /// `procs * files` (file, process) rows in `-g file,process`, a complete report (exit
    /// 0), readable by nobody.
    pub fn apps(procs: u32, files: u32) -> FakeProc {
        let fp = FakeProc::new();
        for p in 0..procs {
            let pid = 100 + p;
            let mut smaps = Vec::new();
            let mut addr = 0x10_0000u64;
            for f in 0..=files {
                let path = if f == files {
                    format!("/opt/app{pid}/own.bin")
                } else {
                    format!("/usr/lib/x86_64-linux-gnu/libshared{f:04}.so.1")
                };
                let kb = u64::from(4 + (f * 7 + p) % 64);
                let end = addr + kb * 1024;
                let inode = 1000 + u64::from(f);
                let header = map_header(addr, end, "r--p", 0, "fe:00", inode, path.as_bytes());
                let half = kb / 2;
                smaps.extend(full_smaps_record(
                    &header,
                    SmapsKb {
                        size: kb,
                        rss: kb,
                        pss: half,
                        shared_clean: half,
                        private_clean: kb - half,
                        ..SmapsKb::default()
                    },
                ));
                addr = end + 0x1000;
            }
            fp.process(pid)
                .comm(format!("app{pid}").as_bytes())
                .cmdline(format!("/opt/app{pid}/bin/app\0--serve\0").as_bytes())
                .smaps(&smaps)
                .write();
        }
        fp
    }

    /// A builder for `<root>/<pid>/`; nothing is written until [`FakeProcess::write`].
    pub fn process(&self, pid: u32) -> FakeProcess<'_> {
        FakeProcess {
            root: self.root(),
            pid,
            comm: format!("fake{pid}").into_bytes(),
            state: b'S',
            ppid: 1,
            flags: PF_RANDOMIZE,
            uid: 0,
            start_time: 1000 + u64::from(pid),
            vsize: None,
            cmdline: None,
            stat: true,
            status: true,
            files: Vec::new(),
        }
    }
}

/// One fake process. Defaults: comm `fake<pid>`, state `S`, ppid 1, flags PF_RANDOMIZE, uid 0,
/// start_time 1000+pid, vsize 8 MiB (0 for kernel threads and zombies, which have no mm),
/// empty cmdline; `stat` and `status` are generated, other files exist only when set.
pub struct FakeProcess<'a> {
    root: &'a Path,
    pid: u32,
    comm: Vec<u8>,
    state: u8,
    ppid: u32,
    flags: u64,
    uid: u32,
    start_time: u64,
    vsize: Option<u64>,
    cmdline: Option<Vec<u8>>,
    stat: bool,
    status: bool,
    files: Vec<(String, Vec<u8>)>,
}

impl FakeProcess<'_> {
    /// Raw comm bytes (may contain spaces, `)`, newlines and non-UTF-8), written as-is in
    /// `stat` and `comm`, escaped like the kernel in `status`.
    pub fn comm(mut self, comm: &[u8]) -> Self {
        self.comm = comm.to_vec();
        self
    }
    /// `b'S'` by default; `b'Z'` for a zombie.
    pub fn state(mut self, state: u8) -> Self {
        self.state = state;
        self
    }
    pub fn ppid(mut self, ppid: u32) -> Self {
        self.ppid = ppid;
        self
    }
    /// `stat` field 9; [`PF_KTHREAD`] makes a kernel thread.
    pub fn flags(mut self, flags: u64) -> Self {
        self.flags = flags;
        self
    }
    /// Written in `status`; when the tests run as root, the files are also chowned to it.
    pub fn uid(mut self, uid: u32) -> Self {
        self.uid = uid;
        self
    }
    /// `stat` field 22, in clock ticks since boot.
    pub fn start_time(mut self, ticks: u64) -> Self {
        self.start_time = ticks;
        self
    }
    /// `stat` field 23 in bytes (and `VmSize:` in `status`).
    pub fn vsize(mut self, bytes: u64) -> Self {
        self.vsize = Some(bytes);
        self
    }
    /// Raw `cmdline` bytes (NUL-separated), written as-is.
    pub fn cmdline(mut self, bytes: &[u8]) -> Self {
        self.cmdline = Some(bytes.to_vec());
        self
    }
    pub fn smaps(self, bytes: &[u8]) -> Self {
        self.file("smaps", bytes)
    }
    pub fn smaps_rollup(self, bytes: &[u8]) -> Self {
        self.file("smaps_rollup", bytes)
    }
    pub fn maps(self, bytes: &[u8]) -> Self {
        self.file("maps", bytes)
    }
    /// Any other file under `<root>/<pid>/` (`name` may contain `/`; parents are created).
    /// Setting `stat`, `status` or `cmdline` here replaces the generated one.
    pub fn file(mut self, name: &str, bytes: &[u8]) -> Self {
        match name {
            "stat" => self.stat = false,
            "status" => self.status = false,
            _ => {}
        }
        self.files.retain(|(n, _)| n != name);
        self.files.push((name.to_string(), bytes.to_vec()));
        self
    }
    /// Do not create `stat`.
    pub fn no_stat(mut self) -> Self {
        self.stat = false;
        self
    }

    fn is_kthread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }

    /// Whether the kernel would have an mm for it (not a kernel thread, not a zombie).
    fn has_mm(&self) -> bool {
        !self.is_kthread() && self.state != b'Z' && self.state != b'X'
    }

    /// Kernel threads have pgrp and session 0; a fake user process leads its own.
    fn pgrp_session(&self) -> (u32, u32) {
        if self.is_kthread() {
            (0, 0)
        } else {
            (self.pid, self.pid)
        }
    }

    fn vsize_bytes(&self) -> u64 {
        self.vsize
            .unwrap_or(if self.has_mm() { 8 << 20 } else { 0 })
    }

    /// The 52-field `stat` line, in the kernel's layout.
    pub fn stat_bytes(&self) -> Vec<u8> {
        let pid = self.pid;
        let vsize = self.vsize_bytes();
        let mm = self.has_mm();
        let rss_pages = if mm { vsize / 4096 / 4 } else { 0 };
        // startcode endcode startstack / start_data end_data start_brk arg_start arg_end
        // env_start env_end: plausible addresses when there is an mm, 0 otherwise.
        let a = |v: u64| if mm { v } else { 0 };
        let (pgrp, session) = self.pgrp_session();
        let mut out = format!("{pid} (").into_bytes();
        out.extend_from_slice(&self.comm);
        out.extend_from_slice(b") ");
        out.push(self.state);
        let fields: [String; 49] = [
            self.ppid.to_string(),              // 4 ppid
            pgrp.to_string(),                   // 5 pgrp
            session.to_string(),                // 6 session
            "0".into(),                         // 7 tty_nr
            "-1".into(),                        // 8 tpgid
            self.flags.to_string(),             // 9 flags
            "0".into(),                         // 10 minflt
            "0".into(),                         // 11 cminflt
            "0".into(),                         // 12 majflt
            "0".into(),                         // 13 cmajflt
            "0".into(),                         // 14 utime
            "0".into(),                         // 15 stime
            "0".into(),                         // 16 cutime
            "0".into(),                         // 17 cstime
            "20".into(),                        // 18 priority
            "0".into(),                         // 19 nice
            "1".into(),                         // 20 num_threads
            "0".into(),                         // 21 itrealvalue
            self.start_time.to_string(),        // 22 starttime
            vsize.to_string(),                  // 23 vsize
            rss_pages.to_string(),              // 24 rss
            u64::MAX.to_string(),               // 25 rsslim
            a(94_118_448_889_856).to_string(),  // 26 startcode
            a(94_118_448_909_737).to_string(),  // 27 endcode
            a(140_727_464_301_184).to_string(), // 28 startstack
            "0".into(),                         // 29 kstkesp
            "0".into(),                         // 30 kstkeip
            "0".into(),                         // 31 signal
            "0".into(),                         // 32 blocked
            "0".into(),                         // 33 sigignore
            "0".into(),                         // 34 sigcatch
            "0".into(),                         // 35 wchan
            "0".into(),                         // 36 nswap
            "0".into(),                         // 37 cnswap
            "17".into(),                        // 38 exit_signal
            "0".into(),                         // 39 processor
            "0".into(),                         // 40 rt_priority
            "0".into(),                         // 41 policy
            "0".into(),                         // 42 delayacct_blkio_ticks
            "0".into(),                         // 43 guest_time
            "0".into(),                         // 44 cguest_time
            a(94_118_448_925_744).to_string(),  // 45 start_data
            a(94_118_448_927_360).to_string(),  // 46 end_data
            a(94_118_461_972_480).to_string(),  // 47 start_brk
            a(140_727_464_303_132).to_string(), // 48 arg_start
            a(140_727_464_303_152).to_string(), // 49 arg_end
            a(140_727_464_303_152).to_string(), // 50 env_start
            a(140_727_464_304_619).to_string(), // 51 env_end
            "0".into(),                         // 52 exit_code
        ];
        for f in fields {
            out.push(b' ');
            out.extend_from_slice(f.as_bytes());
        }
        out.push(b'\n');
        out
    }

    /// The generated `status` (first lines of the real layout: tab after the colon).
    pub fn status_bytes(&self) -> Vec<u8> {
        let pid = self.pid;
        let uid = self.uid;
        let mut out = b"Name:\t".to_vec();
        // The kernel escapes only '\n' and '\\' in Name:.
        for &c in &self.comm {
            match c {
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\\' => out.extend_from_slice(b"\\\\"),
                c => out.push(c),
            }
        }
        let state_name = match self.state {
            b'R' => "R (running)",
            b'S' => "S (sleeping)",
            b'D' => "D (disk sleep)",
            b'T' => "T (stopped)",
            b't' => "t (tracing stop)",
            b'X' => "X (dead)",
            b'Z' => "Z (zombie)",
            b'P' => "P (parked)",
            b'I' => "I (idle)",
            _ => "S (sleeping)",
        };
        let kthread = u8::from(self.is_kthread());
        let ppid = self.ppid;
        let (pgrp, session) = self.pgrp_session();
        out.extend_from_slice(
            format!(
                "\nUmask:\t0022\nState:\t{state_name}\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\n\
                 PPid:\t{ppid}\nTracerPid:\t0\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t0\t0\t0\t0\n\
                 FDSize:\t64\nGroups:\t \nNStgid:\t{pid}\nNSpid:\t{pid}\nNSpgid:\t{pgrp}\n\
                 NSsid:\t{session}\nKthread:\t{kthread}\n"
            )
            .as_bytes(),
        );
        if self.has_mm() {
            let vm_kb = self.vsize_bytes() / 1024;
            let rss_kb = vm_kb / 4;
            for (k, v) in [
                ("VmPeak", vm_kb),
                ("VmSize", vm_kb),
                ("VmLck", 0),
                ("VmPin", 0),
                ("VmHWM", rss_kb),
                ("VmRSS", rss_kb),
                ("RssAnon", 0),
                ("RssFile", rss_kb),
                ("RssShmem", 0),
                ("VmData", 0),
                ("VmStk", 132),
                ("VmExe", 0),
                ("VmLib", 0),
                ("VmPTE", 0),
                ("VmSwap", 0),
            ] {
                out.extend_from_slice(format!("{k}:\t{v:>8} kB\n").as_bytes());
            }
        }
        out.extend_from_slice(b"Threads:\t1\n");
        out
    }

    /// Writes `<root>/<pid>/` (and returns its path).
    pub fn write(self) -> PathBuf {
        let dir = self.root.join(self.pid.to_string());
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        set_mode(&dir, 0o755);
        let put = |name: &str, bytes: &[u8]| {
            let p = dir.join(name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)
                    .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
            }
            std::fs::write(&p, bytes)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        };
        if self.stat {
            put("stat", &self.stat_bytes());
        }
        if self.status {
            put("status", &self.status_bytes());
        }
        let mut comm = self.comm.clone();
        comm.push(b'\n');
        if !self.files.iter().any(|(n, _)| n == "comm") {
            put("comm", &comm);
        }
        if !self.files.iter().any(|(n, _)| n == "cmdline") {
            put("cmdline", self.cmdline.as_deref().unwrap_or(b""));
        }
        for (name, bytes) in &self.files {
            put(name, bytes);
        }
        // The real /proc/<pid> belongs to the process's uid: mirror it when we are root.
        // SAFETY: geteuid has no preconditions.
        if self.uid != 0 && unsafe { libc::geteuid() } == 0 {
            chown_tree(&dir, self.uid);
        }
        dir
    }
}

fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), None)
        .unwrap_or_else(|e| panic!("cannot chown {}: {e}", path.display()));
    if path.is_dir() && !path.is_symlink() {
        let entries = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()));
            chown_tree(&entry.path(), uid);
        }
    }
}
/// One smaps record: `header` (a newline is added when it lacks one) and one line per key in
/// the kernel layout `{key:}` left-aligned in 16 columns, the value right-aligned in 8, ` kB`.
/// `THPeligible` and `ProtectionKey` have no ` kB` unit, as the kernel prints them.
pub fn smaps_record(header: impl AsRef<[u8]>, kb: &[(&str, u64)]) -> Vec<u8> {
    let mut out = header.as_ref().to_vec();
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    for &(key, v) in kb {
        out.extend_from_slice(smaps_line(key, v).as_bytes());
    }
    out
}

fn smaps_line(key: &str, v: u64) -> String {
    let k = format!("{key}:");
    match key {
        "THPeligible" | "ProtectionKey" => format!("{k:<16}{v:>8}\n"),
        _ => format!("{k:<16}{v:>8} kB\n"),
    }
}

/// The amounts of one smaps record, in kB (what [`full_smaps_record`] does not derive).
#[derive(Clone, Copy, Debug, Default)]
pub struct SmapsKb {
    pub size: u64,
    pub rss: u64,
    pub pss: u64,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
    pub swap: u64,
    pub swap_pss: u64,
}

impl SmapsKb {
    /// `kb` of clean file pages this process alone maps: size = RSS = PSS = private clean.
    pub fn private_clean(kb: u64) -> SmapsKb {
        SmapsKb {
            size: kb,
            rss: kb,
            pss: kb,
            private_clean: kb,
            ..SmapsKb::default()
        }
    }

    /// `rss` kB of dirty private pages (anonymous memory) in a mapping of `size` kB.
    pub fn private_dirty(size: u64, rss: u64) -> SmapsKb {
        SmapsKb {
            size,
            rss,
            pss: rss,
            private_dirty: rss,
            ..SmapsKb::default()
        }
    }
}

/// A complete smaps record with every key a 6.x kernel prints, in its order.
///
/// Derived values: KernelPageSize/MMUPageSize 4, Pss_Dirty = min(pss, shared_dirty +
/// private_dirty), Referenced = rss, Anonymous = private_dirty for private (`p`) mappings and 0
/// for shared ones, everything else 0; `VmFlags:` follows the header's permissions
/// (`rd wr ex sh` + `mr mw me` + `ms` when shared, with the kernel's trailing space).
pub fn full_smaps_record(header: impl AsRef<[u8]>, kb: SmapsKb) -> Vec<u8> {
    let SmapsKb {
        size: size_kb,
        rss: rss_kb,
        pss: pss_kb,
        shared_clean: shared_clean_kb,
        shared_dirty: shared_dirty_kb,
        private_clean: private_clean_kb,
        private_dirty: private_dirty_kb,
        swap: swap_kb,
        swap_pss: swap_pss_kb,
    } = kb;
    let header = header.as_ref();
    let perms: &[u8] = header
        .split(|&c| c == b' ')
        .nth(1)
        .filter(|p| p.len() == 4)
        .unwrap_or(b"rw-p");
    let shared = perms[3] == b's';
    let mut out = smaps_record(
        header,
        &[
            ("Size", size_kb),
            ("KernelPageSize", 4),
            ("MMUPageSize", 4),
            ("Rss", rss_kb),
            ("Pss", pss_kb),
            ("Pss_Dirty", pss_kb.min(shared_dirty_kb + private_dirty_kb)),
            ("Shared_Clean", shared_clean_kb),
            ("Shared_Dirty", shared_dirty_kb),
            ("Private_Clean", private_clean_kb),
            ("Private_Dirty", private_dirty_kb),
            ("Referenced", rss_kb),
            ("Anonymous", if shared { 0 } else { private_dirty_kb }),
            ("KSM", 0),
            ("LazyFree", 0),
            ("AnonHugePages", 0),
            ("ShmemPmdMapped", 0),
            ("FilePmdMapped", 0),
            ("Shared_Hugetlb", 0),
            ("Private_Hugetlb", 0),
            ("Swap", swap_kb),
            ("SwapPss", swap_pss_kb),
            ("Locked", 0),
            ("THPeligible", 0),
        ],
    );
    let mut flags = String::from("VmFlags:");
    for (i, name) in ["rd", "wr", "ex"].iter().enumerate() {
        if perms[i] != b'-' {
            flags.push(' ');
            flags.push_str(name);
        }
    }
    if shared {
        flags.push_str(" sh");
    }
    flags.push_str(" mr mw me");
    if shared {
        flags.push_str(" ms");
    }
    flags.push_str(" \n");
    out.extend_from_slice(flags.as_bytes());
    out
}

/// One `maps` line (also the header of an smaps record), byte-exact with the kernel's
/// `show_map_vma()`: `%08lx-%08lx %s %08llx %s %lu ` and, when there is a path, spaces up to
/// column 72 plus one more space before it (so the path starts at column 73; a longer prefix
/// gets no padding but still the extra space). Without a path the line ends in `<inode> \n`
/// (a trailing space). `dev` is `MM:mm` in hex (`fe:00`); `path` is written as-is (the kernel
/// shows a newline in a file name as `\012`). The result ends with `\n`.
pub fn map_header(
    start: u64,
    end: u64,
    perms: &str,
    offset: u64,
    dev: &str,
    inode: u64,
    path: &[u8],
) -> Vec<u8> {
    let mut out = format!("{start:08x}-{end:08x} {perms} {offset:08x} {dev} {inode} ").into_bytes();
    if !path.is_empty() {
        const WIDTH: usize = 25 + 8 * 6 - 1; // 25 + sizeof(void *) * 6 - 1
        if out.len() < WIDTH {
            out.resize(WIDTH, b' ');
        }
        out.push(b' ');
        out.extend_from_slice(path);
    }
    out.push(b'\n');
    out
}
