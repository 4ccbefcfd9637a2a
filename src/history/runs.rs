//! The runs of a snapshot: each process's mappings as `pmaps show --merge` folds them (one
//! row per run of a file's consecutive mappings, one per anonymous mapping), stored by
//! `pmaps record` beside the per-file usage rows and read back by `pmaps --at … show`.
//!
//! A run is stored once and found again by the hash of its content among the runs the same
//! process had in the previous snapshot: a process whose map did not change lists the same
//! state, and a state that changed (a heap that grew) stores only the runs that are new.

use std::collections::HashMap;

use rusqlite::{Transaction, params};

use super::record::{Digest, file_hash, file_id};
use super::{COUNTER_COLUMNS, counter_list, counter_values, counters_at};
use crate::aggregate::PackedRuns;
use crate::model::{MapKind, Mapping, Object};
use crate::parse::mapping_kind;
use crate::show::ShowRow;

/// One run about to be stored.
pub(super) struct Run {
    row: ShowRow,
    object: Object,
    kind: MapKind,
    file_hash: [u8; 16],
    /// The hash of its content (its file's included).
    pub(super) hash: [u8; 16],
}

/// One process's runs about to be stored, and where to look for them first.
pub(super) struct Runs {
    /// In address order.
    pub(super) list: Vec<Run>,
    /// The state the same process (PID, start time) had in the previous snapshot.
    pub(super) earlier: Option<i64>,
}

/// The runs of one process's rows (none: a process with no mapping), in address order.
pub(super) fn of(rows: Option<&PackedRuns>, earlier: Option<i64>) -> Runs {
    let list = rows
        .map(PackedRuns::unpack)
        .unwrap_or_default()
        .into_iter()
        .map(|row| {
            let m = &row.map;
            let object = Object::of_mapping(m);
            let kind = mapping_kind(&m.path, m.hugetlb);
            let file_hash = file_hash(&object, &m.path, kind);
            let hash = Digest::new(b'r')
                .bytes(&file_hash)
                .int(m.start)
                .int(m.end)
                .bytes(&m.perms)
                .int(m.offset)
                .int(row.mappings)
                .counters(&m.counters)
                .finish();
            Run {
                row,
                object,
                kind,
                file_hash,
                hash,
            }
        })
        .collect();
    Runs { list, earlier }
}

/// Stores the runs not stored yet, counts one more reference to each, and returns their ids
/// as the JSON array a state keeps (`files`: the file ids of this record). A run is found
/// again among the runs of `earlier`, the state the same process had in the previous
/// snapshot: addresses are a process's own, so no other process's runs are looked at, and
/// the table needs no index on the hash (which made a first record of a machine, all of
/// whose runs are new, slower and its file larger).
pub(super) fn write(
    tx: &Transaction<'_>,
    files: &mut HashMap<[u8; 16], i64>,
    runs: &Runs,
) -> rusqlite::Result<String> {
    let Runs {
        list: runs,
        earlier,
    } = runs;
    let mut known: HashMap<[u8; 16], i64> = HashMap::new();
    if let Some(state) = *earlier {
        let mut stmt = tx.prepare_cached(
            "SELECT r.hash, r.id FROM state s, json_each(s.runs) j JOIN run r ON r.id = j.value \
             WHERE s.id = ?",
        )?;
        let mut rows = stmt.query([state])?;
        while let Some(r) = rows.next()? {
            let hash: Vec<u8> = r.get(0)?;
            if let Ok(hash) = hash.try_into() {
                known.insert(hash, r.get(1)?);
            }
        }
    }
    let cols = COUNTER_COLUMNS.join(", ");
    let marks = vec!["?"; COUNTER_COLUMNS.len()].join(", ");
    let mut insert = tx.prepare_cached(&format!(
        "INSERT INTO run (file_id, start, end, perms, offset, mappings, {cols}, refs, hash) \
         VALUES (?, ?, ?, ?, ?, ?, {marks}, 1, ?)"
    ))?;
    let mut reuse = tx.prepare_cached("UPDATE run SET refs = refs + 1 WHERE id = ?")?;
    let mut ids = Vec::with_capacity(runs.len());
    for r in runs {
        if let Some(&id) = known.get(&r.hash) {
            reuse.execute([id])?;
            ids.push(id.to_string());
            continue;
        }
        let m = &r.row.map;
        let file = file_id(tx, files, &r.file_hash, &r.object, &m.path, r.kind)?;
        insert.execute(rusqlite::params_from_iter(
            [
                rusqlite::types::Value::from(file),
                (m.start as i64).into(),
                (m.end as i64).into(),
                String::from_utf8_lossy(&m.perms).into_owned().into(),
                (m.offset as i64).into(),
                (r.row.mappings as i64).into(),
            ]
            .into_iter()
            .chain(counter_values(&m.counters).map(Into::into))
            .chain([r.hash.to_vec().into()]),
        ))?;
        ids.push(tx.last_insert_rowid().to_string());
    }
    Ok(format!("[{}]", ids.join(",")))
}

/// The runs of each of `states` (state ids of one snapshot), in address order; `None` for a
/// state recorded before runs were kept (history schema 1).
pub(super) fn load(
    conn: &rusqlite::Connection,
    states: &[i64],
) -> rusqlite::Result<HashMap<i64, Option<Vec<ShowRow>>>> {
    let mut out = HashMap::new();
    let mut kept = conn.prepare("SELECT runs IS NOT NULL FROM state WHERE id = ?")?;
    let mut stmt = conn.prepare(&format!(
        "SELECT r.start, r.end, r.perms, r.offset, r.mappings, f.dev_major, f.dev_minor, \
         f.inode, f.path, f.kind, {} FROM state s JOIN json_each(s.runs) j \
         JOIN run r ON r.id = j.value JOIN file f ON f.id = r.file_id \
         WHERE s.id = ? ORDER BY j.key",
        counter_list("r")
    ))?;
    for &state in states {
        if !kept.query_row([state], |r| r.get::<_, bool>(0))? {
            out.insert(state, None);
            continue;
        }
        let rows = stmt
            .query_map(params![state], |r| {
                let perms: String = r.get(2)?;
                let kind = MapKind::parse(&r.get::<_, String>(9)?).unwrap_or(MapKind::Other);
                let map = Mapping {
                    start: r.get::<_, i64>(0)? as u64,
                    end: r.get::<_, i64>(1)? as u64,
                    perms: perms.as_bytes().try_into().unwrap_or(*b"????"),
                    offset: r.get::<_, i64>(3)? as u64,
                    dev_major: r.get(5)?,
                    dev_minor: r.get(6)?,
                    inode: r.get::<_, i64>(7)? as u64,
                    path: r.get(8)?,
                    // The kind recorded says what the path cannot: memory in huge pages.
                    hugetlb: Some(kind == MapKind::Hugetlb),
                    counters: counters_at(r, 10)?,
                    fields: Vec::new(),
                };
                Ok(ShowRow {
                    map,
                    total: false,
                    mappings: r.get::<_, i64>(4)?.max(0) as u64,
                    values: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.insert(state, Some(rows));
    }
    Ok(out)
}
