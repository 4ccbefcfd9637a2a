//! `pmaps show PID|NAME…`: one process's memory map, mapping by mapping, like `pmap`.
//!
//! This module owns the view: which processes a target names, reading each one's mappings in
//! full (through [`Reader::read_mappings`], so the same outcomes and truncation check as the
//! report apply), folding them with `--merge`, and the one column definition ([`ShowView`])
//! that the table, CSV and JSON renderers of `render::show` all go through.
//!
//! # Targets
//! A target made of decimal digits is a PID (any PID the proc root answers for, a thread's
//! TID included). Any other target is a NAME: it matches every process whose command name
//! (`comm`) or command line (arguments joined by spaces) contains it as a substring, byte for
//! byte and case-sensitively, like `pgrep -f NAME` with a fixed string. Kernel threads and
//! zombies (no memory map) and pmaps itself are never matched by name, nor is a wrapper whose command
//! line holds pmaps' own (`sudo pmaps show nginx`, `sh -c 'pmaps show nginx'`): it matches
//! only because of pmaps' arguments. Processes are shown in the order of the targets, a
//! name's matches by ascending PID, each once.
//!
//! # Outcomes and exit status
//! Each process shown, or not shown, says why: denied, changed while read (exit or exec;
//! read again once), gone, in error, kernel thread or zombie (shown with no mappings). The
//! exit status is [`exit::OK`] when every target matched and every match was read,
//! [`exit::PARTIAL`] when something was not shown (a target that matched nothing, a denied
//! or failed process), and [`exit::NO_MATCH`] when no process matched at all.
//!
//! # `--merge`
//! Folds each run of consecutive mappings of the same file (same path, device and inode;
//! anonymous mappings, which have no path, are never folded) into one row: the address is
//! the first start to the last end, offset is the first segment's, a permission letter that
//! differs between the segments shows as `*` (`r--p`, `r-xp`, `rw-p` give `r**p`), byte
//! counters are summed (so `size` is the sum of the segments, not end minus start when there
//! is a gap), and `mappings` counts the folded segments.

use std::borrow::Cow;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::aggregate::UserNames;
use crate::config::Format;
use crate::enumerate;
use crate::exit;
use crate::model::{Counters, FieldKeys, FieldValue, Mapping, Outcome, ProcInfo, Source, field};
use crate::output::{self, eprint_line};
use crate::parse::classify;
use crate::read::{Needs, ReadResult, Reader};
use crate::render;

/// What one `pmaps show` run needs.
#[derive(Debug, Clone)]
pub struct ShowConfig {
    pub proc_root: PathBuf,
    pub targets: Vec<Target>,
    pub merge: bool,
    pub all_fields: bool,
    pub format: Format,
    pub output: Option<PathBuf>,
}

/// One command-line target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Pid(u32),
    /// Matched as a substring of the command name or command line.
    Name(Vec<u8>),
}

impl Target {
    /// Decimal digits are a PID; anything else (raw bytes) is a name. An empty target, or a
    /// number that is not a valid PID, is a usage error.
    pub fn parse(arg: &OsString) -> Result<Target, String> {
        let bytes = arg.as_bytes();
        if bytes.is_empty() {
            return Err("an empty name would match every process".into());
        }
        if bytes.iter().all(u8::is_ascii_digit) {
            return enumerate::parse_pid(bytes)
                .map(Target::Pid)
                .ok_or_else(|| format!("{}: not a valid PID", arg.to_string_lossy()));
        }
        Ok(Target::Name(bytes.to_vec()))
    }

    /// How messages name the target.
    pub fn describe(&self) -> String {
        match self {
            Target::Pid(p) => format!("PID {p}"),
            Target::Name(n) => format!("'{}'", render::escape::display(n)),
        }
    }
}

/// Whether `name` occurs in the command name or the command line of `info`.
pub fn name_matches(name: &[u8], info: &ProcInfo) -> bool {
    contains(&info.comm, name) || contains(&info.cmdline, name)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// A process whose command line holds pmaps' own, as `sudo`, `timeout` or `sh -c` do when
/// they run pmaps: a name in pmaps' arguments would match it for no other reason.
pub fn is_wrapper_of(info: &ProcInfo, own_cmdline: &[u8]) -> bool {
    !own_cmdline.is_empty() && contains(&info.cmdline, own_cmdline)
}

/// The matched processes, and the targets that matched none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// PIDs in the order of the targets, each once.
    pub pids: Vec<u32>,
    /// PIDs given as numbers (a missing one reads "no process N").
    pub given_pids: Vec<u32>,
    pub unmatched: Vec<Target>,
}

