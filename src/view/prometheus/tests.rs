//! The exposition of made-up reports: sums, cuts, bounds.

use super::families::{absorb, empty_row};
use super::*;
use crate::model::{
    Cgroup, Charge, Counters, Coverage, GroupBy, Hierarchy, Meta, Object, ProcDesc, Source,
};

/// A process in a Docker container of its own (a unit too: `docker-<id>.scope`).
fn proc(pid: u32, uid: u32, comm: &str) -> ProcDesc {
    ProcDesc {
        pid,
        start_time: 100 + u64::from(pid),
        uid: Some(uid),
        user: format!("u{uid}"),
        comm: comm.as_bytes().to_vec(),
        command: format!("/bin/{comm} --flag").into_bytes(),
        cgroup: Some(Cgroup {
            path: format!("/system.slice/docker-{pid:064x}.scope").into_bytes(),
            hierarchy: Hierarchy::V2,
        }),
    }
}

fn counters(pss: u64) -> Counters {
    Counters {
        size: 2 * pss,
        rss: pss + 4096,
        pss,
        private_clean: pss / 2,
        shared_clean: 4096,
        ..Counters::default()
    }
}

/// `files` files; file f is mapped by the processes `f % procs` and `(f + 1) % procs`,
/// each with a PSS of (f + 1) pages.
fn report(files: usize, procs: u32) -> Report {
    let descs: Vec<ProcDesc> = (0..procs)
        .map(|p| proc(1000 + p, p % 30, &format!("cmd{p}")))
        .collect();
    let mut totals = empty_row(RowKey::Total);
    let rows = (0..files)
        .map(|f| {
            let path = match f % 4 {
                0 => format!("/lib/f{f}.so"),
                1 => format!("/tmp/f{f} (deleted)"),
                2 => format!("/memfd:f{f} (deleted)"),
                _ => format!("/SYSV{f:08x} (deleted)"),
            }
            .into_bytes();
            let kind = crate::parse::kind_of(&path);
            let pss = (f as u64 + 1) * 4096;
            let mut who = vec![f % procs as usize, (f + 1) % procs as usize];
            who.dedup();
            let children: Vec<Row> = who
                .iter()
                .map(|&p| Row {
                    key: RowKey::FileProcess {
                        path: path.as_slice().into(),
                        object: Object {
                            dev_major: 254,
                            dev_minor: 0,
                            inode: f as u64 + 1,
                        },
                        kind,
                        proc: descs[p].clone().into(),
                    },
                    processes: 1,
                    mappings: Some(2),
                    counters: counters(pss),
                    children: Vec::new(),
                })
                .collect();
            let mut row = empty_row(RowKey::File {
                path,
                object: Object {
                    dev_major: 254,
                    dev_minor: 0,
                    inode: f as u64 + 1,
                },
                kind,
            });
            for c in &children {
                absorb(&mut row, c);
                absorb(&mut totals, c);
            }
            row.processes = children.len() as u64;
            row.children = children;
            row
        })
        .collect();
    totals.processes = u64::from(procs);
    let charge = |v: u64| Charge {
        current: Some(v),
        anon: Some(v / 2),
        file: Some(v / 4),
        shmem: Some(v / 8),
        kernel: Some(v / 16),
    };
    let charges = descs
        .iter()
        .filter_map(|d| d.cgroup.clone())
        .map(|c| (c, charge(1 << 20)))
        .collect();
    Report {
        meta: Meta {
            host: None,
            kernel: None,
            time: UNIX_EPOCH + std::time::Duration::from_millis(1_795_542_613_250),
            source: Source::Smaps,
            group_by: GroupBy::FileProcess,
            proc_root: "/proc".into(),
            threads: 1,
            duration: std::time::Duration::from_millis(125),
            capture: None,
        },
        rows,
        totals,
        coverage: Coverage::default(),
        charges,
    }
}

fn gauge_of<'e>(e: &'e Exposition, name: &str) -> &'e Gauge {
    e.gauges
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

fn sum(g: &Gauge) -> u64 {
    g.samples
        .iter()
        .map(|s| match s.value {
            Value::Int(v) => v,
            Value::Float(_) => panic!("float in {}", g.name),
        })
        .sum()
}

