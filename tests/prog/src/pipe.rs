//! Subcommands for scullpipe and the access-controlled devices: poll, SIGIO, signals
//! interrupting blocked calls, a multi-reader/multi-writer stress, controlling terminals.

use crate::sys::{self, Error, Fd, Res};
use crate::{out, usage_err};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- poll

const POLL_NAMES: &[(libc::c_short, &str)] = &[
    (libc::POLLIN, "POLLIN"),
    (libc::POLLPRI, "POLLPRI"),
    (libc::POLLOUT, "POLLOUT"),
    (libc::POLLERR, "POLLERR"),
    (libc::POLLHUP, "POLLHUP"),
    (libc::POLLNVAL, "POLLNVAL"),
    (libc::POLLRDNORM, "POLLRDNORM"),
    (libc::POLLRDBAND, "POLLRDBAND"),
    (libc::POLLWRNORM, "POLLWRNORM"),
    (libc::POLLWRBAND, "POLLWRBAND"),
];

/// `POLLIN|POLLOUT|...` in bit order, `none` for 0.
pub fn poll_names(revents: libc::c_short) -> String {
    let mut v: Vec<String> = POLL_NAMES
        .iter()
        .filter(|(b, _)| revents & b != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let known = POLL_NAMES.iter().fold(0, |a, (b, _)| a | b);
    if revents & !known != 0 {
        v.push(format!("{:#x}", revents & !known));
    }
    if v.is_empty() {
        "none".into()
    } else {
        v.join("|")
    }
}

/// One poll(2) for read and write readiness; the revents names (`none` on timeout).
pub fn poll_fd(fd: &Fd, timeout_ms: i32) -> Res<String> {
    let mut p = libc::pollfd {
        fd: fd.0,
        events: libc::POLLIN | libc::POLLRDNORM | libc::POLLOUT | libc::POLLWRNORM | libc::POLLPRI,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    if r < 0 {
        return sys::sys_err(format!("poll {} ms", timeout_ms));
    }
    Ok(poll_names(if r == 0 { 0 } else { p.revents }))
}

pub fn cmd_poll(args: &[String]) -> Res<i32> {
    crate::want_args(args, 3, 3, "poll DEV MODE TIMEOUT_MS")?;
    let fd = sys::open(&args[0], sys::parse_mode(&args[1])?)?;
    out(poll_fd(&fd, crate::int(&args[2])? as i32)?);
    Ok(0)
}

/// Reads until EAGAIN or end of file.
pub fn drain(fd: &Fd) -> Res<Vec<u8>> {
    let mut buf = vec![0u8; 65536];
    let mut got = Vec::new();
    loop {
        match sys::read_once(fd, &mut buf, None) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(Error::Sys { errno, .. }) if errno == libc::EAGAIN => return Ok(got),
            Err(e) => return Err(e),
        }
    }
}

/// Run-length form: `x*3989+y*10` (each char escaped as in `read`); empty for no bytes.
pub fn rle(b: &[u8]) -> String {
    let mut v = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let mut j = i;
        while j < b.len() && b[j] == b[i] {
            j += 1;
        }
        v.push(format!("{}*{}", crate::data::escape(&b[i..i + 1]), j - i));
        i = j;
    }
    v.join("+")
}

// ---------------------------------------------------------------- files as flags

pub fn touch(path: &str) -> Res<()> {
    std::fs::write(path, b"").map_err(|e| Error::Check(format!("touch {}: {}", path, e)))
}

