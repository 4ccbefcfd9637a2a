//! The report's columns: one definition per column (stable name, header, whether it holds
//! bytes, how a row yields its cell) for every group-by and every format. Percentage columns
//! are shares of RAM or swap ([`Basis`], from meminfo).

use std::borrow::Cow;

use crate::model::{Basis, GroupBy, Percent, Row, RowKey};
use crate::parse;
use crate::view::{Cell, ColumnSpec, Elide};

/// A report column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Path,
    Kind,
    /// The device of the mapped object (`fe:00`): with the inode, a file's identity.
    Device,
    Inode,
    Pid,
    /// The process's start time (clock ticks since boot): with the PID, its identity.
    StartTime,
    User,
    Command,
    /// The cgroup path (the memory controller's on a v1/hybrid host).
    Cgroup,
    /// The systemd unit the cgroup path ends in.
    Unit,
    /// The container runtime.
    Runtime,
    /// The container ID (an LXC container's name).
    Container,
    /// The Kubernetes pod UID of the container.
    Pod,
    Processes,
    Mappings,
    Size,
    Rss,
    Pss,
    Uss,
    Shared,
    Swap,
    SwapPss,
    /// Shares of RAM (`MemTotal`).
    RssPct,
    PssPct,
    UssPct,
    SharedPct,
    /// Shares of swap (`SwapTotal`).
    SwapPct,
    SwapPssPct,
    /// The cgroup's own charge (`memory.current`, v1 `memory.usage_in_bytes`).
    Charge,
    /// Of the charge: anonymous memory.
    ChargeAnon,
    /// Of the charge: page cache (shmem and tmpfs included), mapped or not.
    ChargeFile,
    /// Of the charge: shared memory and tmpfs.
    ChargeShmem,
    /// Of the charge: kernel memory (slab, stacks, page tables…).
    ChargeKernel,
}

/// The cgroup's own counters, after the memory of its processes.
const CHARGES: [Column; 5] = [
    Column::Charge,
    Column::ChargeAnon,
    Column::ChargeFile,
    Column::ChargeShmem,
    Column::ChargeKernel,
];

const METRICS: [Column; 8] = [
    Column::Mappings,
    Column::Size,
    Column::Rss,
    Column::Pss,
    Column::Uss,
    Column::Shared,
    Column::Swap,
    Column::SwapPss,
];

impl Column {
    pub const ALL: [Column; 33] = [
        Column::Path,
        Column::Kind,
        Column::Device,
        Column::Inode,
        Column::Pid,
        Column::StartTime,
        Column::User,
        Column::Command,
        Column::Cgroup,
        Column::Unit,
        Column::Runtime,
        Column::Container,
        Column::Pod,
        Column::Processes,
        Column::Mappings,
        Column::Size,
        Column::Rss,
        Column::Pss,
        Column::Uss,
        Column::Shared,
        Column::Swap,
        Column::SwapPss,
        Column::RssPct,
        Column::PssPct,
        Column::UssPct,
        Column::SharedPct,
        Column::SwapPct,
        Column::SwapPssPct,
        Column::Charge,
        Column::ChargeAnon,
        Column::ChargeFile,
        Column::ChargeShmem,
        Column::ChargeKernel,
    ];