/// Finds the processes the targets name. Lists the proc root only when there is a name.
pub fn resolve(reader: &mut Reader, root: &Path, targets: &[Target]) -> anyhow::Result<Resolved> {
    let mut out = Resolved::default();
    let mut candidates: Vec<ProcInfo> = Vec::new();
    if targets.iter().any(|t| matches!(t, Target::Name(_))) {
        let (pids, own) = enumerate::list_pids(root)
            .map_err(|e| anyhow::anyhow!("cannot list processes in {}: {e}", root.display()))?;
        let own_cmdline = own
            .and_then(|p| facts(reader, p))
            .map(|i| i.cmdline)
            .unwrap_or_default();
        for pid in pids {
            if Some(pid) == own {
                continue;
            }
            if let Some(info) = facts(reader, pid)
                && !info.kernel_thread
                && !matches!(info.state, b'Z' | b'X' | b'x')
                && !is_wrapper_of(&info, &own_cmdline)
            {
                candidates.push(info);
            }
        }
    }
    let push = |out: &mut Resolved, pid: u32| {
        if !out.pids.contains(&pid) {
            out.pids.push(pid);
        }
    };
    for t in targets {
        match t {
            Target::Pid(p) => {
                push(&mut out, *p);
                out.given_pids.push(*p);
            }
            Target::Name(name) => {
                let mut any = false;
                for info in candidates.iter().filter(|i| name_matches(name, i)) {
                    any = true;
                    push(&mut out, info.pid);
                }
                if !any {
                    out.unmatched.push(t.clone());
                }
            }
        }
    }
    Ok(out)
}

/// A process's facts (comm, command line, kernel-thread flag) without reading its maps;
/// `None` when they cannot be read (gone, or hidden from us).
fn facts(reader: &mut Reader, pid: u32) -> Option<ProcInfo> {
    match reader.read_process(pid, &|_| false, &mut |_, _| {}) {
        ReadResult::Filtered(info) => Some(info),
        // Kernel threads pass through `want` too; anything else failed before it.
        ReadResult::Done(..) => None,
    }
}

/// One row of the view: a mapping, a run of folded mappings, or a process's totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowRow {
    /// The first mapping of the row (its header; for `--merge`, `end` and `perms` cover the
    /// whole run). Zero for a totals row.
    pub map: Mapping,
    /// Whether this is a totals row (no address, perms, device…).
    pub total: bool,
    /// Mappings in the row: 1, more with `--merge`, all of them in a totals row.
    pub mappings: u64,
    /// With `--all-fields`: the value of each key of [`ShowView::keys`], `None` when the
    /// kernel did not print it for this mapping or it cannot be summed or folded.
    pub values: Vec<Option<FieldValue>>,
}

/// Keys whose value is not an amount of memory but a property (a page size): folding or
/// totalling keeps them only when every mapping agrees.
fn additive(key: &str) -> bool {
    !key.ends_with("PageSize")
}

impl ShowRow {
    fn from_mapping(mut m: Mapping, nkeys: usize) -> ShowRow {
        let mut values = vec![None; if m.fields.is_empty() { 0 } else { nkeys }];
        for (k, v) in m.fields.drain(..) {
            if let Some(slot) = values.get_mut(k) {
                *slot = Some(v);
            }
        }
        ShowRow {
            map: m,
            total: false,
            mappings: 1,
            values,
        }
    }

    /// Whether `next` continues this row's file (see the module docs for the rule).
    fn same_file(&self, next: &ShowRow) -> bool {
        let (a, b) = (&self.map, &next.map);
        !self.total
            && !a.path.is_empty()
            && a.path == b.path
            && (a.dev_major, a.dev_minor, a.inode) == (b.dev_major, b.dev_minor, b.inode)
    }

    /// Adds `other` into this row. `fold`: the same file continued (perms and properties
    /// are kept where they agree); otherwise a total (properties are dropped).
    fn absorb(&mut self, other: &ShowRow, keys: &FieldKeys, fold: bool) {
        if fold {
            self.map.end = other.map.end;
            for (a, b) in self.map.perms.iter_mut().zip(other.map.perms) {
                if *a != b {
                    *a = b'*';
                }
            }
        }
        self.map.counters += &other.map.counters;
        self.mappings += other.mappings;
        if self.values.len() < other.values.len() {
            self.values.resize(other.values.len(), None);
        }
        for (i, slot) in self.values.iter_mut().enumerate() {
            let theirs = other.values.get(i).cloned().flatten();
            let is_additive = keys.names.get(i).is_some_and(|k| additive(k));
            *slot = match (slot.take(), theirs) {
                (Some(FieldValue::Bytes(a)), Some(FieldValue::Bytes(b))) if is_additive => {
                    Some(FieldValue::Bytes(a + b))
                }
                (Some(a), Some(b)) if fold && a == b => Some(a),
                _ => None,
            };
        }
    }
}

