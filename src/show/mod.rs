//! `pmaps show PID|NAME…`: one process's memory map, mapping by mapping, like `pmap`.
//!
//! This module owns the data of `show`: which processes a target names, reading each one's
//! mappings in full (through [`crate::read::Reader::read_mappings`], so the same outcomes
//! and truncation check as the report apply; several processes in parallel, shown in
//! order), folding them with `--merge`, and what the exit status says.
//! Its columns are a view (`view::show`) that the same renderers as the report print.
//!
//! # Targets
//! A target made of decimal digits is a PID (any PID the proc root answers for, a thread's
//! TID included). Any other target is a NAME: it matches every process whose command name
//! (`comm`) or command line (arguments joined by spaces) contains it as a substring, byte for
//! byte and case-sensitively, like `pgrep -f NAME` with a fixed string. Kernel threads and
//! zombies (no memory map) and pmaps itself are never matched by name, nor is a wrapper
//! whose command line holds pmaps' own (`sudo pmaps show nginx`, `sh -c 'pmaps show
//! nginx'`): it matches only because of pmaps' arguments. pmaps' own ancestors (its shell,
//! `sh -c "pmaps show 'two words'"`, whose command line is not pmaps' own once the shell has
//! removed the quotes) match by their command name only, never by their command line.
//! Processes are shown in the order of the targets, a name's matches by ascending PID, each
//! once.
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

mod parallel;
mod rows;

pub use rows::{ShowRow, ShownProcess, byte_keys, fold_mapping, merge_rows, totals};

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant, SystemTime};

use crate::exit;
use crate::model::{CaptureInfo, FieldKeys, Outcome, Privilege, ProcInfo};
use crate::source::{self, ProcSource, UserNames, parse_pid};
use crate::text::escape::display;

