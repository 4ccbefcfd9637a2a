//! What `--explain` says on stderr: the read plan, one line per file read per process, before
//! the scan; what the `maps` pass decided, after it.

use crate::model::{OutcomeKind, Query, Report};
use crate::plan::{MapsPass, ReadPlan};
use crate::text::{plural, thousands};

/// The plan, before the scan: `plan: FILE  SCOPE: WHY`, one line per file, in the order read.
pub fn plan_lines(query: &Query, plan: &ReadPlan) -> Vec<String> {
    let steps = plan.steps(query);
    let width = steps.iter().map(|s| s.file.len()).max().unwrap_or(0);
    let mut lines = Vec::new();
    let f = &query.filters;
    if !f.pids.is_empty() {
        lines.push(format!(
            "plan: only the {} given with --pid are opened",
            plural(f.pids.len() as u64, "PID", "PIDs")
        ));
    }
    if !f.uids.is_empty() || f.command.is_some() || f.filters_cgroups() {
        lines.push(
            "plan: the process filters decide on the small files, before any map file is read"
                .into(),
        );
    }
    for s in steps {
        lines.push(format!(
            "plan: {:width$}  {}: {}",
            s.file,
            s.scope.as_str(),
            s.why
        ));
    }
    lines
}

/// What the `maps` pass decided, after the scan; `None` when there was no such pass.
pub fn result_line(plan: &ReadPlan, report: &Report) -> Option<String> {
    let c = &report.coverage;
    match plan.maps_pass {
        MapsPass::None => None,
        MapsPass::Prefilter => {
            let read = c.count(OutcomeKind::Read);
            Some(format!(
                "plan: maps ruled out {} of the {} read: {} read in full from smaps",
                thousands(c.ruled_out_by_maps),
                plural(read, "process", "processes"),
                thousands(read - c.ruled_out_by_maps.min(read))
            ))
        }
        MapsPass::Count => Some(format!(
            "plan: {} counted in maps, totals from smaps_rollup",
            plural(c.mappings, "mapping", "mappings")
        )),
    }
}
