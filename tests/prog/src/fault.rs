//! Fault injection with `/proc/<pid>/fail-nth` (Documentation/fault-injection): make the Nth
//! fault-injection point that one system call passes fail, and tell whether it was reached.
//!
//! Writing N to a task's `fail-nth` makes the Nth `should_fail()` call of that task (while in
//! task context) fail: a slab allocation (failslab) or a page allocation (fail_page_alloc),
//! as far as their debugfs filters let them count. Reading it back gives 0 once the failure
//! was injected, else what is left of the count. The tests sweep N = 1, 2, ... until one call
//! ran without reaching its Nth point: by then every allocation on the path failed once.

use crate::sys::{self, Error, Fd, Res};
use crate::{data, do_ioctl, errno, int, out, usage_err, want_args};
use std::io::{Read, Write};
use std::net::{SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

pub const NTH_USAGE: &str = "nth N OP ARGS...\n\
     \tmake the Nth fault-injection point (allocation) of ONE system call fail, through\n\
     \t/proc/thread-self/fail-nth: armed just before the call, read back and disarmed right\n\
     \tafter. Prints `injected=yes|no result=RESULT`, RESULT being `ok[ VALUE]`,\n\
     \t`errno=NAME` or `sigbus`; exits 0 whatever the call returned. OPs (setup not armed):\n\
     \t  insmod KO [PARAMS]   finit_module(2)\n\
     \t  open DEV MODE        open(2) (then close)\n\
     \t  write DEV MODE OFF DATA  lseek to OFF, one write(2) of DATA (see pwrite) -> ok COUNT\n\
     \t  read DEV LEN OUT     one read(2) of LEN bytes, stored in OUT    -> ok COUNT\n\
     \t  ioctl DEV CMD [ARG]  the ioctl (see ioctl), device open O_RDONLY -> ok ret=N ...\n\
     \t  mmap DEV LEN         mmap(2) LEN bytes shared read-write; then (not armed) every\n\
     \t                       byte compared with pread(2)                -> ok LEN\n\
     \t  fault DEV LEN        in a child: map LEN bytes (at an address with no page tables\n\
     \t                       yet), arm, read one byte of every page;\n\
     \t                       then compare every byte with pread(2)     -> ok LEN | sigbus\n\
     \t  send ADDR PORT SIZE  bind a UDP receiver on PORT, one sendto(2) of SIZE bytes to\n\
     \t                       ADDR:PORT, wait <= 2 s for it        -> ok SIZE received=yes|no\n\
     \t  tcp-send ADDR PORT SIZE  listen on PORT, connect to ADDR:PORT and accept (not\n\
     \t                       armed), one write(2) of SIZE bytes, then read them on the\n\
     \t                       accepted side for <= 5 s -> ok SIZE received=N intact=yes|no\n\
     \t`nth N --task PID send ...` arms that task's fail-nth instead (e.g. a NAPI thread),\n\
     \tand reads it back after waiting for the datagram.";

/// The `fail-nth` file of a task, open for arming and reading back.
struct FailNth {
    fd: Fd,
}

impl FailNth {
    fn open(task: Option<i64>) -> Res<Self> {
        let path = match task {
            Some(pid) => format!("/proc/{}/fail-nth", pid),
            None => "/proc/thread-self/fail-nth".to_string(),
        };
        Ok(Self {
            fd: sys::open(&path, libc::O_RDWR | libc::O_CLOEXEC)?,
        })
    }

    fn set(&self, n: u64) -> Res<()> {
        let s = n.to_string();
        sys::write_once(&self.fd, s.as_bytes(), Some(0))?;
        Ok(())
    }

    fn get(&self) -> Res<u64> {
        let mut b = [0u8; 32];
        let n = sys::read_once(&self.fd, &mut b, Some(0))?;
        let s = String::from_utf8_lossy(&b[..n]);
        s.trim()
            .parse()
            .map_err(|_| Error::Check(format!("fail-nth reads {:?}", s)))
    }

    /// Reads back whether the failure was injected (the count reached 0), then disarms.
    fn finish(&self) -> Res<bool> {
        let left = self.get()?;
        self.set(0)?;
        Ok(left == 0)
    }
}

/// The result of the armed call, as printed.
fn result<T>(r: Res<T>, ok: impl FnOnce(T) -> String) -> Res<String> {
    match r {
        Ok(v) => Ok(ok(v)),
        Err(Error::Sys { errno: e, .. }) => Ok(format!("errno={}", errno::name(e))),
        Err(e) => Err(e),
    }
}

fn report(injected: bool, result: String) {
    out(format!(
        "injected={} result={}",
        if injected { "yes" } else { "no" },
        result
    ));
}

fn finit_module(fd: &Fd, params: &str) -> Res<()> {
    let p = sys::cstr(params)?;
    // SAFETY: a valid descriptor and NUL-terminated parameter string; flags 0.
    let r = unsafe { libc::syscall(libc::SYS_finit_module, fd.0, p.as_ptr(), 0) };
    if r != 0 {
        return sys::sys_err("finit_module");
    }
    Ok(())
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// Where `fault` maps: a 1 GiB-aligned address far from everything else, so that the faults
/// also allocate page tables.
const FRESH_ADDR: usize = 0x5e00_0000_0000;

fn mmap(fd: &Fd, len: usize, write: bool) -> Res<*mut u8> {
    mmap_at(fd, len, write, None)
}

fn mmap_at(fd: &Fd, len: usize, write: bool, at: Option<usize>) -> Res<*mut u8> {
    let prot = libc::PROT_READ | if write { libc::PROT_WRITE } else { 0 };
    let (addr, flags) = match at {
        Some(a) => (
            a as *mut libc::c_void,
            libc::MAP_SHARED | libc::MAP_FIXED_NOREPLACE,
        ),
        None => (std::ptr::null_mut(), libc::MAP_SHARED),
    };
    // SAFETY: a new mapping; MAP_FIXED_NOREPLACE never replaces an existing one.
    let p = unsafe { libc::mmap(addr, len, prot, flags, fd.0, 0) };
    if p == libc::MAP_FAILED {
        return sys::sys_err(format!("mmap {} bytes", len));
    }
    Ok(p.cast())
}

/// Compares `len` bytes of a mapping at `p` with what pread(2) gives.
fn compare_map(fd: &Fd, p: *const u8, len: usize) -> Res<()> {
    let want = sys::read_full(fd, len, Some(0))?;
    if want.len() != len {
        return Err(Error::Check(format!(
            "the device holds {} bytes, mapped {}",
            want.len(),
            len
        )));
    }
    for (i, w) in want.iter().enumerate() {
        // SAFETY: `i < len`, inside the mapping; a volatile read touches the page.
        let got = unsafe { p.add(i).read_volatile() };
        if got != *w {
            return Err(Error::Check(format!(
                "mapping byte {} is {:#x}, read() gives {:#x}",
                i, got, w
            )));
        }
    }
    Ok(())
}

/// `fault DEV LEN`: the page faults of a child are armed; a SIGBUS kills only the child.
fn nth_fault(n: u64, dev: &str, len: usize) -> Res<i32> {
    let fd = sys::open(dev, libc::O_RDONLY | libc::O_CLOEXEC)?;
    // SAFETY: fork in a single-threaded program; the child runs only the code below and
    // leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return sys::sys_err("fork");
    }
    if pid == 0 {
        let code = (|| -> Res<i32> {
            let p = mmap_at(&fd, len, false, Some(FRESH_ADDR))?;
            let nth = FailNth::open(None)?;
            nth.set(n)?;
            let mut sum = 0u32;
            for off in (0..len).step_by(page_size()) {
                // SAFETY: inside the mapping; volatile, so every page is touched.
                sum = sum.wrapping_add(u32::from(unsafe { p.add(off).read_volatile() }));
            }
            let injected = nth.finish()?;
            let _ = sum;
            compare_map(&fd, p, len)?;
            report(injected, format!("ok {}", len));
            Ok(0)
        })()
        .unwrap_or_else(crate::report);
        // SAFETY: leave the child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    // Look at the child once it has ended, before reaping it: its fail-nth tells whether the
    // failure came before the SIGBUS.
    // SAFETY: a zeroed siginfo_t is a valid out-parameter.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child without reaping it.
    if unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    } < 0
    {
        return sys::sys_err("waitid");
    }
    // SAFETY: the fields of a WEXITED siginfo from waitid.
    let (code, status) = unsafe { (info.si_code, info.si_status()) };
    let left = if code == libc::CLD_KILLED || code == libc::CLD_DUMPED {
        Some(FailNth::open(Some(i64::from(pid)))?.get()?)
    } else {
        None
    };
    let status_code = sys::wait_child(pid)?;
    match left {
        Some(left) if status == libc::SIGBUS => report(left == 0, "sigbus".into()),
        Some(_) => {
            return Err(Error::Check(format!(
                "the child was killed by signal {}",
                status
            )))
        }
        None => return Ok(status_code),
    }
    Ok(0)
}

/// The `ADDR PORT SIZE` of `send` and `tcp-send`.
fn addr_port_size(args: &[String]) -> Res<(std::net::Ipv4Addr, u16, usize)> {
    want_args(args, 3, 3, NTH_USAGE)?;
    let addr = args[0]
        .parse()
        .map_err(|_| Error::Usage(format!("not an IPv4 address: {:?}", args[0])))?;
    Ok((addr, int(&args[1])? as u16, int(&args[2])? as usize))
}

/// A socket call's error, with its errno.
fn sock_err(what: &str, e: std::io::Error) -> Error {
    Error::Sys {
        what: what.into(),
        errno: e.raw_os_error().unwrap_or(0),
    }
}

/// `send ADDR PORT SIZE`: one datagram, armed on this thread or on `task`.
fn nth_send(n: u64, task: Option<i64>, args: &[String]) -> Res<i32> {
    let (addr, port, size) = addr_port_size(args)?;
    let rx = UdpSocket::bind(("0.0.0.0", port)).map_err(|e| sock_err("bind receiver", e))?;
    rx.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| sock_err("SO_RCVTIMEO", e))?;
    let tx = UdpSocket::bind("0.0.0.0:0").map_err(|e| sock_err("bind sender", e))?;
    let buf = vec![0xa5u8; size];
    let to = SocketAddrV4::new(addr, port);
    // The route and the receive side's page fragments are cached per CPU: a call on the other
    // CPU would pass through a different number of allocations, and the sweep skip points.
    pin_to_cpu0()?;
    let nth = FailNth::open(task)?;
    nth.set(n)?;
    let sent = tx.send_to(&buf, to);
    // This thread's count is read at once; another task's once it had time to receive.
    let own = if task.is_none() {
        Some(nth.finish()?)
    } else {
        None
    };
    let received = sent.is_ok() && {
        let mut r = vec![0u8; size + 1];
        matches!(rx.recv_from(&mut r), Ok((m, _)) if m == size)
    };
    let injected = match own {
        Some(i) => i,
        None => nth.finish()?,
    };
    let res = match sent {
        Ok(m) => format!("ok {} received={}", m, if received { "yes" } else { "no" }),
        Err(e) => format!("errno={}", errno::name(e.raw_os_error().unwrap_or(0))),
    };
    report(injected, res);
    Ok(0)
}

