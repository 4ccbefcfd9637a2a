//! The unit and container families of `-f prometheus`, on fake trees shaped like a systemd
//! host (v2, a fake cgroupfs with the units' counters, a unit whose name is not UTF-8) and a
//! Docker/Kubernetes node (v1/v2 hybrid, cgroupfs driver, pods): every series exact, the
//! fold of the rows past `--prom-top` with no charge, unknown counters absent;
//! `promtool check metrics` passes; node_exporter serves the values of the JSON reports
//! `-g unit` and `-g container` of the same tree.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use serde_json::Value;

use super::{
    KB, Key, NodeExporter, assert_no_scrape_error, assert_promtool_clean, family_lines,
    json_family, run_args, scraped_family,
};
use crate::support::*;

const DOCKER_ID: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904a6b9f6f2ab3b8c5f1d4e2a61";
const CRI_ID: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const PAUSE_ID: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const POD_UID: &str = "0b6e5bd4-5f7a-4b1e-9d3c-2a1f0e9d8c7b";
const POD2_UID: &str = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f";

/// A unit whose name is not UTF-8 and holds a quote.
const WEIRD: &[u8] = b"/system.slice/we\"ird\xff.service";

/// The measures of the unit family: the container family's, then the cgroup's charge.
const UNIT_MEASURES: [&str; 14] = [
    "processes",
    "mappings",
    "size_bytes",
    "rss_bytes",
    "pss_bytes",
    "uss_bytes",
    "shared_bytes",
    "swap_bytes",
    "swap_pss_bytes",
    "charge_bytes",
    "charge_anon_bytes",
    "charge_file_bytes",
    "charge_shmem_bytes",
    "charge_kernel_bytes",
];

/// A cgroup of the fake cgroupfs: its path and its files (name, text).
type CgroupDir<'a> = (&'a [u8], &'a [(&'a str, String)]);

/// A fake tree of processes `(pid, comm, cgroup file, kB of private anonymous memory)` and
/// a fake cgroupfs of `(cgroup path, [(file, bytes)])`.
struct Host {
    fake: FakeProc,
    cgroupfs: tempfile::TempDir,
}

impl Host {
    fn new(procs: &[(u32, &str, Vec<u8>, u64)], cgroups: &[CgroupDir<'_>]) -> Host {
        let fake = FakeProc::new();
        for (pid, comm, cgroup, kb) in procs {
            let header = map_header(0x1000, 0x1000 + kb * KB, "rw-p", 0, "00:00", 0, b"");
            fake.process(*pid)
                .comm(comm.as_bytes())
                .cmdline(comm.as_bytes())
                .smaps(&full_smaps_record(header, SmapsKb::private_dirty(*kb, *kb)))
                .file("cgroup", cgroup)
                .write();
        }
        let cgroupfs = open_tempdir();
        for (path, files) in cgroups {
            let dir = cgroupfs.path().join(OsStr::from_bytes(&path[1..]));
            std::fs::create_dir_all(&dir).expect("mkdir");
            for (name, text) in *files {
                std::fs::write(dir.join(name), text).expect("write");
            }
        }
        Host { fake, cgroupfs }
    }

    fn args(&self, rest: &[&str]) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "--proc-root".into(),
            self.fake.root().into(),
            "--cgroup-root".into(),
            self.cgroupfs.path().into(),
        ];
        args.extend(rest.iter().map(OsString::from));
        args
    }
}

fn v2(path: &[u8]) -> Vec<u8> {
    [b"0::", path, b"\n"].concat()
}

/// A v1/v2 hybrid host's file: the memory controller's line is the one that counts.
fn hybrid(path: &str) -> Vec<u8> {
    format!("12:pids:{path}\n4:memory:{path}\n0::/\n").into_bytes()
}

fn kb(n: u64) -> String {
    format!("{}\n", n * KB)
}

