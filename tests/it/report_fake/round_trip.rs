//! Saved JSON documents read back into the library's typed schema, losslessly: every
//! group-by of the report (from smaps and from the rollup), and `show` (plain, `--merge`,
//! `--all-fields`). Read back and written again, a document is the same bytes.

use super::tree::{NON_UTF8, run, tree};
use crate::support::internals::{ReportDoc, ShowDoc, read_doc};
use crate::support::*;

/// The document written again from its typed form.
fn rewritten<T: serde::Serialize>(doc: &T) -> String {
    let mut s = serde_json::to_string_pretty(doc).expect("serialize");
    s.push('\n');
    s
}

#[test]
fn every_group_by_reads_back_into_the_typed_report() {
    let fake = tree();
    let cases: [&[&str]; 10] = [
        &["-g", "file"],
        &["-g", "process"],
        &["-g", "process", "--source", "smaps"],
        &["-g", "user"],
        &["-g", "command"],
        &["-g", "kind"],
        &["-g", "file,process"],
        &["-g", "process,file"],
        &["-g", "process,file", "-n", "2"],
        &["-g", "file", "-n", "2"],
    ];
    for args in cases {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        let out = run(&fake, &all);
        let text = stdout(&out);
        assert!(matches!(code(&out), 0 | 3), "{args:?}: {}", stderr(&out));
        let doc: ReportDoc = read_doc(text.as_bytes()).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert_eq!(doc.meta.group_by.as_str(), args[1], "{args:?}");
        let json = doc.to_json().expect("to_json");
        assert_eq!(rewritten(&json), text, "{args:?}: not the same document");
        if args[1] == "file" && args.len() == 2 {
            // A path that is not UTF-8 comes back byte for byte.
            assert!(
                doc.rows
                    .iter()
                    .any(|r| r.path_bytes().as_deref() == Some(NON_UTF8)),
                "{text}"
            );
        }
        if args[1] == "process,file" && args.len() == 2 {
            // Each process's files, the one that is not UTF-8 too, with their identity.
            let files: Vec<_> = doc
                .rows
                .iter()
                .flat_map(|r| r.by_file.iter().flatten())
                .collect();
            assert!(
                files
                    .iter()
                    .any(|f| f.path_bytes().as_deref() == Some(NON_UTF8)),
                "{text}"
            );
            assert!(
                files
                    .iter()
                    .all(|f| f.key.device.is_some() && f.key.inode.is_some())
            );
            assert!(doc.rows.iter().all(|r| r.by_process.is_none()));
        }
    }
}

#[test]
fn show_reads_back_into_the_typed_document() {
    let fake = tree();
    for extra in [
        &[][..],
        &["--merge"],
        &["--all-fields"],
        &["--merge", "--all-fields"],
    ] {
        let mut cmd = pmaps_on(fake.root());
        cmd.arg("show")
            .args(extra)
            .args(["-f", "json", "100", "200"]);
        let out = output(cmd);
        assert_eq!(code(&out), 0, "{extra:?}: {}", stderr(&out));
        let text = stdout(&out);
        let doc: ShowDoc = read_doc(text.as_bytes()).unwrap_or_else(|e| panic!("{extra:?}: {e}"));
        assert_eq!(doc.processes.len(), 2);
        assert_eq!(rewritten(&doc), text, "{extra:?}: not the same document");
    }
}

#[test]
fn a_document_of_another_schema_version_is_refused_clearly() {
    let fake = tree();
    let out = run(&fake, &["-f", "json"]);
    let text = stdout(&out).replacen("\"schema_version\": 1", "\"schema_version\": 99", 1);
    let err = read_doc::<ReportDoc>(text.as_bytes()).expect_err("version 99 accepted");
    assert!(err.to_string().contains("schema version 99"), "{err}");
    let err = read_doc::<ReportDoc>(b"{\"rows\": []}").expect_err("not pmaps JSON accepted");
    assert!(
        err.to_string().contains("not a pmaps JSON document"),
        "{err}"
    );
}
