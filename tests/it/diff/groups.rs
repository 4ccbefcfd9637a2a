//! `pmaps diff` of the group-bys of services and containers and of the two-level views:
//! cgroup and unit rows matched by their exact name bytes (one not UTF-8 among them),
//! containers by runtime and ID; `file,container`, `container,file` and `process,file` by
//! their first level's rows, and under each the second level's rows that changed.

use std::ffi::OsStr;
use std::path::Path;

use serde_json::Value;

use super::{diff, lib, save};
use crate::support::*;

const DOCKER: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904a6b9f6f2ab3b8c5f1d4e2a61";
const DOCKER2: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const ODD_UNIT: &[u8] = b"/system.slice/we\xffird.service";

/// A process with `anon_kb` of anonymous memory (and the shared library) in `cgroup`.
fn proc_in(fake: &FakeProc, pid: u32, comm: &str, cgroup: &[u8], anon_kb: u64) {
    let maps = [
        lib(0x7f00_0000_0000),
        FakeMap::private(0x7f10_0000_0000, b"", anon_kb, anon_kb),
    ];
    let file = [b"0::".as_slice(), cgroup, b"\n"].concat();
    let p = fake
        .process(pid)
        .comm(comm.as_bytes())
        .cmdline(comm.as_bytes())
        .file("cgroup", &file);
    with_maps(p, &maps).write();
}

fn docker(id: &str) -> Vec<u8> {
    format!("/system.slice/docker-{id}.scope").into_bytes()
}

/// nginx with `nginx_kb`, bash in a session, a service whose name is not UTF-8, and redis
/// (its PID, container ID and kB) in a container.
fn tree(nginx_kb: u64, (pid, id, kb): (u32, &str, u64)) -> FakeProc {
    let fake = FakeProc::new();
    proc_in(&fake, 10, "nginx", b"/system.slice/nginx.service", nginx_kb);
    proc_in(
        &fake,
        12,
        "bash",
        b"/user.slice/user-1000.slice/session-3.scope",
        100,
    );
    proc_in(&fake, 13, "weird", ODD_UNIT, 50);
    proc_in(&fake, pid, "redis", &docker(id), kb);
    fake
}

fn json_diff(old: &Path, new: &Path, code: i32) -> Value {
    parse_json(&diff(
        [
            old.as_os_str(),
            new.as_os_str(),
            OsStr::new("-f"),
            OsStr::new("json"),
            OsStr::new("--all"),
        ],
        code,
    ))
}

/// The row whose `key` is `value`, in a document's `rows` or in an array of rows under one.
fn first<'a>(doc: &'a Value, key: &str, value: &str) -> &'a Value {
    doc.get("rows")
        .unwrap_or(doc)
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no row with {key} {value} in {doc:#}"))
}

/// The status and PSS change of the row whose `key` is `value`.
fn row(doc: &Value, key: &str, value: &str) -> (String, i64) {
    let r = first(doc, key, value);
    (
        r["status"].as_str().expect("status").to_string(),
        r["pss_bytes"]["change"].as_i64().expect("change"),
    )
}

fn counts(doc: &Value) -> [u64; 4] {
    let c = &doc["meta"]["counts"];
    ["same", "changed", "new", "gone"].map(|k| c[k].as_u64().expect(k))
}

