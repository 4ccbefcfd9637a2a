//! A process whose main thread has exited (`pthread_exit` in `main`) while its other threads
//! live on: `/proc/PID` is then the main thread's, a zombie whose `stat` shows no address
//! space and whose `smaps` reads empty, while the memory lives on. It is read through a live
//! thread of the group, `/proc/PID/task/TID/`, whose files show the same address space.

use super::{Reader, StatFacts, has_memory};
use crate::parse;
use crate::source::{PidDir, SMALL_CAP, read_small};

/// Threads whose `stat` is tried. Threads other than the main one are reaped as soon as they
/// exit, so the first one listed is almost always alive; this only bounds a strange tree.
const THREADS_TRIED: usize = 16;

impl Reader<'_> {
    /// The facts of a live thread of `pid` whose address space is settled, when the main
    /// thread (whose `stat` said it is dead) is not the whole process.
    pub(super) fn live_thread(&mut self, dir: &dyn PidDir, pid: u32) -> Option<StatFacts> {
        let tids = dir.threads(THREADS_TRIED + 1).ok()?;
        for tid in tids.into_iter().filter(|&t| t != pid).take(THREADS_TRIED) {
            let name = format!("task/{tid}/stat");
            if read_small(dir, &name, &mut self.small, SMALL_CAP).is_err() {
                continue;
            }
            if let Ok(s) = parse::parse_stat(&self.small)
                && has_memory(&s)
            {
                return Some(StatFacts::of(&s, Some(tid)));
            }
        }
        None
    }
}
