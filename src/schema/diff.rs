//! The JSON document of `pmaps diff`, and the reading of a saved report's rows into what
//! the comparison matches.
//!
//! `{"schema_version", "meta": {"view": "diff", "group_by", "sort", "min_change", "old":
//! {name, time_utc, host, …, "coverage"}, "new": {…}, "counts": {…}}, "totals": {…}, "rows":
//! [{"status", key fields…, "pss_bytes": {"old", "new", "change", "change_pct"}, …}]}`. Key
//! fields are a report row's (`path`/`path_hex`, `kind`, `device`, `inode`, `pid`,
//! `start_time`, `user`, `command`…); each metric is an object keyed by the report's name for
//! it, holding the old and new values (`null`: absent or unknown), the signed change in
//! bytes and the change in percent of the old value (`null` from nothing).

use serde::{Deserialize, Serialize};

use super::capture::CaptureDoc;
use super::key::{KeyDoc, split};
use super::report::{CoverageDoc, FiltersDoc, ReportDoc, RowDoc};
use super::{SCHEMA_VERSION, name_bytes};
use crate::analyze::Metric;
use crate::analyze::diff::{
    Entry, Key, Labels, MinChange, RowDiff, Side, Unread, Values, compared_by, nested_by,
};
use crate::model::{GroupBy, Object, OutcomeKind, Source};
use crate::view::diff::DiffView;

/// A whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffDoc {
    pub schema_version: u32,
    pub meta: DiffMetaDoc,
    pub totals: DiffRowDoc,
    pub rows: Vec<DiffRowDoc>,
}

/// Facts about the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffMetaDoc {
    pub pmaps_version: String,
    /// Always `diff`.
    pub view: String,
    pub group_by: GroupBy,
    /// The metric rows are sorted by and `min_change` applies to.
    pub sort: String,
    /// `--min-change` as given in bytes or percent; `null` when any change counts.
    pub min_change_bytes: Option<u64>,
    pub min_change_pct: Option<f64>,
    pub old: SideDoc,
    pub new: SideDoc,
    pub counts: CountsDoc,
    /// Rows listed before `--top` cut them.
    pub rows_total: usize,
}

/// One of the two sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideDoc {
    /// The file or snapshot as given, or `now` for a scan made by the diff.
    pub name: String,
    pub time_utc: String,
    pub host: Option<String>,
    pub kernel: Option<String>,
    pub source: Source,
    pub proc_root: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<FiltersDoc>,
    /// The capture it was made from (absent for a saved report, a snapshot, a scan now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureDoc>,
    pub coverage: CoverageDoc,
}

impl SideDoc {
    pub fn of(name: &str, doc: &ReportDoc) -> SideDoc {
        let m = &doc.meta;
        SideDoc {
            name: name.to_string(),
            time_utc: m.time_utc.clone(),
            host: m.host.clone(),
            kernel: m.kernel.clone(),
            source: m.source,
            proc_root: m.proc_root.clone(),
            filters: m.filters.clone(),
            capture: m.capture.clone(),
            coverage: m.coverage.clone(),
        }
    }
}

/// Rows per status, over every row compared (`notable`: rows that changed beyond the
/// thresholds, which decide the exit status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CountsDoc {
    pub new: usize,
    pub gone: usize,
    pub changed: usize,
    pub same: usize,
    pub unread: usize,
    pub notable: usize,
}

/// Old, new and the change of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ChangeDoc {
    pub old: Option<u64>,
    pub new: Option<u64>,
    pub change: Option<i128>,
    pub change_pct: Option<f64>,
}

/// One row: its status, its key, and each metric's change.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DiffRowDoc {
    /// `new`, `gone`, `changed`, `same` or `unread`; absent on the totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(flatten)]
    pub key: KeyDoc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<ChangeDoc>,
    pub mappings: ChangeDoc,
    pub size_bytes: ChangeDoc,
    pub rss_bytes: ChangeDoc,
    pub pss_bytes: ChangeDoc,
    pub uss_bytes: ChangeDoc,
    pub shared_bytes: ChangeDoc,
    pub swap_bytes: ChangeDoc,
    pub swap_pss_bytes: ChangeDoc,
    /// The rows listed under it, as in the report: with `file,process`, `file,container`
    /// and `container,file`, `by_process`; with `process,file`, `by_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_process: Option<Vec<DiffRowDoc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_file: Option<Vec<DiffRowDoc>>,
}

fn change_doc(r: &RowDiff, m: Metric) -> ChangeDoc {
    ChangeDoc {
        old: r.old_value(m),
        new: r.new_value(m),
        change: r.change(m),
        change_pct: r.change_pct(m),
    }
}