/// Waits (20 s at most) until `path` exists.
pub fn wait_for_file(path: &str) -> Res<()> {
    let t0 = Instant::now();
    while std::fs::metadata(path).is_err() {
        if t0.elapsed() > Duration::from_secs(20) {
            return Err(Error::Check(format!("{} did not appear within 20 s", path)));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

// ---------------------------------------------------------------- signals

extern "C" fn on_signal(_sig: libc::c_int) {}

/// Installs a do-nothing handler for `sig` without SA_RESTART.
fn catch_no_restart(sig: libc::c_int) -> Res<()> {
    // SAFETY: a zeroed sigaction with a valid handler; on_signal is async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(sig, &sa, std::ptr::null_mut()) < 0 {
            return sys::sys_err("sigaction");
        }
    }
    Ok(())
}

pub fn cmd_alarm(args: &[String]) -> Res<i32> {
    if args.len() < 2 {
        return usage_err("usage: ldd3test alarm MS SUBCOMMAND [ARGS...]");
    }
    let ms = crate::int(&args[0])?;
    catch_no_restart(libc::SIGALRM)?;
    let it = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: ms / 1000,
            tv_usec: (ms % 1000) * 1000,
        },
    };
    // SAFETY: valid itimerval.
    if unsafe { libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut()) } < 0 {
        return sys::sys_err("setitimer");
    }
    crate::dispatch(&args[1..])
}

fn sigset(sig: libc::c_int) -> libc::sigset_t {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        libc::sigaddset(&mut s, sig);
        s
    }
}

/// Waits up to `ms` for `sig` (blocked); true if it came.
fn wait_signal(set: &libc::sigset_t, ms: u64) -> Res<bool> {
    let deadline = Instant::now() + Duration::from_millis(ms);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ts = libc::timespec {
            tv_sec: left.as_secs() as _,
            tv_nsec: left.subsec_nanos() as _,
        };
        // SAFETY: valid set and timeout.
        let r = unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &ts) };
        if r >= 0 {
            return Ok(true);
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EAGAIN) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return sys::sys_err("sigtimedwait"),
        }
    }
}

pub fn cmd_sigio(args: &[String]) -> Res<i32> {
    crate::want_args(args, 3, 4, "sigio DEV COUNT TIMEOUT_MS [READY_FILE]")?;
    let count = crate::int(&args[1])?;
    let timeout = crate::int(&args[2])? as u64;
    let set = sigset(libc::SIGIO);
    // SAFETY: block SIGIO so it stays pending for sigtimedwait.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    let fd = sys::open(
        &args[0],
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
    )?;
    // SAFETY: fcntl on our descriptor.
    unsafe {
        if libc::fcntl(fd.0, libc::F_SETOWN, libc::getpid()) < 0 {
            return sys::sys_err("fcntl F_SETOWN");
        }
        let fl = libc::fcntl(fd.0, libc::F_GETFL);
        if fl < 0 || libc::fcntl(fd.0, libc::F_SETFL, fl | libc::O_ASYNC) < 0 {
            return sys::sys_err("fcntl F_SETFL O_ASYNC");
        }
    }
    out("ready");
    if let Some(f) = args.get(3) {
        touch(f)?;
    }
    for i in 1..=count {
        if !wait_signal(&set, timeout)? {
            return Err(Error::Check(format!(
                "no SIGIO number {} within {} ms",
                i, timeout
            )));
        }
        let got = drain(&fd)?;
        out(format!("sigio {} data={}", i, crate::data::escape(&got)));
    }
    // Nothing written after: no more SIGIO.
    if wait_signal(&set, 300)? {
        out("extra sigio");
    }
    Ok(0)
}

// ---------------------------------------------------------------- controlling terminal

/// Opens a new pty pair; returns (master, slave) without making it the controlling tty.
pub(crate) fn open_pty() -> Res<(Fd, Fd, String)> {
    let m = sys::open("/dev/ptmx", libc::O_RDWR | libc::O_NOCTTY)?;
    let mut unlock: libc::c_int = 0;
    let mut n: libc::c_uint = 0;
    // SAFETY: ioctls with pointers to live ints.
    unsafe {
        if libc::ioctl(m.0, libc::TIOCSPTLCK, &mut unlock) < 0 {
            return sys::sys_err("ioctl TIOCSPTLCK");
        }
        if libc::ioctl(m.0, libc::TIOCGPTN, &mut n) < 0 {
            return sys::sys_err("ioctl TIOCGPTN");
        }
    }
    let name = format!("/dev/pts/{}", n);
    let s = sys::open(&name, libc::O_RDWR | libc::O_NOCTTY)?;
    Ok((m, s, name))
}

