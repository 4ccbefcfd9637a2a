//! Reading one process's map in full, for `pmaps show`: every mapping owned, and with
//! `--all-fields` every raw `Key: value` line of each record.

use std::cell::Cell;

use super::{ReadResult, Reader};
use crate::model::{Counters, FieldKeys, FieldValue, MapHeader, Mapping, Outcome, ProcInfo};
use crate::parse::{self, FieldRef};

#[derive(Debug)]
pub struct ProcessMaps {
    pub info: ProcInfo,
    pub outcome: Outcome,
    /// Every mapping, in the kernel's (address) order. Empty unless the outcome is `Read`:
    /// a read found incomplete afterwards is not shown in part.
    pub mappings: Vec<Mapping>,
}

impl Reader<'_> {
    /// Reads one process's map file in full (`pmaps show`), through the same open, stat,
    /// outcome and truncation checks as [`Reader::read_process`]. With `keys`, each mapping
    /// also keeps every `Key: value` line the kernel printed, in order, its key interned in
    /// `keys` (like `pmap -XX`).
    pub fn read_mappings(&mut self, pid: u32, keys: Option<&mut FieldKeys>) -> ProcessMaps {
        let mut mappings = Vec::new();
        let mut fields = Vec::new();
        // The parser completes a record when the next header (or the end) arrives, so the
        // fields of a mapping are those passed on since the previous mapping was.
        let seen = Cell::new(0usize);
        let record_start = Cell::new(0usize);
        // The keys the current record has printed: a key repeated in one record is kept once.
        let in_record = Cell::new([0u64; FieldKeys::MAX_KEYS / 64]);
        let mut ends = Vec::new();
        let mut on_map = |h: &MapHeader<'_>, c: &Counters| {
            mappings.push(Mapping::new(h, c));
            ends.push(seen.get());
            record_start.set(seen.get());
            in_record.set([0; FieldKeys::MAX_KEYS / 64]);
        };
        let result = match keys {
            None => self.read_process(pid, &|_| true, &mut on_map),
            Some(keys) => {
                let mut on_field = |line: &[u8]| {
                    // The parser has already rejected a line without a colon.
                    let Some((key, value)) = parse::parse_field(line) else {
                        return;
                    };
                    let hint = seen.get() - record_start.get();
                    let Some(k) = keys.intern(key, hint) else {
                        return;
                    };
                    let mut set = in_record.get();
                    if set[k / 64] & (1 << (k % 64)) != 0 {
                        keys.left_out += 1;
                        return;
                    }
                    set[k / 64] |= 1 << (k % 64);
                    in_record.set(set);
                    let value = match value {
                        FieldRef::Bytes(n) => FieldValue::Bytes(n),
                        FieldRef::Number(n) => FieldValue::Number(n),
                        FieldRef::Text(t) => FieldValue::Text(t.to_vec()),
                    };
                    fields.push((k, value));
                    seen.set(seen.get() + 1);
                };
                self.read_process_with(pid, &|_| true, &mut on_map, Some(&mut on_field))
            }
        };
        let (info, outcome) = match result {
            ReadResult::Done(info, outcome) => (info, outcome),
            // The filter above takes every process.
            ReadResult::Filtered(info) => (info, Outcome::Read),
        };
        if outcome != Outcome::Read {
            mappings.clear();
        } else if !fields.is_empty() {
            let mut rest = fields.into_iter();
            let mut from = 0;
            for (m, end) in mappings.iter_mut().zip(ends) {
                m.fields = rest.by_ref().take(end - from).collect();
                from = end;
            }
        }
        ProcessMaps {
            info,
            outcome,
            mappings,
        }
    }
}
