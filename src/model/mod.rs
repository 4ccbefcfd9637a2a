//! The data model shared by every stage: counters in bytes, mappings and their kinds,
//! processes and their outcomes, coverage, reports, the machine's memory (meminfo), and the
//! question a scan answers.
//!
//! Data only: raw integers and raw bytes. Human units and escaping belong to the renderers,
//! reading to the proc source.

mod capture;
mod cgroup;
mod counters;
mod mapping;
mod memory;
mod privilege;
mod process;
mod query;
mod report;

pub use capture::{CaptureFormat, CaptureInfo};
pub use cgroup::{Cgroup, Charge, Container, Hierarchy, Runtime};
pub use counters::{Counters, field};
pub use mapping::{FieldKeys, FieldValue, MapHeader, MapKind, Mapping, Object, Source};
pub use memory::{Basis, Drift, Percent, SystemMemory, Unseen};
pub use privilege::Privilege;
pub use process::{Coverage, Outcome, OutcomeKind, Problem, ProcDesc, ProcInfo, SharedSpace};
pub use query::{Filters, PlanOptions, Query, SourceChoice};
pub use report::{GroupBy, Meta, Report, Row, RowKey};