/// `--merge`: folds each run of consecutive mappings of the same file into one row.
pub fn merge_rows(rows: Vec<ShowRow>, keys: &FieldKeys) -> Vec<ShowRow> {
    let mut out: Vec<ShowRow> = Vec::with_capacity(rows.len());
    for r in rows {
        match out.last_mut() {
            Some(last) if last.same_file(&r) => last.absorb(&r, keys, true),
            _ => out.push(r),
        }
    }
    out
}

/// The totals row of `rows`.
pub fn totals(rows: &[ShowRow], keys: &FieldKeys) -> ShowRow {
    let nkeys = if rows.iter().any(|r| !r.values.is_empty()) {
        keys.names.len()
    } else {
        0
    };
    let mut t = ShowRow {
        map: Mapping::new(
            &crate::model::MapHeader {
                start: 0,
                end: 0,
                perms: *b"----",
                offset: 0,
                dev_major: 0,
                dev_minor: 0,
                inode: 0,
                path: b"",
            },
            &Counters::default(),
        ),
        total: true,
        mappings: 0,
        // Start from zero for every key: the identity of the sum.
        values: (0..nkeys)
            .map(|i| {
                let is_bytes = rows
                    .iter()
                    .any(|r| matches!(r.values.get(i), Some(Some(FieldValue::Bytes(_)))));
                is_bytes.then_some(FieldValue::Bytes(0))
            })
            .collect(),
    };
    for r in rows {
        t.absorb(r, keys, false);
    }
    t
}

/// One process as the view shows it.
#[derive(Debug, Clone)]
pub struct ShownProcess {
    pub info: ProcInfo,
    /// User name (or uid digits, or `?`).
    pub user: String,
    pub outcome: Outcome,
    pub rows: Vec<ShowRow>,
    pub totals: ShowRow,
}

impl ShownProcess {
    /// The command line, or `[comm]` when it is empty (kernel threads, zombies).
    pub fn command(&self) -> Cow<'_, [u8]> {
        if self.info.cmdline.is_empty() {
            Cow::Owned([b"[".as_slice(), &self.info.comm, b"]"].concat())
        } else {
            Cow::Borrowed(&self.info.cmdline)
        }
    }

    /// Whether the view has its map to show (possibly empty: kernel thread, zombie).
    pub fn is_shown(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Read | Outcome::KernelThread | Outcome::Zombie
        )
    }
}

/// A show column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShowColumn {
    Pid,
    Address,
    Perms,
    Offset,
    Device,
    Inode,
    /// Mappings folded into the row (`--merge` only).
    Mappings,
    Size,
    Rss,
    Pss,
    Uss,
    Dirty,
    Swap,
    SwapPss,
    /// The smaps key of this index in [`ShowView::keys`] (`--all-fields`).
    Field(usize),
    Kind,
    Path,
}

