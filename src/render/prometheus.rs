//! The Prometheus text exposition format (0.0.4), for node_exporter's textfile collector,
//! written by hand over the Prometheus view ([`crate::view::prometheus`]): the client crates
//! are registries of live metrics with `&str` labels, not writers of a one-shot file whose
//! labels are arbitrary bytes.
//!
//! The rules (what promtool and node_exporter accept): `# HELP` and `# TYPE` once per metric,
//! in the view's order; no timestamps; a final newline. A label value is valid UTF-8 always:
//! raw bytes are shown with the escape CSV uses ([`display`]: other bytes and control
//! characters as `\xNN`), then `\`, `"` and newline are escaped as the format says. When that
//! text is not the exact name (it was escaped, or it reads [`OTHER`], the value of a family's
//! fold), the exact bytes follow in a `<label>_hex` label (lowercase hex), so two names that
//! display alike stay two series (node_exporter silently drops the second of two equal
//! series) and a process named `(other)` is not taken for the fold.

use std::fmt::Write;

use crate::text::escape::{display, hex};
use crate::view::prometheus::{Exposition, Gauge, LabelValue, OTHER, Value};

/// `\`, `"` and newline escaped, as label values need.
fn escape_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// `\` and newline escaped, as HELP text needs.
fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn write_gauge(out: &mut String, g: &Gauge) {
    let _ = writeln!(out, "# HELP {} {}", g.name, escape_help(&g.help));
    let _ = writeln!(out, "# TYPE {} gauge", g.name);
    for s in &g.samples {
        out.push_str(&g.name);
        let mut labels = Vec::with_capacity(s.labels.len() + 1);
        for (name, v) in &s.labels {
            match v {
                LabelValue::Code(c) => labels.push(format!("{name}=\"{}\"", escape_label(c))),
                LabelValue::Raw(raw) => {
                    let text = display(raw);
                    labels.push(format!("{name}=\"{}\"", escape_label(&text)));
                    if text.as_bytes() != raw.as_slice() || text == OTHER {
                        labels.push(format!("{name}_hex=\"{}\"", hex(raw)));
                    }
                }
            }
        }
        if !labels.is_empty() {
            out.push('{');
            out.push_str(&labels.join(","));
            out.push('}');
        }
        let _ = match s.value {
            Value::Int(v) => writeln!(out, " {v}"),
            Value::Float(v) => writeln!(out, " {v}"),
        };
    }
}

/// The exposition as text: every gauge that has a sample.
pub fn render(doc: &Exposition) -> Vec<u8> {
    let mut out = String::new();
    for g in doc.gauges.iter().filter(|g| !g.samples.is_empty()) {
        write_gauge(&mut out, g);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::prometheus::Sample;

    fn raw(b: &[u8]) -> LabelValue {
        LabelValue::Raw(b.to_vec())
    }

    fn doc(samples: Vec<Sample>) -> String {
        let g = Gauge {
            name: "pmaps_file_pss_bytes".into(),
            help: "PSS \\ of each\nfile.".into(),
            samples,
        };
        String::from_utf8(render(&Exposition { gauges: vec![g] })).expect("UTF-8")
    }

    fn sample(labels: Vec<(&'static str, LabelValue)>, v: u64) -> Sample {
        Sample {
            labels,
            value: Value::Int(v),
        }
    }

    #[test]
    fn names_are_escaped_and_names_that_display_alike_stay_apart() {
        let text = doc(vec![
            sample(vec![("path", raw(b"/lib/libc.so.6"))], 1),
            sample(vec![("path", raw(b"a\"b\\c"))], 2),
            sample(vec![("path", raw(b"new\nline"))], 2),
            sample(vec![("path", raw(b"bad-\xff"))], 3),
            sample(vec![("path", raw(b"bad-\\xff"))], 4),
            sample(vec![("path", raw(b"esc\x1b[0m"))], 5),
            sample(vec![("path", raw(b"(other)"))], 6),
            sample(vec![("path", LabelValue::Code("(other)".into()))], 7),
        ]);
        let want = concat!(
            "# HELP pmaps_file_pss_bytes PSS \\\\ of each\\nfile.\n",
            "# TYPE pmaps_file_pss_bytes gauge\n",
            "pmaps_file_pss_bytes{path=\"/lib/libc.so.6\"} 1\n",
            "pmaps_file_pss_bytes{path=\"a\\\"b\\\\c\"} 2\n",
            "pmaps_file_pss_bytes{path=\"new\\\\x0aline\",path_hex=\"6e65770a6c696e65\"} 2\n",
            "pmaps_file_pss_bytes{path=\"bad-\\\\xff\",path_hex=\"6261642dff\"} 3\n",
            "pmaps_file_pss_bytes{path=\"bad-\\\\xff\"} 4\n",
            "pmaps_file_pss_bytes{path=\"esc\\\\x1b[0m\",path_hex=\"6573631b5b306d\"} 5\n",
            "pmaps_file_pss_bytes{path=\"(other)\",path_hex=\"286f7468657229\"} 6\n",
            "pmaps_file_pss_bytes{path=\"(other)\"} 7\n",
        );
        assert_eq!(text, want);
    }

    #[test]
    fn label_and_help_escapes_are_the_three_of_the_format() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_help("a\\b\"c\nd"), "a\\\\b\"c\\nd");
    }

    #[test]
    fn no_labels_no_braces_floats_plain_and_empty_gauges_left_out() {
        let g = |name: &str, samples| Gauge {
            name: name.into(),
            help: "h".into(),
            samples,
        };
        let e = Exposition {
            gauges: vec![
                g(
                    "pmaps_scan_duration_seconds",
                    vec![Sample {
                        labels: Vec::new(),
                        value: Value::Float(0.125),
                    }],
                ),
                g("pmaps_file_swap_bytes", Vec::new()),
                g(
                    "pmaps_last_success_timestamp_seconds",
                    vec![Sample {
                        labels: Vec::new(),
                        value: Value::Float(1_795_542_613.25),
                    }],
                ),
            ],
        };
        let text = String::from_utf8(render(&e)).expect("UTF-8");
        assert_eq!(
            text,
            "# HELP pmaps_scan_duration_seconds h\n# TYPE pmaps_scan_duration_seconds gauge\n\
             pmaps_scan_duration_seconds 0.125\n\
             # HELP pmaps_last_success_timestamp_seconds h\n\
             # TYPE pmaps_last_success_timestamp_seconds gauge\n\
             pmaps_last_success_timestamp_seconds 1795542613.25\n"
        );
    }
}
