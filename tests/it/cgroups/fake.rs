//! Fake trees with `cgroup` files and a fake cgroupfs (`--cgroup-root`): rows, IDs and
//! counters exact.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

const DOCKER_ID: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904a6b9f6f2ab3b8c5f1d4e2a61";
const CRI_ID: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const CRIO_ID: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const PODMAN_ID: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
const POD_UID: &str = "0b6e5bd4-5f7a-4b1e-9d3c-2a1f0e9d8c7b";

/// One process: PID, comm, the cgroup file's text, the PSS (kB) of its private anonymous
/// memory, and whether it maps the shared library.
struct Proc {
    pid: u32,
    comm: &'static str,
    cgroup: String,
    anon_kb: u64,
    lib: bool,
}

fn procs() -> Vec<Proc> {
    let under = POD_UID.replace('-', "_");
    let p = |pid, comm, cgroup: String, anon_kb, lib| Proc {
        pid,
        comm,
        cgroup,
        anon_kb,
        lib,
    };
    vec![
        // A systemd host (v2): two nginx processes, a login session, a user service.
        p(
            10,
            "nginx",
            "0::/system.slice/nginx.service\n".into(),
            400,
            true,
        ),
        p(
            11,
            "nginx",
            "0::/system.slice/nginx.service\n".into(),
            200,
            true,
        ),
        p(
            12,
            "bash",
            "0::/user.slice/user-1000.slice/session-3.scope\n".into(),
            100,
            false,
        ),
        p(
            13,
            "pipewire",
            "0::/user.slice/user-1000.slice/user@1000.service/session.slice/pipewire.service\n"
                .into(),
            50,
            false,
        ),
        // Docker (systemd driver).
        p(
            20,
            "redis",
            format!("0::/system.slice/docker-{DOCKER_ID}.scope\n"),
            800,
            true,
        ),
        // Kubernetes: containerd with the systemd driver (underscores), CRI-O.
        p(
            30,
            "app",
            format!(
                "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{under}.slice/cri-containerd-{CRI_ID}.scope\n"
            ),
            300,
            true,
        ),
        p(
            31,
            "sidecar",
            format!("0::/kubepods.slice/kubepods-pod{under}.slice/crio-{CRIO_ID}.scope\n"),
            30,
            false,
        ),
        // podman, and an LXC container on a v1/v2 hybrid host (the memory line wins).
        p(
            40,
            "pod",
            format!("0::/machine.slice/libpod-{PODMAN_ID}.scope\n"),
            60,
            false,
        ),
        p(
            50,
            "lxcinit",
            "12:pids:/lxc/web01\n4:memory:/lxc/web01\n0::/lxc/web01\n".into(),
            70,
            true,
        ),
    ]
}

/// The fake tree of [`procs`]: each process maps its anonymous memory (private) and, when
/// `lib`, a 40 kB shared library of which it holds an equal share.
pub(super) fn tree() -> (FakeProc, u64) {
    let fake = FakeProc::new();
    let sharers = procs().iter().filter(|p| p.lib).count() as u64;
    for p in procs() {
        let mut smaps = full_smaps_record(
            map_header(
                0x1000,
                0x1000 + p.anon_kb * 1024,
                "rw-p",
                0,
                "00:00",
                0,
                b"",
            ),
            SmapsKb::private_dirty(p.anon_kb, p.anon_kb),
        );
        if p.lib {
            smaps.extend(smaps_record(
                map_header(
                    0x7f00_0000_0000,
                    0x7f00_0000_a000,
                    "r-xp",
                    0,
                    "fe:00",
                    77,
                    b"/usr/lib/libc.so.6",
                ),
                &[
                    ("Size", 40),
                    ("Rss", 40),
                    ("Pss", 40 / sharers),
                    ("Shared_Clean", 40),
                    ("Shared_Dirty", 0),
                    ("Private_Clean", 0),
                    ("Private_Dirty", 0),
                    ("Swap", 0),
                    ("SwapPss", 0),
                ],
            ));
        }
        fake.process(p.pid)
            .comm(p.comm.as_bytes())
            .cmdline(p.comm.as_bytes())
            .smaps(&smaps)
            .file("cgroup", p.cgroup.as_bytes())
            .write();
    }
    (fake, sharers)
}

