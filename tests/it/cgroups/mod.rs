//! Services and containers: `-g cgroup`, `-g unit`, `-g container` and the pairs
//! `file,container` / `container,file`, the cgroup filters, and the reconciliation with the
//! cgroup's own counters — on fake proc trees shaped like a systemd host, a Docker host, a
//! Kubernetes node (containerd and CRI-O, pod UIDs with dashes and with underscores), podman
//! and LXC, on v1/v2 hybrid and pure v2 layouts, and live in a memory cgroup the test makes;
//! and the same answers from a capture of either (`capture`).

mod capture;
mod fake;
mod live;
