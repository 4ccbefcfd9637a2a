//! The read plan: which files are read for each process, and why, chosen here from the
//! [`Query`] and nowhere else. The scan follows it and `--explain` prints it.
//!
//! A report costs what the kernel spends producing the files it reads: `smaps` walks every
//! page of every mapping, `smaps_rollup` walks them once for one record, `maps` walks no page
//! at all. So the plan reads the cheapest files that answer:
//! - process filters (`--pid` before anything, `--user`, `--command`, `--cgroup`, `--unit`,
//!   `--container` on the small per-process files) before any map file;
//! - with a mapping filter (`--map`, `--kind`), `maps` first and `smaps` only for processes
//!   with a mapping that may pass it (the prefilter; `--no-prefilter` reads every `smaps`):
//!   the `maps` line of a mapping is the header of its `smaps` record, so its path is the
//!   one the filters see, and its kind is one of the few that path allows (the `VmFlags` of
//!   the record may still make it hugetlb, [`mapping_kind`]): a kind that only
//!   `smaps` can tell is never prefiltered ([`known_from_maps`]);
//! - per-process totals from `smaps_rollup`, and their mapping count (when the `Maps` column
//!   is asked for with `--columns`) from `maps`;
//! - virtual sizes alone (`--vsz`) from `maps`.
//!
//! `smaps` stays the truth: the prefilter only decides what is read (`read::first`). The plan
//! reads through the [`ProcSource`]: a source that has no `maps` (a capture of
//! `smaps_rollup`) gets no `maps` pass, and a process whose `maps` cannot be read (a capture
//! that kept no map file for it) has its `smaps` read.

use crate::model::{Filters, GroupBy, MapKind, Query, Source};
use crate::parse::mapping_kind;
use crate::read::Needs;
use crate::source::ProcSource;
use crate::text::escape::display;

/// What is read before the file that answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapsPass {
    /// Nothing.
    None,
    /// `maps`, to read the answering file only for processes with a mapping that may match.
    Prefilter,
    /// `maps`, for the mapping count the rollup lacks.
    Count,
}

/// The files read for one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPlan {
    /// The small per-process files read beside `stat`.
    pub needs: Needs,
    /// The file whose figures answer.
    pub source: Source,
    pub maps_pass: MapsPass,
}

/// Which processes a file is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every process listed (after `--pid`).
    Listed,
    /// Processes that passed the process filters (and are neither kernel threads nor
    /// zombies).
    Wanted,
    /// Of those, the processes whose `maps` has a mapping that may match.
    Matching,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Listed => "every process",
            Scope::Wanted => "every process kept",
            Scope::Matching => "only processes with a matching mapping",
        }
    }
}

/// One file of the plan: which processes it is read for, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The file under `/proc/PID/`.
    pub file: &'static str,
    pub scope: Scope,
    pub why: String,
}

impl ReadPlan {
    /// The plan for `query` over `src`.
    pub fn of(query: &Query, src: &dyn ProcSource) -> ReadPlan {
        let source = query.effective_source();
        let f = &query.filters;
        let has_maps = src.offers(Source::Maps);
        let maps_pass = if source == Source::Smaps
            && query.plan.prefilter
            && has_maps
            && f.filters_mappings()
            && f.kinds.iter().all(|k| known_from_maps(*k))
        {
            MapsPass::Prefilter
        } else if source == Source::Rollup && query.plan.count_in_maps && has_maps {
            MapsPass::Count
        } else {
            MapsPass::None
        };
        ReadPlan {
            needs: Needs {
                uid: !f.uids.is_empty() || user_column(query.group_by),
                cmdline: f.command.is_some() || command_column(query.group_by),
                cgroup: query.group_by.needs_cgroup() || f.filters_cgroups() || query.cgroups,
            },
            source,
            maps_pass,
        }
    }

    /// Whether the report knows each row's mapping count (the rollup alone has none).
    pub fn counts_mappings(&self) -> bool {
        self.source != Source::Rollup || self.maps_pass == MapsPass::Count
    }

