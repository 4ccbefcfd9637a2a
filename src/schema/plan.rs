//! The read plan as JSON (`meta.plan`, with `--explain`): the files read per process, for
//! which processes and why, and what the `maps` pass decided.

use serde::{Deserialize, Serialize};

use crate::model::{Coverage, Query};
use crate::plan::{MapsPass, ReadPlan, Scope};

/// The plan of a report and what it read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanDoc {
    /// What `maps` is read for before the file that answers: `none`, `prefilter` (read the
    /// answering file only where a mapping may match) or `count` (the mapping count).
    pub maps_pass: MapsPassDoc,
    /// The files read per process, in order.
    pub steps: Vec<StepDoc>,
    /// Processes read whose `maps` ruled them out: their `smaps` was not read.
    pub ruled_out_by_maps: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapsPassDoc {
    None,
    Prefilter,
    Count,
}

/// One file of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDoc {
    /// The file under `/proc/PID/`.
    pub file: String,
    /// `listed` (every process listed), `kept` (those the process filters kept) or
    /// `matching` (of those, the ones whose `maps` has a mapping that may match).
    pub scope: ScopeDoc,
    pub why: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeDoc {
    Listed,
    Kept,
    Matching,
}

impl PlanDoc {
    pub fn of(query: &Query, plan: &ReadPlan, coverage: &Coverage) -> PlanDoc {
        PlanDoc {
            maps_pass: match plan.maps_pass {
                MapsPass::None => MapsPassDoc::None,
                MapsPass::Prefilter => MapsPassDoc::Prefilter,
                MapsPass::Count => MapsPassDoc::Count,
            },
            steps: plan
                .steps(query)
                .into_iter()
                .map(|s| StepDoc {
                    file: s.file.to_string(),
                    scope: match s.scope {
                        Scope::Listed => ScopeDoc::Listed,
                        Scope::Wanted => ScopeDoc::Kept,
                        Scope::Matching => ScopeDoc::Matching,
                    },
                    why: s.why,
                })
                .collect(),
            ruled_out_by_maps: coverage.ruled_out_by_maps,
        }
    }
}
