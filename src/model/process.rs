//! Processes: their facts, the one outcome each PID gets, and the coverage of a scan (who
//! was read, who was not, and why).

use serde::{Deserialize, Serialize};

use super::Cgroup;

/// What happened when one PID was read. Every PID listed gets exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Fully read.
    Read,
    /// Gone (ENOENT/ESRCH) before or during the read, and no longer there.
    Vanished,
    /// A zombie: it has no memory left to report.
    Zombie,
    /// A kernel thread: no user memory.
    KernelThread,
    /// EACCES or EPERM.
    Denied { path: String, errno: i32 },
    /// The map read ended early because the process exited or exec'd meanwhile: the kernel
    /// gives a short file with no error, so this is found by checking the process after.
    Incomplete,
    /// Anything else: an unexpected errno, a malformed file.
    Error { path: String, message: String },
}

impl Outcome {
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Read => OutcomeKind::Read,
            Outcome::Vanished => OutcomeKind::Vanished,
            Outcome::Zombie => OutcomeKind::Zombie,
            Outcome::KernelThread => OutcomeKind::KernelThread,
            Outcome::Denied { .. } => OutcomeKind::Denied,
            Outcome::Incomplete => OutcomeKind::Incomplete,
            Outcome::Error { .. } => OutcomeKind::Error,
        }
    }
}

/// The outcome without its details, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Read,
    Vanished,
    Zombie,
    KernelThread,
    Denied,
    Incomplete,
    Error,
}

impl OutcomeKind {
    pub const ALL: [OutcomeKind; 7] = [
        OutcomeKind::Read,
        OutcomeKind::Vanished,
        OutcomeKind::Zombie,
        OutcomeKind::KernelThread,
        OutcomeKind::Denied,
        OutcomeKind::Incomplete,
        OutcomeKind::Error,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Read => "read",
            OutcomeKind::Vanished => "vanished",
            OutcomeKind::Zombie => "zombie",
            OutcomeKind::KernelThread => "kernel_thread",
            OutcomeKind::Denied => "denied",
            OutcomeKind::Incomplete => "incomplete",
            OutcomeKind::Error => "error",
        }
    }
    /// Outcomes that make a report partial. Vanished, zombie and kernel-thread outcomes are
    /// expected on any live system and do not.
    pub fn is_partial(self) -> bool {
        matches!(
            self,
            OutcomeKind::Denied | OutcomeKind::Incomplete | OutcomeKind::Error
        )
    }
}

/// Facts about one process, read from `stat`, `status` and `cmdline`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: u32,
    /// `comm` as the kernel gives it (up to 15 bytes, raw).
    pub comm: Vec<u8>,
    /// The command line, NUL separators turned into spaces; empty for kernel threads and
    /// zombies.
    pub cmdline: Vec<u8>,
    /// Effective uid, when `status` could be read.
    pub uid: Option<u32>,
    /// Start time in clock ticks since boot (with the PID, the identity of a process).
    pub start_time: u64,
    pub kernel_thread: bool,
    /// The state letter of `stat` (`R`, `S`, `D`, `Z`…); 0 when `stat` was not read. When
    /// the main thread has exited and other threads live on, the state of the live thread.
    pub state: u8,
    /// When its main thread has exited (`pthread_exit` in `main`) while other threads live
    /// on: the thread its memory and command line were read through (`task/TID/`).
    pub thread: Option<u32>,
    /// The address-space fields of `stat` (26-28 and 45-51: code, stack, data, heap,
    /// arguments and environment addresses): equal for processes that share one address
    /// space (and for forks that have not exec'd since).
    pub mm_fingerprint: [u64; 10],
    /// The parent's PID (0 when it has none, or `stat` was not read).
    pub ppid: u32,
    /// The cgroup its memory is charged to, when it was asked for and could be read.
    pub cgroup: Option<Cgroup>,
}

