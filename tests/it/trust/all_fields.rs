//! `pmaps show --all-fields` over a hostile smaps (issue 9, point 16): the distinct keys kept
//! are capped, a fake `Uss:` or `Dirty:` never overwrites pmaps' own columns, CSV never gets
//! two columns of one name, and the output grows with the input, not with mappings × keys.

use std::collections::BTreeSet;

use crate::support::*;

/// The CSV header's column names, in order.
fn header(csv: &[u8]) -> Vec<String> {
    let text = String::from_utf8(csv.to_vec()).expect("UTF-8");
    let first = text.lines().next().expect("a header line");
    first.split(',').map(str::to_string).collect()
}

/// One record: the kernel's keys, then keys no kernel prints (`Uss`, `Dirty`, `Kind`, which
/// are pmaps' column names; `Mappings_hex`; `odd key`; `Foo` twice) and one key of its own.
fn hostile_record(i: u64) -> Vec<u8> {
    let start = 0x10_0000 + i * 0x2000;
    let mut r = smaps_record(
        map_header(start, start + 0x2000, "rw-p", 0, "00:00", 0, b""),
        &[
            ("Size", 8),
            ("KernelPageSize", 4),
            ("Rss", 8),
            ("Pss", 8),
            ("Shared_Clean", 0),
            ("Shared_Dirty", 0),
            ("Private_Clean", 4),
            ("Private_Dirty", 4),
            ("Swap", 0),
            ("SwapPss", 0),
            ("Uss", 999),
            ("Dirty", 777),
            ("Foo", 1),
            ("Foo", 2),
        ],
    );
    r.extend_from_slice(b"Kind: hostile\nMappings_hex: 41\nodd key: 1 kB\n");
    r.extend_from_slice(format!("Own{i:05}: {i} kB\n").as_bytes());
    r
}

#[test]
fn hostile_keys_are_capped_and_never_take_pmaps_own_columns() {
    const MAPPINGS: u64 = 5000;
    let fake = FakeProc::new();
    let smaps: Vec<u8> = (0..MAPPINGS).flat_map(hostile_record).collect();
    fake.process(10).smaps(&smaps).write();
    let root = fake.root().display().to_string();
    let limits = Limits {
        address_space: Some(512 << 20),
        ..Limits::new(60)
    };

    let show = |format: &str| {
        let args = [
            "--proc-root",
            &root,
            "show",
            "10",
            "--all-fields",
            "-f",
            format,
        ];
        let run = run_limited(&limits, args);
        assert_eq!(run.code(), 0, "-f {format}");
        run
    };
    let csv = show("csv");
    let names = header(&csv.out.stdout);
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "duplicate CSV columns: {names:?}"
    );
    let count = |name: &str| names.iter().filter(|n| *n == name).count();
    for (name, times) in [
        ("uss_bytes", 1),
        ("dirty_bytes", 1),
        ("kind", 1),
        ("mappings_hex", 0),
    ] {
        assert_eq!(count(name), times, "{name}");
    }
    // The keys kept: the first 64 distinct ones (15 before the records' own keys), of which
    // those that repeat pmaps' columns (`Size`, `Rss`…) or clash with them get no column.
    let own_keys = names.iter().filter(|n| n.starts_with("own")).count();
    assert_eq!(own_keys, 64 - 15);
    assert_eq!(names.len(), 15 + 6 + own_keys, "{names:?}");
    for row in csv_records(&csv.out.stdout) {
        assert_eq!(
            num(&row, "uss_bytes"),
            8 * 1024,
            "Private_Clean + Private_Dirty"
        );
        assert_eq!(
            num(&row, "dirty_bytes"),
            4 * 1024,
            "Shared_Dirty + Private_Dirty"
        );
        assert_eq!(row["kind"], "anon");
        assert_eq!(num(&row, "foo_bytes"), 1024, "the first of a key repeated");
    }
    let err = stderr(&csv.out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("smaps fields left out"), "{err}");
    assert!(err.contains("Uss, Dirty, Kind, Mappings_hex"), "{err}");

    let json = show("json");
    // Bounded output: a mapping lists the keys its record printed, not every key seen.
    assert!(
        json.out.stdout.len() < 4 * smaps.len(),
        "{} bytes of JSON for {} bytes of smaps",
        json.out.stdout.len(),
        smaps.len()
    );
    let doc = parse_json(&json.out);
    let maps = doc["processes"][0]["mappings"]
        .as_array()
        .expect("mappings");
    assert_eq!(maps.len() as u64, MAPPINGS);
    for m in maps {
        assert_eq!(m["uss_bytes"], 8 * 1024, "{m}");
        assert_eq!(m["dirty_bytes"], 4 * 1024, "{m}");
        assert_eq!(m["kind"], "anon", "{m}");
        assert!(
            m.get("uss").is_none() && m.get("mappings_hex").is_none(),
            "{m}"
        );
    }
    // The first mappings carry their own key; past the cap, none does.
    assert_eq!(maps[0]["own00000_bytes"], 0);
    assert_eq!(maps[40]["own00040_bytes"], 40 * 1024);
    let last = &maps[maps.len() - 1];
    assert!(
        last.as_object()
            .expect("object")
            .keys()
            .all(|k| !k.starts_with("own")),
        "{last}"
    );
}