/// `tcp-send ADDR PORT SIZE`: one write(2) on a new TCP connection, armed; then whatever it
/// took is read back on the other end (TCP sends again what a device dropped) and compared.
fn nth_tcp_send(n: u64, args: &[String]) -> Res<i32> {
    let (addr, port, size) = addr_port_size(args)?;
    pin_to_cpu0()?;
    // std sets SO_REUSEADDR: the connections of earlier runs in TIME_WAIT do not hold the port.
    let listener = TcpListener::bind(("0.0.0.0", port)).map_err(|e| sock_err("bind", e))?;
    let mut tx =
        TcpStream::connect(SocketAddrV4::new(addr, port)).map_err(|e| sock_err("connect", e))?;
    let (mut rx, _) = listener.accept().map_err(|e| sock_err("accept", e))?;
    rx.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| sock_err("SO_RCVTIMEO", e))?;
    let buf: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let nth = FailNth::open(None)?;
    nth.set(n)?;
    let sent = tx.write(&buf);
    let injected = nth.finish()?;
    let res = match sent {
        Ok(m) => {
            let mut got = vec![0u8; m];
            let mut have = 0;
            while have < m {
                match rx.read(&mut got[have..]) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => have += k,
                }
            }
            let intact = got[..have] == buf[..have];
            format!(
                "ok {} received={} intact={}",
                m,
                have,
                if intact { "yes" } else { "no" }
            )
        }
        Err(e) => format!("errno={}", errno::name(e.raw_os_error().unwrap_or(0))),
    };
    report(injected, res);
    Ok(0)
}