#[test]
fn every_family_sums_to_the_report_totals_with_the_other_series() {
    let r = report(200, 40);
    let bounds = Bounds {
        processes: true,
        min_bytes: 0,
        ..Bounds::default()
    };
    let e = Exposition::of(&r, &bounds);
    let families = [
        "file",
        "kind",
        "user",
        "command",
        "unit",
        "container",
        "process",
    ];
    for family in families {
        for (col, want) in [
            ("pss_bytes", r.totals.counters.pss),
            ("rss_bytes", r.totals.counters.rss),
            ("size_bytes", r.totals.counters.size),
            ("uss_bytes", r.totals.counters.uss()),
            ("mappings", r.totals.mappings.unwrap_or(0)),
        ] {
            let g = gauge_of(&e, &format!("pmaps_{family}_{col}"));
            assert_eq!(sum(g), want, "{}", g.name);
        }
    }
    for family in ["user", "command", "unit", "container"] {
        assert_eq!(sum(gauge_of(&e, &format!("pmaps_{family}_processes"))), 40);
    }
    // 200 files, 40 processes, commands, units and containers, 30 users: 25 kept +
    // (other) each; 4 kinds.
    for (family, series) in [
        ("file", 26),
        ("process", 26),
        ("command", 26),
        ("user", 26),
        ("unit", 26),
        ("container", 26),
        ("kind", 4),
    ] {
        let g = gauge_of(&e, &format!("pmaps_{family}_pss_bytes"));
        assert_eq!(g.samples.len(), series, "{family}");
    }
    // The files kept are the 25 heaviest, largest first; the fold comes last.
    let files = gauge_of(&e, "pmaps_file_pss_bytes");
    let values: Vec<u64> = files.samples[..25]
        .iter()
        .map(|s| match s.value {
            Value::Int(v) => v,
            Value::Float(_) => 0,
        })
        .collect();
    let want: Vec<u64> = (176..=200).rev().map(|f| 2 * f * 4096).collect();
    assert_eq!(values, want);
    let last = files.samples.last().expect("other");
    assert_eq!(
        last.labels,
        vec![
            ("path", LabelValue::Code(OTHER.into())),
            ("kind", LabelValue::Code(OTHER.into())),
            ("device", LabelValue::Code(OTHER.into())),
            ("inode", LabelValue::Code(OTHER.into()))
        ]
    );
    // The processes of the folded files: every one of the 40.
    let procs = gauge_of(&e, "pmaps_file_processes");
    assert_eq!(procs.samples.last().map(|s| s.value), Some(Value::Int(40)));
    // A unit's charge is its cgroup's own: one per unit kept, none for the fold.
    let charge = gauge_of(&e, "pmaps_unit_charge_bytes");
    assert_eq!(charge.samples.len(), 25);
    assert!(
        charge
            .samples
            .iter()
            .all(|s| s.value == Value::Int(1 << 20))
    );
    let kernel = gauge_of(&e, "pmaps_unit_charge_kernel_bytes");
    assert_eq!(sum(kernel), 25 << 16);
    let unit = &charge.samples[0].labels;
    let LabelValue::Raw(name) = &unit[0].1 else {
        panic!("unit label")
    };
    assert!(name.starts_with(b"docker-") && name.ends_with(b".scope"));
    assert_eq!(unit[1].0, "cgroup");
}

#[test]
fn processes_in_no_unit_and_on_the_host_are_one_row_with_empty_labels_and_no_charge() {
    let mut r = report(20, 4);
    for f in &mut r.rows {
        for c in &mut f.children {
            if let RowKey::FileProcess { proc, .. } = &mut c.key {
                let proc = std::sync::Arc::make_mut(proc);
                proc.cgroup = (proc.pid % 2 == 0).then(|| Cgroup {
                    path: b"/".to_vec(),
                    hierarchy: Hierarchy::V2,
                });
            }
        }
    }
    let bounds = Bounds {
        min_bytes: 0,
        ..Bounds::default()
    };
    let e = Exposition::of(&r, &bounds);
    for (family, labels) in [
        ("unit", vec!["unit", "cgroup"]),
        ("container", vec!["runtime", "container", "pod"]),
    ] {
        let g = gauge_of(&e, &format!("pmaps_{family}_pss_bytes"));
        assert_eq!(g.samples.len(), 1, "{family}");
        let want: Vec<_> = labels
            .into_iter()
            .map(|n| (n, LabelValue::Code(String::new())))
            .collect();
        assert_eq!(g.samples[0].labels, want);
        assert_eq!(sum(g), r.totals.counters.pss);
    }
    assert!(gauge_of(&e, "pmaps_unit_charge_bytes").samples.is_empty());
}

#[test]
fn the_default_bound_holds_and_is_reached() {
    let r = report(400, 120);
    for processes in [false, true] {
        let bounds = Bounds {
            processes,
            min_bytes: 0,
            ..Bounds::default()
        };
        let e = Exposition::of(&r, &bounds);
        // Four of the ten kinds are present; every other family is full, and every unit
        // kept has its charge.
        let missing_kinds = (MapKind::ALL.len() - 4) * Family::Kind.metrics().len();
        assert_eq!(
            Some(e.series() + missing_kinds),
            max_series(&bounds),
            "processes: {processes}"
        );
    }
    assert_eq!(max_series(&Bounds::default()), Some(1535));
    let with_processes = Bounds {
        processes: true,
        ..Bounds::default()
    };
    assert_eq!(max_series(&with_processes), Some(1745));
    let all = Bounds {
        top: usize::MAX,
        ..Bounds::default()
    };
    assert_eq!(max_series(&all), None);
}

#[test]
fn min_bytes_folds_small_rows_and_no_limit_keeps_every_row() {
    let r = report(100, 10);
    let heavy = Bounds {
        top: usize::MAX,
        min_bytes: 2 * 90 * 4096,
        processes: false,
    };
    let e = Exposition::of(&r, &heavy);
    // Files 90..=100 (pages) weigh 2 × that much: 11 kept, and the fold.
    assert_eq!(gauge_of(&e, "pmaps_file_pss_bytes").samples.len(), 12);
    let everything = Bounds {
        top: usize::MAX,
        min_bytes: 0,
        processes: false,
    };
    let e = Exposition::of(&r, &everything);
    let files = gauge_of(&e, "pmaps_file_pss_bytes");
    assert_eq!(files.samples.len(), 100);
    assert!(
        files
            .samples
            .iter()
            .all(|s| s.labels[0].1 != LabelValue::Code(OTHER.into()))
    );
    let folded = gauge_of(&e, "pmaps_family_folded_rows");
    assert_eq!(sum(folded), 0);
}
