//! ldd3test: a static helper for the guest tests, doing what a busybox shell cannot
//! (ioctls, lseek, positioned I/O, precise errno reporting, dropping privileges).
//!
//! Conventions, so shell tests can assert exact values:
//! - results go to stdout, one line each, in the formats given in `usage`;
//! - a failing system call prints `ldd3test: WHAT: DESCRIPTION` and then a line
//!   `errno=NAME` (e.g. `errno=EINVAL`) to stderr, and exits 1;
//! - a failed data check prints its reason to stderr and exits 1;
//! - a bad command line exits 2.
//!
//! To add a subcommand: write `fn cmd_x(args: &[String]) -> Res<i32>` and add it to
//! `COMMANDS`.

mod bench;
mod data;
mod errno;
mod fault;
mod fuzz;
mod fuzznet;
mod ioctl;
mod mmap;
mod net;
mod pipe;
mod sys;
mod uffd;

use std::io::Write;
use sys::{Error, Fd, Res};

type CmdFn = fn(&[String]) -> Res<i32>;

/// (name, usage, function)
const COMMANDS: &[(&str, &str, CmdFn)] = &[
    (
        "ioctl",
        "ioctl [--bad-pointer] DEV CMD [ARG]\n\
         \tCMD: a symbolic name (RESET, GQUANTUM, SCULL_IOCXQSET, P_IOCQSIZE, ...) or a\n\
         \tnumber (0x6b00). Commands with a direction (_IOW/_IOR/_IOWR) pass a pointer\n\
         \tto an int holding ARG; others pass ARG itself (default 0). Prints `ret=N`,\n\
         \tplus ` val=N` (the int after the call) for _IOR and _IOWR commands.\n\
         \t--bad-pointer passes the address of a PROT_NONE page instead.\n\
         \tThe device is opened O_RDONLY (no truncation).",
        cmd_ioctl,
    ),
    (
        "seek",
        "seek DEV OFFSET WHENCE\n\
         \topen O_RDONLY, one lseek (WHENCE: SET, CUR, END), print the new position",
        cmd_seek,
    ),
    ("size", "size DEV\n\topen O_RDONLY, print lseek(0, SEEK_END)", cmd_size),
    (
        "open-mode",
        "open-mode DEV MODE\n\
         \topen with MODE (rdonly, wronly, rdwr, plus ,nonblock ,append ,trunc) and close;\n\
         \tprints `opened`",
        cmd_open_mode,
    ),
    (
        "pwrite",
        "pwrite DEV OFFSET DATA\n\
         \topen O_RDWR (no truncation), ONE pwrite(2) of DATA at OFFSET, print the count\n\
         \tDATA: TEXT | text:TEXT | pattern:N | zero:N | fill:BYTE:N | hex:HEX\n\
         \t(pattern: byte at absolute offset o is o % 251)",
        cmd_pwrite,
    ),
    (
        "torn",
        "torn read|write DEV OFFSET GOOD LEN\n\
         \tONE pread(2)/pwrite(2) of LEN bytes at OFFSET with a buffer of which only the\n\
         \tfirst GOOD bytes are mapped (a write's are fill:w), the page after them not;\n\
         \tprints `ret=N` (a read adds ` data=ESCAPED`, its first N bytes) or errno=NAME",
        cmd_torn,
    ),
    (
        "pread",
        "pread [--once] [--hex|--count] DEV OFFSET LEN\n\
         \topen O_RDONLY, pread LEN bytes at OFFSET (looping until LEN or end of file\n\
         \tunless --once); write the raw bytes to stdout, or their hex (--hex), or\n\
         \tjust the number of bytes read (--count)",
        cmd_pread,
    ),
    (
        "check",
        "check DEV OFFSET LEN DATA\n\
         \tpread LEN bytes at OFFSET (looping) and compare with DATA (see pwrite; a\n\
         \tpattern is checked at its absolute offsets); prints `ok LEN`, else the first\n\
         \tmismatch on stderr and exit 1",
        cmd_check,
    ),
    (
        "run",
        "run DEV MODE OP...\n\
         \topen DEV once with MODE and run the OPs in order, one output line each:\n\
         \t  write=DATA      write all of DATA          -> write=N\n\
         \t  write1=DATA     one write(2) call          -> write1=N\n\
         \t  read=N          read up to N (until EOF)   -> read=ESCAPED (\\xNN for non-printables)\n\
         \t  readhex=N       the same, in hex           -> readhex=HEX\n\
         \t  check=N,DATA    read N bytes, compare      -> check=ok\n\
         \t  seek=OFF,WHENCE lseek                      -> seek=POS\n\
         \t  pos             lseek(0, CUR)              -> pos=N\n\
         \t  size            lseek(0, END), then back   -> size=N\n\
         \t  ioctl=CMD[,ARG] as the ioctl command       -> ioctl ret=N [val=N]\n\
         \t  sleep=SECONDS\n\
         \t  read1=N         one read(2) call           -> read1=ESCAPED\n\
         \t  drain           read until EAGAIN or EOF   -> drain=RLE (runs CHAR*N joined by +)\n\
         \t  poll=MS         one poll(2) (see poll)     -> poll=POLLIN|POLLOUT|...\n\
         \t  touch=PATH      create PATH                -> touch\n\
         \t  waitfor=PATH    wait (<= 20 s) for PATH    -> waitfor\n\
         \tStops at the first failure (errno=NAME on stderr, exit 1), except for an OP\n\
         \twritten try:OP, whose failure prints `OPNAME errno=NAME` on stdout and goes on.",
        cmd_run,
    ),
    (
        "hold-open",
        "hold-open DEV SECONDS [MODE]\n\
         \topen DEV (default rdonly), print `opened`, sleep, close",
        cmd_hold_open,
    ),
    (
        "as-user",
        "as-user UID CMD [ARGS...]\n\
         \tsetgroups([]), setgid(UID), setuid(UID), then exec CMD (searched in PATH)",
        cmd_as_user,
    ),
    (
        "time",
        "time CMD [ARGS...]\n\
         \trun CMD and wait; print `elapsed_ns N` (CLOCK_MONOTONIC); exit with CMD's status",
        cmd_time,
    ),
    (
        "errno",
        "errno NAME|NUMBER\n\tprint the number of an errno name, or the name of a number",
        cmd_errno,
    ),
    (
        "poll",
        "poll DEV MODE TIMEOUT_MS\n\
         \topen DEV with MODE, one poll(2) for POLLIN|POLLRDNORM|POLLOUT|POLLWRNORM|POLLPRI;\n\
         \tprints the revents names in bit order (POLLIN|POLLOUT|POLLHUP|POLLRDNORM|...),\n\
         \t`none` on timeout (the run op poll=MS does the same on an open file)",
        pipe::cmd_poll,
    ),
    (
        "alarm",
        "alarm MS SUBCOMMAND [ARGS...]\n\
         \tcatch SIGALRM with a do-nothing handler WITHOUT SA_RESTART, arm a timer for MS,\n\
         \tthen run the ldd3test SUBCOMMAND in this process: a call blocked when the timer\n\
         \tfires fails with errno=EINTR (or returns a partial count)",
        pipe::cmd_alarm,
    ),
    (
        "sigio",
        "sigio DEV COUNT TIMEOUT_MS [READY_FILE]\n\
         \topen DEV O_RDONLY|O_NONBLOCK, F_SETOWN getpid + O_ASYNC, print `ready` (and create\n\
         \tREADY_FILE); then COUNT times: wait for SIGIO (error after TIMEOUT_MS), read all\n\
         \tthere is, print `sigio I data=ESCAPED`. Finally prints `extra sigio` if one more\n\
         \tSIGIO comes within 300 ms.",
        pipe::cmd_sigio,
    ),
    (
        "tty-run",
        "tty-run [--no-tty|--show] CMD [ARGS...]\n\
         \tfork; the child calls setsid() and, unless --no-tty, opens a new pty (/dev/ptmx,\n\
         \tTIOCSPTLCK, TIOCGPTN, /dev/pts/N) and makes it its controlling terminal\n\
         \t(TIOCSCTTY); then execs CMD (stdio unchanged). --show prints `tty=/dev/pts/N`\n\
         \ton stderr. Exits with CMD's status.",
        pipe::cmd_tty_run,
    ),
    (
        "pipe-stress",
        "pipe-stress DEV READERS WRITERS SECONDS [records|bytes]\n\
         \topen READERS files O_RDONLY, then WRITERS O_WRONLY, one thread each; writers\n\
         \twrite for SECONDS then close, readers read to end of file.\n\
         \trecords (default): 16-byte records (magic, writer, seq); a record write/read is\n\
         \tserialized among writers/readers (the driver may split calls); checks each reader\n\
         \tsees increasing seqs per writer and all readers together every record once.\n\
         \tbytes: no serialization, writes of 1..9000 bytes, reads of 1..8192; checks the\n\
         \tbyte count and the histogram of byte values. Prints `ok ...`.",
        pipe::cmd_pipe_stress,
    ),
    (
        "mapcmp",
        "mapcmp DEV [OFFSET [LEN]]\n\
         \tmap LEN bytes (default: to the end) of DEV from OFFSET (page aligned), shared\n\
         \tread-only, and compare every byte with pread(2); prints `ok LEN`",
        mmap::cmd_mapcmp,
    ),
    (
        "mapwrite",
        "mapwrite DEV OFFSET DATA\n\
         \tmap DEV shared read-write around OFFSET, store DATA (see pwrite) through the\n\
         \tmapping, unmap, and compare with pread(2); prints `ok N`",
        mmap::cmd_mapwrite,
    ),
    (
        "mapprobe",
        "mapprobe DEV MAPOFF MAPLEN AT[,AT...] [read|write]\n\
         \tin a child: map MAPLEN bytes of DEV from MAPOFF (shared), touch the bytes AT of\n\
         \tthe mapping in order; prints `ok BYTE` (read: the last one), `ok` (write), `sigbus`,\n\
         \t`sigsegv`,\n\
         \t`timeout` (still faulting after 10 s) or `error`",
        mmap::cmd_mapprobe,
    ),
    (
        "mapbusy",
        "mapbusy DEV\n\
         \tmap 4 pages of DEV, try an O_WRONLY open (truncation); split the mapping by\n\
         \tunmapping page 1, try again; fork a child that keeps the mapping, try again; unmap\n\
         \tin the parent, try again; let the child exit, try again. One line per step:\n\
         \t`STEP opened` or `STEP errno=NAME` (STEP: mapped split forked parent-unmapped\n\
         \tchild-exited)",
        mmap::cmd_mapbusy,
    ),
    (
        "mapself",
        "mapself DEV\n\
         \tpread(2) the first half of DEV into the second half of a fresh shared mapping of\n\
         \tDEV, then pwrite(2) from a fresh mapping of DEV into DEV; checks both with\n\
         \tpread(2); prints `ok HALF`",
        mmap::cmd_mapself,
    ),
    (
        "mapprivate",
        "mapprivate DEV\n\
         \tmap the first page of DEV private and writable: it reads as the device, and\n\
         \twrites to it do not reach the device; prints `ok`",
        mmap::cmd_mapprivate,
    ),
    (
        "mapbench",
        "mapbench PATH LEN [--write] [--passes N]\n\
         \tmap LEN bytes of PATH shared and touch (read, or write) one byte of every page,\n\
         \tN times (1), each time in a new mapping; prints `pages=N ns=T pages_per_s=R sum=S`\n\
         \t(T: the time spent touching, the mmap and munmap calls not counted)",
        mmap::cmd_mapbench,
    ),
    ("iobench", bench::IOBENCH_USAGE, bench::cmd_iobench),
    ("udp-flood", net::UDP_FLOOD_USAGE, net::cmd_udp_flood),
    ("csum-check", net::CSUM_CHECK_USAGE, net::cmd_csum_check),
    ("stall-copy", uffd::STALL_COPY_USAGE, uffd::cmd_stall_copy),
    ("fuzz-chr", fuzz::FUZZ_CHR_USAGE, fuzz::cmd_fuzz_chr),
    ("fuzz-net", fuzznet::USAGE, fuzznet::cmd_fuzz_net),
    ("nth", fault::NTH_USAGE, fault::cmd_nth),
    ("rmmod", fault::RMMOD_USAGE, fault::cmd_rmmod),
    ("open-loop", fault::OPEN_LOOP_USAGE, fault::cmd_open_loop),
];