    /// Whether a mapping, by the path `maps` shows for it, may pass the mapping filters once
    /// its `smaps` record is read. The test applied to the record (`aggregate`) looks at the
    /// same path and at the kind [`mapping_kind`] gives it with what the record's `VmFlags`
    /// say of hugetlb: whatever they say, a kind that passes keeps the mapping.
    pub fn may_match(filters: &Filters, path: &[u8]) -> bool {
        if !filters.kinds.is_empty() {
            let may_be = [None, Some(false), Some(true)].map(|ht| mapping_kind(path, ht));
            if !may_be.iter().any(|k| filters.kinds.contains(k)) {
                return false;
            }
        }
        filters.map.as_ref().is_none_or(|re| re.is_match(path))
    }

    /// The files read per process, in order, each with its scope and reason.
    pub fn steps(&self, query: &Query) -> Vec<Step> {
        let f = &query.filters;
        let group = format!("-g {}", query.group_by.as_str());
        let why = |parts: Vec<&str>| parts.join(", ");
        let mut steps = vec![Step {
            file: "stat",
            scope: Scope::Listed,
            why: "identity (start time), state, kernel thread; read again after each map \
                  file to find a read cut short by an exit or exec"
                .into(),
        }];
        let mut reasons = |file, wanted: &[(bool, &str)]| {
            let parts: Vec<&str> = wanted.iter().filter(|w| w.0).map(|w| w.1).collect();
            if !parts.is_empty() {
                steps.push(Step {
                    file,
                    scope: Scope::Listed,
                    why: why(parts),
                });
            }
        };
        let by_uid = user_column(query.group_by);
        if self.needs.uid {
            reasons(
                "status",
                &[
                    (!f.uids.is_empty(), "the effective uid for --user"),
                    (by_uid, &format!("the user column of {group}")),
                ],
            );
        }
        if self.needs.cmdline {
            reasons(
                "cmdline",
                &[
                    (f.command.is_some(), "--command"),
                    (
                        command_column(query.group_by),
                        &format!("the command column of {group}"),
                    ),
                ],
            );
        }
        if self.needs.cgroup {
            reasons(
                "cgroup",
                &[
                    (
                        f.filters_cgroups(),
                        "--cgroup, --unit or --container (a process filter)",
                    ),
                    (
                        query.group_by.needs_cgroup(),
                        &format!("the rows of {group}"),
                    ),
                    (
                        query.cgroups,
                        "the unit and container families of -f prometheus",
                    ),
                ],
            );
        }
        let filter = mapping_filter_text(f);
        match self.maps_pass {
            MapsPass::None => {}
            MapsPass::Prefilter => steps.push(Step {
                file: "maps",
                scope: Scope::Wanted,
                why: format!(
                    "which processes have a mapping that passes {filter}: no page walk, \
                     stops at the first such mapping"
                ),
            }),
            MapsPass::Count => steps.push(Step {
                file: "maps",
                scope: Scope::Wanted,
                why: "the mapping count (the Maps column), which smaps_rollup lacks: no page \
                      walk"
                    .into(),
            }),
        }
        let (scope, why) = match (self.source, self.maps_pass) {
            (Source::Smaps, MapsPass::Prefilter) => (
                Scope::Matching,
                format!(
                    "the figures of the mappings that pass {filter}; its record of each \
                     mapping decides (page walk)"
                ),
            ),
            (Source::Smaps, _) if f.filters_mappings() => (
                Scope::Wanted,
                format!(
                    "the figures of the mappings that pass {filter}; every process's smaps \
                     (--no-prefilter, a kind only smaps tells, or a source without maps; page \
                     walk)"
                ),
            ),
            (Source::Smaps, _) => (
                Scope::Wanted,
                format!("the figures of every mapping, for {group} (page walk)"),
            ),
            (Source::Rollup, _) => (
                Scope::Wanted,
                format!("per-process totals for {group}, one record (page walk)"),
            ),
            (Source::Maps, _) => (
                Scope::Wanted,
                "virtual sizes only (--vsz or --source maps): no page walk".into(),
            ),
        };
        steps.push(Step {
            file: self.source.file_name(),
            scope,
            why,
        });
        steps
    }
}

/// How `--explain` names the mapping filters.
fn mapping_filter_text(f: &Filters) -> String {
    let mut parts = Vec::new();
    if !f.kinds.is_empty() {
        let kinds: Vec<&str> = f.kinds.iter().map(|k| k.as_str()).collect();
        parts.push(format!("--kind {}", kinds.join(",")));
    }
    if let Some(re) = &f.map {
        parts.push(format!("--map '{}'", display(re.as_str().as_bytes())));
    }
    parts.join(" and ")
}

