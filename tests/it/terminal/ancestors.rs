//! `pmaps show NAME` never lists its own wrapper: an ancestor of pmaps (`sh -c "pmaps show
//! 'two words'"`, whose command line holds the name only because it runs pmaps) is matched
//! by its command name only; the shell pmaps runs in is still found by its name.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use crate::support::*;

#[test]
fn a_shell_wrapper_is_not_a_match_of_the_name_it_passes_on() {
    let script = format!("{} show 'two words'; exit $?", pmaps_bin().display());
    let out = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .output()
        .expect("run sh -c");
    assert_exit(&out, 4);
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert_eq!(
        stderr(&out),
        "pmaps: no process matches 'two words' (neither its command name nor its command \
         line)\n"
    );
}

/// A script runs pmaps: by its command name (a script's is its file name) it is found, as a
/// user's own `bash` is by `pmaps show bash`; by a word of its command line only, it is not.
#[test]
fn an_ancestor_is_found_by_its_command_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("pathword");
    std::fs::create_dir(&sub).expect("mkdir");
    let write_script = |name: &str, target: &str| {
        let path = sub.join(name);
        let body = format!(
            "#!/bin/sh\n{} show -f csv {target}\nexit $?\n",
            pmaps_bin().display()
        );
        std::fs::write(&path, body).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    };

    let by_name = write_script("wrapscript", "wrapscript");
    let out = output(Command::new(&by_name));
    assert_exit(&out, 0);
    let rows = csv_records(&out.stdout);
    assert!(!rows.is_empty());
    let shown: std::collections::BTreeSet<&str> = rows.iter().map(|r| r["pid"].as_str()).collect();
    assert_eq!(shown.len(), 1, "only the script itself: {shown:?}");

    // "pathword" is only in the script's command line (its path): not a match.
    let by_path = write_script("other", "pathword");
    let out = output(Command::new(&by_path));
    assert_exit(&out, 4);
    assert_eq!(
        stderr(&out),
        "pmaps: no process matches 'pathword' (neither its command name nor its command line)\n"
    );
}
