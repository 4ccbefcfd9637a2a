//! `pmaps -f prometheus`: the text exposition for node_exporter's textfile collector.
//!
//! Expected: on a fake tree, every series with the exact value the tree implies (families cut
//! to the top N, the rest in one `(other)` series); `promtool check metrics` passes with no
//! lint warning on a fake tree, a live system and hostile names; a real node_exporter (only the
//! textfile collector, on 127.0.0.1, killed by its PID) serves the file pmaps wrote with
//! `--output` with the values of the CSV report and `node_textfile_scrape_error` 0, also for
//! hostile names, each name its own series; with 300 processes mapping 300 files the default
//! output stays under its documented bound and each family still sums to the report's total.
//! The unit and container families on systemd and container hosts: `services`.
//! Needs `promtool` (Debian `prometheus`) and `prometheus-node-exporter`, which `.ci/run`
//! installs.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod services;

use crate::support::*;
use pmaps::view::prometheus::{Bounds, max_series};
use serde_json::Value;

const KB: u64 = 1024;

// ---------------------------------------------------------------------------------------
// Support: promtool, the exposition parser, node_exporter
// ---------------------------------------------------------------------------------------

fn find_in_path(names: &[&str]) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "none of {names:?} on PATH: install the Debian packages prometheus and prometheus-node-exporter (.ci/run does)"
    )
}

/// `promtool check metrics` on `text`: it must pass and say nothing (a lint warning is output).
fn assert_promtool_clean(what: &str, text: &[u8]) {
    let mut child = Command::new(find_in_path(&["promtool"]))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = text.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("promtool");
    writer.join().expect("writer").expect("write to promtool");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "{what}: promtool {}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One sample of an exposition: name, labels (those with an empty value are absent, as in
/// Prometheus) and value.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

impl Series {
    fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }

    /// The exact bytes of a name label: its `_hex` companion when there is one.
    fn exact(&self, name: &str) -> Vec<u8> {
        match self.labels.get(&format!("{name}_hex")) {
            Some(h) => unhex(h),
            None => self.label(name).as_bytes().to_vec(),
        }
    }

    fn int(&self) -> u64 {
        assert!(
            self.value >= 0.0 && self.value.fract() == 0.0 && self.value < 9.0e15,
            "{self:?}"
        );
        self.value as u64
    }
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The samples of a text exposition (HELP/TYPE lines and blank lines skipped); label values
/// unescaped (`\\`, `\"`, `\n`).
fn parse(text: &str) -> Vec<Series> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).expect("a value");
        let name = line[..name_end].to_string();
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(r) = rest.strip_prefix('{') {
            rest = r;
            loop {
                if let Some(r) = rest.strip_prefix('}') {
                    rest = r;
                    break;
                }
                rest = rest.strip_prefix(',').unwrap_or(rest);
                if let Some(r) = rest.strip_prefix('}') {
                    rest = r;
                    break;
                }
                let eq = rest.find("=\"").expect("label=\"");
                let key = rest[..eq].to_string();
                let mut value = String::new();
                let mut chars = rest[eq + 2..].char_indices();
                let end = loop {
                    let (i, c) = chars.next().expect("closing quote");
                    match c {
                        '"' => break i,
                        '\\' => match chars.next().expect("escape").1 {
                            'n' => value.push('\n'),
                            c @ ('\\' | '"') => value.push(c),
                            c => panic!("invalid escape \\{c} in {line}"),
                        },
                        c => value.push(c),
                    }
                };
                rest = &rest[eq + 2 + end + 1..];
                if !value.is_empty() {
                    labels.insert(key, value);
                }
            }
        }
        let value: f64 = rest
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("value of {line}: {e}"));
        out.push(Series {
            name,
            labels,
            value,
        });
    }
    out
}

/// A node_exporter with only the textfile collector, on a free port of 127.0.0.1, reading
/// `dir`. Dropping it kills it by its PID.
struct NodeExporter {
    child: Child,
    port: u16,
    log: PathBuf,
    _logdir: tempfile::TempDir,
}

fn stop(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        kill_pid(child.id());
    }
    let _ = child.wait();
}

fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8(buf).map_err(std::io::Error::other)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    Ok((status, body.to_string()))
}