pub fn cmd_tty_run(args: &[String]) -> Res<i32> {
    let (tty, show, rest) = match args.first().map(|s| s.as_str()) {
        Some("--no-tty") => (false, false, &args[1..]),
        Some("--show") => (true, true, &args[1..]),
        _ => (true, false, args),
    };
    if rest.is_empty() {
        return usage_err("usage: ldd3test tty-run [--no-tty|--show] CMD [ARGS...]");
    }
    // SAFETY: fork in a single-threaded program; the child only sets up and execs.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return sys::sys_err("fork");
    }
    if pid == 0 {
        let r = (|| -> Res<()> {
            // SAFETY: plain syscalls.
            if unsafe { libc::setsid() } < 0 {
                return sys::sys_err("setsid");
            }
            if tty {
                let (m, s, name) = open_pty()?;
                // SAFETY: make the slave our controlling terminal.
                if unsafe { libc::ioctl(s.0, libc::TIOCSCTTY, 0) } < 0 {
                    return sys::sys_err(format!("ioctl TIOCSCTTY {}", name));
                }
                if show {
                    eprintln!("tty={}", name);
                }
                // Keep both ends open across exec (a closed master hangs the session up).
                std::mem::forget(m);
                std::mem::forget(s);
            }
            Ok(())
        })();
        let e = match r {
            Ok(()) => sys::exec(rest),
            Err(e) => e,
        };
        crate::report(e);
        // SAFETY: leave the child without the parent's atexit handlers.
        unsafe { libc::_exit(127) };
    }
    sys::wait_child(pid)
}

// ---------------------------------------------------------------- stress

const REC: usize = 16;
const MAGIC: u32 = 0x5c01_1e55;

