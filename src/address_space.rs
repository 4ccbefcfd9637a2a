//! Processes that share one address space: `clone(CLONE_VM)` without `CLONE_THREAD`, or a
//! vfork child before its exec. Each has its own PID and its own `smaps`, which show the same
//! memory; summed, their PSS would count that memory twice. The scan asks [`Sharing`] about
//! every process read in full before counting it, and counts a shared address space once,
//! with the lowest PID of the processes sharing it.
//!
//! Only processes whose address-space fields in `stat` are equal (code, stack, data, heap,
//! arguments, environment: [`ProcInfo::mm_fingerprint`]) can share one; the kernel is asked
//! (`kcmp(KCMP_VM)`, through the source) only about those. Processes forked without an exec
//! (a server's workers) have equal fields too and do not share: `kcmp` also orders address
//! spaces, so each process is placed among those with its fields by a binary search, a few
//! questions however many workers there are. When the source cannot tell (no permission, no
//! `kcmp`, a proc mount of another PID namespace), such a process is counted and reported as
//! unsure; a source with no kernel behind it (a directory that is not a proc mount) is not
//! asked.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Mutex;

use crate::model::{ProcInfo, SharedSpace};
use crate::source::ProcSource;

/// What the scan does with a process read in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Its address space is its own (so far): count it.
    Own,
    /// It shares the address space of this process, counted already: count it no more.
    SharedWith(u32),
    /// It may share one, and the source cannot tell: count it, and say so.
    Unknown,
}

/// The processes that carry an address space among those with one fingerprint, in the
/// kernel's order of their address spaces: each one's PID (all a carrier needs kept: every
/// process read is one until another shares its address space) and the processes found
/// sharing it.
#[derive(Debug, Default)]
struct Carriers {
    list: Vec<(u32, Vec<ProcInfo>)>,
}

/// The address spaces counted so far, shared by the workers of a scan.
pub struct Sharing<'s> {
    src: &'s dyn ProcSource,
    by_fingerprint: Mutex<HashMap<[u64; 10], Carriers>>,
}

/// What [`Sharing::settle`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// Every process counted with another, by PID.
    pub shared: Vec<SharedSpace>,
    /// (PID counted, process to count it as): a group's memory was counted with a process
    /// that is not its lowest PID.
    pub renames: Vec<(u32, ProcInfo)>,
}

impl<'s> Sharing<'s> {
    pub fn new(src: &'s dyn ProcSource) -> Sharing<'s> {
        Sharing {
            src,
            by_fingerprint: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `info`, read in full, shares the address space of a process counted before.
    pub fn check(&self, info: &ProcInfo) -> Verdict {
        if info.mm_fingerprint == [0; 10] {
            return Verdict::Own;
        }
        // A poisoned lock only means another worker panicked; the map it guards is whole.
        let mut map = self
            .by_fingerprint
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let carriers = map.entry(info.mm_fingerprint).or_default();
        place(carriers, info, &|a, b| {
            self.src.compare_address_spaces(a, b)
        })
    }

    /// The processes counted with another, and the renames that make the lowest PID of each
    /// group the one its memory is counted with.
    pub fn settle(self) -> Settled {
        let map = self
            .by_fingerprint
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let mut out = Settled::default();
        for (carrier, sharers) in map.into_values().flat_map(|c| c.list) {
            let Some(lowest) = sharers.iter().min_by_key(|p| p.pid) else {
                continue;
            };
            let lowest_pid = lowest.pid.min(carrier);
            let pids = sharers.iter().map(|p| p.pid).chain([carrier]);
            for pid in pids.filter(|&p| p != lowest_pid) {
                out.shared.push(SharedSpace {
                    pid,
                    with: lowest_pid,
                });
            }
            if lowest_pid != carrier {
                out.renames.push((carrier, lowest.clone()));
            }
        }
        out.shared.sort_unstable();
        out
    }
}

/// Places `info` among the carriers of its fingerprint: a binary search on the kernel's
/// order of address spaces (`cmp(a, b)` orders the address space of `a` against `b`'s).
fn place(
    carriers: &mut Carriers,
    info: &ProcInfo,
    cmp: &dyn Fn(u32, u32) -> Option<std::io::Result<Ordering>>,
) -> Verdict {
    let list = &mut carriers.list;
    let (mut lo, mut hi) = (0, list.len());
    // A carrier that exited since it was read is dropped and the search starts over; the
    // loop ends because each turn narrows the range or shortens the list.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match cmp(list[mid].0, info.pid) {
            // No kernel behind the source: nothing to compare, nothing to keep.
            None => return Verdict::Own,
            Some(Ok(Ordering::Equal)) => {
                list[mid].1.push(info.clone());
                return Verdict::SharedWith(list[mid].0);
            }
            Some(Ok(Ordering::Less)) => lo = mid + 1,
            Some(Ok(Ordering::Greater)) => hi = mid,
            Some(Err(e)) if e.raw_os_error() == Some(libc::ESRCH) => {
                let alive = matches!(cmp(info.pid, info.pid), Some(Ok(Ordering::Equal)));
                if !alive {
                    return Verdict::Unknown;
                }
                list.remove(mid);
                (lo, hi) = (0, list.len());
            }
            Some(Err(_)) => return Verdict::Unknown,
        }
    }
    list.insert(lo, (info.pid, Vec::new()));
    Verdict::Own
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32) -> ProcInfo {
        ProcInfo {
            pid,
            mm_fingerprint: [7; 10],
            ..ProcInfo::default()
        }
    }

