//! The mappings of the process being read ([`Scratch`]), merged by file or by kind as the
//! rows need them, before its outcome decides whether they enter the accumulator.

use regex::bytes::Regex;

use crate::model::{Counters, Filters, GroupBy, MapHeader, MapKind, Object};
use crate::parse::mapping_kind;
use crate::show::{ShowRow, fold_mapping};

/// How many kinds of mapping there are.
pub(super) const KINDS: usize = MapKind::ALL.len();

/// What the rows of the report need from each mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Per-process totals only.
    Totals,
    /// Totals per mapping kind.
    Kinds,
    /// Totals per path.
    Files,
    /// Totals per path, and the process's rows as `pmaps show --merge` folds them (what
    /// `pmaps record` keeps).
    Runs,
}

impl Detail {
    pub fn for_group(group_by: GroupBy) -> Detail {
        match group_by {
            GroupBy::File
            | GroupBy::FileProcess
            | GroupBy::ProcessFile
            | GroupBy::FileContainer
            | GroupBy::ContainerFile => Detail::Files,
            GroupBy::Kind => Detail::Kinds,
            GroupBy::Process
            | GroupBy::User
            | GroupBy::Command
            | GroupBy::Cgroup
            | GroupBy::Unit
            | GroupBy::Container => Detail::Totals,
        }
    }
}

/// One distinct file (object and path) of the process being read.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) path: std::ops::Range<usize>,
    pub(super) object: Object,
    pub(super) kind: MapKind,
    pub(super) counters: Counters,
    pub(super) mappings: u64,
}

/// The mappings of the process being read, reused from process to process.
#[derive(Debug)]
pub struct Scratch {
    pub(super) detail: Detail,
    pub(super) map_filter: Option<Regex>,
    pub(super) kinds_filter: Vec<MapKind>,
    pub(super) arena: Vec<u8>,
    pub(super) entries: Vec<Entry>,
    pub(super) kinds: [(Counters, u64); KINDS],
    pub(super) totals: Counters,
    pub(super) mappings: u64,
    /// With [`Detail::Runs`]: the rows of `show --merge`, in address order.
    pub(super) runs: Vec<ShowRow>,
    /// A sum of this process's values passed 2^64: its file is not a real smaps.
    pub(super) overflow: bool,
}

impl Scratch {
    pub fn new(detail: Detail, filters: &Filters) -> Scratch {
        Scratch {
            detail,
            map_filter: filters.map.clone(),
            kinds_filter: filters.kinds.clone(),
            arena: Vec::new(),
            entries: Vec::new(),
            kinds: [(Counters::default(), 0); KINDS],
            totals: Counters::default(),
            mappings: 0,
            runs: Vec::new(),
            overflow: false,
        }
    }

    pub fn clear(&mut self) {
        self.arena.clear();
        self.entries.clear();
        self.kinds = [(Counters::default(), 0); KINDS];
        self.totals = Counters::default();
        self.mappings = 0;
        self.runs.clear();
        self.overflow = false;
    }

    /// Sets the process's mapping count, read from `maps` beside a rollup (whose one record
    /// is not a mapping).
    pub fn set_mappings(&mut self, n: u64) {
        self.mappings = n;
    }

    /// Takes one mapping, if it passes the per-mapping filters.
    #[inline]
    pub fn add(&mut self, h: &MapHeader<'_>, c: &Counters) {
        self.add_many(h, c, 1);
    }

    /// Takes `n` mappings of one file at once, their counters summed in `c` (a process's
    /// share of a file, as a history snapshot keeps it), if they pass the per-mapping
    /// filters.
    #[inline]
    pub fn add_many(&mut self, h: &MapHeader<'_>, c: &Counters, n: u64) {
        let needs_kind = self.detail == Detail::Kinds || !self.kinds_filter.is_empty();
        let kind = if needs_kind {
            mapping_kind(h.path, h.hugetlb)
        } else {
            MapKind::Anon
        };
        if !self.kinds_filter.is_empty() && !self.kinds_filter.contains(&kind) {
            return;
        }
        if let Some(re) = &self.map_filter
            && !re.is_match(h.path)
        {
            return;
        }
        // Every other sum of this process is part of its totals: checking these is enough.
        if self.overflow || !self.totals.checked_absorb(c) {
            self.overflow = true;
            return;
        }
        self.mappings += n;
        match self.detail {
            Detail::Totals => {}
            Detail::Kinds => {
                let slot = &mut self.kinds[kind as usize];
                slot.0 += c;
                slot.1 += n;
            }
            Detail::Files | Detail::Runs => {
                if self.detail == Detail::Runs {
                    fold_mapping(&mut self.runs, h, c);
                }
                // Mappings of one file are usually adjacent (a library's 4-5 segments).
                let object = Object::of(h);
                if let Some(last) = self.entries.last_mut()
                    && last.object == object
                    && &self.arena[last.path.clone()] == h.path
                {
                    last.counters += c;
                    last.mappings += n;
                    return;
                }
                let start = self.arena.len();
                self.arena.extend_from_slice(h.path);
                self.entries.push(Entry {
                    path: start..self.arena.len(),
                    object,
                    kind: if needs_kind {
                        kind
                    } else {
                        mapping_kind(h.path, h.hugetlb)
                    },
                    counters: *c,
                    mappings: n,
                });
            }
        }
    }
}