/// Runs `args[0]` as a subcommand with the rest as its arguments.
fn dispatch(args: &[String]) -> Res<i32> {
    let name = args.first().map(|s| s.as_str()).unwrap_or("");
    match COMMANDS.iter().find(|(n, _, _)| *n == name) {
        Some((_, _, f)) => f(&args[1..]),
        None => usage_err(format!("unknown command {:?}", name)),
    }
}

fn usage() -> String {
    let mut s = String::from("usage: ldd3test COMMAND ARGS...\n\n");
    for (_, u, _) in COMMANDS {
        s.push_str(u);
        s.push_str("\n\n");
    }
    s
}

fn usage_err<T>(msg: impl Into<String>) -> Res<T> {
    Err(Error::Usage(msg.into()))
}

fn want_args(args: &[String], min: usize, max: usize, u: &str) -> Res<()> {
    if args.len() < min || args.len() > max {
        return usage_err(format!(
            "usage: ldd3test {}",
            u.lines().next().unwrap_or("")
        ));
    }
    Ok(())
}

fn int(s: &str) -> Res<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16)
    } else {
        body.parse::<i64>()
    };
    match v {
        Ok(v) => Ok(if neg { -v } else { v }),
        Err(_) => usage_err(format!("not a number: {:?}", s)),
    }
}

