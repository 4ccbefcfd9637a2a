//! The JSON document of `pmaps show`: `{"schema_version", "meta", "processes": [{pid, comm,
//! command, user, uid, outcome, message, totals, mappings: [...]}], "unmatched"}`, with
//! integer bytes (`null`: unknown), the offset as a number, and names that are not UTF-8
//! given exactly in a `<key>_hex` companion. With `--all-fields`, each further smaps key the
//! kernel printed for a mapping is a key of its own (lowercased, `_bytes` on amounts), never
//! one of the fixed keys (see `view::show` for the names a kernel key may not take).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::capture::CaptureDoc;
use super::{SCHEMA_VERSION, name_bytes, name_fields};
use crate::model::{MapKind, Outcome, OutcomeKind, Source};
use crate::show::{ShowReport, ShowRow, ShownProcess, outcome_message};
use crate::text::utc_timestamp;
use crate::view::Cell;
use crate::view::show::{ShowColumn, ShowView};

/// A whole `show` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShowDoc {
    pub schema_version: u32,
    pub meta: ShowMetaDoc,
    pub processes: Vec<ProcessDoc>,
    /// The targets that matched no process, as messages name them.
    pub unmatched: Vec<String>,
}

/// Facts about the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShowMetaDoc {
    pub pmaps_version: String,
    /// Always `show`: tells this document from a report.
    pub view: String,
    pub host: Option<String>,
    pub kernel: Option<String>,
    pub time_utc: String,
    pub source: Source,
    pub merge: bool,
    pub all_fields: bool,
    pub proc_root: String,
    pub duration_seconds: f64,
    /// The capture the data came from (`--from`); absent when read live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureDoc>,
}

/// One matched process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessDoc {
    pub pid: u32,
    pub comm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm_hex: Option<String>,
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_hex: Option<String>,
    pub user: String,
    pub uid: Option<u32>,
    pub outcome: OutcomeKind,
    /// Why it is not shown, or shown empty; `null` when it was read.
    pub message: Option<String>,
    /// `null` unless it was read.
    pub totals: Option<MappingDoc>,
    pub mappings: Vec<MappingDoc>,
}

/// One mapping (or a run of them with `--merge`), or a process's totals (which have no
/// address, perms, offset, device, inode, kind or path).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MappingDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perms: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    /// Mappings in the row (`--merge`, and every totals object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mappings: Option<u64>,
    pub size_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    pub pss_bytes: Option<u64>,
    pub uss_bytes: Option<u64>,
    pub dirty_bytes: Option<u64>,
    pub swap_bytes: Option<u64>,
    pub swap_pss_bytes: Option<u64>,
    /// `--all-fields`: every further smaps key, in the kernel's order.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MapKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
}

impl MappingDoc {
    /// The exact bytes of the path.
    pub fn path_bytes(&self) -> Option<Vec<u8>> {
        name_bytes(self.path.as_deref()?, self.path_hex.as_deref())
    }

    fn of(view: &ShowView, p: &ShownProcess, r: &ShowRow) -> MappingDoc {
        let mut d = MappingDoc::default();
        for &c in &view.columns {
            let cell = view.cell(c, p, r);
            let bytes = match cell {
                Cell::Bytes(v) => v,
                _ => None,
            };
            match (c, cell) {
                (ShowColumn::Address, Cell::Code(s)) => d.address = Some(s.into_owned()),
                (ShowColumn::Perms, Cell::Code(s)) => d.perms = Some(s.into_owned()),
                (ShowColumn::Offset, Cell::Hex(n)) => d.offset = Some(n),
                (ShowColumn::Device, Cell::Code(s)) => d.device = Some(s.into_owned()),
                (ShowColumn::Inode, Cell::Id(n)) => d.inode = Some(n),
                (ShowColumn::Mappings, Cell::Count(n)) => d.mappings = Some(n),
                (ShowColumn::Size, _) => d.size_bytes = bytes,
                (ShowColumn::Rss, _) => d.rss_bytes = bytes,
                (ShowColumn::Pss, _) => d.pss_bytes = bytes,
                (ShowColumn::Uss, _) => d.uss_bytes = bytes,
                (ShowColumn::Dirty, _) => d.dirty_bytes = bytes,
                (ShowColumn::Swap, _) => d.swap_bytes = bytes,
                (ShowColumn::SwapPss, _) => d.swap_pss_bytes = bytes,
                (ShowColumn::Field(_), cell) => {
                    let key = view.spec(c).csv_name();
                    match cell {
                        // A key this mapping's record did not print, or that a totals
                        // object cannot sum, is left out: the document grows with the
                        // fields read, not with mappings × keys.
                        Cell::Empty | Cell::Bytes(None) => {}
                        Cell::Bytes(Some(v)) => {
                            d.fields.insert(key, Value::from(v));
                        }
                        Cell::Count(n) => {
                            d.fields.insert(key, Value::from(n));
                        }
                        Cell::Text(t) => {
                            let (text, hex) = name_fields(t);
                            let hex_key = format!("{key}_hex");
                            d.fields.insert(key, Value::from(text));
                            if let Some(h) = hex {
                                d.fields.insert(hex_key, Value::from(h));
                            }
                        }
                        _ => {
                            d.fields.insert(key, Value::Null);
                        }
                    }
                }
                (ShowColumn::Kind, Cell::Code(k)) => d.kind = MapKind::parse(&k),
                (ShowColumn::Path, Cell::Text(t)) => {
                    let (text, hex) = name_fields(t);
                    d.path = Some(text);
                    d.path_hex = hex;
                }
                _ => {}
            }
        }
        if r.total {
            d.mappings = Some(r.mappings);
        }
        d
    }
}

impl ShowDoc {
    /// The document of a finished `show`.
    pub fn of(report: &ShowReport, view: &ShowView) -> ShowDoc {
        let processes = report
            .processes
            .iter()
            .map(|p| {
                let (comm, comm_hex) = name_fields(&p.info.comm);
                let (command, command_hex) = name_fields(&p.command());
                let given = report.given_pids.contains(&p.info.pid);
                ProcessDoc {
                    pid: p.info.pid,
                    comm,
                    comm_hex,
                    command,
                    command_hex,
                    user: p.user.clone(),
                    uid: p.info.uid,
                    outcome: p.outcome.kind(),
                    message: outcome_message(p, given, report.privilege),
                    totals: (p.outcome == Outcome::Read)
                        .then(|| MappingDoc::of(view, p, &p.totals)),
                    mappings: p.rows.iter().map(|r| MappingDoc::of(view, p, r)).collect(),
                }
            })
            .collect();
        ShowDoc {
            schema_version: SCHEMA_VERSION,
            meta: ShowMetaDoc {
                pmaps_version: env!("CARGO_PKG_VERSION").to_string(),
                view: "show".to_string(),
                host: report.host.clone(),
                kernel: report.kernel.clone(),
                time_utc: utc_timestamp(report.time),
                source: Source::Smaps,
                merge: report.merge,
                all_fields: report.all_fields,
                proc_root: report.proc_root.clone(),
                duration_seconds: report.duration.as_secs_f64(),
                capture: report.capture.as_ref().map(CaptureDoc::of),
            },
            processes,
            unmatched: report.unmatched.iter().map(|t| t.describe()).collect(),
        }
    }
}