/// What one `pmaps show` run asks.
#[derive(Debug, Clone)]
pub struct ShowConfig {
    pub targets: Vec<Target>,
    pub merge: bool,
    pub all_fields: bool,
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
            return parse_pid(bytes)
                .map(Target::Pid)
                .ok_or_else(|| format!("{}: not a valid PID", arg.to_string_lossy()));
        }
        Ok(Target::Name(bytes.to_vec()))
    }

    /// How messages name the target.
    pub fn describe(&self) -> String {
        match self {
            Target::Pid(p) => format!("PID {p}"),
            Target::Name(n) => format!("'{}'", display(n)),
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

/// Finds the processes the targets name. Lists the proc root first (a directory that is no
/// proc is an error, not "no process N"); the facts of the processes listed are read, in
/// parallel, only when there is a name.
pub fn resolve(src: &dyn ProcSource, targets: &[Target]) -> anyhow::Result<Resolved> {
    let mut out = Resolved::default();
    let mut candidates: Vec<ProcInfo> = Vec::new();
    let mut ancestors = Vec::new();
    let (mut pids, own) = src
        .list_pids()
        .map_err(|e| anyhow::anyhow!("cannot list processes in {}: {e}", src.describe()))?;
    if targets.iter().any(|t| matches!(t, Target::Name(_))) {
        pids.retain(|&p| Some(p) != own);
        let own_info = own.and_then(|p| parallel::facts_of(src, &[p]).pop().flatten());
        let own_cmdline = own_info
            .as_ref()
            .map(|i| i.cmdline.clone())
            .unwrap_or_default();
        let mut parents = HashMap::new();
        for info in parallel::facts_of(src, &pids).into_iter().flatten() {
            parents.insert(info.pid, info.ppid);
            if !info.kernel_thread
                && !matches!(info.state, b'Z' | b'X' | b'x')
                && !is_wrapper_of(&info, &own_cmdline)
            {
                candidates.push(info);
            }
        }
        if let Some(info) = &own_info {
            ancestors = ancestors_of(info.ppid, &parents);
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
                for info in candidates.iter().filter(|i| {
                    if ancestors.contains(&i.pid) {
                        ancestor_matches(name, i)
                    } else {
                        name_matches(name, i)
                    }
                }) {
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

/// The chain of parents from `pid` up (pmaps' parent, its parent, …), as far as `parent`
/// knows them; a loop (a PID reused meanwhile) ends it.
pub fn ancestors_of(mut pid: u32, parent: &HashMap<u32, u32>) -> Vec<u32> {
    let mut chain = Vec::new();
    while pid != 0 && !chain.contains(&pid) && chain.len() <= parent.len() {
        chain.push(pid);
        match parent.get(&pid) {
            Some(&p) => pid = p,
            None => break,
        }
    }
    chain
}

/// Whether `name` matches an ancestor of pmaps (its shell, `sh -c`, `sudo`, `timeout`…):
/// by its command name only. Its command line holds the name only because it runs pmaps
/// (`sh -c "pmaps show 'two words'"`), while the shell pmaps was typed into is still found
/// by `pmaps show bash`.
pub fn ancestor_matches(name: &[u8], info: &ProcInfo) -> bool {
    contains(&info.comm, name)
}

/// Everything one `pmaps show` produced.
#[derive(Debug, Clone)]
pub struct ShowReport {
    /// The smaps keys seen, in the kernel's order (`--all-fields`).
    pub keys: FieldKeys,
    pub processes: Vec<ShownProcess>,
    pub unmatched: Vec<Target>,
    /// PIDs given as numbers (a vanished one "does not exist").
    pub given_pids: Vec<u32>,
    pub merge: bool,
    pub all_fields: bool,
    pub proc_root: String,
    pub time: SystemTime,
    pub duration: Duration,
    pub host: Option<String>,
    pub kernel: Option<String>,
    /// Who pmaps ran as (for the advice about a denied process).
    pub privilege: Privilege,
    /// The capture it was read from (`--from`).
    pub capture: Option<CaptureInfo>,
}

/// Resolves the targets and reads every matched process.
pub fn collect(src: &dyn ProcSource, cfg: &ShowConfig) -> anyhow::Result<ShowReport> {
    let started = Instant::now();
    let time = SystemTime::now();
    let resolved = resolve(src, &cfg.targets)?;
    let mut keys = FieldKeys::default();
    let mut users = UserNames::default();
    let mut processes = Vec::new();
    let reads = parallel::read_maps(src, &resolved.pids, cfg.all_fields.then_some(&mut keys));
    for read in reads {
        let rows: Vec<ShowRow> = read
            .mappings
            .into_iter()
            .map(ShowRow::from_mapping)
            .collect();
        let rows = if cfg.merge {
            merge_rows(rows, &keys)
        } else {
            rows
        };
        let totals = totals(&rows, &keys);
        processes.push(ShownProcess {
            user: users.name(src, read.info.uid),
            info: read.info,
            outcome: read.outcome,
            rows,
            totals,
        });
    }
    let capture = src.capture();
    Ok(ShowReport {
        keys,
        processes,
        unmatched: resolved.unmatched,
        given_pids: resolved.given_pids,
        merge: cfg.merge,
        all_fields: cfg.all_fields,
        proc_root: src.describe(),
        time: capture.as_ref().and_then(|c| c.start).unwrap_or(time),
        duration: started.elapsed(),
        host: source::read_trimmed(src, "sys/kernel/hostname"),
        kernel: source::read_trimmed(src, "sys/kernel/osrelease"),
        privilege: source::reader_privilege(src),
        capture,
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
/// `privilege`: who pmaps runs as (a denial names what is missing).
pub fn outcome_message(
    p: &ShownProcess,
    given_as_pid: bool,
    privilege: Privilege,
) -> Option<String> {
    let who = format!("{} ({})", p.info.pid, display(&p.info.comm));
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
            let why = privilege.denied_reason(*errno);
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn ancestors_are_followed_up_the_parents_and_loops_end() {
        let parent: HashMap<u32, u32> = [(50, 40), (40, 1), (1, 0), (7, 8), (8, 7)].into();
        assert_eq!(ancestors_of(50, &parent), [50, 40, 1]);
        assert_eq!(ancestors_of(7, &parent), [7, 8]);
        assert_eq!(ancestors_of(99, &parent), [99]);
        assert_eq!(ancestors_of(0, &parent), Vec::<u32>::new());
    }

    #[test]
    fn an_ancestor_matches_by_its_command_name_only() {
        let sh = info(40, b"sh", b"sh -c pmaps show 'two words'; true");
        assert!(name_matches(b"two words", &sh));
        assert!(!ancestor_matches(b"two words", &sh));
        assert!(ancestor_matches(b"sh", &sh));
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