fn out(line: impl AsRef<str>) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{}", line.as_ref());
    let _ = o.flush();
}

// ---------------------------------------------------------------- ioctl

/// Run one ioctl and format the result as `ret=N[ val=N]`.
fn do_ioctl(fd: &Fd, cmd_s: &str, arg_s: Option<&str>, bad_pointer: bool) -> Res<String> {
    let cmd = match ioctl::lookup(cmd_s) {
        Some(c) => c,
        None => return usage_err(format!("unknown ioctl command {:?}", cmd_s)),
    };
    let dir = ioctl::dir(cmd);
    if dir == ioctl::IOC_NONE {
        let arg = match arg_s {
            Some(a) => int(a)?,
            None => 0,
        };
        let r = sys::ioctl(fd, cmd, arg as libc::c_ulong)
            .map_err(|e| rename(e, format!("ioctl {} ({:#x}) arg {}", cmd_s, cmd, arg)))?;
        return Ok(format!("ret={}", r));
    }
    let mut val: libc::c_int = match arg_s {
        Some(a) => {
            let v = int(a)?;
            if v < i32::MIN as i64 || v > u32::MAX as i64 {
                return usage_err(format!("{} does not fit in an int", a));
            }
            v as libc::c_int
        }
        None if dir & ioctl::IOC_WRITE != 0 && !bad_pointer => {
            return usage_err(format!("{} passes an int to the driver: give ARG", cmd_s))
        }
        None => -12345, // marks "not written by the driver"
    };
    let ptr = if bad_pointer {
        sys::bad_pointer()?
    } else {
        &mut val as *mut libc::c_int as usize
    };
    let r = sys::ioctl(fd, cmd, ptr as libc::c_ulong)
        .map_err(|e| rename(e, format!("ioctl {} ({:#x}) *arg {}", cmd_s, cmd, val)))?;
    if dir & ioctl::IOC_READ != 0 {
        Ok(format!("ret={} val={}", r, val))
    } else {
        Ok(format!("ret={}", r))
    }
}