fn json(fake: &FakeProc, args: &[&str]) -> Value {
    let mut cmd = pmaps_on(fake.root());
    cmd.args(args).args(["-f", "json", "--source", "smaps"]);
    let out = output(cmd);
    assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// (key, processes, pss kB) of every row, sorted by key.
fn rows(doc: &Value, key: &dyn Fn(&Value) -> String) -> Vec<(String, u64, u64)> {
    let mut rows: Vec<(String, u64, u64)> = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                key(r),
                r["processes"].as_u64().expect("processes"),
                r["pss_bytes"].as_u64().expect("pss") / 1024,
            )
        })
        .collect();
    rows.sort();
    rows
}

/// The row of `doc` whose `column` is `value`.
fn row_where(doc: &Value, column: &str, value: &str) -> Value {
    doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r[column] == value)
        .unwrap_or_else(|| panic!("no row with {column} {value}"))
        .clone()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

#[test]
fn containers_of_every_runtime_are_told_apart_and_the_host_is_dash() {
    let (fake, sharers) = tree();
    let lib = 40 / sharers;
    let doc = json(&fake, &["-g", "container"]);
    let got = rows(&doc, &|r| {
        format!(
            "{} {} {}",
            s(&r["runtime"]),
            s(&r["container"]),
            s(&r["pod"])
        )
    });
    let want = vec![
        ("- - ".to_string(), 4, 400 + 200 + 100 + 50 + 2 * lib),
        (format!("containerd {CRI_ID} {POD_UID}"), 1, 300 + lib),
        (format!("crio {CRIO_ID} {POD_UID}"), 1, 30),
        (format!("docker {DOCKER_ID} "), 1, 800 + lib),
        ("lxc web01 ".to_string(), 1, 70 + lib),
        (format!("podman {PODMAN_ID} "), 1, 60),
    ];
    assert_eq!(got, want);
    // The filter by ID prefix.
    let doc = json(&fake, &["-g", "process", "--container", &DOCKER_ID[..12]]);
    let pids: Vec<u64> = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["pid"].as_u64().expect("pid"))
        .collect();
    assert_eq!(pids, [20]);
}

#[test]
fn units_are_services_and_scopes_with_the_unit_cgroup() {
    let (fake, sharers) = tree();
    let lib = 40 / sharers;
    let doc = json(&fake, &["-g", "unit"]);
    let got = rows(&doc, &|r| format!("{} {}", s(&r["unit"]), s(&r["cgroup"])));
    let want = vec![
        ("- -".to_string(), 1, 70 + lib),
        (
            format!("cri-containerd-{CRI_ID}.scope /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{CRI_ID}.scope", POD_UID.replace('-', "_")),
            1,
            300 + lib,
        ),
        (
            format!("crio-{CRIO_ID}.scope /kubepods.slice/kubepods-pod{}.slice/crio-{CRIO_ID}.scope", POD_UID.replace('-', "_")),
            1,
            30,
        ),
        (
            format!("docker-{DOCKER_ID}.scope /system.slice/docker-{DOCKER_ID}.scope"),
            1,
            800 + lib,
        ),
        (
            format!("libpod-{PODMAN_ID}.scope /machine.slice/libpod-{PODMAN_ID}.scope"),
            1,
            60,
        ),
        ("nginx.service /system.slice/nginx.service".to_string(), 2, 600 + 2 * lib),
        (
            "pipewire.service /user.slice/user-1000.slice/user@1000.service/session.slice/pipewire.service".to_string(),
            1,
            50,
        ),
        (
            "session-3.scope /user.slice/user-1000.slice/session-3.scope".to_string(),
            1,
            100,
        ),
    ];
    assert_eq!(got, want);
    // `--unit` keeps the processes of the named units only.
    let doc = json(
        &fake,
        &["-g", "process", "--unit", "nginx.service,session-3.scope"],
    );
    let mut pids: Vec<u64> = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["pid"].as_u64().expect("pid"))
        .collect();
    pids.sort();
    assert_eq!(pids, [10, 11, 12]);
    // `--cgroup REGEX` on the path.
    let doc = json(&fake, &["-g", "cgroup", "--cgroup", "^/kubepods"]);
    assert_eq!(doc["rows"].as_array().expect("rows").len(), 2);
}