impl DiffRowDoc {
    /// The document of one row; `processes` only where the view has the column.
    pub fn of(r: &RowDiff, with_processes: bool) -> DiffRowDoc {
        let mut d = DiffRowDoc {
            status: (r.key != Key::Total).then(|| r.status.as_str().to_string()),
            processes: with_processes.then(|| change_doc(r, Metric::Processes)),
            mappings: change_doc(r, Metric::Mappings),
            size_bytes: change_doc(r, Metric::Size),
            rss_bytes: change_doc(r, Metric::Rss),
            pss_bytes: change_doc(r, Metric::Pss),
            uss_bytes: change_doc(r, Metric::Uss),
            shared_bytes: change_doc(r, Metric::Shared),
            swap_bytes: change_doc(r, Metric::Swap),
            swap_pss_bytes: change_doc(r, Metric::SwapPss),
            ..DiffRowDoc::default()
        };
        let k = &mut d.key;
        match &r.key {
            Key::File {
                device,
                inode,
                path,
            } => {
                k.set_object(
                    path,
                    Object {
                        dev_major: device.0,
                        dev_minor: device.1,
                        inode: *inode,
                    },
                );
                // The kind the report gave (huge pages cannot be told by the path).
                k.kind = r.labels.kind.or(k.kind);
            }
            Key::Process { pid, start_time } => {
                k.pid = Some(*pid);
                k.start_time = Some(*start_time);
                if let Some(u) = &r.labels.user {
                    k.set_user(u);
                }
                if let Some(c) = &r.labels.command {
                    k.set_command(c);
                }
            }
            Key::User(u) => k.set_user(u),
            Key::Command(c) => k.set_command(c),
            Key::Kind(kind) => k.kind = Some(*kind),
            Key::Cgroup(c) => (k.cgroup, k.cgroup_hex) = split(c),
            Key::Unit(u) => {
                (k.unit, k.unit_hex) = split(u);
                if let Some(c) = &r.labels.cgroup {
                    (k.cgroup, k.cgroup_hex) = split(c);
                }
            }
            Key::Container { runtime, id } => {
                k.runtime = split(runtime).0;
                (k.container, k.container_hex) = split(id);
                k.pod = r.labels.pod.as_deref().and_then(|p| split(p).0);
            }
            Key::Total => {}
        }
        d
    }
}