fn rename(e: Error, what: String) -> Error {
    match e {
        Error::Sys { errno, .. } => Error::Sys { what, errno },
        e => e,
    }
}

fn cmd_ioctl(args: &[String]) -> Res<i32> {
    let u = COMMANDS[0].1;
    let (bad, rest) = match args.first().map(|s| s.as_str()) {
        Some("--bad-pointer") => (true, &args[1..]),
        _ => (false, args),
    };
    want_args(rest, 2, 3, u)?;
    let fd = sys::open(&rest[0], libc::O_RDONLY | libc::O_CLOEXEC)?;
    out(do_ioctl(
        &fd,
        &rest[1],
        rest.get(2).map(|s| s.as_str()),
        bad,
    )?);
    Ok(0)
}

// ---------------------------------------------------------------- files

fn cmd_seek(args: &[String]) -> Res<i32> {
    want_args(args, 3, 3, "seek DEV OFFSET WHENCE")?;
    let off = int(&args[1])?;
    let wh = sys::parse_whence(&args[2])?;
    let fd = sys::open(&args[0], libc::O_RDONLY | libc::O_CLOEXEC)?;
    out(sys::lseek(&fd, off, wh)?.to_string());
    Ok(0)
}

fn cmd_size(args: &[String]) -> Res<i32> {
    want_args(args, 1, 1, "size DEV")?;
    let fd = sys::open(&args[0], libc::O_RDONLY | libc::O_CLOEXEC)?;
    out(sys::lseek(&fd, 0, libc::SEEK_END)?.to_string());
    Ok(0)
}