#[test]
fn which_containers_map_a_library_and_what_a_container_maps() {
    let (fake, sharers) = tree();
    let lib = 40 / sharers;
    let doc = json(&fake, &["-g", "file,container", "-m", "libc"]);
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["path"], "/usr/lib/libc.so.6");
    assert_eq!(rows[0]["processes"], sharers);
    let mut by: Vec<(String, u64, u64)> = rows[0]["by_process"]
        .as_array()
        .expect("by_process")
        .iter()
        .map(|c| {
            (
                format!("{} {}", s(&c["runtime"]), s(&c["container"])),
                c["processes"].as_u64().expect("processes"),
                c["pss_bytes"].as_u64().expect("pss") / 1024,
            )
        })
        .collect();
    by.sort();
    assert_eq!(
        by,
        vec![
            ("- -".to_string(), 2, 2 * lib),
            (format!("containerd {CRI_ID}"), 1, lib),
            (format!("docker {DOCKER_ID}"), 1, lib),
            ("lxc web01".to_string(), 1, lib),
        ]
    );
    let doc = json(&fake, &["-g", "container,file", "--container", DOCKER_ID]);
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["pss_bytes"].as_u64(), Some((800 + lib) * 1024));
    let files: Vec<(String, u64)> = rows[0]["by_process"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (s(&f["path"]), f["pss_bytes"].as_u64().expect("pss") / 1024))
        .collect();
    assert_eq!(
        files,
        vec![(String::new(), 800), ("/usr/lib/libc.so.6".into(), lib)]
    );
    // The table lists the files under the container, its key columns left empty.
    let mut cmd = pmaps_on(fake.root());
    cmd.args([
        "-g",
        "container,file",
        "--container",
        DOCKER_ID,
        "--source",
        "smaps",
    ]);
    let out = output(cmd);
    let table = expect_exit(&out, 0);
    assert!(table.contains("docker   4b825dc642cb..."), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.trim_start().starts_with("/usr/lib/libc.so.6")),
        "{table}"
    );
}

/// A fake cgroupfs: each cgroup directory with its counter files.
pub(super) fn cgroupfs(dir: &Path, cgroup: &str, files: &[(&str, &str)]) {
    let d = dir.join(cgroup.trim_start_matches('/'));
    std::fs::create_dir_all(&d).expect("mkdir");
    for (name, text) in files {
        std::fs::write(d.join(name), text).expect("write");
    }
}

/// The counters of some cgroups of [`tree`], as a fake cgroupfs.
pub(super) fn counters() -> tempfile::TempDir {
    let fs = tempfile::tempdir().expect("tempdir");
    // v2: nginx.service with every counter; session-3.scope with no `kernel` key (an
    // older kernel) and no memory.current (unreadable): unknown, never 0.
    cgroupfs(
        fs.path(),
        "/system.slice/nginx.service",
        &[
            ("memory.current", "10485760\n"),
            (
                "memory.stat",
                "anon 4194304\nfile 5242880\nkernel 1048576\nshmem 65536\n",
            ),
        ],
    );
    cgroupfs(
        fs.path(),
        "/user.slice/user-1000.slice/session-3.scope",
        &[("memory.stat", "anon 102400\nfile 0\nshmem 0\n")],
    );
    // A Docker container's scope (v2).
    cgroupfs(
        fs.path(),
        &format!("/system.slice/docker-{DOCKER_ID}.scope"),
        &[
            ("memory.current", "7340032\n"),
            (
                "memory.stat",
                "anon 6291456\nfile 1048576\nkernel 8192\nshmem 0\n",
            ),
        ],
    );
    // v1 (the LXC container's memory line): usage, hierarchical totals, kmem.
    cgroupfs(
        fs.path(),
        "/lxc/web01",
        &[
            ("memory.usage_in_bytes", "3145728\n"),
            (
                "memory.stat",
                "cache 1\nrss 2\ntotal_cache 2097152\ntotal_rss 1048576\ntotal_shmem 0\n",
            ),
            ("memory.kmem.usage_in_bytes", "4096\n"),
        ],
    );
    fs
}

