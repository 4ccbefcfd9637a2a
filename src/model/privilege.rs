//! Who pmaps runs as, as far as reading other processes' maps goes, and what that means for
//! a process it was denied: the advice says what is missing (root, a capability, the
//! initial user namespace) instead of telling root to run as root.

/// The reader's privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Privilege {
    /// Effective uid 0.
    pub root: bool,
    /// CAP_SYS_PTRACE in the effective set (what reading another user's maps needs).
    pub ptrace: bool,
    /// Runs in the initial user namespace (capabilities of an inner one do not reach the
    /// host's processes).
    pub initial_namespace: bool,
}

impl Privilege {
    /// Why a process was denied (`errno` of the failed read), said so that it names what is
    /// missing.
    pub fn denied_reason(self, errno: i32) -> &'static str {
        if errno == libc::EPERM {
            "the proc mount restricts access to other users' processes (hidepid)"
        } else if !self.root && !self.ptrace {
            "run as root"
        } else if !self.ptrace {
            "pmaps lacks CAP_SYS_PTRACE (a container that drops it?): grant it that capability"
        } else if !self.initial_namespace {
            "pmaps runs in a user namespace (a container?): its capabilities do not reach \
             processes outside it"
        } else {
            "refused even with CAP_SYS_PTRACE: the process holds capabilities pmaps lacks, or \
             a security module refuses"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_never_told_to_run_as_root() {
        let user = Privilege::default();
        assert_eq!(user.denied_reason(libc::EACCES), "run as root");
        for p in [
            Privilege { root: true, ..user },
            Privilege {
                root: true,
                ptrace: true,
                ..user
            },
            Privilege {
                root: true,
                ptrace: true,
                initial_namespace: true,
            },
        ] {
            assert!(
                !p.denied_reason(libc::EACCES).contains("run as root"),
                "{p:?}"
            );
        }
        assert!(user.denied_reason(libc::EPERM).contains("hidepid"));
    }
}