fn cmd_open_mode(args: &[String]) -> Res<i32> {
    want_args(args, 2, 2, "open-mode DEV MODE")?;
    let fd = sys::open(&args[0], sys::parse_mode(&args[1])?)?;
    sys::close(fd)?;
    out("opened");
    Ok(0)
}

fn cmd_pwrite(args: &[String]) -> Res<i32> {
    want_args(args, 3, 3, "pwrite DEV OFFSET DATA")?;
    let off = int(&args[1])?;
    let spec = data::parse(&args[2])?;
    let fd = sys::open(&args[0], libc::O_RDWR | libc::O_CLOEXEC)?;
    let n = sys::write_once(&fd, &spec.bytes_at(off as u64), Some(off))?;
    out(n.to_string());
    Ok(0)
}

fn cmd_torn(args: &[String]) -> Res<i32> {
    want_args(args, 5, 5, "torn read|write DEV OFFSET GOOD LEN")?;
    let write = match args[0].as_str() {
        "read" => false,
        "write" => true,
        w => return usage_err(format!("torn: read or write, not {:?}", w)),
    };
    let off = int(&args[2])?;
    let good = int(&args[3])? as usize;
    let len = int(&args[4])? as usize;
    const PAGE: usize = 4096;
    let mapped = good.div_ceil(PAGE) * PAGE;
    // SAFETY: a new anonymous mapping of `mapped + PAGE` bytes, nothing else involved.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            mapped + PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return sys::sys_err("mmap");
    }
    // SAFETY: the last page of our mapping.
    if unsafe { libc::mprotect(base.cast::<u8>().add(mapped).cast(), PAGE, libc::PROT_NONE) } != 0 {
        return sys::sys_err("mprotect");
    }
    // The buffer starts GOOD bytes before the PROT_NONE page.
    // SAFETY: `mapped - good` is inside the mapping.
    let buf = unsafe { base.cast::<u8>().add(mapped - good) };
    // SAFETY: the GOOD bytes at `buf` are ours, readable and writable.
    unsafe { std::ptr::write_bytes(buf, if write { b'w' } else { 0 }, good) };
    // O_RDWR for a write: O_WRONLY would truncate a scull device.
    let mode = if write { libc::O_RDWR } else { libc::O_RDONLY };
    let fd = sys::open(&args[1], mode | libc::O_CLOEXEC)?;
    // SAFETY: `buf` with `len` bytes is a user pointer the kernel checks; only GOOD are ours.
    let r = unsafe {
        if write {
            libc::pwrite(fd.0, buf.cast(), len, off)
        } else {
            libc::pread(fd.0, buf.cast(), len, off)
        }
    };
    let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    if r < 0 {
        out(format!("errno={}", errno::name(e)));
    } else if write {
        out(format!("ret={}", r));
    } else {
        // SAFETY: the kernel wrote `r <= good` bytes at `buf`.
        let got = unsafe { std::slice::from_raw_parts(buf, r as usize) };
        out(format!("ret={} data={}", r, data::escape(got)));
    }
    Ok(0)
}

fn cmd_pread(args: &[String]) -> Res<i32> {
    let (mut once, mut mode) = (false, "raw");
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "--once" => once = true,
            "--hex" => mode = "hex",
            "--count" => mode = "count",
            _ => break,
        }
        i += 1;
    }
    let args = &args[i..];
    want_args(args, 3, 3, "pread [--once] [--hex|--count] DEV OFFSET LEN")?;
    let off = int(&args[1])?;
    let len = int(&args[2])? as usize;
    let fd = sys::open(&args[0], libc::O_RDONLY | libc::O_CLOEXEC)?;
    let buf = if once {
        let mut b = vec![0u8; len];
        let n = sys::read_once(&fd, &mut b, Some(off))?;
        b.truncate(n);
        b
    } else {
        sys::read_full(&fd, len, Some(off))?
    };
    match mode {
        "hex" => out(data::hex(&buf)),
        "count" => out(buf.len().to_string()),
        _ => {
            let mut o = std::io::stdout().lock();
            if o.write_all(&buf).and_then(|_| o.flush()).is_err() {
                return Err(Error::Check("writing to stdout failed".into()));
            }
        }
    }
    Ok(0)
}