/// Runs this thread on CPU 0 only, so that per-CPU caches look the same from call to call.
fn pin_to_cpu0() -> Res<()> {
    // SAFETY: an all-zero `cpu_set_t` is the empty set; CPU_SET stays inside it (CPU 0).
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable `cpu_set_t`.
    unsafe { libc::CPU_SET(0, &mut set) };
    // SAFETY: `set` is a valid `cpu_set_t` of the size passed; 0 is this thread.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) } != 0 {
        return sys::sys_err("sched_setaffinity to CPU 0");
    }
    Ok(())
}

pub fn cmd_nth(args: &[String]) -> Res<i32> {
    if args.len() < 2 {
        return usage_err(format!(
            "usage: ldd3test {}",
            NTH_USAGE.lines().next().unwrap_or("")
        ));
    }
    let n = int(&args[0])?;
    if n <= 0 {
        return usage_err("N must be at least 1");
    }
    let n = n as u64;
    let (task, args) = match args[1].as_str() {
        "--task" if args.len() > 3 => (Some(int(&args[2])?), &args[2..]),
        _ => (None, args),
    };
    let (op, rest) = (args[1].as_str(), &args[2..]);
    if task.is_some() && op != "send" {
        return usage_err("--task works with `send` only");
    }
    let (injected, res) = match op {
        "insmod" => {
            want_args(rest, 1, 2, NTH_USAGE)?;
            let fd = sys::open(&rest[0], libc::O_RDONLY | libc::O_CLOEXEC)?;
            let params = rest.get(1).map(|s| s.as_str()).unwrap_or("");
            let nth = FailNth::open(None)?;
            nth.set(n)?;
            let r = finit_module(&fd, params);
            (nth.finish()?, result(r, |()| "ok".into())?)
        }
        "open" => {
            want_args(rest, 2, 2, NTH_USAGE)?;
            let mode = sys::parse_mode(&rest[1])?;
            let nth = FailNth::open(None)?;
            nth.set(n)?;
            let r = sys::open(&rest[0], mode);
            let injected = nth.finish()?;
            (injected, result(r, |_fd| "ok".into())?)
        }
        "write" => {
            want_args(rest, 4, 4, NTH_USAGE)?;
            let fd = sys::open(&rest[0], sys::parse_mode(&rest[1])?)?;
            let at = int(&rest[2])?;
            if at != 0 {
                sys::lseek(&fd, at, libc::SEEK_SET)?;
            }
            let bytes = data::parse(&rest[3])?.bytes_at(at as u64);
            let nth = FailNth::open(None)?;
            nth.set(n)?;
            let r = sys::write_once(&fd, &bytes, None);
            (nth.finish()?, result(r, |c| format!("ok {}", c))?)
        }
        "read" => {
            want_args(rest, 3, 3, NTH_USAGE)?;
            let fd = sys::open(&rest[0], libc::O_RDONLY | libc::O_CLOEXEC)?;
            let mut buf = vec![0u8; int(&rest[1])? as usize];
            let nth = FailNth::open(None)?;
            nth.set(n)?;
            let r = sys::read_once(&fd, &mut buf, None);
            let injected = nth.finish()?;
            if let Ok(c) = r {
                std::fs::write(&rest[2], &buf[..c])
                    .map_err(|e| Error::Check(format!("writing {}: {}", rest[2], e)))?;
            }
            (injected, result(r, |c| format!("ok {}", c))?)
        }
        "ioctl" => {
            want_args(rest, 2, 3, NTH_USAGE)?;
            let fd = sys::open(&rest[0], libc::O_RDONLY | libc::O_CLOEXEC)?;
            let nth = FailNth::open(None)?;
            nth.set(n)?;
            let r = do_ioctl(&fd, &rest[1], rest.get(2).map(|s| s.as_str()), false);
            (nth.finish()?, result(r, |s| format!("ok {}", s))?)
        }
        "mmap" => {
            want_args(rest, 2, 2, NTH_USAGE)?;
            let fd = sys::open(&rest[0], libc::O_RDWR | libc::O_CLOEXEC)?;
            let len = int(&rest[1])? as usize;
            let nth = FailNth::open(None)?;
            nth.set(n)?;
            let r = mmap(&fd, len, true);
            let injected = nth.finish()?;
            if let Ok(p) = r {
                compare_map(&fd, p, len)?;
            }
            (injected, result(r, |_| format!("ok {}", len))?)
        }
        "fault" => {
            want_args(rest, 2, 2, NTH_USAGE)?;
            return nth_fault(n, &rest[0], int(&rest[1])? as usize);
        }
        "send" => return nth_send(n, task, rest),
        "tcp-send" => return nth_tcp_send(n, rest),
        _ => return usage_err(format!("unknown nth op {:?}", op)),
    };
    report(injected, res);
    Ok(0)
}