/// One cell of the view, before any rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShowCell<'a> {
    /// Not applicable, or unknown.
    Empty,
    /// Raw bytes from the kernel (paths, `VmFlags`): escaped by each renderer its own way.
    Text(&'a [u8]),
    /// ASCII made by pmaps, in `/proc/PID/maps` notation (address range, perms, device) or
    /// a kind name.
    Code(Cow<'a, str>),
    /// The file offset: hex as `maps` prints it (table, CSV); a number in JSON.
    Hex(u64),
    /// A count or a number without unit.
    Count(u64),
    /// Bytes; `None`: unknown (the kernel did not print the key).
    Bytes(Option<u64>),
}

/// The columns of one `pmaps show` run, shared by every format: the fixed columns, the
/// mapping count with `--merge`, and with `--all-fields` each further smaps key the kernel
/// printed, in its order.
#[derive(Debug, Clone)]
pub struct ShowView {
    pub columns: Vec<ShowColumn>,
    pub keys: FieldKeys,
    /// Per key: whether its values are `kB` amounts.
    key_is_bytes: Vec<bool>,
    /// Per key: its CSV/JSON name (the key lowercased).
    key_names: Vec<String>,
}

/// The base column a kernel key duplicates (not repeated under `--all-fields`).
fn base_column_of(key: &str) -> Option<ShowColumn> {
    Some(match key {
        "Size" => ShowColumn::Size,
        "Rss" => ShowColumn::Rss,
        "Pss" => ShowColumn::Pss,
        "Swap" => ShowColumn::Swap,
        "SwapPss" => ShowColumn::SwapPss,
        _ => return None,
    })
}

impl ShowView {
    /// The view for these processes (their rows decide which keys are amounts of bytes).
    pub fn new(merge: bool, keys: FieldKeys, processes: &[ShownProcess]) -> ShowView {
        let mut columns = vec![
            ShowColumn::Pid,
            ShowColumn::Address,
            ShowColumn::Perms,
            ShowColumn::Offset,
            ShowColumn::Device,
            ShowColumn::Inode,
        ];
        if merge {
            columns.push(ShowColumn::Mappings);
        }
        columns.extend([
            ShowColumn::Size,
            ShowColumn::Rss,
            ShowColumn::Pss,
            ShowColumn::Uss,
            ShowColumn::Dirty,
            ShowColumn::Swap,
            ShowColumn::SwapPss,
        ]);
        let key_is_bytes: Vec<bool> = (0..keys.names.len())
            .map(|i| {
                processes
                    .iter()
                    .flat_map(|p| &p.rows)
                    .any(|r| matches!(r.values.get(i), Some(Some(FieldValue::Bytes(_)))))
            })
            .collect();
        let key_names: Vec<String> = keys.names.iter().map(|k| k.to_ascii_lowercase()).collect();
        for (i, key) in keys.names.iter().enumerate() {
            if base_column_of(key).is_none() {
                columns.push(ShowColumn::Field(i));
            }
        }
        columns.extend([ShowColumn::Kind, ShowColumn::Path]);
        ShowView {
            columns,
            keys,
            key_is_bytes,
            key_names,
        }
    }

    /// The stable name: JSON keys (with `_bytes` on byte columns, as in CSV).
    pub fn name(&self, c: ShowColumn) -> &str {
        match c {
            ShowColumn::Pid => "pid",
            ShowColumn::Address => "address",
            ShowColumn::Perms => "perms",
            ShowColumn::Offset => "offset",
            ShowColumn::Device => "device",
            ShowColumn::Inode => "inode",
            ShowColumn::Mappings => "mappings",
            ShowColumn::Size => "size",
            ShowColumn::Rss => "rss",
            ShowColumn::Pss => "pss",
            ShowColumn::Uss => "uss",
            ShowColumn::Dirty => "dirty",
            ShowColumn::Swap => "swap",
            ShowColumn::SwapPss => "swap_pss",
            ShowColumn::Field(i) => self.key_names.get(i).map_or("?", |s| s.as_str()),
            ShowColumn::Kind => "kind",
            ShowColumn::Path => "path",
        }
    }

    /// The CSV header (and JSON key): the name, with `_bytes` on byte columns.
    pub fn csv_name(&self, c: ShowColumn) -> String {
        if self.is_bytes(c) {
            format!("{}_bytes", self.name(c))
        } else {
            self.name(c).to_string()
        }
    }

    /// The table header (without the unit).
    pub fn header(&self, c: ShowColumn) -> &str {
        match c {
            ShowColumn::Pid => "PID",
            ShowColumn::Address => "Address",
            ShowColumn::Perms => "Perms",
            ShowColumn::Offset => "Offset",
            ShowColumn::Device => "Device",
            ShowColumn::Inode => "Inode",
            ShowColumn::Mappings => "Maps",
            ShowColumn::Size => "Size",
            ShowColumn::Rss => "RSS",
            ShowColumn::Pss => "PSS",
            ShowColumn::Uss => "USS",
            ShowColumn::Dirty => "Dirty",
            ShowColumn::Swap => "Swap",
            ShowColumn::SwapPss => "SwapPSS",
            // As the kernel spells it, like `pmap -XX`.
            ShowColumn::Field(i) => self.keys.names.get(i).map_or("?", |s| s.as_str()),
            ShowColumn::Kind => "Kind",
            ShowColumn::Path => "Mapping",
        }
    }

    pub fn is_bytes(&self, c: ShowColumn) -> bool {
        match c {
            ShowColumn::Size
            | ShowColumn::Rss
            | ShowColumn::Pss
            | ShowColumn::Uss
            | ShowColumn::Dirty
            | ShowColumn::Swap
            | ShowColumn::SwapPss => true,
            ShowColumn::Field(i) => self.key_is_bytes.get(i).copied().unwrap_or(false),
            _ => false,
        }
    }

    /// Columns aligned left in the table.
    pub fn is_text(&self, c: ShowColumn) -> bool {
        match c {
            ShowColumn::Address
            | ShowColumn::Perms
            | ShowColumn::Offset
            | ShowColumn::Device
            | ShowColumn::Kind
            | ShowColumn::Path => true,
            ShowColumn::Field(_) => !self.is_bytes(c),
            _ => false,
        }
    }

    /// The cell of column `c` in `row` of process `p`.
    pub fn cell<'a>(&self, c: ShowColumn, p: &'a ShownProcess, row: &'a ShowRow) -> ShowCell<'a> {
        let m = &row.map;
        let k = &m.counters;
        let bytes = |bit: u16, v: u64| ShowCell::Bytes(k.is_known(bit).then_some(v));
        use field as f;
        if row.total
            && matches!(
                c,
                ShowColumn::Address
                    | ShowColumn::Perms
                    | ShowColumn::Offset
                    | ShowColumn::Device
                    | ShowColumn::Inode
                    | ShowColumn::Kind
                    | ShowColumn::Path
            )
        {
            return ShowCell::Empty;
        }
        match c {
            ShowColumn::Pid => ShowCell::Count(u64::from(p.info.pid)),
            ShowColumn::Address => {
                ShowCell::Code(Cow::Owned(format!("{:08x}-{:08x}", m.start, m.end)))
            }
            ShowColumn::Perms => ShowCell::Code(String::from_utf8_lossy(&m.perms)),
            ShowColumn::Offset => ShowCell::Hex(m.offset),
            ShowColumn::Device => ShowCell::Code(Cow::Owned(format!(
                "{:02x}:{:02x}",
                m.dev_major, m.dev_minor
            ))),
            ShowColumn::Inode => ShowCell::Count(m.inode),
            ShowColumn::Mappings => ShowCell::Count(row.mappings),
            ShowColumn::Size => bytes(f::SIZE, k.size),
            ShowColumn::Rss => bytes(f::RSS, k.rss),
            ShowColumn::Pss => bytes(f::PSS, k.pss),
            ShowColumn::Uss => bytes(f::PRIVATE_CLEAN | f::PRIVATE_DIRTY, k.uss()),
            ShowColumn::Dirty => bytes(f::SHARED_DIRTY | f::PRIVATE_DIRTY, k.dirty()),
            ShowColumn::Swap => bytes(f::SWAP, k.swap),
            ShowColumn::SwapPss => bytes(f::SWAP_PSS, k.swap_pss),
            ShowColumn::Field(i) => match row.values.get(i) {
                Some(Some(FieldValue::Bytes(n))) => ShowCell::Bytes(Some(*n)),
                Some(Some(FieldValue::Number(n))) => ShowCell::Count(*n),
                Some(Some(FieldValue::Text(t))) => ShowCell::Text(t),
                _ if self.is_bytes(c) => ShowCell::Bytes(None),
                _ => ShowCell::Empty,
            },
            ShowColumn::Kind => ShowCell::Code(Cow::Borrowed(classify(&m.path).as_str())),
            ShowColumn::Path => ShowCell::Text(&m.path),
        }
    }
}

/// Everything one `pmaps show` produced.
#[derive(Debug, Clone)]
pub struct ShowReport {
    pub view: ShowView,
    pub processes: Vec<ShownProcess>,
    pub unmatched: Vec<Target>,
    /// PIDs given as numbers (a vanished one "does not exist").
    pub given_pids: Vec<u32>,
    pub merge: bool,
    pub all_fields: bool,
    pub proc_root: PathBuf,
    pub time: SystemTime,
    pub duration: Duration,
    pub host: Option<String>,
    pub kernel: Option<String>,
}

fn read_trimmed(path: &Path) -> Option<String> {
    let s = std::fs::read(path).ok()?;
    Some(
        String::from_utf8_lossy(&s)
            .trim_end_matches('\n')
            .to_string(),
    )
}

/// Resolves the targets and reads every matched process.
pub fn collect(cfg: &ShowConfig) -> anyhow::Result<ShowReport> {
    let started = Instant::now();
    let time = SystemTime::now();
    // Matching needs each process's command line but not its uid.
    let mut matcher = Reader::new(&cfg.proc_root, Source::Smaps).with_needs(Needs {
        uid: false,
        cmdline: true,
    });
    let resolved = resolve(&mut matcher, &cfg.proc_root, &cfg.targets)?;
    let mut reader = Reader::new(&cfg.proc_root, Source::Smaps);
    let mut keys = FieldKeys::default();
    let mut users = UserNames::default();
    let mut processes = Vec::new();
    for &pid in &resolved.pids {
        let want_keys = cfg.all_fields.then_some(&mut keys);
        let mut read = reader.read_mappings(pid, want_keys);
        if read.outcome == Outcome::Incomplete {
            // The process exec'd or exited while read: once more shows the new image, or
            // finds it gone.
            read = reader.read_mappings(pid, cfg.all_fields.then_some(&mut keys));
        }
        let nkeys = keys.names.len();
        let rows: Vec<ShowRow> = read
            .mappings
            .into_iter()
            .map(|m| ShowRow::from_mapping(m, nkeys))
            .collect();
        let rows = if cfg.merge {
            merge_rows(rows, &keys)
        } else {
            rows
        };
        let totals = totals(&rows, &keys);
        processes.push(ShownProcess {
            user: users.name(read.info.uid),
            info: read.info,
            outcome: read.outcome,
            rows,
            totals,
        });
    }
    // Rows read before a later process added a key are shorter: pad them.
    let nkeys = keys.names.len();
    if cfg.all_fields {
        for p in &mut processes {
            for r in p.rows.iter_mut().chain(std::iter::once(&mut p.totals)) {
                r.values.resize(nkeys, None);
            }
        }
    }
    let view = ShowView::new(cfg.merge, keys, &processes);
    Ok(ShowReport {
        view,
        processes,
        unmatched: resolved.unmatched,
        given_pids: resolved.given_pids,
        merge: cfg.merge,
        all_fields: cfg.all_fields,
        proc_root: cfg.proc_root.clone(),
        time,
        duration: started.elapsed(),
        host: read_trimmed(&cfg.proc_root.join("sys/kernel/hostname")),
        kernel: read_trimmed(&cfg.proc_root.join("sys/kernel/osrelease")),
    })
}

/// Why a process that was read has no mappings to show: a kernel thread or a zombie.
pub fn no_map_reason(outcome: &Outcome) -> Option<&'static str> {
    match outcome {
        Outcome::KernelThread => Some("kernel thread, no user memory map"),
        Outcome::Zombie => Some("zombie, no memory left to show"),
        _ => None,
    }
}