fn record(writer: u32, seq: u64) -> [u8; REC] {
    let mut r = [0u8; REC];
    r[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    r[4..8].copy_from_slice(&writer.to_le_bytes());
    r[8..16].copy_from_slice(&seq.to_le_bytes());
    r
}

fn parse_record(r: &[u8]) -> Option<(u32, u64)> {
    if r.len() != REC || u32::from_le_bytes(r[0..4].try_into().ok()?) != MAGIC {
        return None;
    }
    Some((
        u32::from_le_bytes(r[4..8].try_into().ok()?),
        u64::from_le_bytes(r[8..16].try_into().ok()?),
    ))
}

/// Byte `i` of writer `w`'s stream in bytes mode.
fn stream_byte(w: u32, i: u64) -> u8 {
    ((i.wrapping_mul(31).wrapping_add(w as u64 * 97)) % 253) as u8
}

/// What a reader thread returns: per writer, the sequence numbers seen (records mode), or
/// a byte histogram and count (bytes mode).
#[allow(clippy::large_enum_variant)]
enum Seen {
    Records(HashMap<u32, Vec<u64>>),
    Bytes([u64; 256], u64),
}

pub fn cmd_pipe_stress(args: &[String]) -> Res<i32> {
    let u = "pipe-stress DEV READERS WRITERS SECONDS [records|bytes]";
    crate::want_args(args, 4, 5, u)?;
    let dev = args[0].clone();
    let nr = crate::int(&args[1])? as usize;
    let nw = crate::int(&args[2])? as u32;
    let secs = crate::int(&args[3])? as u64;
    let bytes_mode = match args.get(4).map(|s| s.as_str()) {
        None | Some("records") => false,
        Some("bytes") => true,
        Some(m) => return usage_err(format!("unknown mode {:?}", m)),
    };
    if nr == 0 || nw == 0 {
        return usage_err("READERS and WRITERS must be > 0");
    }
    // Readers open first, so that the writers' closing gives them end of file.
    let mut rfds = Vec::new();
    for _ in 0..nr {
        rfds.push(sys::open(&dev, libc::O_RDONLY | libc::O_CLOEXEC)?);
    }
    let mut wfds = Vec::new();
    for _ in 0..nw {
        wfds.push(sys::open(&dev, libc::O_WRONLY | libc::O_CLOEXEC)?);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    // Records mode: a record write or read is one critical section among writers
    // (readers), because the driver may split a write (space < record, or the wrap at
    // the end of the buffer) and a read (contiguous run), and another process's call can
    // then come in between. Bytes mode has no such lock and checks a byte histogram.
    let wlock = Arc::new(Mutex::new(()));
    let rlock = Arc::new(Mutex::new(()));
    let (tx, rx) = mpsc::channel::<Result<Seen, String>>();
    let mut writers = Vec::new();
    for (w, fd) in wfds.into_iter().enumerate() {
        let (stop, written, wlock) = (stop.clone(), written.clone(), wlock.clone());
        writers.push(std::thread::spawn(
            move || -> Result<(u64, [u64; 256]), String> {
                let w = w as u32;
                let mut hist = [0u64; 256];
                let mut seq = 0u64;
                let mut off = 0u64;
                let mut chunk = 1usize;
                while !stop.load(Ordering::Relaxed) {
                    if bytes_mode {
                        // Chunk sizes 1..=9000, so writes cross the buffer end and exceed it.
                        chunk = (chunk * 7919 + 13) % 9000 + 1;
                        let b: Vec<u8> =
                            (0..chunk as u64).map(|i| stream_byte(w, off + i)).collect();
                        let n = sys::write_once(&fd, &b, None).map_err(|e| format!("{:?}", e))?;
                        if n != b.len() {
                            return Err(format!("blocking write of {} returned {}", b.len(), n));
                        }
                        for &x in &b {
                            hist[x as usize] += 1;
                        }
                        off += n as u64;
                    } else {
                        let r = record(w, seq);
                        let _g = wlock.lock().unwrap();
                        let n = sys::write_once(&fd, &r, None).map_err(|e| format!("{:?}", e))?;
                        if n != REC {
                            return Err(format!("blocking write of {} returned {}", REC, n));
                        }
                        seq += 1;
                    }
                    written.fetch_add(1, Ordering::Relaxed);
                }
                drop(fd);
                Ok((if bytes_mode { off } else { seq }, hist))
            },
        ));
    }
    for fd in rfds {
        let (tx, rlock) = (tx.clone(), rlock.clone());
        std::thread::spawn(move || {
            let r = (|| -> Result<Seen, String> {
                let mut buf = vec![0u8; 8192];
                if bytes_mode {
                    let mut hist = [0u64; 256];
                    let mut total = 0u64;
                    let mut len = 1usize;
                    loop {
                        len = (len * 4099 + 7) % 8192 + 1;
                        let n = sys::read_once(&fd, &mut buf[..len], None)
                            .map_err(|e| format!("{:?}", e))?;
                        if n == 0 {
                            return Ok(Seen::Bytes(hist, total));
                        }
                        for &x in &buf[..n] {
                            hist[x as usize] += 1;
                        }
                        total += n as u64;
                    }
                }
                let mut seen: HashMap<u32, Vec<u64>> = HashMap::new();
                loop {
                    let _g = rlock.lock().unwrap();
                    let mut got = 0;
                    while got < REC {
                        let n = sys::read_once(&fd, &mut buf[got..REC], None)
                            .map_err(|e| format!("{:?}", e))?;
                        if n == 0 {
                            break;
                        }
                        got += n;
                    }
                    if got == 0 {
                        return Ok(Seen::Records(seen));
                    }
                    let (w, s) = parse_record(&buf[..got])
                        .ok_or_else(|| format!("bad record {}", crate::data::hex(&buf[..got])))?;
                    let v = seen.entry(w).or_default();
                    if let Some(&last) = v.last() {
                        if s <= last {
                            return Err(format!("writer {}: seq {} after {}", w, s, last));
                        }
                    }
                    v.push(s);
                }
            })();
            let _ = tx.send(r);
        });
    }
    drop(tx);
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut wres = Vec::new();
    for (w, h) in writers.into_iter().enumerate() {
        match h.join() {
            Ok(Ok(r)) => wres.push(r),
            Ok(Err(e)) => return Err(Error::Check(format!("writer {}: {}", w, e))),
            Err(_) => return Err(Error::Check(format!("writer {} panicked", w))),
        }
    }
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    for _ in 0..nr {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(s)) => seen.push(s),
            Ok(Err(e)) => return Err(Error::Check(format!("reader: {}", e))),
            Err(_) => {
                return Err(Error::Check(
                    "readers did not see end of file 20 s after the writers closed".into(),
                ))
            }
        }
    }
    if bytes_mode {
        let (mut wh, mut wt) = ([0u64; 256], 0u64);
        for (n, h) in &wres {
            wt += n;
            for i in 0..256 {
                wh[i] += h[i];
            }
        }
        let (mut rh, mut rt) = ([0u64; 256], 0u64);
        let mut per = Vec::new();
        for s in &seen {
            if let Seen::Bytes(h, t) = s {
                rt += t;
                per.push(*t);
                for i in 0..256 {
                    rh[i] += h[i];
                }
            }
        }
        if wt != rt {
            return Err(Error::Check(format!("wrote {} bytes, read {}", wt, rt)));
        }
        if wh != rh {
            let i = (0..256).find(|&i| wh[i] != rh[i]).unwrap();
            return Err(Error::Check(format!(
                "byte histograms differ: value {} written {} times, read {}",
                i, wh[i], rh[i]
            )));
        }
        out(format!(
            "ok bytes={} writes={} per-reader={:?}",
            wt,
            written.load(Ordering::Relaxed),
            per
        ));
        return Ok(0);
    }
    let mut all: HashMap<u32, Vec<u64>> = HashMap::new();
    let mut per = Vec::new();
    for s in seen {
        if let Seen::Records(m) = s {
            per.push(m.values().map(|v| v.len()).sum::<usize>());
            for (w, v) in m {
                all.entry(w).or_default().extend(v);
            }
        }
    }
    let mut total = 0;
    for (w, (n, _)) in wres.iter().enumerate() {
        let mut v = all.remove(&(w as u32)).unwrap_or_default();
        v.sort_unstable();
        let len = v.len() as u64;
        v.dedup();
        if (v.len() as u64) != len {
            return Err(Error::Check(format!(
                "writer {}: {} records duplicated",
                w,
                len - v.len() as u64
            )));
        }
        if len != *n || v.last().is_some_and(|&l| l + 1 != *n) {
            return Err(Error::Check(format!(
                "writer {}: wrote {} records, read {}",
                w, n, len
            )));
        }
        total += n;
    }
    if let Some(w) = all.keys().next() {
        return Err(Error::Check(format!("records from unknown writer {}", w)));
    }
    out(format!("ok records={} per-reader={:?}", total, per));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(poll_names(0), "none");
        assert_eq!(
            poll_names(libc::POLLIN | libc::POLLRDNORM | libc::POLLHUP),
            "POLLIN|POLLHUP|POLLRDNORM"
        );
    }

    #[test]
    fn run_length() {
        assert_eq!(rle(b""), "");
        assert_eq!(rle(b"xxxy"), "x*3+y*1");
    }

    #[test]
    fn records() {
        assert_eq!(parse_record(&record(3, 77)), Some((3, 77)));
        assert_eq!(parse_record(&[0u8; 16]), None);
        assert_eq!(parse_record(&record(3, 77)[..8]), None);
    }
}