/// A systemd host (v2): two nginx processes, one in a sub-cgroup of its service; a login
/// session; the init scopes of the host and of a user's manager (one name, two units); a
/// unit with a hostile name and no counters; a process in the root cgroup (no unit).
fn systemd_host() -> Host {
    let stat = |anon: u64, file: u64, kernel: u64, shmem: u64| {
        format!(
            "anon {}\nfile {}\nkernel {}\nkernel_stack 16384\nshmem {}\n",
            anon * KB,
            file * KB,
            kernel * KB,
            shmem * KB
        )
    };
    Host::new(
        &[
            (1, "systemd", v2(b"/init.scope"), 30),
            (10, "nginx", v2(b"/system.slice/nginx.service"), 400),
            (11, "nginx", v2(b"/system.slice/nginx.service/worker"), 200),
            (
                12,
                "bash",
                v2(b"/user.slice/user-1000.slice/session-3.scope"),
                100,
            ),
            (
                13,
                "systemd",
                v2(b"/user.slice/user-1000.slice/user@1000.service/init.scope"),
                50,
            ),
            (14, "weird", v2(WEIRD), 70),
            (15, "loose", v2(b"/"), 10),
        ],
        &[
            (
                b"/system.slice/nginx.service",
                &[
                    ("memory.current", kb(2000)),
                    ("memory.stat", stat(700, 1000, 300, 100)),
                ],
            ),
            // The sub-cgroup's own counters are not the unit's.
            (
                b"/system.slice/nginx.service/worker",
                &[("memory.current", kb(9999))],
            ),
            (
                b"/user.slice/user-1000.slice/session-3.scope",
                &[
                    ("memory.current", kb(150)),
                    ("memory.stat", stat(100, 40, 10, 0)),
                ],
            ),
            // No memory.stat: the parts of the charge are unknown.
            (
                b"/user.slice/user-1000.slice/user@1000.service/init.scope",
                &[("memory.current", kb(80))],
            ),
            (
                b"/init.scope",
                &[
                    ("memory.current", kb(60)),
                    ("memory.stat", stat(30, 20, 10, 0)),
                ],
            ),
        ],
    )
}

/// A Kubernetes node with Docker (v1/v2 hybrid, cgroupfs driver): a Docker container of two
/// processes, two pods' containers, containerd and the kubelet as services (the kubelet's
/// counters unreadable).
fn container_host() -> Host {
    let pod = |qos: &str, uid: &str, id: &str| format!("/kubepods/{qos}/pod{uid}/{id}");
    Host::new(
        &[
            (20, "redis", hybrid(&format!("/docker/{DOCKER_ID}")), 800),
            (
                21,
                "redis-cli",
                hybrid(&format!("/docker/{DOCKER_ID}")),
                100,
            ),
            (30, "app", hybrid(&pod("burstable", POD_UID, CRI_ID)), 300),
            (
                31,
                "pause",
                hybrid(&pod("besteffort", POD2_UID, PAUSE_ID)),
                10,
            ),
            (
                40,
                "containerd",
                hybrid("/system.slice/containerd.service"),
                500,
            ),
            (41, "kubelet", hybrid("/system.slice/kubelet.service"), 300),
        ],
        &[(
            b"/system.slice/containerd.service",
            &[
                ("memory.usage_in_bytes", kb(1000)),
                (
                    "memory.stat",
                    format!(
                        "cache 4096\nrss 4096\nshmem 0\ntotal_cache {}\ntotal_rss {}\n\
                         total_shmem {}\n",
                        400 * KB,
                        600 * KB,
                        4 * KB
                    ),
                ),
                ("memory.kmem.usage_in_bytes", kb(20)),
            ],
        )],
    )
}

/// The sample lines of the unit and container families and their row counts.
fn service_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            l.starts_with("pmaps_unit_")
                || l.starts_with("pmaps_container_")
                || (l.starts_with("pmaps_family_")
                    && (l.contains("\"unit\"") || l.contains("\"container\"")))
        })
        .map(str::to_string)
        .collect()
}