fn cmd_check(args: &[String]) -> Res<i32> {
    want_args(args, 4, 4, "check DEV OFFSET LEN DATA")?;
    let off = int(&args[1])?;
    let len = int(&args[2])? as usize;
    let spec = data::parse(&args[3])?;
    if spec.len() != len {
        return usage_err(format!("LEN {} but DATA has {} bytes", len, spec.len()));
    }
    let fd = sys::open(&args[0], libc::O_RDONLY | libc::O_CLOEXEC)?;
    let got = sys::read_full(&fd, len, Some(off))?;
    data::compare(&spec, off as u64, &got)?;
    out(format!("ok {}", len));
    Ok(0)
}

fn split2(s: &str) -> (&str, Option<&str>) {
    match s.split_once(',') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}

fn run_op(fd: &Fd, op: &str) -> Res<String> {
    let (name, val) = match op.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (op, None),
    };
    let need = || val.ok_or_else(|| Error::Usage(format!("op {:?} needs a value", name)));
    let pos = |fd: &Fd| sys::lseek(fd, 0, libc::SEEK_CUR);
    Ok(match name {
        "write" | "write1" => {
            let spec = data::parse(need()?)?;
            let bytes = match spec {
                data::Spec::Pattern(_) => spec.bytes_at(pos(fd)? as u64),
                _ => spec.bytes_at(0),
            };
            let n = if name == "write" {
                sys::write_full(fd, &bytes, None)?
            } else {
                sys::write_once(fd, &bytes, None)?
            };
            format!("{}={}", name, n)
        }
        "read" | "readhex" => {
            let b = sys::read_full(fd, int(need()?)? as usize, None)?;
            let s = if name == "read" {
                data::escape(&b)
            } else {
                data::hex(&b)
            };
            format!("{}={}", name, s)
        }
        "check" => {
            let (n, d) = split2(need()?);
            let d = d.ok_or_else(|| Error::Usage("check=N,DATA".into()))?;
            let spec = data::parse(d)?;
            let n = int(n)? as usize;
            if spec.len() != n {
                return usage_err(format!("check: N {} but DATA has {} bytes", n, spec.len()));
            }
            let at = pos(fd)? as u64;
            let got = sys::read_full(fd, n, None)?;
            data::compare(&spec, at, &got)?;
            "check=ok".to_string()
        }
        "seek" => {
            let (o, w) = split2(need()?);
            let w = sys::parse_whence(w.unwrap_or("SET"))?;
            format!("seek={}", sys::lseek(fd, int(o)?, w)?)
        }
        "pos" => format!("pos={}", pos(fd)?),
        "size" => {
            let here = pos(fd)?;
            let end = sys::lseek(fd, 0, libc::SEEK_END)?;
            sys::lseek(fd, here, libc::SEEK_SET)?;
            format!("size={}", end)
        }
        "ioctl" => {
            let (c, a) = split2(need()?);
            format!("ioctl {}", do_ioctl(fd, c, a, false)?)
        }
        "sleep" => {
            let s: f64 = need()?
                .parse()
                .map_err(|_| Error::Usage("sleep=SECONDS".into()))?;
            std::thread::sleep(std::time::Duration::from_secs_f64(s));
            "sleep".to_string()
        }
        "read1" => {
            let mut b = vec![0u8; int(need()?)? as usize];
            let n = sys::read_once(fd, &mut b, None)?;
            format!("read1={}", data::escape(&b[..n]))
        }
        "drain" => format!("drain={}", pipe::rle(&pipe::drain(fd)?)),
        "poll" => format!("poll={}", pipe::poll_fd(fd, int(need()?)? as i32)?),
        "touch" => {
            pipe::touch(need()?)?;
            "touch".to_string()
        }
        "waitfor" => {
            pipe::wait_for_file(need()?)?;
            "waitfor".to_string()
        }
        _ => return usage_err(format!("unknown op {:?}", op)),
    })
}

