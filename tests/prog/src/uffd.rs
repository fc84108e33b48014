//! `stall-copy`: a read or write whose user buffer faults in only when the test says so
//! (userfaultfd), to show that a driver holds none of its locks while it copies.

use crate::sys::{self, Error, Fd, Res};
use crate::{int, out, usage_err, want_args};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const STALL_COPY_USAGE: &str = "stall-copy DEV read|write LEN GO_FILE\n\
\tread(2) into (or write(2) from) a LEN-byte buffer whose pages userfaultfd holds back: prints\n\
\t`stalled` once the driver's copy waits on the first page, then, once GO_FILE exists, supplies\n\
\tthe pages (bytes 'u' for a write) and prints `ret=N` and, for a read, `data=TEXT` (the bytes\n\
\tread, up to 64). The device is opened O_RDONLY for a read, O_RDWR for a write.";

const UFFD_API: u64 = 0xaa;
const UFFDIO_API: u32 = 0xc018_aa3f;
const UFFDIO_REGISTER: u32 = 0xc020_aa00;
const UFFDIO_COPY: u32 = 0xc028_aa03;
const UFFDIO_REGISTER_MODE_MISSING: u64 = 1;
const UFFD_EVENT_PAGEFAULT: u8 = 0x12;

#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioRegister {
    start: u64,
    len: u64,
    mode: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioCopy {
    dst: u64,
    src: u64,
    len: u64,
    mode: u64,
    copy: i64,
}

/// `struct uffd_msg`, for a page fault: event, then the fault's flags and address.
#[repr(C)]
#[derive(Default)]
struct UffdMsg {
    event: u8,
    _reserved: [u8; 7],
    flags: u64,
    address: u64,
    _rest: u64,
}

fn uffd_ioctl<T>(fd: &Fd, cmd: u32, arg: &mut T, what: &str) -> Res<()> {
    sys::ioctl(fd, cmd, arg as *mut T as libc::c_ulong)
        .map(|_| ())
        .map_err(|e| match e {
            Error::Sys { errno, .. } => Error::Sys {
                what: what.into(),
                errno,
            },
            e => e,
        })
}

/// Waits up to `ms` for the next fault on `uffd`: its page address, or `None` on timeout.
fn next_fault(uffd: &Fd, ms: i32) -> Res<Option<u64>> {
    let mut pfd = libc::pollfd {
        fd: uffd.0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, ms) };
    if r < 0 {
        return sys::sys_err("poll userfaultfd");
    }
    if r == 0 {
        return Ok(None);
    }
    let mut msg = UffdMsg::default();
    let size = std::mem::size_of::<UffdMsg>();
    // SAFETY: `msg` is a writable buffer of `size` bytes.
    let n = unsafe { libc::read(uffd.0, &mut msg as *mut UffdMsg as *mut libc::c_void, size) };
    if n < 0 {
        if std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN) {
            return Ok(None);
        }
        return sys::sys_err("read userfaultfd");
    }
    if n as usize != size || msg.event != UFFD_EVENT_PAGEFAULT {
        return Err(Error::Check(format!(
            "unexpected userfaultfd event {:#x}",
            msg.event
        )));
    }
    let _ = msg.flags;
    Ok(Some(msg.address & !4095))
}

pub fn cmd_stall_copy(args: &[String]) -> Res<i32> {
    want_args(args, 4, 4, STALL_COPY_USAGE)?;
    let (dev, write, go) = (&args[0], args[1] == "write", &args[3]);
    if !write && args[1] != "read" {
        return usage_err(format!("read or write, not {:?}", args[1]));
    }
    let len = int(&args[2])?;
    if !(1..=1 << 24).contains(&len) {
        return usage_err("LEN must be 1..=16 MiB");
    }
    let len = len as usize;
    let fd = sys::open(dev, if write { libc::O_RDWR } else { libc::O_RDONLY })?;
    let map_len = (len + 4095) & !4095;

    // SAFETY: plain userfaultfd(2) call.
    let raw = unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC | libc::O_NONBLOCK) };
    if raw < 0 {
        return sys::sys_err("userfaultfd");
    }
    let uffd = Fd(raw as libc::c_int);
    let mut api = UffdioApi {
        api: UFFD_API,
        features: 0,
        ioctls: 0,
    };
    uffd_ioctl(&uffd, UFFDIO_API, &mut api, "UFFDIO_API")?;
    // SAFETY: a fresh anonymous mapping.
    let buf = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            map_len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if buf == libc::MAP_FAILED {
        return sys::sys_err("mmap");
    }
    let mut reg = UffdioRegister {
        start: buf as u64,
        len: map_len as u64,
        mode: UFFDIO_REGISTER_MODE_MISSING,
        ioctls: 0,
    };
    uffd_ioctl(&uffd, UFFDIO_REGISTER, &mut reg, "UFFDIO_REGISTER")?;

    // The copy runs in a thread of its own; this one serves the faults.
    let done = Arc::new(AtomicBool::new(false));
    let (addr, raw_fd, done2) = (buf as usize, fd.0, done.clone());
    let copier = std::thread::spawn(move || {
        // SAFETY: `addr` is a mapping of at least `len` bytes that outlives the thread.
        let r = unsafe {
            if write {
                libc::write(raw_fd, addr as *const libc::c_void, len)
            } else {
                libc::read(raw_fd, addr as *mut libc::c_void, len)
            }
        };
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        done2.store(true, Ordering::SeqCst);
        (r, errno)
    });

    let page = vec![b'u'; 4096];
    let mut first = next_fault(&uffd, 10_000)?;
    if first.is_none() {
        return Err(Error::Check(
            "the copy did not fault on its buffer within 10 s".into(),
        ));
    }
    out("stalled");
    let start = Instant::now();
    while !std::path::Path::new(go).exists() {
        if start.elapsed() > Duration::from_secs(120) {
            return Err(Error::Check(format!("{} did not appear within 120 s", go)));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Supply every page the copy faults on until it returns.
    while !done.load(Ordering::SeqCst) {
        let fault = match first.take() {
            Some(a) => Some(a),
            None => next_fault(&uffd, 50)?,
        };
        if let Some(dst) = fault {
            let mut copy = UffdioCopy {
                dst,
                src: page.as_ptr() as u64,
                len: 4096,
                mode: 0,
                copy: 0,
            };
            // EEXIST: the page was supplied already (a retried fault).
            match uffd_ioctl(&uffd, UFFDIO_COPY, &mut copy, "UFFDIO_COPY") {
                Err(Error::Sys { errno, .. }) if errno == libc::EEXIST => {}
                r => r?,
            }
        }
    }
    let (r, errno) = copier
        .join()
        .map_err(|_| Error::Check("copier panicked".into()))?;
    if r < 0 {
        return Err(Error::Sys {
            what: format!("{} {}", args[1], dev),
            errno,
        });
    }
    out(format!("ret={}", r));
    if !write {
        // SAFETY: the first `r` bytes of the mapping were written by the read.
        let data = unsafe { std::slice::from_raw_parts(buf as *const u8, (r as usize).min(64)) };
        out(format!("data={}", String::from_utf8_lossy(data)));
    }
    Ok(0)
}