/// What happened to a process that is not shown (or shown empty), for stderr and JSON.
pub fn outcome_message(p: &ShownProcess, given_as_pid: bool) -> Option<String> {
    let who = format!("{} ({})", p.info.pid, render::escape::display(&p.info.comm));
    Some(match &p.outcome {
        Outcome::Read => return None,
        Outcome::KernelThread | Outcome::Zombie => {
            format!("{who}: {}", no_map_reason(&p.outcome).unwrap_or_default())
        }
        Outcome::Vanished if given_as_pid && p.info.comm.is_empty() => {
            format!("no process {}", p.info.pid)
        }
        Outcome::Vanished => format!("{who}: exited before its map could be read"),
        Outcome::Denied { path, errno } => {
            // SAFETY: geteuid has no preconditions.
            let root = unsafe { libc::geteuid() } == 0;
            let why = if *errno == libc::EPERM {
                "the proc mount restricts access to other users' processes (hidepid)"
            } else if !root {
                "run as root"
            } else {
                "refused even to root: the process holds capabilities pmaps lacks, or lives \
                 in another user namespace"
            };
            format!("{who}: permission denied reading {path} ({why})")
        }
        Outcome::Incomplete => format!(
            "{who}: its map changed while it was read twice (the process keeps exiting or \
             exec'ing); not shown"
        ),
        Outcome::Error { path, message } => format!("{who}: cannot read {path}: {message}"),
    })
}