impl DiffDoc {
    /// The document of the comparison as `view` shows it; `old` and `new` describe the two
    /// reports.
    pub fn of(view: &DiffView<'_>, old: SideDoc, new: SideDoc) -> DiffDoc {
        let with_processes = view.has_processes();
        let c = view.counts();
        let (min_change_bytes, min_change_pct) = match view.opts.min_change {
            Some(MinChange::Bytes(b)) => (Some(b), None),
            Some(MinChange::Percent(p)) => (None, Some(p)),
            None => (None, None),
        };
        DiffDoc {
            schema_version: SCHEMA_VERSION,
            meta: DiffMetaDoc {
                pmaps_version: env!("CARGO_PKG_VERSION").to_string(),
                view: "diff".to_string(),
                group_by: view.cmp.group_by,
                sort: view.opts.sort.name().to_string(),
                min_change_bytes,
                min_change_pct,
                old,
                new,
                counts: CountsDoc {
                    new: c.new,
                    gone: c.gone,
                    changed: c.changed,
                    same: c.same,
                    unread: c.unread,
                    notable: c.notable,
                },
                rows_total: view.total_rows,
            },
            totals: DiffRowDoc::of(&view.cmp.totals, with_processes),
            rows: view
                .rows
                .iter()
                .map(|r| {
                    let mut d = DiffRowDoc::of(r, with_processes);
                    if nested_by(view.cmp.group_by).is_some() {
                        let under = view
                            .children_of(r)
                            .map(|c| DiffRowDoc::of(c, with_processes));
                        match view.cmp.group_by {
                            GroupBy::ProcessFile => d.by_file = Some(under.collect()),
                            _ => d.by_process = Some(under.collect()),
                        }
                    }
                    d
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// A saved report, read for a comparison

/// The values of a report row, indexed by [`Metric`].
pub fn values_of(row: &RowDoc) -> Values {
    let mut v: Values = [None; 9];
    v[Metric::Processes as usize] = row.processes;
    v[Metric::Mappings as usize] = row.mappings;
    v[Metric::Size as usize] = row.size_bytes;
    v[Metric::Rss as usize] = row.rss_bytes;
    v[Metric::Pss as usize] = row.pss_bytes;
    v[Metric::Uss as usize] = row.uss_bytes;
    v[Metric::Shared as usize] = row.shared_bytes;
    v[Metric::Swap as usize] = row.swap_bytes;
    v[Metric::SwapPss as usize] = row.swap_pss_bytes;
    v
}

fn bytes_of(text: Option<&String>, hex: Option<&String>, what: &str) -> Result<Vec<u8>, String> {
    let text = text.ok_or_else(|| format!("a row without its {what}"))?;
    name_bytes(text, hex.map(String::as_str)).ok_or_else(|| format!("a {what} with a bad hex"))
}

/// What a row of a report of `group_by` is matched by (a report of two levels: its first
/// level's rows, see [`crate::analyze::diff::compared_by`], with the rows under it).
pub fn entry_of(row: &RowDoc, group_by: GroupBy) -> Result<Entry, String> {
    let mut labels = Labels::default();
    let text =
        |t: &Option<String>, h: &Option<String>, what: &str| bytes_of(t.as_ref(), h.as_ref(), what);
    let key = match compared_by(group_by) {
        GroupBy::Process => {
            let pid = row.key.pid.ok_or("a process row without its PID")?;
            let start_time = row
                .key
                .start_time
                .ok_or("a process row without its start time (saved by an older pmaps?)")?;
            labels.user = text(&row.key.user, &row.key.user_hex, "user").ok();
            labels.command = text(&row.key.command, &row.key.command_hex, "command").ok();
            Key::Process { pid, start_time }
        }
        GroupBy::User => Key::User(text(&row.key.user, &row.key.user_hex, "user")?),
        GroupBy::Command => Key::Command(text(&row.key.command, &row.key.command_hex, "command")?),
        GroupBy::Kind => Key::Kind(row.key.kind.ok_or("a kind row without its kind")?),
        GroupBy::Cgroup => Key::Cgroup(text(&row.key.cgroup, &row.key.cgroup_hex, "cgroup")?),
        GroupBy::Unit => {
            labels.cgroup = text(&row.key.cgroup, &row.key.cgroup_hex, "cgroup").ok();
            Key::Unit(text(&row.key.unit, &row.key.unit_hex, "unit")?)
        }
        GroupBy::Container => {
            labels.pod = row.key.pod.as_ref().map(|p| p.as_bytes().to_vec());
            Key::Container {
                runtime: row
                    .key
                    .runtime
                    .as_ref()
                    .ok_or("a container row without its runtime")?
                    .as_bytes()
                    .to_vec(),
                id: text(&row.key.container, &row.key.container_hex, "container")?,
            }
        }
        // A file: the first level of every other view.
        _ => {
            let path = text(&row.key.path, &row.key.path_hex, "path")?;
            let device = row
                .key
                .device
                .as_deref()
                .and_then(Object::parse_device)
                .ok_or("a file row without its device (saved by an older pmaps?)")?;
            let inode = row.key.inode.ok_or("a file row without its inode")?;
            labels.kind = row.key.kind;
            Key::File {
                device,
                inode,
                path,
            }
        }
    };
    let children = match (nested_by(group_by), &row.by_process, &row.by_file) {
        (Some(under), Some(rows), _) | (Some(under), None, Some(rows)) => rows
            .iter()
            .map(|r| entry_of(r, under))
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    Ok(Entry {
        key,
        labels,
        values: values_of(row),
        children,
    })
}

/// Every row of a report, for matching.
pub fn entries_of(doc: &ReportDoc) -> Result<Vec<Entry>, String> {
    doc.rows
        .iter()
        .enumerate()
        .map(|(i, r)| entry_of(r, doc.meta.group_by).map_err(|e| format!("row {}: {e}", i + 1)))
        .collect()
}

/// The totals of a report, for matching.
pub fn totals_of(doc: &ReportDoc) -> Entry {
    Entry {
        key: Key::Total,
        labels: Labels::default(),
        values: values_of(&doc.totals),
        children: Vec::new(),
    }
}

/// What the comparison says of a report.
pub fn side_of(name: &str, doc: &ReportDoc) -> Side {
    let c = &doc.meta.coverage;
    let mut outcomes = [0u64; 7];
    for kind in OutcomeKind::ALL {
        outcomes[kind as usize] = c.outcomes.get(kind);
    }
    Side {
        name: name.to_string(),
        time_utc: doc.meta.time_utc.clone(),
        host: doc.meta.host.clone(),
        outcomes,
        complete: c.complete,
    }
}

/// The PIDs each report could not read.
pub fn unread_of(old: &ReportDoc, new: &ReportDoc) -> Unread {
    let pids = |d: &ReportDoc| d.meta.coverage.problems.iter().map(|p| p.pid).collect();
    Unread {
        old: pids(old),
        new: pids(new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::name_fields;

    #[test]
    fn a_non_utf8_path_is_matched_by_its_exact_bytes() {
        let raw = b"/tmp/\xff\xfe lib.so".to_vec();
        let (path, path_hex) = name_fields(&raw);
        let row = RowDoc {
            key: KeyDoc {
                path: Some(path),
                path_hex,
                device: Some("fe:01".into()),
                inode: Some(42),
                ..KeyDoc::default()
            },
            pss_bytes: Some(4096),
            ..RowDoc::default()
        };
        let e = entry_of(&row, GroupBy::File).expect("entry");
        assert_eq!(
            e.key,
            Key::File {
                device: (0xfe, 1),
                inode: 42,
                path: raw
            }
        );
        assert_eq!(e.values[Metric::Pss as usize], Some(4096));
        let mut bad = row.clone();
        bad.key.path_hex = Some("zz".into());
        assert!(entry_of(&bad, GroupBy::File).is_err());
        let mut old = row;
        old.key.device = None;
        assert!(entry_of(&old, GroupBy::File).is_err());
    }

    #[test]
    fn a_process_row_needs_its_start_time() {
        let row = RowDoc {
            key: KeyDoc {
                pid: Some(7),
                ..KeyDoc::default()
            },
            ..RowDoc::default()
        };
        let err = entry_of(&row, GroupBy::Process).expect_err("no start time");
        assert!(err.contains("start time"), "{err}");
    }
}