    /// The stable name: JSON keys and `--sort` values.
    pub fn name(self) -> &'static str {
        match self {
            Column::Path => "path",
            Column::Kind => "kind",
            Column::Device => "device",
            Column::Inode => "inode",
            Column::Pid => "pid",
            Column::StartTime => "start_time",
            Column::User => "user",
            Column::Command => "command",
            Column::Processes => "processes",
            Column::Mappings => "mappings",
            Column::Size => "size",
            Column::Rss => "rss",
            Column::Pss => "pss",
            Column::Uss => "uss",
            Column::Shared => "shared",
            Column::Swap => "swap",
            Column::SwapPss => "swap_pss",
            Column::RssPct => "rss_pct",
            Column::PssPct => "pss_pct",
            Column::UssPct => "uss_pct",
            Column::SharedPct => "shared_pct",
            Column::SwapPct => "swap_pct",
            Column::SwapPssPct => "swap_pss_pct",
            Column::Cgroup => "cgroup",
            Column::Unit => "unit",
            Column::Runtime => "runtime",
            Column::Container => "container",
            Column::Pod => "pod",
            Column::Charge => "charge",
            Column::ChargeAnon => "charge_anon",
            Column::ChargeFile => "charge_file",
            Column::ChargeShmem => "charge_shmem",
            Column::ChargeKernel => "charge_kernel",
        }
    }

    /// For a percentage column, the byte column it is a share of, and whether the whole is
    /// swap (else RAM).
    pub fn percent_of(self) -> Option<(Column, bool)> {
        match self {
            Column::RssPct => Some((Column::Rss, false)),
            Column::PssPct => Some((Column::Pss, false)),
            Column::UssPct => Some((Column::Uss, false)),
            Column::SharedPct => Some((Column::Shared, false)),
            Column::SwapPct => Some((Column::Swap, true)),
            Column::SwapPssPct => Some((Column::SwapPss, true)),
            _ => None,
        }
    }

    /// The CSV header: the name, with `_bytes` on byte columns.
    pub fn csv_name(self) -> String {
        if self.is_bytes() {
            format!("{}_bytes", self.name())
        } else {
            self.name().to_string()
        }
    }

    /// The table header.
    pub fn header(self) -> &'static str {
        match self {
            Column::Path => "Mapping",
            Column::Kind => "Kind",
            Column::Device => "Device",
            Column::Inode => "Inode",
            Column::Pid => "PID",
            Column::StartTime => "Start",
            Column::User => "User",
            Column::Command => "Command",
            Column::Processes => "Procs",
            Column::Mappings => "Maps",
            Column::Size => "VSZ",
            Column::Rss => "RSS",
            Column::Pss => "PSS",
            Column::Uss => "USS",
            Column::Shared => "Shared",
            Column::Swap => "Swap",
            Column::SwapPss => "SwapPSS",
            Column::RssPct => "RSS%",
            Column::PssPct => "PSS%",
            Column::UssPct => "USS%",
            Column::SharedPct => "Shared%",
            Column::SwapPct => "Swap%",
            Column::SwapPssPct => "SwapPSS%",
            Column::Cgroup => "Cgroup",
            Column::Unit => "Unit",
            Column::Runtime => "Runtime",
            Column::Container => "Container",
            Column::Pod => "Pod",
            Column::Charge => "Charge",
            Column::ChargeAnon => "ChAnon",
            Column::ChargeFile => "ChFile",
            Column::ChargeShmem => "ChShmem",
            Column::ChargeKernel => "ChKernel",
        }
    }

    pub fn is_bytes(self) -> bool {
        matches!(
            self,
            Column::Size
                | Column::Rss
                | Column::Pss
                | Column::Uss
                | Column::Shared
                | Column::Swap
                | Column::SwapPss
                | Column::Charge
                | Column::ChargeAnon
                | Column::ChargeFile
                | Column::ChargeShmem
                | Column::ChargeKernel
        )
    }

    /// Whether it is one of a cgroup's own counters (not the memory of its processes).
    pub fn is_charge(self) -> bool {
        CHARGES.contains(&self)
    }

    /// Text columns sort A→Z by default; numbers largest first.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Column::Path
                | Column::Kind
                | Column::Device
                | Column::User
                | Column::Command
                | Column::Cgroup
                | Column::Unit
                | Column::Runtime
                | Column::Container
                | Column::Pod
        )
    }

    /// Accepts the name or the CSV name (`pss`, `pss_bytes`, `swap_pss`).
    pub fn parse(s: &str) -> Option<Column> {
        let s = s.strip_suffix("_bytes").unwrap_or(s);
        Column::ALL.into_iter().find(|c| c.name() == s)
    }

    /// The columns of a view, in order.
    pub fn for_view(group_by: GroupBy) -> Vec<Column> {
        let keys: &[Column] = match group_by {
            GroupBy::File => &[
                Column::Path,
                Column::Kind,
                Column::Device,
                Column::Inode,
                Column::Processes,
            ],
            GroupBy::Process => &[
                Column::Pid,
                Column::StartTime,
                Column::User,
                Column::Command,
            ],
            GroupBy::User => &[Column::User, Column::Processes],
            GroupBy::Command => &[Column::Command, Column::Processes],
            GroupBy::Kind => &[Column::Kind, Column::Processes],
            GroupBy::FileProcess => &[
                Column::Path,
                Column::Kind,
                Column::Device,
                Column::Inode,
                Column::Pid,
                Column::StartTime,
                Column::User,
                Column::Command,
                Column::Processes,
            ],
            GroupBy::ProcessFile => &[
                Column::Pid,
                Column::StartTime,
                Column::User,
                Column::Command,
                Column::Path,
                Column::Kind,
                Column::Device,
                Column::Inode,
            ],
            GroupBy::Cgroup => &[Column::Cgroup, Column::Processes],
            GroupBy::Unit => &[Column::Unit, Column::Cgroup, Column::Processes],
            GroupBy::Container => &[
                Column::Runtime,
                Column::Container,
                Column::Pod,
                Column::Processes,
            ],
            GroupBy::FileContainer => &[
                Column::Path,
                Column::Kind,
                Column::Device,
                Column::Inode,
                Column::Runtime,
                Column::Container,
                Column::Pod,
                Column::Processes,
            ],
            GroupBy::ContainerFile => &[
                Column::Runtime,
                Column::Container,
                Column::Pod,
                Column::Path,
                Column::Kind,
                Column::Device,
                Column::Inode,
                Column::Processes,
            ],
        };
        let charges: &[Column] = match group_by {
            GroupBy::Cgroup | GroupBy::Unit | GroupBy::Container => &CHARGES,
            _ => &[],
        };
        keys.iter()
            .chain(METRICS.iter())
            .chain(charges)
            .copied()
            .collect()
    }

    /// Every column a view can show (`--columns`): its own, then the percentages.
    pub fn available(group_by: GroupBy) -> Vec<Column> {
        let mut all = Column::for_view(group_by);
        all.extend(Column::ALL.iter().filter(|c| c.percent_of().is_some()));
        all
    }

    /// The cell of this column in `row`, percentages of `basis`.
    pub fn cell_in<'r>(self, row: &'r Row, basis: &Basis) -> Cell<'r> {
        match self.percent_of() {
            Some((of, swap)) => {
                let whole = if swap { basis.swap } else { basis.ram };
                match of.cell(row) {
                    Cell::Bytes(Some(v)) => Cell::Percent(Percent::of(v, whole)),
                    _ => Cell::Percent(None),
                }
            }
            None => self.cell(row),
        }
    }

    /// The cell of this column in `row`; a percentage is unknown here (it needs a
    /// [`Basis`]: see [`Column::cell_in`]).
    pub fn cell(self, row: &Row) -> Cell<'_> {
        let c = &row.counters;
        let bytes = |bit: u16, v: u64| Cell::Bytes(c.is_known(bit).then_some(v));
        use crate::model::field as f;
        match self {
            Column::Path => match row.key.file() {
                Some((p, _, _)) => Cell::Text(p),
                None => Cell::Empty,
            },
            Column::Kind => match row.key.kind() {
                Some(k) => Cell::Code(Cow::Borrowed(k.as_str())),
                None => Cell::Empty,
            },
            Column::Device => match row.key.file() {
                Some((_, o, _)) => Cell::Code(Cow::Owned(o.device())),
                None => Cell::Empty,
            },
            Column::Inode => match row.key.file() {
                Some((_, o, _)) => Cell::Id(o.inode),
                None => Cell::Empty,
            },
            Column::StartTime => match &row.key {
                RowKey::Process(p) | RowKey::FileProcess { proc: p, .. } => Cell::Id(p.start_time),
                _ => Cell::Empty,
            },
            Column::Pid => match &row.key {
                RowKey::Process(p) | RowKey::FileProcess { proc: p, .. } => {
                    Cell::Id(u64::from(p.pid))
                }
                _ => Cell::Empty,
            },
            Column::User => match &row.key {
                RowKey::Process(p) | RowKey::FileProcess { proc: p, .. } => {
                    Cell::Text(p.user.as_bytes())
                }
                RowKey::User { name, .. } => Cell::Text(name.as_bytes()),
                _ => Cell::Empty,
            },
            Column::Command => match &row.key {
                RowKey::Process(p) | RowKey::FileProcess { proc: p, .. } => Cell::Text(&p.command),
                RowKey::Command(name) => Cell::Text(name),
                _ => Cell::Empty,
            },
            Column::Cgroup => match &row.key {
                RowKey::Cgroup { cgroup, .. } | RowKey::Unit { cgroup, .. } => match cgroup {
                    Some(c) => Cell::Text(&c.path),
                    None => Cell::Code(Cow::Borrowed("-")),
                },
                _ => Cell::Empty,
            },
            Column::Unit => match &row.key {
                RowKey::Unit { cgroup, .. } => {
                    match cgroup.as_ref().and_then(|c| parse::unit_of(&c.path)) {
                        Some(u) => Cell::Text(u),
                        None => Cell::Code(Cow::Borrowed("-")),
                    }
                }
                _ => Cell::Empty,
            },
            Column::Runtime | Column::Container | Column::Pod => match row.key.container() {
                Some(None) if self == Column::Pod => Cell::Empty,
                Some(None) => Cell::Code(Cow::Borrowed("-")),
                Some(Some(c)) => match self {
                    Column::Runtime => Cell::Code(Cow::Borrowed(c.runtime.as_str())),
                    Column::Container => Cell::Text(&c.id),
                    _ => c.pod.as_deref().map_or(Cell::Empty, Cell::Text),
                },
                None => Cell::Empty,
            },
            Column::Charge
            | Column::ChargeAnon
            | Column::ChargeFile
            | Column::ChargeShmem
            | Column::ChargeKernel => match &row.key {
                RowKey::Cgroup { charge, .. }
                | RowKey::Unit { charge, .. }
                | RowKey::Container { charge, .. } => Cell::Bytes(match self {
                    Column::Charge => charge.current,
                    Column::ChargeAnon => charge.anon,
                    Column::ChargeFile => charge.file,
                    Column::ChargeShmem => charge.shmem,
                    _ => charge.kernel,
                }),
                _ => Cell::Empty,
            },
            Column::Processes => match &row.key {
                RowKey::Process(_) | RowKey::FileProcess { .. } => Cell::Empty,
                _ => Cell::Count(row.processes),
            },
            Column::Mappings => row.mappings.map_or(Cell::Unknown, Cell::Count),
            Column::Size => bytes(f::SIZE, c.size),
            Column::Rss => bytes(f::RSS, c.rss),
            Column::Pss => bytes(f::PSS, c.pss),
            Column::Uss => bytes(f::PRIVATE_CLEAN | f::PRIVATE_DIRTY, c.uss()),
            Column::Shared => bytes(f::SHARED_CLEAN | f::SHARED_DIRTY, c.shared()),
            Column::Swap => bytes(f::SWAP, c.swap),
            Column::SwapPss => bytes(f::SWAP_PSS, c.swap_pss),
            Column::RssPct
            | Column::PssPct
            | Column::UssPct
            | Column::SharedPct
            | Column::SwapPct
            | Column::SwapPssPct => Cell::Percent(None),
        }
    }
}