/// Counts for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Processes shown (read, or a kernel thread or zombie with nothing to show).
    pub shown: usize,
    /// Processes matched but not shown: denied, incomplete, error, gone.
    pub failed: usize,
    /// Targets that matched nothing (a number with no process, a name with no match).
    pub unmatched: usize,
}

impl Tally {
    pub fn of(report: &ShowReport) -> Tally {
        let mut t = Tally {
            unmatched: report.unmatched.len(),
            ..Tally::default()
        };
        for p in &report.processes {
            if p.is_shown() {
                t.shown += 1;
            } else if p.outcome == Outcome::Vanished && report.given_pids.contains(&p.info.pid) {
                t.unmatched += 1;
            } else {
                t.failed += 1;
            }
        }
        t
    }

    /// 0 when all is shown, 4 when nothing matched, 3 otherwise.
    pub fn exit_code(self) -> u8 {
        if self.shown == 0 && self.failed == 0 {
            exit::NO_MATCH
        } else if self.failed > 0 || self.unmatched > 0 {
            exit::PARTIAL
        } else {
            exit::OK
        }
    }
}

/// Runs `pmaps show` and returns the exit status.
pub fn run(cfg: &ShowConfig) -> u8 {
    // Before reading: an unwritable destination fails now.
    let out = match output::Output::prepare(cfg.output.as_deref()) {
        Ok(out) => out,
        Err(code) => return code,
    };
    let report = match collect(cfg) {
        Ok(r) => r,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    let tally = Tally::of(&report);
    let nothing = tally.shown == 0 && tally.failed == 0;
    // With no process at all there is nothing to render; say so and stop.
    if !nothing {
        let rendered = render::show::render(&report, cfg.format);
        if let Some(code) = out.deliver(rendered) {
            return code;
        }
    }
    for t in &report.unmatched {
        match t {
            Target::Name(_) => eprint_line(&format!(
                "no process matches {} (neither its command name nor its command line)",
                t.describe()
            )),
            Target::Pid(p) => eprint_line(&format!("no process {p}")),
        }
    }
    for p in &report.processes {
        let given = report.given_pids.contains(&p.info.pid);
        if let Some(msg) = outcome_message(p, given) {
            eprint_line(&msg);
        }
    }
    let code = tally.exit_code();
    if code == exit::PARTIAL && tally.failed > 0 {
        eprint_line(&format!(
            "partial: {} of {} matched processes not shown",
            tally.failed,
            tally.failed + tally.shown
        ));
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MapHeader;

    fn info(pid: u32, comm: &[u8], cmdline: &[u8]) -> ProcInfo {
        ProcInfo {
            pid,
            comm: comm.to_vec(),
            cmdline: cmdline.to_vec(),
            ..ProcInfo::default()
        }
    }

    #[test]
    fn targets_are_pids_when_numeric_and_names_otherwise() {
        let t = |s: &str| Target::parse(&OsString::from(s));
        assert_eq!(t("1234"), Ok(Target::Pid(1234)));
        assert_eq!(t("nginx"), Ok(Target::Name(b"nginx".to_vec())));
        assert_eq!(t("12ab"), Ok(Target::Name(b"12ab".to_vec())));
        assert_eq!(t("-1"), Ok(Target::Name(b"-1".to_vec())));
        assert!(t("").is_err());
        assert!(t("0").is_err());
        assert!(t("0123").is_err());
        assert!(t("99999999999").is_err());
    }

    #[test]
    fn names_match_a_substring_of_comm_or_command_line() {
        let sshd = info(7, b"sshd", b"sshd: alice [priv]");
        let py = info(
            8,
            b"python3",
            b"/usr/bin/python3 /srv/app/worker.py --queue=mail",
        );
        assert!(name_matches(b"sshd", &sshd));
        assert!(name_matches(b"ssh", &sshd));
        assert!(name_matches(b"alice", &sshd));
        assert!(name_matches(b"worker.py", &py));
        assert!(name_matches(b"queue=mail", &py));
        assert!(name_matches(b"python3 /srv", &py));
        assert!(!name_matches(b"Worker", &py), "case-sensitive");
        assert!(
            !name_matches(b"worker.*", &py),
            "a fixed string, not a regex"
        );
        assert!(!name_matches(b"nginx", &sshd));
        // A kernel-cut comm still matches by the command line, and raw bytes match.
        let cut = info(
            9,
            b"very-long-progr",
            b"/opt/very-long-program-name\xff --x",
        );
        assert!(name_matches(b"program-name\xff", &cut));
    }

    #[test]
    fn wrappers_of_pmaps_are_recognised_by_its_own_command_line() {
        let own = b"pmaps show nginx";
        assert!(is_wrapper_of(
            &info(1, b"sudo", b"sudo pmaps show nginx"),
            own
        ));
        assert!(is_wrapper_of(
            &info(2, b"sh", b"sh -c pmaps show nginx"),
            own
        ));
        assert!(!is_wrapper_of(
            &info(3, b"nginx", b"nginx: worker process"),
            own
        ));
        assert!(!is_wrapper_of(&info(4, b"x", b"anything"), b""));
    }

    fn row(start: u64, end: u64, perms: &[u8; 4], path: &[u8], inode: u64, rss_kb: u64) -> ShowRow {
        let h = MapHeader {
            start,
            end,
            perms: *perms,
            offset: start - 0x1000,
            dev_major: 0xfe,
            dev_minor: 0,
            inode,
            path,
        };
        let c = Counters {
            size: end - start,
            rss: rss_kb * 1024,
            pss: rss_kb * 512,
            private_dirty: rss_kb * 1024,
            ..Counters::default()
        };
        ShowRow::from_mapping(Mapping::new(&h, &c), 0)
    }

    /// (start, end, perms, offset, mappings, rss in kB)
    type Summary<'a> = (u64, u64, &'a [u8], u64, u64, u64);

    #[test]
    fn merge_folds_runs_of_the_same_file_only() {
        let lib = b"/usr/lib/libc.so.6";
        let rows = vec![
            row(0x1000, 0x2000, b"r--p", lib, 7, 4),
            row(0x2000, 0x5000, b"r-xp", lib, 7, 8),
            row(0x5000, 0x6000, b"rw-p", lib, 7, 4),
            // Anonymous mappings are never folded, even when adjacent.
            row(0x6000, 0x7000, b"rw-p", b"", 0, 4),
            row(0x7000, 0x8000, b"rw-p", b"", 0, 4),
            // Same path, other inode (the file was replaced): another file.
            row(0x8000, 0x9000, b"r--p", lib, 8, 0),
            // Same file again after another: a new row.
            row(0x9000, 0xa000, b"r--p", b"/bin/x", 9, 0),
            row(0xa000, 0xb000, b"r--p", lib, 7, 0),
        ];
        let merged = merge_rows(rows, &FieldKeys::default());
        let summary: Vec<Summary<'_>> = merged
            .iter()
            .map(|r| {
                (
                    r.map.start,
                    r.map.end,
                    &r.map.perms[..],
                    r.map.offset,
                    r.mappings,
                    r.map.counters.rss / 1024,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (0x1000, 0x6000, &b"r**p"[..], 0, 3, 16),
                (0x6000, 0x7000, &b"rw-p"[..], 0x5000, 1, 4),
                (0x7000, 0x8000, &b"rw-p"[..], 0x6000, 1, 4),
                (0x8000, 0x9000, &b"r--p"[..], 0x7000, 1, 0),
                (0x9000, 0xa000, &b"r--p"[..], 0x8000, 1, 0),
                (0xa000, 0xb000, &b"r--p"[..], 0x9000, 1, 0),
            ]
        );
        assert_eq!(merged[0].map.counters.size, 0x5000);
        assert_eq!(merged[0].map.counters.pss, 8 * 1024);
        assert_eq!(merged[0].map.counters.dirty(), 16 * 1024);
    }

    #[test]
    fn folding_and_totals_sum_amounts_but_not_properties() {
        let mut keys = FieldKeys::default();
        let size = keys.intern(b"KernelPageSize", 0);
        let rss = keys.intern(b"Rss", 1);
        let thp = keys.intern(b"THPeligible", 2);
        let flags = keys.intern(b"VmFlags", 3);
        let with = |r: ShowRow, vals: [FieldValue; 4]| ShowRow {
            values: vals.into_iter().map(Some).collect(),
            ..r
        };
        let lib = b"/lib/x.so";
        let a = with(
            row(0x1000, 0x2000, b"r--p", lib, 1, 4),
            [
                FieldValue::Bytes(4096),
                FieldValue::Bytes(4096),
                FieldValue::Number(0),
                FieldValue::Text(b"rd mr".to_vec()),
            ],
        );
        let b = with(
            row(0x2000, 0x3000, b"r-xp", lib, 1, 4),
            [
                FieldValue::Bytes(4096),
                FieldValue::Bytes(8192),
                FieldValue::Number(0),
                FieldValue::Text(b"rd ex mr".to_vec()),
            ],
        );
        let merged = merge_rows(vec![a.clone(), b.clone()], &keys);
        assert_eq!(merged.len(), 1);
        let v = &merged[0].values;
        assert_eq!(
            v[size],
            Some(FieldValue::Bytes(4096)),
            "a page size is not summed"
        );
        assert_eq!(v[rss], Some(FieldValue::Bytes(12288)));
        assert_eq!(
            v[thp],
            Some(FieldValue::Number(0)),
            "equal properties are kept"
        );
        assert_eq!(v[flags], None, "differing properties are dropped");
        let t = totals(&[a, b], &keys);
        assert_eq!(t.mappings, 2);
        assert_eq!(t.values[size], None);
        assert_eq!(t.values[rss], Some(FieldValue::Bytes(12288)));
        assert_eq!(t.values[thp], None);
        assert_eq!(t.map.counters.rss, 8 * 1024);
        assert!(t.map.counters.is_known(field::ALL));
    }

    #[test]
    fn exit_codes() {
        let t = |shown, failed, unmatched| {
            Tally {
                shown,
                failed,
                unmatched,
            }
            .exit_code()
        };
        assert_eq!(t(2, 0, 0), exit::OK);
        assert_eq!(t(0, 0, 1), exit::NO_MATCH);
        assert_eq!(t(1, 0, 1), exit::PARTIAL);
        assert_eq!(t(1, 1, 0), exit::PARTIAL);
        assert_eq!(t(0, 1, 0), exit::PARTIAL);
    }
}