/// The tree of [`tree`], the fake cgroupfs of [`counters`] and that cgroupfs' path.
fn tree_with_counters() -> (FakeProc, tempfile::TempDir, String) {
    let (fake, _) = tree();
    let fs = counters();
    let root = fs.path().to_str().expect("utf8").to_string();
    (fake, fs, root)
}

#[test]
fn cgroup_and_unit_rows_carry_the_cgroups_own_counters_and_unknown_is_null() {
    let (fake, _fs, root) = tree_with_counters();
    let doc = json(&fake, &["-g", "unit", "--cgroup-root", &root]);
    let row = |unit: &str| row_where(&doc, "unit", unit);
    let nginx = row("nginx.service");
    assert_eq!(nginx["charge_bytes"], 10_485_760);
    assert_eq!(nginx["charge_anon_bytes"], 4_194_304);
    assert_eq!(nginx["charge_file_bytes"], 5_242_880);
    assert_eq!(nginx["charge_shmem_bytes"], 65_536);
    assert_eq!(nginx["charge_kernel_bytes"], 1_048_576);
    let session = row("session-3.scope");
    assert_eq!(session["charge_bytes"], Value::Null);
    assert_eq!(session["charge_anon_bytes"], 102_400);
    assert_eq!(session["charge_kernel_bytes"], Value::Null);
    // No such cgroup directory: every counter unknown.
    assert_eq!(row("pipewire.service")["charge_bytes"], Value::Null);
    let doc = json(&fake, &["-g", "cgroup", "--cgroup-root", &root]);
    let lxc = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["cgroup"] == "/lxc/web01")
        .expect("lxc row")
        .clone();
    assert_eq!(lxc["charge_bytes"], 3_145_728);
    assert_eq!(lxc["charge_anon_bytes"], 1_048_576);
    assert_eq!(lxc["charge_file_bytes"], 2_097_152);
    assert_eq!(lxc["charge_kernel_bytes"], 4096);
    // CSV: the same figures, an empty cell for unknown.
    let mut cmd = pmaps_on(fake.root());
    cmd.args([
        "-g",
        "unit",
        "-f",
        "csv",
        "--source",
        "smaps",
        "--cgroup-root",
        &root,
    ]);
    let out = output(cmd);
    let csv = expect_exit(&out, 0);
    assert!(
        csv.starts_with("unit,cgroup,processes,mappings,size_bytes,rss_bytes,pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes,charge_bytes,charge_anon_bytes,charge_file_bytes,charge_shmem_bytes,charge_kernel_bytes\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains(",10485760,4194304,5242880,65536,1048576\r\n"),
        "{csv}"
    );
    assert!(csv.contains(",,102400,0,0,\r\n"), "{csv}");
    // The table: a unit per cell for the charges too, `-` for unknown.
    let mut cmd = pmaps_on(fake.root());
    cmd.args(["-g", "unit", "--source", "smaps", "--cgroup-root", &root]);
    let table = expect_exit(&output(cmd), 0);
    let charges = |unit: &str| -> Vec<String> {
        let words: Vec<String> = table
            .lines()
            .find(|l| l.starts_with(unit))
            .unwrap_or_else(|| panic!("no {unit} in\n{table}"))
            .split_whitespace()
            .map(str::to_string)
            .collect();
        words[words.len() - 5..].to_vec()
    };
    assert_eq!(
        charges("nginx.service"),
        ["10M", "4.0M", "5.0M", "64K", "1.0M"]
    );
    assert_eq!(charges("session-3.scope"), ["-", "100K", "0", "0", "-"]);
    let header = table.lines().next().expect("header");
    assert!(
        header.ends_with("Charge  ChAnon  ChFile  ChShmem  ChKernel"),
        "{table}"
    );
}

