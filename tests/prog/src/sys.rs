//! Thin wrappers over the system calls, each turning -1 into an `Error::Sys`.

use std::ffi::CString;

#[derive(Debug)]
pub enum Error {
    /// A system call failed: what was being done, and errno.
    Sys { what: String, errno: i32 },
    /// Bad command line.
    Usage(String),
    /// A check on data or values failed.
    Check(String),
}
pub type Res<T> = Result<T, Error>;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub fn sys_err<T>(what: impl Into<String>) -> Res<T> {
    Err(Error::Sys {
        what: what.into(),
        errno: errno(),
    })
}

pub fn cstr(s: &str) -> Res<CString> {
    CString::new(s).map_err(|_| Error::Usage(format!("NUL byte in {:?}", s)))
}

/// Open mode: `rdonly`, `wronly` or `rdwr`, optionally followed by `,nonblock`,
/// `,append`, `,trunc`, `,creat` (e.g. `rdwr,nonblock`).
pub fn parse_mode(s: &str) -> Res<libc::c_int> {
    let mut parts = s.split(',');
    let mut flags = match parts.next().unwrap_or("").to_ascii_lowercase().as_str() {
        "rdonly" | "r" | "ro" => libc::O_RDONLY,
        "wronly" | "w" | "wo" => libc::O_WRONLY,
        "rdwr" | "rw" => libc::O_RDWR,
        m => {
            return Err(Error::Usage(format!(
                "unknown open mode {:?} (rdonly, wronly, rdwr)",
                m
            )))
        }
    };
    for p in parts {
        flags |= match p.to_ascii_lowercase().as_str() {
            "nonblock" => libc::O_NONBLOCK,
            "append" => libc::O_APPEND,
            "trunc" => libc::O_TRUNC,
            "creat" => libc::O_CREAT,
            f => return Err(Error::Usage(format!("unknown open flag {:?}", f))),
        };
    }
    Ok(flags | libc::O_CLOEXEC)
}

pub struct Fd(pub libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

pub fn open(path: &str, flags: libc::c_int) -> Res<Fd> {
    let c = cstr(path)?;
    // SAFETY: valid NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), flags, 0o644 as libc::c_uint) };
    if fd < 0 {
        return sys_err(format!("open {}", path));
    }
    Ok(Fd(fd))
}

pub fn close(fd: Fd) -> Res<()> {
    let raw = fd.0;
    std::mem::forget(fd);
    // SAFETY: we owned the descriptor and give it up here.
    if unsafe { libc::close(raw) } < 0 {
        return sys_err("close");
    }
    Ok(())
}

pub fn lseek(fd: &Fd, off: i64, whence: libc::c_int) -> Res<i64> {
    // SAFETY: plain syscall on an owned fd.
    let r = unsafe { libc::lseek(fd.0, off, whence) };
    if r < 0 {
        return sys_err(format!("lseek {} {}", off, whence_name(whence)));
    }
    Ok(r)
}

pub fn parse_whence(s: &str) -> Res<libc::c_int> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "SET" | "SEEK_SET" => libc::SEEK_SET,
        "CUR" | "SEEK_CUR" => libc::SEEK_CUR,
        "END" | "SEEK_END" => libc::SEEK_END,
        "DATA" | "SEEK_DATA" => libc::SEEK_DATA,
        "HOLE" | "SEEK_HOLE" => libc::SEEK_HOLE,
        w => match w.parse() {
            Ok(n) => n,
            Err(_) => {
                return Err(Error::Usage(format!(
                    "unknown whence {:?} (SET, CUR, END)",
                    w
                )))
            }
        },
    })
}

fn whence_name(w: libc::c_int) -> String {
    match w {
        libc::SEEK_SET => "SET".into(),
        libc::SEEK_CUR => "CUR".into(),
        libc::SEEK_END => "END".into(),
        n => n.to_string(),
    }
}

/// One read(2) or pread(2) (`off` = Some) call.
pub fn read_once(fd: &Fd, buf: &mut [u8], off: Option<i64>) -> Res<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    let r = unsafe {
        match off {
            Some(o) => libc::pread(fd.0, buf.as_mut_ptr().cast(), buf.len(), o),
            None => libc::read(fd.0, buf.as_mut_ptr().cast(), buf.len()),
        }
    };
    if r < 0 {
        return sys_err(match off {
            Some(o) => format!("pread {} bytes at {}", buf.len(), o),
            None => format!("read {} bytes", buf.len()),
        });
    }
    Ok(r as usize)
}

/// One write(2) or pwrite(2) (`off` = Some) call.
pub fn write_once(fd: &Fd, buf: &[u8], off: Option<i64>) -> Res<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    let r = unsafe {
        match off {
            Some(o) => libc::pwrite(fd.0, buf.as_ptr().cast(), buf.len(), o),
            None => libc::write(fd.0, buf.as_ptr().cast(), buf.len()),
        }
    };
    if r < 0 {
        return sys_err(match off {
            Some(o) => format!("pwrite {} bytes at {}", buf.len(), o),
            None => format!("write {} bytes", buf.len()),
        });
    }
    Ok(r as usize)
}

/// Read until `len` bytes or end of file; with `off`, positioned reads from there.
pub fn read_full(fd: &Fd, len: usize, off: Option<i64>) -> Res<Vec<u8>> {
    let mut out = vec![0u8; len];
    let mut got = 0;
    while got < len {
        let n = read_once(fd, &mut out[got..], off.map(|o| o + got as i64))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    out.truncate(got);
    Ok(out)
}

/// Write all of `buf` (loops over short writes; stops if a write returns 0).
pub fn write_full(fd: &Fd, buf: &[u8], off: Option<i64>) -> Res<usize> {
    let mut done = 0;
    while done < buf.len() {
        let n = write_once(fd, &buf[done..], off.map(|o| o + done as i64))?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// The result of an ioctl: return value.
pub fn ioctl(fd: &Fd, cmd: u32, arg: libc::c_ulong) -> Res<libc::c_int> {
    // SAFETY: the kernel validates `arg`; a bad pointer gives EFAULT, which is what
    // the tests want to see. Our own memory passed here is a live c_int.
    let r = unsafe { libc::ioctl(fd.0, cmd as _, arg) };
    if r < 0 {
        return sys_err(format!("ioctl {:#x}", cmd));
    }
    Ok(r)
}

/// Address of a fresh PROT_NONE page: any access through it faults (EFAULT).
pub fn bad_pointer() -> Res<usize> {
    // SAFETY: anonymous mapping, never dereferenced by us.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return sys_err("mmap PROT_NONE");
    }
    Ok(p as usize)
}

pub fn monotonic_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-parameter.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

/// execvp; returns only on failure.
pub fn exec(args: &[String]) -> Error {
    let cargs: Vec<CString> = match args.iter().map(|a| cstr(a)).collect() {
        Ok(v) => v,
        Err(e) => return e,
    };
    let mut ptrs: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: NULL-terminated argv of valid C strings that outlive the call.
    unsafe { libc::execvp(ptrs[0], ptrs.as_ptr()) };
    Error::Sys {
        what: format!("exec {}", args[0]),
        errno: errno(),
    }
}

/// Waits for child `pid` (retrying on EINTR); its exit status, or 128 + the signal.
pub fn wait_child(pid: libc::pid_t) -> Res<i32> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-parameter.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return sys_err("waitpid");
        }
    }
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    })
}
