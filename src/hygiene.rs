//! Process hygiene at start-up, as ssh-agent does: no core dumps and no ptrace by other
//! processes of the same user, so a crash or a curious process never copies a secret out of
//! this process's memory onto disk.
//!
//! On Linux: `prctl(PR_SET_DUMPABLE, 0)` (which also makes `/proc/<pid>/` root-owned and
//! refuses same-user ptrace) and `RLIMIT_CORE = 0`; on other unixes only the rlimit. Failures
//! are ignored: hygiene must never stop a `get`. Never prints anything.

/// Applies the settings to the current process. Call first thing in `main`.
pub fn harden_process() {
    #[cfg(unix)]
    {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads the struct we pass and touches nothing else.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &none);
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: PR_SET_DUMPABLE takes one integer argument; the rest are ignored.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn the_process_is_not_dumpable_and_has_no_core_limit() {
        super::harden_process();
        // SAFETY: plain queries.
        let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
        assert_eq!(dumpable, 0);
        let mut limit = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        // SAFETY: getrlimit writes into the struct we own.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) }, 0);
        assert_eq!((limit.rlim_cur, limit.rlim_max), (0, 0));
    }
}