    /// A kernel whose address space of each PID is `space(pid)`; `gone` PIDs answer ESRCH.
    fn kernel(
        space: impl Fn(u32) -> u32,
        gone: &[u32],
    ) -> impl Fn(u32, u32) -> Option<std::io::Result<Ordering>> {
        let gone = gone.to_vec();
        move |a, b| {
            if gone.contains(&a) || gone.contains(&b) {
                return Some(Err(std::io::Error::from_raw_os_error(libc::ESRCH)));
            }
            Some(Ok(space(a).cmp(&space(b))))
        }
    }

    #[test]
    fn forked_workers_are_their_own_and_clones_share() {
        // PIDs 10..60: workers with their own address spaces (space = pid), except 33 and
        // 47, which share 20's, and 12, which shares 40's.
        let space = |pid: u32| match pid {
            33 | 47 => 20,
            12 => 40,
            p => p,
        };
        let cmp = kernel(space, &[]);
        let mut c = Carriers::default();
        let order = [40, 20, 10, 33, 55, 12, 47, 31, 59, 11];
        let verdicts: Vec<Verdict> = order
            .iter()
            .map(|&p| place(&mut c, &proc(p), &cmp))
            .collect();
        use Verdict::*;
        assert_eq!(
            verdicts,
            [
                Own,
                Own,
                Own,
                SharedWith(20),
                Own,
                SharedWith(40),
                SharedWith(20),
                Own,
                Own,
                Own
            ]
        );
        let carriers: Vec<u32> = c.list.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            carriers,
            [10, 11, 20, 31, 40, 55, 59],
            "in the kernel's order"
        );
    }

    #[test]
    fn a_carrier_that_exited_is_dropped_and_an_unknown_answer_is_unknown() {
        let mut c = Carriers::default();
        let cmp = kernel(|p| p, &[]);
        for p in [5, 6, 7] {
            assert_eq!(place(&mut c, &proc(p), &cmp), Verdict::Own);
        }
        let cmp = kernel(|p| if p == 9 { 6 } else { p }, &[6]);
        // 6 exited: 9 (which has 6's space, by then its own) is placed without it.
        assert_eq!(place(&mut c, &proc(9), &cmp), Verdict::Own);
        let denied = |_: u32, _: u32| Some(Err(std::io::Error::from_raw_os_error(libc::EPERM)));
        assert_eq!(place(&mut c, &proc(11), &denied), Verdict::Unknown);
        let no_kernel = |_: u32, _: u32| None;
        assert_eq!(place(&mut c, &proc(12), &no_kernel), Verdict::Own);
        let carriers: Vec<u32> = c.list.iter().map(|(p, _)| *p).collect();
        assert_eq!(carriers, [5, 9, 7], "in the kernel's order");
    }

    /// A source whose PIDs 30 and 8 share an address space, the rest their own.
    struct Clones;

    impl ProcSource for Clones {
        fn describe(&self) -> String {
            "clones".into()
        }
        fn list_pids(&self) -> std::io::Result<(Vec<u32>, Option<u32>)> {
            Ok((Vec::new(), None))
        }
        fn open_pid(&self, _: u32) -> std::io::Result<Box<dyn crate::source::PidDir + '_>> {
            Err(std::io::Error::from_raw_os_error(libc::ENOENT))
        }
        fn read_file(&self, _: &str, _: usize) -> std::io::Result<Vec<u8>> {
            Err(std::io::Error::from_raw_os_error(libc::ENOENT))
        }
        fn hidden_processes(&self) -> Option<String> {
            None
        }
        fn user_name(&self, _: u32) -> Option<String> {
            None
        }
        fn lookup_uid(&self, _: &str) -> Option<u32> {
            None
        }
        fn pid_path(&self, pid: u32, file: &str) -> String {
            format!("{pid}/{file}")
        }
        fn compare_address_spaces(&self, a: u32, b: u32) -> Option<std::io::Result<Ordering>> {
            let space = |p: u32| if p == 30 { 8 } else { p };
            Some(Ok(space(a).cmp(&space(b))))
        }
    }

    #[test]
    fn the_lowest_pid_of_a_group_carries_its_memory() {
        let sharing = Sharing::new(&Clones);
        // 30 is read first and counted; 8, read later, shares its address space.
        assert_eq!(sharing.check(&proc(30)), Verdict::Own);
        assert_eq!(sharing.check(&proc(8)), Verdict::SharedWith(30));
        assert_eq!(sharing.check(&proc(9)), Verdict::Own);
        let other = ProcInfo {
            mm_fingerprint: [8; 10],
            ..proc(31)
        };
        assert_eq!(sharing.check(&other), Verdict::Own);
        let settled = sharing.settle();
        assert_eq!(settled.shared, [SharedSpace { pid: 30, with: 8 }]);
        assert_eq!(settled.renames.len(), 1);
        assert_eq!(settled.renames[0].0, 30);
        assert_eq!(settled.renames[0].1.pid, 8);
    }
}
