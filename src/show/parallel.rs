//! Reading the processes of `pmaps show` in parallel: one [`Reader`] per worker, results in
//! the order of the input, so the output is the same as one read after the other. With
//! `--all-fields`, each process interns its smaps keys in its own [`FieldKeys`]; they are
//! merged afterwards in the order of the processes, which is the order one shared table
//! would have had, with the same keys kept under its cap ([`FieldKeys::MAX_KEYS`]). Only a
//! process whose own table reached that cap (a hostile smaps) may have left out a key the
//! shared table already knew: it is read again, after the others, with the shared table.

use rayon::prelude::*;

use crate::model::{FieldKeys, Outcome, ProcInfo, Source};
use crate::read::{Needs, ProcessMaps, ReadResult, Reader};
use crate::source::{self, ProcSource};

/// `f` over every PID, each worker with its own reader (made by `reader`), in the order of
/// `pids`. Runs on the calling thread when no worker thread can be started.
fn map_pids<'s, R: Send>(
    pids: &[u32],
    reader: impl Fn() -> Reader<'s> + Sync + Send,
    f: impl Fn(&mut Reader<'s>, u32) -> R + Sync + Send,
) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(source::max_workers())
        .max(1);
    let pool = (threads > 1 && pids.len() > 1)
        .then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .ok()
        })
        .flatten();
    match pool {
        Some(pool) => pool.install(|| {
            pids.par_iter()
                .map_init(&reader, |r, &pid| f(r, pid))
                .collect()
        }),
        None => {
            let mut r = reader();
            pids.iter().map(|&pid| f(&mut r, pid)).collect()
        }
    }
}

/// The facts (comm, command line, state) of every PID, without reading maps; `None` for a
/// process whose facts cannot be read (gone, or hidden from us).
pub fn facts_of(src: &dyn ProcSource, pids: &[u32]) -> Vec<Option<ProcInfo>> {
    // Matching needs each process's command line but not its uid.
    let needs = Needs {
        uid: false,
        cmdline: true,
        cgroup: false,
    };
    map_pids(
        pids,
        || Reader::new(src, Source::Smaps).with_needs(needs),
        |r, pid| facts(r, pid),
    )
}

/// A process's facts without reading its maps.
pub fn facts(reader: &mut Reader<'_>, pid: u32) -> Option<ProcInfo> {
    match reader.read_process(pid, &|_| false, &mut |_, _| {}) {
        ReadResult::Filtered(info) => Some(info),
        // Kernel threads pass through `want` too; anything else failed before it.
        ReadResult::Done(..) => None,
    }
}

/// Reads every PID's map in full, in parallel, in the order of `pids`; with `keys`, every
/// smaps field too, their keys interned in `keys` in the order of the processes.
pub fn read_maps(
    src: &dyn ProcSource,
    pids: &[u32],
    mut keys: Option<&mut FieldKeys>,
) -> Vec<ProcessMaps> {
    let all_fields = keys.is_some();
    let reads = map_pids(
        pids,
        || show_reader(src),
        |r, pid| {
            let mut own = FieldKeys::default();
            let mut read = r.read_mappings(pid, all_fields.then_some(&mut own));
            if read.outcome == Outcome::Incomplete {
                // The process exec'd or exited while read: once more shows the new image,
                // or finds it gone.
                own = FieldKeys::default();
                read = r.read_mappings(pid, all_fields.then_some(&mut own));
            }
            (read, own)
        },
    );
    let mut again: Option<Reader<'_>> = None;
    reads
        .into_iter()
        .zip(pids)
        .map(|((mut read, own), &pid)| {
            let Some(keys) = keys.as_deref_mut() else {
                return read;
            };
            if own.names.len() >= FieldKeys::MAX_KEYS && !keys.names.is_empty() {
                let r = again.get_or_insert_with(|| show_reader(src));
                let mut read = r.read_mappings(pid, Some(keys));
                if read.outcome == Outcome::Incomplete {
                    read = r.read_mappings(pid, Some(keys));
                }
                return read;
            }
            let before = keys.left_out;
            let to_shared: Vec<Option<usize>> = own
                .names
                .iter()
                .enumerate()
                .map(|(i, name)| keys.intern(name.as_bytes(), i))
                .collect();
            // Fields of a key the shared table has no room for are left out, each counted, as
            // if they had been read into it.
            keys.left_out = before + own.left_out;
            for m in &mut read.mappings {
                m.fields.retain_mut(|(key, _)| match to_shared[*key] {
                    Some(k) => {
                        *key = k;
                        true
                    }
                    None => {
                        keys.left_out += 1;
                        false
                    }
                });
            }
            read
        })
        .collect()
}

/// The reader of a process shown: every fact but the cgroup, `smaps`.
fn show_reader(src: &dyn ProcSource) -> Reader<'_> {
    Reader::new(src, Source::Smaps).with_needs(Needs {
        cgroup: false,
        ..Needs::ALL
    })
}