#[test]
fn container_rows_carry_their_cgroups_own_counters_in_every_format_and_the_history() {
    let (fake, _fs, root) = tree_with_counters();
    let doc = json(&fake, &["-g", "container", "--cgroup-root", &root]);
    let row = |id: &str| row_where(&doc, "container", id);
    let docker = row(DOCKER_ID);
    assert_eq!(docker["charge_bytes"], 7_340_032);
    assert_eq!(docker["charge_anon_bytes"], 6_291_456);
    assert_eq!(docker["charge_file_bytes"], 1_048_576);
    assert_eq!(docker["charge_shmem_bytes"], 0);
    assert_eq!(docker["charge_kernel_bytes"], 8192);
    // LXC on a hybrid host: the cgroup of its v1 memory line.
    assert_eq!(row("web01")["charge_bytes"], 3_145_728);
    assert_eq!(row("web01")["charge_kernel_bytes"], 4096);
    // No directory for the CRI-O container: unknown; the host has no cgroup of its own.
    assert_eq!(row(CRIO_ID)["charge_bytes"], Value::Null);
    assert_eq!(row("-")["charge_bytes"], Value::Null);
    // Prometheus: the container's own charge, none for the host.
    let mut cmd = pmaps_on(fake.root());
    cmd.args([
        "-f",
        "prometheus",
        "--prom-top",
        "0",
        "--prom-min",
        "0",
        "--cgroup-root",
        &root,
    ]);
    let text = expect_exit(&output(cmd), 0);
    let docker_line = format!(
        "pmaps_container_charge_bytes{{runtime=\"docker\",container=\"{DOCKER_ID}\",pod=\"\"}} 7340032"
    );
    assert!(text.lines().any(|l| l == docker_line), "{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("pmaps_container_charge_bytes{runtime=\"\"")),
        "{text}"
    );
    // A record keeps the containers' counters: the snapshot gives the scan's CSV.
    let db = tempfile::tempdir().expect("tempdir");
    let db = db.path().join("history.sqlite");
    let mut cmd = pmaps_on(fake.root());
    cmd.arg("--db")
        .arg(&db)
        .args(["--cgroup-root", &root, "record"]);
    expect_exit(&output(cmd), 0);
    let mut cmd = pmaps_on(fake.root());
    cmd.args([
        "-g",
        "container",
        "-f",
        "csv",
        "--source",
        "smaps",
        "--cgroup-root",
        &root,
    ]);
    let scan = expect_exit(&output(cmd), 0);
    assert!(
        scan.contains(",7340032,6291456,1048576,0,8192\r\n"),
        "{scan}"
    );
    let mut cmd = pmaps_on(fake.root());
    cmd.arg("--db")
        .arg(&db)
        .args(["--at", "@latest", "-g", "container", "-f", "csv"]);
    assert_eq!(expect_exit(&output(cmd), 0), scan);
}

#[test]
fn a_cgroup_path_that_climbs_out_of_the_root_is_never_read() {
    let fake = FakeProc::new();
    fake.process(7)
        .smaps(&full_smaps_record(
            map_header(0x1000, 0x3000, "rw-p", 0, "00:00", 0, b""),
            SmapsKb::private_dirty(8, 8),
        ))
        .file("cgroup", b"0::/../../etc\n")
        .write();
    let fs = tempfile::tempdir().expect("tempdir");
    std::fs::write(fs.path().join("memory.current"), "1\n").expect("write");
    let root = fs.path().join("sub");
    std::fs::create_dir(&root).expect("mkdir");
    let doc = json(
        &fake,
        &[
            "-g",
            "cgroup",
            "--cgroup-root",
            root.to_str().expect("utf8"),
        ],
    );
    assert_eq!(doc["rows"][0]["cgroup"], "/../../etc");
    assert_eq!(doc["rows"][0]["charge_bytes"], Value::Null);
}