fn cmd_run(args: &[String]) -> Res<i32> {
    if args.len() < 2 {
        return usage_err("usage: ldd3test run DEV MODE OP...");
    }
    let fd = sys::open(&args[0], sys::parse_mode(&args[1])?)?;
    for op in &args[2..] {
        match op.strip_prefix("try:") {
            Some(op) => match run_op(&fd, op) {
                Ok(line) => out(line),
                Err(Error::Sys { errno, .. }) => {
                    let name = op.split('=').next().unwrap_or(op);
                    out(format!("{} errno={}", name, errno::name(errno)));
                }
                Err(e) => return Err(e),
            },
            None => out(run_op(&fd, op)?),
        }
    }
    sys::close(fd)?;
    Ok(0)
}

fn cmd_hold_open(args: &[String]) -> Res<i32> {
    want_args(args, 2, 3, "hold-open DEV SECONDS [MODE]")?;
    let secs: f64 = args[1]
        .parse()
        .map_err(|_| Error::Usage("SECONDS".into()))?;
    let mode = sys::parse_mode(args.get(2).map(|s| s.as_str()).unwrap_or("rdonly"))?;
    let fd = sys::open(&args[0], mode)?;
    out("opened");
    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    sys::close(fd)?;
    Ok(0)
}

// ---------------------------------------------------------------- processes

fn cmd_as_user(args: &[String]) -> Res<i32> {
    if args.len() < 2 {
        return usage_err("usage: ldd3test as-user UID CMD [ARGS...]");
    }
    let id = int(&args[0])? as libc::uid_t;
    // SAFETY: plain syscalls; setgroups with an empty list.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) < 0 {
            return sys::sys_err("setgroups []");
        }
        if libc::setgid(id) < 0 {
            return sys::sys_err(format!("setgid {}", id));
        }
        if libc::setuid(id) < 0 {
            return sys::sys_err(format!("setuid {}", id));
        }
    }
    Err(sys::exec(&args[1..]))
}

fn cmd_time(args: &[String]) -> Res<i32> {
    if args.is_empty() {
        return usage_err("usage: ldd3test time CMD [ARGS...]");
    }
    let t0 = sys::monotonic_ns();
    // SAFETY: fork in a single-threaded program; the child only execs or exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return sys::sys_err("fork");
    }
    if pid == 0 {
        report(sys::exec(args));
        // SAFETY: leave the child without running the parent's atexit handlers.
        unsafe { libc::_exit(127) };
    }
    let status = sys::wait_child(pid)?;
    let t1 = sys::monotonic_ns();
    out(format!("elapsed_ns {}", t1 - t0));
    Ok(status)
}

fn cmd_errno(args: &[String]) -> Res<i32> {
    want_args(args, 1, 1, "errno NAME|NUMBER")?;
    match args[0].parse::<i32>() {
        Ok(n) => out(errno::name(n)),
        Err(_) => match errno::number(&args[0]) {
            Some(n) => out(n.to_string()),
            None => return usage_err(format!("unknown errno name {:?}", args[0])),
        },
    }
    Ok(0)
}

// ---------------------------------------------------------------- main

/// Print an error in the documented format; returns the exit status.
fn report(e: Error) -> i32 {
    let mut err = std::io::stderr().lock();
    match e {
        Error::Sys { what, errno } => {
            let desc = std::io::Error::from_raw_os_error(errno);
            let _ = writeln!(err, "ldd3test: {}: {}", what, desc);
            let _ = writeln!(err, "errno={}", errno::name(errno));
            1
        }
        Error::Check(m) => {
            let _ = writeln!(err, "ldd3test: {}", m);
            1
        }
        Error::Usage(m) => {
            let _ = writeln!(err, "ldd3test: {}", m);
            2
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(|s| s.as_str()) {
        None | Some("-h") | Some("--help") | Some("help") => {
            print!("{}", usage());
            if args.is_empty() {
                2
            } else {
                0
            }
        }
        Some(name) => match COMMANDS.iter().find(|(n, _, _)| *n == name) {
            Some((_, _, f)) => match f(&args[1..]) {
                Ok(c) => c,
                Err(e) => report(e),
            },
            None => {
                eprintln!("ldd3test: unknown command {:?}\n\n{}", name, usage());
                2
            }
        },
    };
    std::process::exit(code);
}
