//! `/proc/PID/cgroup`, and what a cgroup path says: the systemd unit it ends in and the
//! container runtime and ID it belongs to.
//!
//! A line is `ID:CONTROLLERS:PATH`. On a cgroup v2 host there is one line, `0::PATH`; on a v1
//! or hybrid host the memory controller has its own line (`4:memory:PATH`), and that is the
//! hierarchy whose counters describe the process's memory, so it is preferred. Paths are raw
//! bytes (a cgroup name can be any byte but `/` and NUL).

use crate::model::{Cgroup, Charge, Container, Hierarchy, Runtime};

/// The cgroup of a process's memory: the memory controller's path on a v1/hybrid host, the
/// unified path otherwise; `None` when the file names neither.
pub fn parse_cgroup(buf: &[u8]) -> Option<Cgroup> {
    let mut unified = None;
    for line in buf.split(|&b| b == b'\n') {
        let mut fields = line.splitn(3, |&b| b == b':');
        let (Some(id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if controllers.split(|&b| b == b',').any(|c| c == b"memory") {
            return Some(Cgroup {
                path: path.to_vec(),
                hierarchy: Hierarchy::V1Memory,
            });
        }
        if id == b"0" && controllers.is_empty() {
            unified = Some(Cgroup {
                path: path.to_vec(),
                hierarchy: Hierarchy::V2,
            });
        }
    }
    unified
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

/// The systemd unit a cgroup path ends in: the last component that is a service or a scope
/// (`nginx.service`, `session-3.scope`, `user@1000.service`); slices only group units.
pub fn unit_of(path: &[u8]) -> Option<&[u8]> {
    components(path)
        .rev()
        .find(|c| c.ends_with(b".service") || c.ends_with(b".scope"))
}

/// The cgroup of the unit a cgroup path ends in: the path up to and including the unit's
/// component (`/system.slice/nginx.service/worker` → `/system.slice/nginx.service`).
pub fn unit_cgroup(c: &Cgroup) -> Option<Cgroup> {
    let unit = unit_of(&c.path)?;
    // `unit` borrows from `c.path`: its end is where the unit's cgroup ends.
    let end = unit.as_ptr() as usize - c.path.as_ptr() as usize + unit.len();
    Some(Cgroup {
        path: c.path[..end].to_vec(),
        hierarchy: c.hierarchy,
    })
}

/// The cgroups whose own counters a report shows beside a process in `c`: its unit's and its
/// container's (each when it has one). A scan reads them, a record and a capture keep them.
pub fn charged_cgroups(c: &Cgroup) -> [Option<Cgroup>; 2] {
    [unit_cgroup(c), container_cgroup(c).map(|(_, g)| g)]
}

/// The cgroups whose counters a record or a capture keeps for a process in `c`: its own, and
/// those of [`charged_cgroups`].
pub fn kept_cgroups(c: &Cgroup) -> impl Iterator<Item = Cgroup> {
    std::iter::once(c.clone()).chain(charged_cgroups(c).into_iter().flatten())
}

/// 64 lowercase hex digits: a Docker, containerd or CRI-O container ID.
fn is_container_id(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `PREFIX<id>SUFFIX` → `id` when it is a container ID.
fn id_between<'a>(c: &'a [u8], prefix: &[u8], suffix: &[u8]) -> Option<&'a [u8]> {
    let id = c.strip_prefix(prefix)?.strip_suffix(suffix)?;
    is_container_id(id).then_some(id)
}

/// A Kubernetes pod UID from a `pod<uid>` component (cgroupfs driver: dashes) or a
/// `kubepods-<qos>-pod<uid>.slice` one (systemd driver: the UID's dashes written as
/// underscores, given back with dashes).
fn pod_of(c: &[u8]) -> Option<Vec<u8>> {
    let after = |c: &[u8]| {
        let at = memchr::memmem::rfind(c, b"pod")?;
        Some(c[at + 3..].to_vec())
    };
    if let Some(rest) = c.strip_suffix(b".slice") {
        if !rest.starts_with(b"kubepods") {
            return None;
        }
        let uid = after(rest)?;
        return (uid.len() == 36).then(|| {
            uid.iter()
                .map(|&b| if b == b'_' { b'-' } else { b })
                .collect()
        });
    }
    let uid = c.strip_prefix(b"pod")?;
    (uid.len() == 36 && uid.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-'))
        .then(|| uid.to_vec())
}

/// The container a cgroup path belongs to, recognised from the layouts the runtimes make:
/// Docker (`/docker/<id>`, `/system.slice/docker-<id>.scope`), containerd and CRI-O under
/// Kubernetes (`/kubepods/<qos>/pod<uid>/<id>`, `…/kubepods-<qos>-pod<uid>.slice/
/// cri-containerd-<id>.scope`, `crio-<id>.scope`), podman (`/machine.slice/libpod-<id>.scope`,
/// `/libpod_parent/libpod-<id>`) and LXC (`/lxc/<name>`, `/lxc.payload.<name>`,
/// `/lxc.payload/<name>`). `None`: the host.
pub fn container_of(path: &[u8]) -> Option<Container> {
    container_at(path).map(|(c, _)| c)
}

/// The container of a cgroup (see [`container_of`]) and the container's own cgroup: the path
/// up to and including the component that names it (`/kubepods/burstable/pod<uid>/<id>/sub`
/// → `/kubepods/burstable/pod<uid>/<id>`), whose counters are the container's charge.
pub fn container_cgroup(c: &Cgroup) -> Option<(Container, Cgroup)> {
    let (container, end) = container_at(&c.path)?;
    Some((
        container,
        Cgroup {
            path: c.path[..end].to_vec(),
            hierarchy: c.hierarchy,
        },
    ))
}

/// The container a cgroup path names, and where the component naming it ends in `path`.
fn container_at(path: &[u8]) -> Option<(Container, usize)> {
    let parts: Vec<&[u8]> = components(path).collect();
    let mut pod = None;
    for (i, c) in parts.iter().enumerate() {
        if let Some(p) = pod_of(c) {
            pod = Some(p);
            continue;
        }
        let found = if let Some(id) = id_between(c, b"docker-", b".scope") {
            Some((Runtime::Docker, id))
        } else if let Some(id) = id_between(c, b"cri-containerd-", b".scope") {
            Some((Runtime::Containerd, id))
        } else if let Some(id) = id_between(c, b"crio-", b".scope") {
            Some((Runtime::Crio, id))
        } else if let Some(id) =
            id_between(c, b"libpod-", b".scope").or_else(|| id_between(c, b"libpod-", b""))
        {
            Some((Runtime::Podman, id))
        } else if is_container_id(c) {
            let parent = i.checked_sub(1).map(|p| parts[p]);
            let runtime = match parent {
                Some(b"docker") => Runtime::Docker,
                _ if pod.is_some() => Runtime::Containerd,
                _ => Runtime::Docker,
            };
            Some((runtime, *c))
        } else if let Some(name) = c.strip_prefix(b"lxc.payload.") {
            Some((Runtime::Lxc, name))
        } else if matches!(
            i.checked_sub(1).map(|p| parts[p]),
            Some(b"lxc" | b"lxc.payload")
        ) {
            Some((Runtime::Lxc, *c))
        } else {
            None
        };
        if let Some((runtime, id)) = found {
            // `c` borrows from `path`: its end is where the container's cgroup ends.
            let end = c.as_ptr() as usize - path.as_ptr() as usize + c.len();
            return Some((
                Container {
                    runtime,
                    id: id.to_vec(),
                    pod,
                },
                end,
            ));
        }
    }
    None
}

/// A cgroup's own counters, from the text of its files (each `None` when unreadable):
/// v2 `memory.current` and `memory.stat` (`anon`, `file`, `shmem`, `kernel`); v1
/// `memory.usage_in_bytes`, `memory.stat` (the hierarchical `total_rss`, `total_cache`,
/// `total_shmem`, else their local forms) and `memory.kmem.usage_in_bytes`. A key the
/// kernel does not print stays unknown.
pub fn parse_charge(
    hierarchy: Hierarchy,
    current: Option<&[u8]>,
    stat: Option<&[u8]>,
    kmem: Option<&[u8]>,
) -> Charge {
    let number = |b: &[u8]| super::dec(b.trim_ascii());
    let key = |names: &[&[u8]]| {
        let stat = stat?;
        names.iter().find_map(|name| {
            stat.split(|&b| b == b'\n').find_map(|line| {
                let (k, v) = line.split_at(line.iter().position(|&b| b == b' ')?);
                (k == *name).then(|| number(v)).flatten()
            })
        })
    };
    match hierarchy {
        Hierarchy::V2 => Charge {
            current: current.and_then(number),
            anon: key(&[b"anon"]),
            file: key(&[b"file"]),
            shmem: key(&[b"shmem"]),
            kernel: key(&[b"kernel"]),
        },
        Hierarchy::V1Memory => Charge {
            current: current.and_then(number),
            anon: key(&[b"total_rss", b"rss"]),
            file: key(&[b"total_cache", b"cache"]),
            shmem: key(&[b"total_shmem", b"shmem"]),
            kernel: kmem.and_then(number),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904a6b9f6f2ab3b8c5f1d4e2a61";

    fn container(path: &str) -> Option<(Runtime, String, Option<String>)> {
        container_of(path.as_bytes()).map(|c| {
            (
                c.runtime,
                String::from_utf8(c.id).expect("utf8"),
                c.pod.map(|p| String::from_utf8(p).expect("utf8")),
            )
        })
    }

    #[test]
    fn the_memory_controller_wins_on_a_hybrid_host() {
        let hybrid = b"9:name=systemd:/\n4:memory:/process_api/x\n0::/\n";
        let cg = parse_cgroup(hybrid).expect("cgroup");
        assert_eq!(cg.path, b"/process_api/x");
        assert_eq!(cg.hierarchy, Hierarchy::V1Memory);
        let v1 = b"12:cpu,cpuacct:/a\n5:memory,hugetlb:/b\n";
        assert_eq!(parse_cgroup(v1).expect("v1").path, b"/b");
        let v2 = b"0::/system.slice/nginx.service\n";
        let cg = parse_cgroup(v2).expect("v2");
        assert_eq!(cg.path, b"/system.slice/nginx.service");
        assert_eq!(cg.hierarchy, Hierarchy::V2);
        // A path may hold colons and any byte but `/`.
        let odd = b"0::/odd:name\xff/x\n";
        assert_eq!(parse_cgroup(odd).expect("odd").path, b"/odd:name\xff/x");
        assert_eq!(parse_cgroup(b""), None);
        assert_eq!(parse_cgroup(b"garbage\n"), None);
    }

    #[test]
    fn units_are_the_last_service_or_scope() {
        let u = |p: &str| unit_of(p.as_bytes()).map(|u| String::from_utf8_lossy(u).into_owned());
        assert_eq!(
            u("/system.slice/nginx.service").as_deref(),
            Some("nginx.service")
        );
        assert_eq!(
            u("/user.slice/user-1000.slice/session-3.scope").as_deref(),
            Some("session-3.scope")
        );
        assert_eq!(
            u("/user.slice/user-1000.slice/user@1000.service/app.slice/gnome-terminal.service")
                .as_deref(),
            Some("gnome-terminal.service")
        );
        assert_eq!(
            u("/user.slice/user-1000.slice/user@1000.service/init.scope").as_deref(),
            Some("init.scope")
        );
        assert_eq!(
            u("/system.slice/nginx.service/worker").as_deref(),
            Some("nginx.service")
        );
        assert_eq!(u("/"), None);
        assert_eq!(u("/user.slice"), None);
        assert_eq!(u("/docker/abc"), None);
    }

    #[test]
    fn containers_of_each_runtime() {
        assert_eq!(
            container(&format!("/docker/{ID}")),
            Some((Runtime::Docker, ID.into(), None))
        );
        assert_eq!(
            container(&format!("/system.slice/docker-{ID}.scope")),
            Some((Runtime::Docker, ID.into(), None))
        );
        // Kubernetes, cgroupfs driver: the pod UID with dashes.
        let uid = "0b6e5bd4-5f7a-4b1e-9d3c-2a1f0e9d8c7b";
        assert_eq!(
            container(&format!("/kubepods/burstable/pod{uid}/{ID}")),
            Some((Runtime::Containerd, ID.into(), Some(uid.into())))
        );
        // systemd driver: the UID's dashes are underscores in the slice name.
        let under = uid.replace('-', "_");
        assert_eq!(
            container(&format!(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{under}.slice/cri-containerd-{ID}.scope"
            )),
            Some((Runtime::Containerd, ID.into(), Some(uid.into())))
        );
        assert_eq!(
            container(&format!(
                "/kubepods.slice/kubepods-pod{under}.slice/crio-{ID}.scope"
            )),
            Some((Runtime::Crio, ID.into(), Some(uid.into())))
        );
        assert_eq!(
            container(&format!("/machine.slice/libpod-{ID}.scope")),
            Some((Runtime::Podman, ID.into(), None))
        );
        assert_eq!(
            container(&format!("/libpod_parent/libpod-{ID}")),
            Some((Runtime::Podman, ID.into(), None))
        );
        assert_eq!(
            container("/lxc/web01"),
            Some((Runtime::Lxc, "web01".into(), None))
        );
        assert_eq!(
            container("/lxc.payload.web01/init.scope"),
            Some((Runtime::Lxc, "web01".into(), None))
        );
        assert_eq!(
            container("/lxc.payload/web01"),
            Some((Runtime::Lxc, "web01".into(), None))
        );
        // The host, and near misses.
        assert_eq!(container("/system.slice/nginx.service"), None);
        assert_eq!(
            container("/user.slice/user-1000.slice/session-3.scope"),
            None
        );
        assert_eq!(container("/docker/notanid"), None);
        assert_eq!(container("/"), None);
    }

    #[test]
    fn charges_of_v1_and_v2() {
        let stat2 = b"anon 4096\nfile 8192\nkernel 512\nkernel_stack 100\nshmem 1024\n";
        let c = parse_charge(Hierarchy::V2, Some(b"16384\n"), Some(stat2), None);
        assert_eq!(
            c,
            Charge {
                current: Some(16384),
                anon: Some(4096),
                file: Some(8192),
                shmem: Some(1024),
                kernel: Some(512),
            }
        );
        // An older kernel without `kernel`: unknown, not 0.
        let c = parse_charge(Hierarchy::V2, None, Some(b"anon 1\n"), None);
        assert_eq!((c.current, c.anon, c.kernel), (None, Some(1), None));
        let stat1 = b"cache 1\nrss 2\nshmem 3\ntotal_cache 10\ntotal_rss 20\ntotal_shmem 30\n";
        let c = parse_charge(Hierarchy::V1Memory, Some(b"99"), Some(stat1), Some(b"7\n"));
        assert_eq!(
            c,
            Charge {
                current: Some(99),
                anon: Some(20),
                file: Some(10),
                shmem: Some(30),
                kernel: Some(7),
            }
        );
        assert_eq!(
            parse_charge(Hierarchy::V1Memory, Some(b"x"), Some(b"garbage"), None),
            Charge::default()
        );
    }

    #[test]
    fn a_containers_cgroup_ends_at_the_component_that_names_it() {
        let of = |path: &str| {
            container_cgroup(&Cgroup {
                path: path.as_bytes().to_vec(),
                hierarchy: Hierarchy::V2,
            })
            .map(|(c, g)| {
                (
                    String::from_utf8(c.id).unwrap(),
                    String::from_utf8(g.path).unwrap(),
                )
            })
        };
        let scope = format!("/system.slice/docker-{ID}.scope");
        assert_eq!(of(&scope), Some((ID.into(), scope.clone())));
        // A process in a cgroup inside the container's (systemd in a container).
        assert_eq!(
            of(&format!("{scope}/init.scope")),
            Some((ID.into(), scope.clone()))
        );
        let pod = "/kubepods/burstable/pod0b6e5bd4-5f7a-4b1e-9d3c-2a1f0e9d8c7b";
        assert_eq!(
            of(&format!("{pod}/{ID}/sub")),
            Some((ID.into(), format!("{pod}/{ID}")))
        );
        assert_eq!(
            of("/lxc.payload.web01/system.slice/x.service"),
            Some(("web01".into(), "/lxc.payload.web01".into()))
        );
        assert_eq!(of("/system.slice/nginx.service"), None);
        let c = Cgroup {
            path: format!("{scope}/x").into_bytes(),
            hierarchy: Hierarchy::V1Memory,
        };
        let [unit, container] = charged_cgroups(&c);
        assert_eq!(unit.map(|u| u.path), Some(scope.clone().into_bytes()));
        let container = container.expect("container cgroup");
        assert_eq!(container.path, scope.into_bytes());
        assert_eq!(container.hierarchy, Hierarchy::V1Memory);
    }
}