impl Column {
    /// The column's definition for every format. On a terminal too narrow for all of them,
    /// the columns are left out by `priority` (the view makes its key columns, the sort
    /// column and the columns chosen with `--columns` essential): first the mapping count,
    /// SwapPSS, the parts of a cgroup's charge, VSZ and Shared, last RSS, the charge and PSS.
    pub fn spec(self) -> ColumnSpec {
        let spec = ColumnSpec::new(self.name(), self.header());
        let spec = if self.is_bytes() { spec.bytes() } else { spec };
        match self {
            Column::Path => spec
                .text()
                .elide(Elide::Middle, PATH_MIN_WIDTH, None)
                .empty_as("[anon]"),
            // A command line can be thousands of bytes: the table shows its start; CSV and
            // JSON carry it whole.
            Column::Command => spec
                .text()
                .elide(Elide::KeepStart, COMMAND_MIN_WIDTH, Some(COMMAND_WIDTH))
                .priority(200),
            Column::User => spec.text().elide(Elide::KeepStart, 8, None).priority(110),
            Column::Kind => spec.text().priority(50),
            // Identity for programs; the table shows device and inode only where two rows
            // share a path (see `ReportView::sheet`).
            Column::Device => spec.text().not_in_table().priority(60),
            Column::Inode => spec.not_in_table().priority(60),
            Column::StartTime => spec.not_in_table(),
            // A cgroup path, like a file's: its last component (the unit) is what tells.
            Column::Cgroup => spec
                .text()
                .elide(Elide::Middle, PATH_MIN_WIDTH, None)
                .priority(100),
            Column::Unit => spec.text().elide(Elide::KeepStart, 12, None).priority(105),
            Column::Pod => spec.text().elide(Elide::KeepStart, 8, None).priority(85),
            Column::Runtime => spec.text().priority(90),
            // A 64-hex-digit ID: the table shows its start, as `docker ps` does.
            Column::Container => spec
                .text()
                .elide(Elide::KeepStart, 12, Some(15))
                .priority(190),
            Column::Pid => spec,
            Column::Processes => spec.priority(80),
            Column::Mappings => spec.priority(20),
            Column::SwapPss => spec.priority(30),
            Column::ChargeShmem | Column::ChargeKernel => spec.priority(35),
            Column::Size => spec.priority(40),
            Column::Shared => spec.priority(45),
            Column::ChargeAnon | Column::ChargeFile => spec.priority(65),
            Column::Swap => spec.priority(70),
            Column::Uss => spec.priority(120),
            Column::Rss => spec.priority(130),
            Column::Charge => spec.priority(140),
            Column::Pss => spec.priority(150),
            // A share goes with the bytes it is a share of.
            Column::RssPct
            | Column::PssPct
            | Column::UssPct
            | Column::SharedPct
            | Column::SwapPct
            | Column::SwapPssPct => {
                let of = self.percent_of().map_or(Column::Pss, |(of, _)| of);
                spec.priority(of.spec().priority)
            }
        }
    }

    /// The columns that say what a row is, in each view: never left out of a table.
    pub fn keys_of(group_by: GroupBy) -> &'static [Column] {
        match group_by {
            GroupBy::File => &[Column::Path],
            GroupBy::Process => &[Column::Pid, Column::Command],
            GroupBy::User => &[Column::User],
            GroupBy::Command => &[Column::Command],
            GroupBy::Kind => &[Column::Kind],
            GroupBy::FileProcess | GroupBy::ProcessFile => {
                &[Column::Path, Column::Pid, Column::Command]
            }
            GroupBy::Cgroup => &[Column::Cgroup],
            GroupBy::Unit => &[Column::Unit],
            GroupBy::Container => &[Column::Runtime, Column::Container],
            GroupBy::FileContainer | GroupBy::ContainerFile => {
                &[Column::Path, Column::Runtime, Column::Container]
            }
        }
    }
}

/// Widest command line shown when the table is not on a terminal.
const COMMAND_WIDTH: usize = 80;
/// The narrowest a terminal shortens a path to (from the middle) before leaving columns out.
const PATH_MIN_WIDTH: usize = 20;
/// The narrowest a terminal shortens a command line to.
const COMMAND_MIN_WIDTH: usize = 16;