pub const RMMOD_USAGE: &str = "rmmod NAME\n\
     \tdelete_module(NAME, O_NONBLOCK) once; prints `removed`, else errno=NAME (EAGAIN: in\n\
     \tuse, EBUSY: another module depends on it)";

/// `rmmod NAME`: one delete_module(2), for exact errnos while files are being opened.
pub fn cmd_rmmod(args: &[String]) -> Res<i32> {
    want_args(args, 1, 1, RMMOD_USAGE)?;
    let name = sys::cstr(&args[0])?;
    // SAFETY: a NUL-terminated module name; O_NONBLOCK is the flag rmmod(8) passes.
    let r = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
    if r != 0 {
        return sys::sys_err(format!("delete_module {}", args[0]));
    }
    out("removed");
    Ok(0)
}

pub const OPEN_LOOP_USAGE: &str = "open-loop DEV SECONDS [MODE] [STOP_FILE]\n\
     \topen and close DEV (MODE, default rdonly) over and over for SECONDS, or until\n\
     \tSTOP_FILE exists; prints `opened=N` and ` ERRNO=COUNT` for each errno seen";

/// `open-loop`: a busy opener, to race with rmmod.
pub fn cmd_open_loop(args: &[String]) -> Res<i32> {
    want_args(args, 2, 4, OPEN_LOOP_USAGE)?;
    let secs: f64 = args[1]
        .parse()
        .map_err(|_| Error::Usage("SECONDS".into()))?;
    let mode = sys::parse_mode(args.get(2).map(|s| s.as_str()).unwrap_or("rdonly"))?;
    let stop = args.get(3);
    let end = std::time::Instant::now() + Duration::from_secs_f64(secs);
    let mut opened = 0u64;
    let mut errors: Vec<(i32, u64)> = Vec::new();
    let mut i = 0u64;
    while std::time::Instant::now() < end {
        if let Some(f) = stop {
            if i.is_multiple_of(16) && std::path::Path::new(f).exists() {
                break;
            }
        }
        i += 1;
        match sys::open(&args[0], mode) {
            Ok(fd) => {
                opened += 1;
                drop(fd);
            }
            Err(Error::Sys { errno: e, .. }) => match errors.iter_mut().find(|(n, _)| *n == e) {
                Some((_, c)) => *c += 1,
                None => errors.push((e, 1)),
            },
            Err(e) => return Err(e),
        }
    }
    let mut line = format!("opened={}", opened);
    for (e, c) in errors {
        line.push_str(&format!(" {}={}", errno::name(e), c));
    }
    out(line);
    Ok(0)
}
