//! The history: snapshots of scans kept in one SQLite file (`pmaps record`), and everything
//! read back from it (`pmaps history`, `pmaps trend`, `--at`, `pmaps diff @REF`).
//!
//! # Layout
//! [`store`] opens the file (refusing anything that is not a pmaps history, or a newer
//! schema than this binary knows) and migrates its schema forward; [`schema`] holds the SQL;
//! [`record`] appends one scan as one snapshot in one transaction and applies the retention;
//! [`snapshots`] lists snapshots and resolves references (`@latest`, `@-1`, `@ID`, a time);
//! [`rebuild`] turns a stored snapshot back into the report of any question (group-by and
//! filters), through the same fold as a scan; [`show`] rebuilds `pmaps show --merge` from
//! the runs of mappings that `runs` stores and reads; [`series`] reads the series `trend`
//! judges.
//!
//! # Compact storage
//! Most processes do not change between two snapshots, and many processes have the same
//! content (a pool of identical workers). So a snapshot stores, per process, only a reference
//! to its *state* (its totals, its per-file usage rows and its runs of mappings), and
//! states, usage rows, files and process identities are stored once, found again by a
//! 128-bit hash of their content (xxh3). A process unchanged since any earlier snapshot
//! costs one small row; a changed one costs a state row listing its usage rows and its runs
//! (JSON arrays of ids) and only the usage rows and runs that are new (a library's share
//! usually is not; a run is looked for among the same process's runs of the previous
//! snapshot only, addresses being a process's own).

pub mod rebuild;
pub mod record;
mod runs;
pub mod schema;
pub mod series;
pub mod show;
pub mod snapshots;
pub mod store;

pub use rebuild::rebuild;
pub use record::{Retention, record};
pub use show::show_at;
pub use snapshots::{Reference, Snapshot};
pub use store::{Store, default_path};

use crate::model::{Counters, Query, Report, field};

/// The report a snapshot reference answers for `query`, read from the history at `db`
/// (read-only): `pmaps --at` and `pmaps diff @REF`.
pub fn report_at(db: &std::path::Path, reference: &str, query: &Query) -> anyhow::Result<Report> {
    let reference = Reference::parse(reference)?;
    let store = Store::open_read(db)?;
    let snapshot = store.resolve(&reference)?;
    let loaded = store.load(&snapshot)?;
    Ok(rebuild(&loaded, query))
}

/// The 12 counters of [`Counters`] in their column order (`size` … `locked`), and `known`.
pub const COUNTER_COLUMNS: [&str; 13] = [
    "size",
    "rss",
    "pss",
    "shared_clean",
    "shared_dirty",
    "private_clean",
    "private_dirty",
    "swap",
    "swap_pss",
    "referenced",
    "anonymous",
    "locked",
    "known",
];

/// The counters as SQLite integers, in [`COUNTER_COLUMNS`] order. Values past 2^63 (which no
/// admitted scan has) are stored as their two's-complement bit pattern and read back exactly.
fn counter_values(c: &Counters) -> [i64; 13] {
    [
        c.size,
        c.rss,
        c.pss,
        c.shared_clean,
        c.shared_dirty,
        c.private_clean,
        c.private_dirty,
        c.swap,
        c.swap_pss,
        c.referenced,
        c.anonymous,
        c.locked,
        u64::from(c.known),
    ]
    .map(|v| v as i64)
}

/// Counters from [`COUNTER_COLUMNS`] read at `first` in a row.
fn counters_at(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Counters> {
    let v = |i: usize| row.get::<_, i64>(first + i).map(|x| x as u64);
    Ok(Counters {
        size: v(0)?,
        rss: v(1)?,
        pss: v(2)?,
        shared_clean: v(3)?,
        shared_dirty: v(4)?,
        private_clean: v(5)?,
        private_dirty: v(6)?,
        swap: v(7)?,
        swap_pss: v(8)?,
        referenced: v(9)?,
        anonymous: v(10)?,
        locked: v(11)?,
        // A record reads smaps, which has no PSS split by backing (the rollup's alone).
        pss_anon: 0,
        pss_file: 0,
        pss_shmem: 0,
        known: (v(12)? & u64::from(field::ALL & !field::PSS_SPLIT)) as u16,
    })
}

/// `prefix.size, prefix.rss, …, prefix.known` for a SELECT.
fn counter_list(prefix: &str) -> String {
    COUNTER_COLUMNS
        .iter()
        .map(|c| format!("{prefix}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_survive_the_round_trip_through_sqlite_integers() {
        let c = Counters {
            size: u64::MAX,
            pss: 1 << 63,
            locked: 7,
            // What smaps prints: every key but the rollup's PSS split (here, not Size either).
            known: field::ALL & !field::PSS_SPLIT & !field::SIZE,
            ..Counters::default()
        };
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let cols = COUNTER_COLUMNS.join(", ");
        conn.execute(&format!("CREATE TABLE t({cols})"), [])
            .unwrap();
        let marks = vec!["?"; 13].join(", ");
        conn.execute(
            &format!("INSERT INTO t VALUES({marks})"),
            rusqlite::params_from_iter(counter_values(&c)),
        )
        .unwrap();
        let back = conn
            .query_row(&format!("SELECT {} FROM t", counter_list("t")), [], |r| {
                counters_at(r, 0)
            })
            .unwrap();
        assert_eq!(back, c);
    }
}
