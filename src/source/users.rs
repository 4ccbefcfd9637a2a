//! User names: the system's user database for a live source (NSS, so LDAP and systemd's
//! dynamic users are named too), and a per-run cache so each uid is looked up once.

use std::collections::HashMap;

use super::ProcSource;

/// uid → user name, through the source, once per uid.
#[derive(Debug, Default)]
pub struct UserNames(HashMap<u32, String>);

impl UserNames {
    /// The user's name, its uid in digits when it has none, `?` when the uid is unknown.
    pub fn name(&mut self, source: &dyn ProcSource, uid: Option<u32>) -> String {
        let Some(uid) = uid else {
            return "?".to_string();
        };
        self.0
            .entry(uid)
            .or_insert_with(|| source.user_name(uid).unwrap_or_else(|| uid.to_string()))
            .clone()
    }
}

/// The largest buffer getpw*_r is given: an entry larger than this is not a user.
const PW_BUF_CAP: usize = 1 << 20;

/// Looks a uid up in the system's user database.
pub(super) fn system_user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    loop {
        // SAFETY (why unsafe): getpwuid_r is the only way to ask NSS, and rustix does not wrap
        // it. Every pointer is valid for the call; `buf` outlives the use of `pwd`.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc =
            unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
        if rc == libc::ERANGE && buf.len() < PW_BUF_CAP {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: getpwuid_r succeeded, so pw_name points to a NUL-terminated string in buf.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        return Some(name.to_string_lossy().into_owned());
    }
}

/// The uid of a user given by name or number.
pub(super) fn system_uid(user: &str) -> Option<u32> {
    if let Ok(n) = user.parse::<u32>() {
        return Some(n);
    }
    let c = std::ffi::CString::new(user).ok()?;
    let mut buf = vec![0 as libc::c_char; 4096];
    loop {
        // SAFETY (why unsafe): getpwnam_r is the only way to ask NSS, and rustix does not wrap
        // it. Every pointer is valid for the call.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            libc::getpwnam_r(
                c.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < PW_BUF_CAP {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        return (rc == 0 && !result.is_null()).then_some(pwd.pw_uid);
    }
}