/// A process that was read, as rows show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcDesc {
    pub pid: u32,
    /// Start time in clock ticks since boot: with the PID, the identity of a process.
    pub start_time: u64,
    pub uid: Option<u32>,
    /// User name, or the uid in digits when it has no name, or `?` when unknown.
    pub user: String,
    /// `comm`, raw.
    pub comm: Vec<u8>,
    /// The command line, or `[comm]` when it is empty (kernel threads, some daemons).
    pub command: Vec<u8>,
    /// The cgroup its memory is charged to, when asked for.
    pub cgroup: Option<Cgroup>,
}

impl ProcDesc {
    /// The description of a process read, its user named by `user`.
    pub fn of(info: &ProcInfo, user: String) -> ProcDesc {
        ProcDesc {
            pid: info.pid,
            start_time: info.start_time,
            uid: info.uid,
            user,
            comm: info.comm.clone(),
            command: info.display_command().into_owned(),
            cgroup: info.cgroup.clone(),
        }
    }
}

impl ProcInfo {
    /// The command line, or `[comm]` when it is empty (kernel threads, zombies, some daemons).
    pub fn display_command(&self) -> std::borrow::Cow<'_, [u8]> {
        if self.cmdline.is_empty() {
            std::borrow::Cow::Owned([b"[".as_slice(), &self.comm, b"]"].concat())
        } else {
            std::borrow::Cow::Borrowed(&self.cmdline)
        }
    }
}

/// A process that did not read fully, for the coverage details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pid: u32,
    pub comm: Vec<u8>,
    pub outcome: Outcome,
}

/// Who was read and who was not: part of every report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Processes per outcome, indexed by [`OutcomeKind`].
    pub counts: [u64; 7],
    /// Mappings read (of processes whose outcome is `read`).
    pub mappings: u64,
    /// Processes left out by `--pid/--user/--command` (not part of the counts).
    pub filtered: u64,
    /// pmaps' own PID, left out of the scan.
    pub self_pid: Option<u32>,
    /// Details of denied, incomplete and failed processes.
    pub problems: Vec<Problem>,
    /// Processes the proc mount hides (hidepid), when that can be told.
    pub hidden: Option<String>,
    /// Processes read whose `maps` had no mapping that could pass the mapping filters: their
    /// `smaps` was not read (counted `read`, with nothing to add).
    pub ruled_out_by_maps: u64,
    /// The mapping count was read from `maps` beside a `smaps_rollup` that has none.
    pub mappings_from_maps: bool,
    /// Processes read in full whose address space another process of the report shares
    /// (`CLONE_VM`): their memory is counted once, with the lowest PID of the group, and
    /// these are counted `read` but add no row and no memory.
    pub shared: Vec<SharedSpace>,
    /// Processes that may share their address space with another (the same address-space
    /// fields in `stat`) when the source could not tell: each is counted.
    pub shared_unknown: u64,
    /// PIDs asked for (`--pid`) that are no process, ascending.
    pub missing: Vec<u32>,
}

/// A process whose address space is another's, counted with that one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SharedSpace {
    pub pid: u32,
    /// The process its memory is counted with (the lowest PID of those sharing it).
    pub with: u32,
}

impl Coverage {
    pub fn count(&self, kind: OutcomeKind) -> u64 {
        self.counts[kind as usize]
    }
    /// Processes considered (every outcome).
    pub fn processes(&self) -> u64 {
        self.counts.iter().sum()
    }
    /// Whether the report covers every process it set out to read.
    pub fn is_complete(&self) -> bool {
        self.hidden.is_none()
            && OutcomeKind::ALL
                .iter()
                .all(|k| !k.is_partial() || self.count(*k) == 0)
    }
    /// Counts one process's outcome (and keeps its details when it makes the report partial).
    pub fn record(&mut self, info: &ProcInfo, outcome: Outcome) {
        self.counts[outcome.kind() as usize] += 1;
        if outcome.kind().is_partial() {
            self.problems.push(Problem {
                pid: info.pid,
                comm: info.comm.clone(),
                outcome,
            });
        }
    }
    /// Adds another worker's coverage.
    pub fn merge(&mut self, other: Coverage) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.mappings += other.mappings;
        self.filtered += other.filtered;
        self.ruled_out_by_maps += other.ruled_out_by_maps;
        self.problems.extend(other.problems);
        self.shared.extend(other.shared);
        self.shared_unknown += other.shared_unknown;
    }
}