#[test]
fn services_and_containers_compare_by_name_and_id() {
    let dir = open_tempdir();
    // Later: nginx grew by 200 kB; the container is gone, another one runs redis.
    let (old, new) = (tree(400, (20, DOCKER, 800)), tree(600, (21, DOCKER2, 300)));
    let kib = |n: i64| n * 1024;
    for group in [
        "cgroup",
        "unit",
        "container",
        "file,container",
        "container,file",
        "process,file",
    ] {
        let name = group.replace(',', "-");
        let a = save(&old, &["-g", group], dir.path(), &format!("{name}-a.json"));
        let b = save(&new, &["-g", group], dir.path(), &format!("{name}-b.json"));
        let same = json_diff(&a, &a, 0);
        let rows = same["rows"].as_array().expect("rows").len() as u64;
        assert!(rows > 0, "{group}");
        assert_eq!(counts(&same), [rows, 0, 0, 0], "{group}: {same:#}");
        let doc = json_diff(&a, &b, 5);
        match group {
            "cgroup" => {
                assert_eq!(
                    row(&doc, "cgroup", "/system.slice/nginx.service"),
                    ("changed".into(), kib(200))
                );
                let gone = String::from_utf8(docker(DOCKER)).expect("utf-8");
                assert_eq!(row(&doc, "cgroup", &gone).0, "gone");
                let odd = doc["rows"]
                    .as_array()
                    .expect("rows")
                    .iter()
                    .find(|r| r["cgroup_hex"].is_string())
                    .expect("the cgroup that is not UTF-8");
                assert_eq!(odd["cgroup_hex"], hex(ODD_UNIT));
                assert_eq!(odd["status"], "same");
                assert_eq!(counts(&doc), [2, 1, 1, 1], "{doc:#}");
            }
            "unit" => {
                assert_eq!(
                    row(&doc, "unit", "nginx.service"),
                    ("changed".into(), kib(200))
                );
                assert_eq!(row(&doc, "unit", "session-3.scope").0, "same");
            }
            "container" | "container,file" => {
                assert_eq!(row(&doc, "container", DOCKER).0, "gone");
                assert_eq!(row(&doc, "container", DOCKER2).0, "new");
                // Its anonymous memory and its share of the library.
                assert_eq!(row(&doc, "container", DOCKER2).1, kib(400));
                assert_eq!(row(&doc, "runtime", "-"), ("changed".into(), kib(200)));
                assert_eq!(counts(&doc), [0, 1, 1, 1], "{group}: {doc:#}");
            }
            "file,container" => {
                // The anonymous memory's row, and under it the containers that moved.
                assert_eq!(row(&doc, "path", "").0, "changed");
                let under = &first(&doc, "path", "")["by_process"];
                assert_eq!(row(under, "container", DOCKER).0, "gone");
                assert_eq!(row(under, "container", DOCKER2), ("new".into(), kib(300)));
                assert_eq!(row(under, "runtime", "-"), ("changed".into(), kib(200)));
                // The library moved with its processes: same total, another container.
                assert_eq!(row(&doc, "path", "/usr/lib/libcommon.so.1").0, "changed");
                assert_eq!(doc["meta"]["group_by"], "file,container");
            }
            _ => {
                assert_eq!(doc["meta"]["group_by"], "process,file");
                assert_eq!(counts(&doc), [2, 1, 1, 1], "{doc:#}");
                // With --all, every file under nginx; without, the one that changed.
                let nginx = &first(&doc, "command", "nginx")["by_file"];
                assert_eq!(row(nginx, "path", ""), ("changed".into(), kib(200)));
                assert_eq!(row(nginx, "path", "/usr/lib/libcommon.so.1").0, "same");
                let changed = parse_json(&diff(
                    [
                        a.as_os_str(),
                        b.as_os_str(),
                        OsStr::new("-f"),
                        OsStr::new("json"),
                    ],
                    5,
                ));
                let files = first(&changed, "command", "nginx")["by_file"].clone();
                assert_eq!(files.as_array().map(Vec::len), Some(1), "{files:#}");
                assert_eq!(files[0]["path"], "");
                // CSV: the row under a process carries that process's key too.
                let csv = text(
                    &diff(
                        [
                            a.as_os_str(),
                            b.as_os_str(),
                            OsStr::new("-f"),
                            OsStr::new("csv"),
                        ],
                        5,
                    )
                    .stdout,
                );
                let header = csv.lines().next().expect("header");
                assert!(
                    header
                        .starts_with("status,pid,start_time,user,command,path,kind,device,inode,"),
                    "{header}"
                );
                assert!(
                    csv.lines()
                        .any(|l| l.starts_with("changed,10,") && l.contains(",anon,")),
                    "{csv}"
                );
            }
        }
    }
}

/// The exact bytes as JSON's `_hex` companions give them.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