/// Whether `maps` can rule mappings out of `kind`: whether the path of a mapping of that
/// kind always says it may be ([`ReadPlan::may_match`]). A kind that the `smaps` record
/// alone tells would make the prefilter skip processes that match: no prefilter then.
/// Every kind is named, so that a new one is decided here.
pub fn known_from_maps(kind: MapKind) -> bool {
    match kind {
        // A path names these, whatever the VmFlags (which only ever make a mapping hugetlb,
        // or make `/anon_hugepage (deleted)` a deleted file: `may_match` allows for both).
        MapKind::File
        | MapKind::Deleted
        | MapKind::Heap
        | MapKind::Stack
        | MapKind::Anon
        | MapKind::Shm
        | MapKind::Memfd
        | MapKind::Vdso
        | MapKind::Other => true,
        // VmFlags `ht`: a file on a hugetlbfs mount, a SysV segment or a memfd in huge pages
        // has any path.
        MapKind::Hugetlb => false,
    }
}

/// Whether rows grouped by `g` show each process's user.
fn user_column(g: GroupBy) -> bool {
    matches!(
        g,
        GroupBy::Process | GroupBy::User | GroupBy::FileProcess | GroupBy::ProcessFile
    )
}

/// Whether rows grouped by `g` show each process's command line.
fn command_column(g: GroupBy) -> bool {
    matches!(
        g,
        GroupBy::Process | GroupBy::FileProcess | GroupBy::ProcessFile
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PlanOptions, SourceChoice};
    use crate::source::ProcRoot;
    use regex::bytes::Regex;

    /// A proc root: it has every file (nothing is read to make a plan).
    fn live() -> ProcRoot {
        ProcRoot::new("/proc".as_ref())
    }

    fn plan_of(q: &Query) -> ReadPlan {
        ReadPlan::of(q, &live())
    }

    fn query(group_by: GroupBy, filters: Filters) -> Query {
        Query {
            group_by,
            filters,
            ..Query::default()
        }
    }

    #[test]
    fn a_mapping_filter_reads_maps_first_unless_told_not_to() {
        let deleted = Filters {
            kinds: vec![MapKind::Deleted],
            ..Filters::default()
        };
        let plan = plan_of(&query(GroupBy::File, deleted.clone()));
        assert_eq!(plan.maps_pass, MapsPass::Prefilter);
        assert_eq!(plan.source, Source::Smaps);
        let files: Vec<&str> = plan
            .steps(&query(GroupBy::File, deleted.clone()))
            .iter()
            .map(|s| s.file)
            .collect();
        assert_eq!(files, ["stat", "maps", "smaps"]);
        let mut q = query(GroupBy::Process, deleted.clone());
        q.plan.prefilter = false;
        assert_eq!(plan_of(&q).maps_pass, MapsPass::None);
        // No mapping filter, or maps as the source: nothing to prefilter.
        assert_eq!(
            plan_of(&query(GroupBy::File, Filters::default())).maps_pass,
            MapsPass::None
        );
        let mut vsz = query(GroupBy::File, deleted);
        vsz.source = SourceChoice::Fixed(Source::Maps);
        assert_eq!(plan_of(&vsz).maps_pass, MapsPass::None);
    }

    #[test]
    fn the_rollup_counts_mappings_from_maps_only_when_asked() {
        let mut q = query(GroupBy::Process, Filters::default());
        let plan = plan_of(&q);
        assert_eq!(
            (plan.source, plan.maps_pass),
            (Source::Rollup, MapsPass::None)
        );
        assert!(!plan.counts_mappings());
        q.plan = PlanOptions {
            count_in_maps: true,
            ..PlanOptions::default()
        };
        let plan = plan_of(&q);
        assert_eq!(
            (plan.source, plan.maps_pass),
            (Source::Rollup, MapsPass::Count)
        );
        assert!(plan.counts_mappings());
        let files: Vec<&str> = plan.steps(&q).iter().map(|s| s.file).collect();
        assert_eq!(files, ["stat", "status", "cmdline", "maps", "smaps_rollup"]);
    }

    #[test]
    fn the_prefilter_keeps_exactly_what_the_smaps_filter_keeps() {
        let f = Filters {
            kinds: vec![MapKind::Deleted],
            map: Some(Regex::new(r"\.so").expect("regex")),
            ..Filters::default()
        };
        assert!(ReadPlan::may_match(&f, b"/usr/lib/libssl.so.3 (deleted)"));
        assert!(!ReadPlan::may_match(&f, b"/usr/lib/libssl.so.3"));
        assert!(!ReadPlan::may_match(&f, b"/tmp/data (deleted)"));
        // memfd and SysV segments end in " (deleted)" but are not deleted files.
        let deleted = Filters {
            kinds: vec![MapKind::Deleted],
            ..Filters::default()
        };
        assert!(!ReadPlan::may_match(&deleted, b"/memfd:x (deleted)"));
        assert!(!ReadPlan::may_match(&deleted, b"/SYSV0000abcd (deleted)"));
        assert!(ReadPlan::may_match(&Filters::default(), b""));
    }

    /// Whatever the `VmFlags` of a record say (none, `ht`, no `ht`), a mapping whose kind
    /// then passes `-k` was a candidate by its `maps` path: the prefilter never rules out a
    /// mapping `smaps` would keep. A kind only `smaps` tells (hugetlb) gets no prefilter.
    #[test]
    fn the_prefilter_never_rules_out_a_kind_the_vmflags_decide() {
        let paths: [&[u8]; 12] = [
            b"/anon_hugepage (deleted)",
            b"/SYSV00001234 (deleted)",
            b"/memfd:pool (deleted)",
            b"/dev/hugepages/pool",
            b"/usr/lib/libssl.so.3 (deleted)",
            b"/usr/lib/libc.so.6",
            b"/dev/zero (deleted)",
            b"[heap]",
            b"[stack]",
            b"[vdso]",
            b"[anon:pool]",
            b"",
        ];
        for kind in MapKind::ALL {
            let f = Filters {
                kinds: vec![kind],
                ..Filters::default()
            };
            let q = query(GroupBy::File, f.clone());
            let expected = if kind == MapKind::Hugetlb {
                MapsPass::None
            } else {
                MapsPass::Prefilter
            };
            assert_eq!(plan_of(&q).maps_pass, expected, "-k {}", kind.as_str());
            for path in paths {
                for ht in [None, Some(false), Some(true)] {
                    if mapping_kind(path, ht) == kind && known_from_maps(kind) {
                        assert!(
                            ReadPlan::may_match(&f, path),
                            "-k {} would rule out {:?} with hugetlb {ht:?}",
                            kind.as_str(),
                            String::from_utf8_lossy(path)
                        );
                    }
                }
            }
        }
        // `/anon_hugepage (deleted)` is a deleted file when smaps says it is not hugetlb.
        let deleted = Filters {
            kinds: vec![MapKind::Deleted],
            ..Filters::default()
        };
        assert!(ReadPlan::may_match(&deleted, b"/anon_hugepage (deleted)"));
        // With hugetlb among the kinds, every process's smaps is read.
        let q = query(
            GroupBy::File,
            Filters {
                kinds: vec![MapKind::Deleted, MapKind::Hugetlb],
                ..Filters::default()
            },
        );
        assert_eq!(plan_of(&q).maps_pass, MapsPass::None);
        let steps = plan_of(&q).steps(&q);
        assert!(
            steps[1].why.contains("a kind only smaps tells"),
            "{:?}",
            steps[1]
        );
    }

    #[test]
    fn every_step_says_why() {
        let f = Filters {
            uids: vec![0],
            command: Some(Regex::new("nginx").expect("regex")),
            map: Some(Regex::new("libssl").expect("regex")),
            ..Filters::default()
        };
        let q = query(GroupBy::User, f);
        let steps = plan_of(&q).steps(&q);
        let files: Vec<&str> = steps.iter().map(|s| s.file).collect();
        assert_eq!(files, ["stat", "status", "cmdline", "maps", "smaps"]);
        assert!(steps.iter().all(|s| !s.why.is_empty()));
        assert!(steps[1].why.contains("--user"), "{:?}", steps[1]);
        assert!(steps[3].why.contains("--map 'libssl'"), "{:?}", steps[3]);
        assert_eq!(steps[4].scope, Scope::Matching);
    }
}