/// The lines of one family as [`family_lines`] makes them, less the series of unknown
/// values (`None`).
fn lines_known(family: &str, measures: &[&str], rows: &[(&str, &[Option<u64>])]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, m) in measures.iter().enumerate() {
        for (labels, values) in rows {
            if let Some(v) = values[i] {
                out.extend(family_lines(family, &[*m], &[(*labels, &[v][..])]));
            }
        }
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// The measures of a process-memory row of `n` processes with `kb` of private memory.
fn mem(n: u64, kb: u64) -> [Option<u64>; 9] {
    [n, n, kb, kb, kb, kb, 0, 0, 0].map(Some)
}

fn with_charge(m: [Option<u64>; 9], charge: [Option<u64>; 5]) -> Vec<Option<u64>> {
    m.into_iter().chain(charge).collect()
}

#[test]
fn a_systemd_host_gives_every_unit_series_exactly() {
    let host = systemd_host();
    let out = run_args(host.args(&["-f", "prometheus", "--prom-top", "4", "--prom-min", "0"]));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert_promtool_clean("systemd host", text.as_bytes());
    let weird_unit = &WEIRD[b"/system.slice/".len()..];
    let weird = format!(
        "unit=\"we\\\"ird\\\\xff.service\",unit_hex=\"{}\",\
         cgroup=\"/system.slice/we\\\"ird\\\\xff.service\",cgroup_hex=\"{}\"",
        hex(weird_unit),
        hex(WEIRD)
    );
    let none = [None; 5];
    // Ranked by PSS: nginx 600 kB (two processes), the session 100, the hostile unit 70, the
    // user manager's init.scope 50; the host's init.scope 30 and the root cgroup's process
    // 10 are folded, with no charge.
    let units: Vec<(&str, Vec<Option<u64>>)> = vec![
        (
            "unit=\"nginx.service\",cgroup=\"/system.slice/nginx.service\"",
            with_charge(mem(2, 600), [2000, 700, 1000, 100, 300].map(Some)),
        ),
        (
            "unit=\"session-3.scope\",cgroup=\"/user.slice/user-1000.slice/session-3.scope\"",
            with_charge(mem(1, 100), [150, 100, 40, 0, 10].map(Some)),
        ),
        (weird.as_str(), with_charge(mem(1, 70), none)),
        (
            "unit=\"init.scope\",\
             cgroup=\"/user.slice/user-1000.slice/user@1000.service/init.scope\"",
            with_charge(mem(1, 50), [Some(80), None, None, None, None]),
        ),
        (
            "unit=\"(other)\",cgroup=\"(other)\"",
            with_charge(mem(2, 40), none),
        ),
    ];
    let rows: Vec<(&str, &[Option<u64>])> = units.iter().map(|(l, v)| (*l, v.as_slice())).collect();
    let mut want = vec![
        "pmaps_family_rows{family=\"unit\"} 6".to_string(),
        "pmaps_family_rows{family=\"container\"} 1".into(),
        "pmaps_family_folded_rows{family=\"unit\"} 2".into(),
        "pmaps_family_folded_rows{family=\"container\"} 0".into(),
    ];
    want.extend(lines_known("unit", &UNIT_MEASURES, &rows));
    // Every process is the host's.
    want.extend(lines_known(
        "container",
        &UNIT_MEASURES[..9],
        &[("runtime=\"\",container=\"\",pod=\"\"", &mem(7, 860))],
    ));
    assert_eq!(service_lines(&text), want);
    // A charge's help says what it is and that the fold has none.
    assert!(text.contains(
        "# HELP pmaps_unit_charge_bytes The own charge (memory.current; v1 \
         memory.usage_in_bytes: page cache and kernel memory included) of the cgroup of each \
         systemd unit"
    ));
}

#[test]
fn a_container_host_gives_every_container_and_unit_series_exactly() {
    let host = container_host();
    let out = run_args(host.args(&["-f", "prometheus", "--prom-top", "3", "--prom-min", "0"]));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert_promtool_clean("container host", text.as_bytes());
    let mut want = vec![
        "pmaps_family_rows{family=\"unit\"} 3".to_string(),
        "pmaps_family_rows{family=\"container\"} 4".into(),
        "pmaps_family_folded_rows{family=\"unit\"} 0".into(),
        "pmaps_family_folded_rows{family=\"container\"} 1".into(),
    ];
    // The four container processes are in no unit; containerd's v1 counters are the
    // hierarchical ones (total_*), its kernel memory kmem's; the kubelet's are unknown.
    want.extend(lines_known(
        "unit",
        &UNIT_MEASURES,
        &[
            (
                "unit=\"\",cgroup=\"\"",
                &with_charge(mem(4, 1210), [None; 5]),
            ),
            (
                "unit=\"containerd.service\",cgroup=\"/system.slice/containerd.service\"",
                &with_charge(mem(1, 500), [1000, 600, 400, 4, 20].map(Some)),
            ),
            (
                "unit=\"kubelet.service\",cgroup=\"/system.slice/kubelet.service\"",
                &with_charge(mem(1, 300), [None; 5]),
            ),
        ],
    ));
    // Docker 900 kB (two processes), the host 800, the burstable pod's container 300; the
    // best-effort pod's 10 is folded.
    let docker = format!("runtime=\"docker\",container=\"{DOCKER_ID}\",pod=\"\"");
    let app = format!("runtime=\"containerd\",container=\"{CRI_ID}\",pod=\"{POD_UID}\"");
    want.extend(lines_known(
        "container",
        &UNIT_MEASURES[..9],
        &[
            (&docker, &mem(2, 900)),
            ("runtime=\"\",container=\"\",pod=\"\"", &mem(2, 800)),
            (&app, &mem(1, 300)),
            (
                "runtime=\"(other)\",container=\"(other)\",pod=\"(other)\"",
                &mem(1, 10),
            ),
        ],
    ));
    assert_eq!(service_lines(&text), want);
}

/// The rows of a JSON report keyed by the exact bytes of `key`, `-` (none) as empty (an
/// absent label).
fn json_rows(host: &Host, group: &str, key: &str) -> super::Rows {
    let out = run_args(host.args(&["-g", group, "-f", "json", "--source", "smaps"]));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    json_family(&doc, key)
        .into_iter()
        .map(|(k, v)| (if k.0 == b"-" { Key(Vec::new()) } else { k }, v))
        .collect()
}

#[test]
fn node_exporter_serves_the_unit_and_container_rows_of_the_reports() {
    for (name, host) in [
        ("systemd", systemd_host()),
        ("containers", container_host()),
    ] {
        let textdir = open_tempdir();
        let target = textdir.path().join("pmaps.prom");
        let mut args = host.args(&["-f", "prometheus", "--prom-top", "0", "--prom-min", "0"]);
        args.extend(["-o".into(), target.into_os_string()]);
        run_args(args);
        let ne = NodeExporter::start(textdir.path());
        let scraped = ne.scrape();
        assert_no_scrape_error(&scraped, &ne);
        // Units by their cgroup (two units may share a name), containers by their ID.
        for (family, key) in [("unit", "cgroup"), ("container", "container")] {
            let want = json_rows(&host, family, key);
            let got = scraped_family(&scraped, family, key, &[]);
            assert_eq!(got, want, "{name}: {family}");
        }
        let units = json_rows(&host, "unit", "cgroup");
        if name == "systemd" {
            assert_eq!(units.len(), 6);
            assert!(units.contains_key(&Key(WEIRD.to_vec())));
        }
    }
}

#[test]
fn a_snapshot_of_the_history_gives_the_unit_series_with_the_charges_it_recorded() {
    let host = systemd_host();
    let dir = open_tempdir();
    let db = dir.path().join("history.sqlite");
    let db = db.to_str().expect("UTF-8 path");
    let expo = ["-f", "prometheus", "--prom-top", "4", "--prom-min", "0"];
    let live = run_args(host.args(&expo));
    run_args(host.args(&["--db", db, "record"]));
    // The cgroupfs is gone: the charges can only come from the snapshot.
    let Host { fake, cgroupfs } = host;
    drop(cgroupfs);
    let mut at = vec![OsString::from("--proc-root"), fake.root().into()];
    at.extend(["--db", db, "--at", "@latest"].map(OsString::from));
    at.extend(expo.map(OsString::from));
    let stored = run_args(at);
    let lines = |o: &std::process::Output| service_lines(&String::from_utf8_lossy(&o.stdout));
    let want = lines(&live);
    assert!(
        want.iter()
            .any(|l| l.starts_with("pmaps_unit_charge_bytes")),
        "{want:#?}"
    );
    assert_eq!(lines(&stored), want);
    // No file is read for a snapshot: there is no read plan to explain.
    let mut explain = vec![OsString::from("--proc-root"), fake.root().into()];
    explain.extend(["--db", db, "--at", "@latest", "--explain"].map(OsString::from));
    let refs: Vec<&OsStr> = explain.iter().map(OsString::as_os_str).collect();
    assert_exit(&run_pmaps(&refs), 2);
}
