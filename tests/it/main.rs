//! The integration tests of `pmaps`, as one test binary: one module per area, and one
//! support module shared by all of them.
//!
//! Most tests start live helper processes (`examples/maphelper.rs`) or build fake `/proc`
//! trees, and expect to run as root (some switch to `nobody` with `setpriv`, some enter
//! namespaces with `unshare`).

mod support;

mod capture;
mod capture_summary;
mod cgroups;
mod diff;
mod history;
mod hostile_names;
mod output_safety;
mod output_trust;
mod peer_pmap;
mod prometheus;
mod read_plan;
mod reliability;
mod report_fake;
mod report_live;
mod show;
mod summary;
mod support_selfcheck;
mod terminal;
mod trust;
mod unprivileged;
mod watch;