impl NodeExporter {
    fn start(dir: &Path) -> NodeExporter {
        let bin = find_in_path(&["prometheus-node-exporter", "node_exporter"]);
        let logdir = tempfile::tempdir().expect("tempdir");
        let log = logdir.path().join("node_exporter.log");
        for _ in 0..5 {
            // A port that was free a moment ago; when another process takes it first,
            // node_exporter exits and another port is tried.
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut child = Command::new(&bin)
                .arg("--collector.disable-defaults")
                .arg("--collector.textfile")
                .arg(format!("--collector.textfile.directory={}", dir.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("log file"))
                .spawn()
                .expect("start node_exporter");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if matches!(http_get(port, "/metrics"), Ok((200, _))) {
                    return NodeExporter {
                        child,
                        port,
                        log,
                        _logdir: logdir,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            stop(&mut child);
        }
        panic!(
            "node_exporter did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    fn scrape(&self) -> Vec<Series> {
        let (status, body) = http_get(self.port, "/metrics").expect("scrape node_exporter");
        assert_eq!(status, 200, "{body}");
        parse(&body)
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// What node_exporter says of the textfiles it read.
fn assert_no_scrape_error(scraped: &[Series], ne: &NodeExporter) {
    let err: Vec<&Series> = scraped
        .iter()
        .filter(|s| s.name == "node_textfile_scrape_error")
        .collect();
    assert_eq!(err.len(), 1, "{err:?}");
    assert_eq!(
        err[0].value,
        0.0,
        "node_exporter: {}",
        std::fs::read_to_string(&ne.log).unwrap_or_default()
    );
}

// ---------------------------------------------------------------------------------------
// Support: families from a scrape, a CSV report and a JSON report
// ---------------------------------------------------------------------------------------

/// Exact name bytes, shown escaped in assertion messages.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// A family's rows by the exact bytes of their key: measure (`pss_bytes`, `processes`…) or
/// extra label → value.
type Rows = BTreeMap<Key, BTreeMap<String, String>>;

/// The rows of `family` in a scrape, keyed by the `key` label; `extra` labels are kept too.
fn scraped_family(scraped: &[Series], family: &str, key: &str, extra: &[&str]) -> Rows {
    let prefix = format!("pmaps_{family}_");
    let mut rows = Rows::new();
    for s in scraped {
        let Some(measure) = s.name.strip_prefix(&prefix) else {
            continue;
        };
        let row = rows.entry(Key(s.exact(key))).or_default();
        row.insert(measure.to_string(), s.int().to_string());
        for l in extra {
            row.insert(l.to_string(), s.label(l).to_string());
        }
    }
    rows
}

/// Text and identity columns of the report views: keys, never measures.
const TEXT_COLUMNS: [&str; 8] = [
    "path",
    "kind",
    "device",
    "inode",
    "pid",
    "start_time",
    "user",
    "command",
];

/// The rows of a CSV report keyed by column `key`: every measure, and the `extra` columns.
fn csv_family(csv: &[u8], key: &str, extra: &[&str]) -> Rows {
    csv_records(csv)
        .into_iter()
        .map(|rec| {
            let k = Key(rec[key].as_bytes().to_vec());
            let row = rec
                .into_iter()
                .filter(|(c, _)| !TEXT_COLUMNS.contains(&c.as_str()) || extra.contains(&c.as_str()))
                .collect();
            (k, row)
        })
        .collect()
}

/// The exact bytes of a text column of a JSON row: `<col>_hex` when present.
fn json_exact(row: &Value, col: &str) -> Vec<u8> {
    match row.get(format!("{col}_hex")) {
        Some(h) => unhex(h.as_str().expect("hex")),
        None => match &row[col] {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Number(n) => n.to_string().into_bytes(),
            other => panic!("no {col} in {other}"),
        },
    }
}

/// The rows of a JSON report keyed by the exact bytes of `key`: every integer measure.
fn json_family(doc: &Value, key: &str) -> Rows {
    doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            let measures = row
                .as_object()
                .expect("row object")
                .iter()
                .filter(|(c, _)| !TEXT_COLUMNS.contains(&c.as_str()))
                .filter_map(|(c, v)| Some((c.clone(), v.as_u64()?.to_string())))
                .collect();
            (Key(json_exact(row, key)), measures)
        })
        .collect()
}

fn run_ok(args: &[&OsStr]) -> Output {
    let out = run_pmaps(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "pmaps {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn strs(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn run_args(args: Vec<OsString>) -> Output {
    let refs: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
    run_ok(&refs)
}

fn pid_list(helpers: &[Helper]) -> String {
    helpers
        .iter()
        .map(|h| h.pid.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// `-m` for the files under `dir` only (files no other process maps: stable PSS).
fn under(dir: &Path) -> String {
    format!("^{}/", regex::escape(&dir.to_string_lossy()))
}

// ---------------------------------------------------------------------------------------
// A fake tree, every series exact
// ---------------------------------------------------------------------------------------

/// A mapping of the fake tree: path, permissions, size and `[rss, pss, shared_clean,
/// shared_dirty, private_clean, private_dirty, swap, swap_pss]`, in kB.
type Map = (&'static [u8], &'static str, u64, [u64; 8]);

#[rustfmt::skip]
const MAPS: [Map; 5] = [
    (b"/usr/lib/libc.so.6",   "r-xp", 1000, [800,  200,  800, 0, 0,   0,    0,   0]),
    (b"[heap]",               "rw-p",  400, [300,  300,  0,   0, 0,   300,  0,   0]),
    (b"",                     "rw-p", 2048, [1024, 1024, 0,   0, 0,   1024, 100, 100]),
    (b"/tmp/cache (deleted)", "rw-s",  512, [512,  512,  0,   0, 512, 0,    0,   0]),
    (b"[stack]",              "rw-p",  132, [16,   16,   0,   0, 0,   16,   0,   0]),
];

/// The smaps record of `MAPS[n]`, at an address of its own.
fn rec(n: usize) -> Vec<u8> {
    let (path, perms, size_kb, kb) = MAPS[n];
    let [rss, pss, sc, sd, pc, pd, swap, swap_pss] = kb;
    let start = 0x1000_0000 * (n as u64 + 1);
    let (dev, inode) = if path.starts_with(b"/") {
        ("fe:00", 11 + n as u64)
    } else {
        ("00:00", 0)
    };
    let header = map_header(start, start + size_kb * KB, perms, 0, dev, inode, path);
    full_smaps_record(
        header,
        SmapsKb {
            size: size_kb,
            rss,
            pss,
            shared_clean: sc,
            shared_dirty: sd,
            private_clean: pc,
            private_dirty: pd,
            swap,
            swap_pss,
        },
    )
}

/// | pid | comm | user | mappings (size kB: PSS kB) |
/// |---|---|---|---|
/// | 100 | nginx | root | [heap] 400: 300, anon 2048: 1024 (+100 swapped), libc 1000: 200 |
/// | 200 | nginx | nobody | /tmp/cache (deleted) 512: 512 (shared, private to it), libc |
/// | 300 | bash | root | libc, [stack] 132: 16 |
/// | 2 | kthreadd | root | a kernel thread |
fn fake_tree() -> FakeProc {
    let fake = FakeProc::new();
    let [libc, heap, anon, cache, stack] = [0, 1, 2, 3, 4].map(rec);
    fake.process(100)
        .comm(b"nginx")
        .cmdline(b"nginx: master\0")
        .smaps(&[libc.clone(), heap, anon].concat())
        .write();
    fake.process(200)
        .comm(b"nginx")
        .uid(65534)
        .cmdline(b"nginx: worker\0")
        .smaps(&[libc.clone(), cache].concat())
        .write();
    fake.process(300)
        .comm(b"bash")
        .cmdline(b"-bash\0")
        .smaps(&[libc, stack].concat())
        .write();
    fake.process(2)
        .comm(b"kthreadd")
        .ppid(0)
        .flags(PF_KTHREAD)
        .write();
    fake
}

const MEASURES: [&str; 9] = [
    "processes",
    "mappings",
    "size_bytes",
    "rss_bytes",
    "pss_bytes",
    "uss_bytes",
    "shared_bytes",
    "swap_bytes",
    "swap_pss_bytes",
];

/// The sample lines of one family, measure by measure: `rows` are (labels, values in the
/// order of `measures`, bytes in kB).
fn family_lines(family: &str, measures: &[&str], rows: &[(&str, &[u64])]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, m) in measures.iter().enumerate() {
        let unit = if m.ends_with("_bytes") { KB } else { 1 };
        for (labels, values) in rows {
            out.push(format!(
                "pmaps_{family}_{m}{{{labels}}} {}",
                values[i] * unit
            ));
        }
    }
    out
}

#[test]
fn a_fake_tree_gives_every_series_exactly() {
    let fake = fake_tree();
    let mut args: Vec<OsString> = vec!["--proc-root".into(), fake.root().into()];
    args.extend(strs(&[
        "-f",
        "prometheus",
        "--prom-top",
        "2",
        "--prom-min",
        "0",
    ]));
    args.push("--prom-processes".into());
    let out = run_args(args);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert_promtool_clean("fake tree", text.as_bytes());
    assert!(text.ends_with('\n'));
    // Each metric: one HELP, one TYPE (gauge), then its samples.
    let mut names = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut f = line.split(' ').skip(2);
        let name = f.next().expect("name");
        assert_eq!(f.next(), Some("gauge"), "{line}");
        assert_eq!(
            text.matches(&format!("# HELP {name} ")).count(),
            1,
            "{name}"
        );
        names.push(name);
    }
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "a TYPE line twice");

    let samples: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            // The two figures of the clock.
            for timed in [
                "pmaps_last_success_timestamp_seconds ",
                "pmaps_scan_duration_seconds ",
            ] {
                if let Some(v) = l.strip_prefix(timed) {
                    let v: f64 = v.parse().expect("a number");
                    assert!(v > 0.0, "{l}");
                    return format!("{timed}T");
                }
            }
            l.to_string()
        })
        .collect();

    let mut want = vec![
        format!(
            "pmaps_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        ),
        "pmaps_last_success_timestamp_seconds T".into(),
        "pmaps_scan_duration_seconds T".into(),
        "pmaps_scan_complete 1".into(),
    ];
    for (outcome, n) in [
        ("read", 3),
        ("vanished", 0),
        ("zombie", 0),
        ("kernel_thread", 1),
        ("denied", 0),
        ("incomplete", 0),
        ("error", 0),
    ] {
        want.push(format!("pmaps_scan_processes{{outcome=\"{outcome}\"}} {n}"));
    }
    want.push("pmaps_scan_mappings 7".into());
    want.push("pmaps_scan_filtered_processes 0".into());
    let families = [
        "file",
        "kind",
        "user",
        "command",
        "unit",
        "container",
        "process",
    ];
    for (family, n) in families.iter().zip([5, 5, 2, 2, 1, 1, 3]) {
        want.push(format!("pmaps_family_rows{{family=\"{family}\"}} {n}"));
    }
    for (family, n) in families.iter().zip([3, 0, 0, 0, 0, 0, 1]) {
        want.push(format!(
            "pmaps_family_folded_rows{{family=\"{family}\"}} {n}"
        ));
    }
    // Ranked by PSS + SwapPSS: [anon] 1,124 kB, libc 600 kB (3 × 200), then the fold of
    // /tmp/cache (deleted) 512, [heap] 300 and [stack] 16 (one process each: 3 in all).
    let anon: &[u64] = &[1, 1, 2048, 1024, 1024, 1024, 0, 100, 100];
    let libc: &[u64] = &[3, 3, 3000, 2400, 600, 0, 2400, 0, 0];
    want.extend(family_lines(
        "file",
        &MEASURES,
        &[
            ("path=\"\",kind=\"anon\",device=\"00:00\",inode=\"0\"", anon),
            (
                "path=\"/usr/lib/libc.so.6\",kind=\"file\",device=\"fe:00\",inode=\"11\"",
                libc,
            ),
            (
                "path=\"(other)\",kind=\"(other)\",device=\"(other)\",inode=\"(other)\"",
                &[3, 3, 1044, 828, 828, 828, 0, 0, 0],
            ),
        ],
    ));
    // Never cut.
    want.extend(family_lines(
        "kind",
        &MEASURES,
        &[
            ("kind=\"anon\"", anon),
            ("kind=\"file\"", libc),
            ("kind=\"deleted\"", &[1, 1, 512, 512, 512, 512, 0, 0, 0]),
            ("kind=\"heap\"", &[1, 1, 400, 300, 300, 300, 0, 0, 0]),
            ("kind=\"stack\"", &[1, 1, 132, 16, 16, 16, 0, 0, 0]),
        ],
    ));
    // root: 100 (heap, anon, libc) and 300 (libc, stack); nobody: 200 (cache, libc).
    want.extend(family_lines(
        "user",
        &MEASURES,
        &[
            (
                "user=\"root\",uid=\"0\"",
                &[2, 5, 4580, 2940, 1740, 1340, 1600, 100, 100],
            ),
            (
                "user=\"nobody\",uid=\"65534\"",
                &[1, 2, 1512, 1312, 712, 512, 800, 0, 0],
            ),
        ],
    ));
    want.extend(family_lines(
        "command",
        &MEASURES,
        &[
            (
                "command=\"nginx\"",
                &[2, 5, 4960, 3436, 2236, 1836, 1600, 100, 100],
            ),
            ("command=\"bash\"", &[1, 2, 1132, 816, 216, 16, 800, 0, 0]),
        ],
    ));
    // No process has a cgroup file: one unit and one container, in none, with every
    // process; no charge (unknown, so absent).
    let all: &[u64] = &[3, 7, 6092, 4252, 2452, 1852, 2400, 100, 100];
    want.extend(family_lines(
        "unit",
        &MEASURES,
        &[("unit=\"\",cgroup=\"\"", all)],
    ));
    want.extend(family_lines(
        "container",
        &MEASURES,
        &[("runtime=\"\",container=\"\",pod=\"\"", all)],
    ));
    // Top 2 processes: 100 (1,624 kB) and 200 (712 kB); 300 is the fold.
    want.extend(family_lines(
        "process",
        &MEASURES[1..],
        &[
            (
                "pid=\"100\",start_time=\"1100\",user=\"root\",command=\"nginx\",\
                 cmdline=\"nginx: master\"",
                &[3, 3448, 2124, 1524, 1324, 800, 100, 100],
            ),
            (
                "pid=\"200\",start_time=\"1200\",user=\"nobody\",command=\"nginx\",\
                 cmdline=\"nginx: worker\"",
                &[2, 1512, 1312, 712, 512, 800, 0, 0],
            ),
            (
                "pid=\"(other)\",start_time=\"(other)\",user=\"(other)\",command=\"(other)\",\
                 cmdline=\"(other)\"",
                &[2, 1132, 816, 216, 16, 800, 0, 0],
            ),
        ],
    ));
    assert_eq!(samples, want);
}

#[test]
fn options_that_do_not_apply_are_usage_errors() {
    for args in [
        &["-f", "prometheus", "-g", "user"][..],
        &["-f", "prometheus", "-n", "3"],
        &["-f", "prometheus", "-s", "rss"],
        &["-f", "prometheus", "--source", "rollup"],
        &["-f", "prometheus", "--vsz"],
        &["--prom-top", "3"],
        &["-f", "csv", "--prom-processes"],
        &["-f", "prometheus", "--prom-min", "1.5M"],
        &["-f", "prometheus", "show", "1"],
        &["show", "--prom-top", "3", "1"],
        &["--prom-top", "3", "show", "1"],
    ] {
        let out = run_pmaps(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Live
// ---------------------------------------------------------------------------------------

#[test]
fn a_live_report_passes_promtool() {
    for extra in [
        &[][..],
        &["--prom-processes", "--prom-top", "0", "--prom-min", "0"],
    ] {
        let out = run_pmaps([&["-f", "prometheus"][..], extra].concat());
        let code = out.status.code();
        // Partial (3) where even root cannot read some process (PID 1 on some machines).
        assert!(
            matches!(code, Some(0 | 3)),
            "{extra:?}: {code:?} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_promtool_clean(&format!("live {extra:?}"), &out.stdout);
        let series = parse(std::str::from_utf8(&out.stdout).expect("UTF-8"));
        let complete = series
            .iter()
            .find(|s| s.name == "pmaps_scan_complete")
            .expect("pmaps_scan_complete");
        assert_eq!(complete.value == 1.0, code == Some(0));
    }
}

/// Files of distinct sizes mapped by helpers with known names.
struct Scene {
    dir: tempfile::TempDir,
    helpers: Vec<Helper>,
}

fn plain_scene() -> Scene {
    let dir = open_tempdir();
    let a = synced_file(dir.path(), "a.dat", 64 * 1024);
    let b = synced_file(dir.path(), "b.dat", 256 * 1024);
    let c = synced_file(dir.path(), "c.dat", 1024 * 1024);
    let helpers = vec![
        Helper::spawn([
            OsStr::new("--comm"),
            OsStr::new("alpha"),
            OsStr::new("--map-shared"),
            a.as_os_str(),
            OsStr::new("--map-shared"),
            c.as_os_str(),
        ]),
        Helper::spawn([
            OsStr::new("--comm"),
            OsStr::new("beta"),
            OsStr::new("--map-shared"),
            b.as_os_str(),
            OsStr::new("--map-shared"),
            c.as_os_str(),
        ]),
        Helper::spawn_as_nobody([
            OsStr::new("--comm"),
            OsStr::new("alpha"),
            OsStr::new("--map-private-ro"),
            b.as_os_str(),
        ]),
    ];
    Scene { dir, helpers }
}

#[test]
fn node_exporter_serves_the_values_of_the_csv_report() {
    let s = plain_scene();
    let pids = pid_list(&s.helpers);
    let map = under(s.dir.path());
    let textdir = tempfile::tempdir().expect("tempdir");
    let target = textdir.path().join("pmaps.prom");
    let base = ["-p", pids.as_str(), "-m", map.as_str()];
    let mut args = strs(&base);
    args.extend(strs(&[
        "-f",
        "prometheus",
        "--prom-top",
        "0",
        "--prom-min",
        "0",
        "--prom-processes",
        "-o",
    ]));
    args.push(target.clone().into_os_string());
    let out = run_args(args);
    assert!(out.stdout.is_empty());
    // Written atomically: the target alone (no temp file left), readable by node_exporter.
    let names: Vec<OsString> = std::fs::read_dir(textdir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, [OsString::from("pmaps.prom")]);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    assert_promtool_clean("helpers", &std::fs::read(&target).expect("read"));

    let ne = NodeExporter::start(textdir.path());
    let scraped = ne.scrape();
    assert_no_scrape_error(&scraped, &ne);
    let value = |name: &str| {
        scraped
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .value
    };
    assert_eq!(value("pmaps_scan_complete"), 1.0);
    assert!(value("pmaps_scan_mappings") >= 5.0);

    let csv = |group: &str| {
        let mut a = strs(&base);
        a.extend(strs(&["-g", group, "-f", "csv"]));
        run_args(a).stdout
    };
    let families = [
        ("file", "path", &["kind"][..]),
        ("kind", "kind", &[]),
        ("user", "user", &[]),
        ("command", "command", &[]),
        ("process", "pid", &["user"]),
    ];
    for (family, key, extra) in families {
        let want = csv_family(&csv(family), key, extra);
        let got = scraped_family(&scraped, family, key, extra);
        assert_eq!(got, want, "{family}");
    }
    // The three files: a by 1, b by 2, c by 2 processes; PSS splits c's pages between two.
    let files = csv_family(&csv("file"), "path", &[]);
    let pss = |name: &str| {
        let key = s.dir.path().join(name).into_os_string().into_vec();
        files[&Key(key)]["pss_bytes"].parse::<u64>().expect("pss")
    };
    assert_eq!(pss("a.dat"), 64 * KB);
    assert_eq!(pss("c.dat"), 1024 * KB);
    assert_eq!(pss("b.dat"), 256 * KB);
}

// ---------------------------------------------------------------------------------------
// Hostile names (as tests/hostile_names.rs makes them)
// ---------------------------------------------------------------------------------------

/// File names, each also used (cut to 15 bytes by the kernel) as a helper's comm.
const NAMES: &[&[u8]] = &[
    b"with spaces  in  name",
    b"new\nline",
    b"lit\\012eral",
    b"tab\there",
    b"cr\rhere",
    b"esc\x1b[31mred\x1b[0m\x1b]0;title\x07",
    "rlo\u{202E}gnp.exe".as_bytes(),
    b"bad-\xff",
    b"bad-\xfe\xfd",
    // The ASCII text that `bad-\xff` is displayed as: a different name, its own series.
    b"bad-\\xff",
    b"quote\"and\\back",
    b"x (deleted)",
    b"[heap]",
    b"(other)",
    b"=cmd|'-C calc'!A0",
    b"c1-\xc2\x85-\xc2\x9b-ctl",
    b"del\x7fchar",
];

fn hostile_scene() -> Scene {
    let dir = tempfile::Builder::new()
        .prefix("hostile")
        .tempdir()
        .expect("tempdir");
    for (i, name) in NAMES.iter().enumerate() {
        let path = dir.path().join(OsStr::from_bytes(name));
        std::fs::write(&path, vec![i as u8 + 1; 4096 * (i + 1)]).expect("create hostile file");
    }
    let deep = make_deep_file(dir.path());
    let mut args: Vec<Vec<u8>> = vec![b"--comm".to_vec(), b"x\x1b]0;pwned\x07".to_vec()];
    for name in NAMES {
        args.push(b"--map-shared".to_vec());
        args.push(
            dir.path()
                .join(OsStr::from_bytes(name))
                .into_os_string()
                .into_vec(),
        );
    }
    args.extend(deep.map_args());
    let mut helpers = vec![Helper::spawn(args.iter().map(|a| os(a)))];
    for name in NAMES {
        let path = dir.path().join(OsStr::from_bytes(name));
        helpers.push(Helper::spawn([
            os(b"--comm"),
            os(name),
            os(b"--map-private-ro"),
            path.as_os_str(),
        ]));
    }
    Scene { dir, helpers }
}

#[test]
fn hostile_names_are_valid_series_each_its_own_and_node_exporter_takes_them() {
    let s = hostile_scene();
    let pids = pid_list(&s.helpers);
    let map = under(s.dir.path());
    let all = ["--prom-top", "0", "--prom-min", "0", "--prom-processes"];
    // Every series of the helpers (their libraries too), then the hostile files alone.
    let whole = run_args(strs(
        &[&["-p", pids.as_str(), "-f", "prometheus"][..], &all].concat(),
    ));
    assert_promtool_clean("hostile names", &whole.stdout);

    let textdir = tempfile::tempdir().expect("tempdir");
    let target = textdir.path().join("pmaps.prom");
    let base = ["-p", pids.as_str(), "-m", map.as_str()];
    let mut args = strs(&[&base[..], &["-f", "prometheus"], &all, &["-o"]].concat());
    args.push(target.into_os_string());
    run_args(args);

    let ne = NodeExporter::start(textdir.path());
    let scraped = ne.scrape();
    assert_no_scrape_error(&scraped, &ne);
    let json = |group: &str| -> Value {
        let out = run_args(strs(&[&base[..], &["-g", group, "-f", "json"]].concat()));
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    for (family, key) in [("file", "path"), ("command", "command"), ("process", "pid")] {
        let want = json_family(&json(family), key);
        let got = scraped_family(&scraped, family, key, &[]);
        assert_eq!(got, want, "{family}");
        // No series lost: as many as rows (node_exporter drops a duplicate silently).
        let n = scraped
            .iter()
            .filter(|x| x.name == format!("pmaps_{family}_pss_bytes"))
            .count();
        assert_eq!(n, want.len(), "{family}");
    }
    // Every hostile file, and the one longer than PATH_MAX, by its exact name.
    let files = scraped_family(&scraped, "file", "path", &[]);
    assert_eq!(files.len(), NAMES.len() + 1);
    for name in NAMES {
        // As the kernel prints it: a newline as `\012`.
        let mut printed = s.dir.path().as_os_str().as_bytes().to_vec();
        printed.push(b'/');
        for &b in *name {
            match b {
                b'\n' => printed.extend_from_slice(b"\\012"),
                b => printed.push(b),
            }
        }
        assert!(
            files.contains_key(&Key(printed.clone())),
            "{:?}",
            Key(printed)
        );
    }
    assert!(files.keys().any(|k| k.0.len() > 4096));
    // A process named `(other)` is not the fold: its exact name follows in hex.
    let named_other: Vec<&Series> = scraped
        .iter()
        .filter(|x| x.name == "pmaps_command_pss_bytes" && x.label("command") == "(other)")
        .collect();
    assert_eq!(named_other.len(), 1, "{named_other:?}");
    assert_eq!(named_other[0].label("command_hex"), "286f7468657229");
}

// ---------------------------------------------------------------------------------------
// Cardinality
// ---------------------------------------------------------------------------------------

fn sum_of(series: &[Series], name: &str) -> u64 {
    series
        .iter()
        .filter(|s| s.name == name)
        .map(Series::int)
        .sum()
}

fn other_of(series: &[Series], name: &str, key: &str) -> u64 {
    let found: Vec<&Series> = series
        .iter()
        .filter(|s| s.name == name && s.label(key) == "(other)")
        .collect();
    assert_eq!(found.len(), 1, "{name}");
    found[0].int()
}

/// 300 processes, process i (comm `card<i>`) mapping its own file of i + 1 pages.
#[test]
fn three_hundred_files_stay_under_the_bound_and_still_add_up() {
    maphelper_bin();
    // Three pipes per helper.
    raise_own_fd_limit(4096);
    let dir = open_tempdir();
    let page = 4096;
    let helpers: Vec<Helper> = (0..300usize)
        .map(|i| {
            let f = synced_file(dir.path(), &format!("f{i:03}"), page * (i + 1));
            Helper::spawn([
                OsString::from("--comm"),
                OsString::from(format!("card{i}")),
                OsString::from("--map-shared"),
                f.into_os_string(),
            ])
        })
        .collect();
    let pids = pid_list(&helpers);
    let map = under(dir.path());
    let base = ["-p", pids.as_str(), "-m", map.as_str()];
    // Every page of every file, each mapped by one process: PSS is the file size.
    let total: u64 = (1..=300).map(|n| n * page as u64).sum();
    let doc: Value =
        serde_json::from_slice(&run_args(strs(&[&base[..], &["-f", "json"]].concat())).stdout)
            .expect("JSON");
    assert_eq!(doc["totals"]["pss_bytes"].as_u64(), Some(total));
    assert_eq!(doc["rows"].as_array().map(Vec::len), Some(300));

    for processes in [false, true] {
        let mut args = strs(&[&base[..], &["-f", "prometheus"]].concat());
        if processes {
            args.push("--prom-processes".into());
        }
        let out = run_args(args);
        assert_promtool_clean("300 files", &out.stdout);
        let series = parse(std::str::from_utf8(&out.stdout).expect("UTF-8"));
        let bounds = Bounds {
            processes,
            ..Bounds::default()
        };
        let bound = max_series(&bounds).expect("bounded by default");
        assert!(series.len() <= bound, "{} series > {bound}", series.len());
        // Without the fold: 300 files × 9 measures alone.
        assert!(300 * 9 > bound);
        let mut families = vec![("file", "path"), ("command", "command")];
        if processes {
            families.push(("process", "pid"));
        }
        for (family, key) in families {
            let name = format!("pmaps_{family}_pss_bytes");
            let n = series.iter().filter(|s| s.name == name).count();
            assert_eq!(n, 26, "{family}: the top 25 and (other)");
            assert_eq!(sum_of(&series, &name), total, "{family}");
            // The top 25 are the files of 300 down to 276 pages; the rest is folded.
            let kept: u64 = (276..=300).map(|n| n * page as u64).sum();
            assert_eq!(other_of(&series, &name, key), total - kept, "{family}");
        }
        assert_eq!(sum_of(&series, "pmaps_user_pss_bytes"), total);
        assert_eq!(sum_of(&series, "pmaps_kind_pss_bytes"), total);
        assert_eq!(sum_of(&series, "pmaps_user_processes"), 300);
        assert_eq!(sum_of(&series, "pmaps_command_processes"), 300);
        assert_eq!(sum_of(&series, "pmaps_file_mappings"), 300);
    }

    // The minimum alone: files of 256 pages (1 MiB) and more are kept, 45 of them.
    let out = run_args(strs(
        &[
            &base[..],
            &["-f", "prometheus", "--prom-top", "0", "--prom-min", "1M"],
        ]
        .concat(),
    ));
    let series = parse(std::str::from_utf8(&out.stdout).expect("UTF-8"));
    let files: Vec<&Series> = series
        .iter()
        .filter(|s| s.name == "pmaps_file_pss_bytes")
        .collect();
    assert_eq!(files.len(), 46);
    assert_eq!(sum_of(&series, "pmaps_file_pss_bytes"), total);
    let folded: u64 = (1..256).map(|n| n * page as u64).sum();
    assert_eq!(other_of(&series, "pmaps_file_pss_bytes", "path"), folded);
    drop(helpers);
}
