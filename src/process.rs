//! Whether another process is still running, for records that name the process that wrote
//! them (an unfinished create's marker). Never signals anything: signal 0 only asks.

/// Whether process `pid` exists. Where that cannot be asked (not unix), `true`: a caller then
/// treats the record as in use, which never destroys anything.
pub fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: kill with signal 0 performs only the existence and permission checks.
        let answer = unsafe { libc::kill(pid, 0) };
        answer == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(super::alive(std::process::id()));
        #[cfg(unix)]
        {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            assert!(!super::alive(pid));
        }
    }
}
