//! Subcommands for mappable devices (scullp): compare a mapping with read(), write through a
//! mapping, probe for SIGBUS, mapping-count checks around truncation and fork, read()/write()
//! with a buffer that is a mapping of the same device, and a fault-rate bench.

use crate::sys::{self, Error, Fd, Res};
use crate::{data, int, out, usage_err, want_args};

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// A live mapping, unmapped on drop.
struct Map {
    ptr: *mut u8,
    len: usize,
}

impl Map {
    fn new(fd: &Fd, len: usize, off: i64, write: bool, shared: bool) -> Res<Map> {
        let prot = libc::PROT_READ | if write { libc::PROT_WRITE } else { 0 };
        let flags = if shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        // SAFETY: a new mapping chosen by the kernel; no existing memory is affected.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd.0, off) };
        if p == libc::MAP_FAILED {
            return sys::sys_err(format!("mmap {} bytes at offset {}", len, off));
        }
        Ok(Map { ptr: p.cast(), len })
    }

    /// Unmaps `off .. off + len` of the mapping (page aligned).
    fn unmap_part(&self, off: usize, len: usize) -> Res<()> {
        // SAFETY: inside our mapping; no Rust reference to it is alive.
        if unsafe { libc::munmap(self.ptr.add(off).cast(), len) } != 0 {
            return sys::sys_err(format!("munmap {} bytes at +{}", len, off));
        }
        Ok(())
    }

    /// The byte at `i`, read once (volatile: every call touches the memory).
    fn get(&self, i: usize) -> u8 {
        assert!(i < self.len);
        // SAFETY: `i` is inside the mapping.
        unsafe { self.ptr.add(i).read_volatile() }
    }

    fn set(&self, i: usize, v: u8) {
        assert!(i < self.len);
        // SAFETY: `i` is inside the (writable) mapping.
        unsafe { self.ptr.add(i).write_volatile(v) }
    }

    /// Copies `len` bytes from `off` out of the mapping.
    fn copy_out(&self, off: usize, len: usize) -> Vec<u8> {
        (off..off + len).map(|i| self.get(i)).collect()
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: our mapping (parts already unmapped are simply skipped by munmap).
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

fn round_up(n: usize) -> usize {
    let p = page_size();
    n.div_ceil(p) * p
}

fn check_eq(what: &str, off: usize, want: &[u8], got: &[u8]) -> Res<()> {
    if want.len() != got.len() {
        return Err(Error::Check(format!(
            "{}: {} bytes expected, got {}",
            what,
            want.len(),
            got.len()
        )));
    }
    if let Some(i) = (0..want.len()).find(|&i| want[i] != got[i]) {
        return Err(Error::Check(format!(
            "{}: first difference at offset {}: expected {:#04x}, got {:#04x}",
            what,
            off + i,
            want[i],
            got[i]
        )));
    }
    Ok(())
}

/// mapcmp DEV [OFFSET [LEN]]
pub fn cmd_mapcmp(args: &[String]) -> Res<i32> {
    want_args(args, 1, 3, "mapcmp DEV [OFFSET [LEN]]")?;
    let off = args.get(1).map(|s| int(s)).transpose()?.unwrap_or(0);
    let fd = sys::open(&args[0], libc::O_RDONLY | libc::O_CLOEXEC)?;
    let size = sys::lseek(&fd, 0, libc::SEEK_END)?;
    let avail = (size - off).max(0) as usize;
    let len = match args.get(2) {
        Some(s) => int(s)? as usize,
        None => avail,
    };
    if len == 0 || len > avail {
        return usage_err(format!(
            "nothing to compare: LEN {} with {} bytes after OFFSET",
            len, avail
        ));
    }
    let map = Map::new(&fd, round_up(len), off, false, true)?;
    let want = sys::read_full(&fd, len, Some(off))?;
    check_eq(
        "mapping vs read()",
        off as usize,
        &want,
        &map.copy_out(0, len),
    )?;
    out(format!("ok {}", len));
    Ok(0)
}

/// mapwrite DEV OFFSET DATA
pub fn cmd_mapwrite(args: &[String]) -> Res<i32> {
    want_args(args, 3, 3, "mapwrite DEV OFFSET DATA")?;
    let off = int(&args[1])? as usize;
    let bytes = data::parse(&args[2])?.bytes_at(off as u64);
    let page = page_size();
    let base = off / page * page;
    let fd = sys::open(&args[0], libc::O_RDWR | libc::O_CLOEXEC)?;
    {
        let map = Map::new(
            &fd,
            round_up(off - base + bytes.len()),
            base as i64,
            true,
            true,
        )?;
        for (i, b) in bytes.iter().enumerate() {
            map.set(off - base + i, *b);
        }
    }
    let got = sys::read_full(&fd, bytes.len(), Some(off as i64))?;
    check_eq("read() after writing the mapping", off, &bytes, &got)?;
    out(format!("ok {}", bytes.len()));
    Ok(0)
}

/// How a child touching a mapping ended.
fn touch_in_child(
    dev: &str,
    map_off: i64,
    map_len: usize,
    at: &[usize],
    write: bool,
) -> Res<String> {
    // SAFETY: fork in a single-threaded program; the child only makes system calls and exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return sys::sys_err("fork");
    }
    if pid == 0 {
        let code = (|| -> Res<i32> {
            let fd = sys::open(dev, libc::O_RDWR | libc::O_CLOEXEC)?;
            let map = Map::new(&fd, map_len, map_off, write, true)?;
            // A driver that answers with "no page" and maps nothing makes the access retry
            // forever: SIGALRM ends that.
            // SAFETY: plain system call.
            unsafe { libc::alarm(10) };
            let mut last = 0;
            for &i in at {
                if write {
                    map.set(i, 0x5a);
                } else {
                    last = map.get(i) as i32;
                }
            }
            Ok(last)
        })();
        // SAFETY: leave the child without running the parent's destructors or atexit.
        unsafe { libc::_exit(code.map(|b| b & 0xff).unwrap_or(255)) };
    }
    let mut status = 0;
    // SAFETY: valid out-parameter.
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return sys::sys_err("waitpid");
    }
    Ok(if libc::WIFSIGNALED(status) {
        match libc::WTERMSIG(status) {
            libc::SIGBUS => "sigbus".into(),
            libc::SIGSEGV => "sigsegv".into(),
            libc::SIGALRM => "timeout".into(),
            s => format!("signal {}", s),
        }
    } else if libc::WEXITSTATUS(status) == 255 {
        "error".into()
    } else if write {
        "ok".into()
    } else {
        format!("ok {}", libc::WEXITSTATUS(status))
    })
}

/// mapprobe DEV MAPOFF MAPLEN AT[,AT...] [read|write]
pub fn cmd_mapprobe(args: &[String]) -> Res<i32> {
    want_args(
        args,
        4,
        5,
        "mapprobe DEV MAPOFF MAPLEN AT[,AT...] [read|write]",
    )?;
    let write = match args.get(4).map(|s| s.as_str()) {
        None | Some("read") => false,
        Some("write") => true,
        Some(m) => return usage_err(format!("unknown access {:?}", m)),
    };
    let at = args[3]
        .split(',')
        .map(|a| int(a).map(|v| v as usize))
        .collect::<Res<Vec<usize>>>()?;
    let r = touch_in_child(
        &args[0],
        int(&args[1])?,
        int(&args[2])? as usize,
        &at,
        write,
    )?;
    out(r);
    Ok(0)
}

/// The outcome of an O_WRONLY open (which truncates a scullp device unless it is mapped).
fn try_truncate(dev: &str) -> String {
    match sys::open(dev, libc::O_WRONLY | libc::O_CLOEXEC) {
        Ok(_) => "opened".into(),
        Err(Error::Sys { errno, .. }) => format!("errno={}", crate::errno::name(errno)),
        Err(_) => "error".into(),
    }
}

/// mapbusy DEV
pub fn cmd_mapbusy(args: &[String]) -> Res<i32> {
    want_args(args, 1, 1, "mapbusy DEV")?;
    let dev = &args[0];
    let page = page_size();
    let fd = sys::open(dev, libc::O_RDWR | libc::O_CLOEXEC)?;
    let size = sys::lseek(&fd, 0, libc::SEEK_END)? as usize;
    if size < 4 * page {
        return usage_err("the device needs at least 4 pages of data");
    }
    let len = 4 * page;
    let map = Map::new(&fd, len, 0, false, true)?;
    let first = map.get(0);
    out(format!("mapped {}", try_truncate(dev)));
    // Split the VMA in three (vm open for the copies), drop the middle (vm close).
    map.unmap_part(page, page)?;
    out(format!("split {}", try_truncate(dev)));

    // A child inherits the two VMAs (vm open for each).
    let (mut go, mut done) = ([0; 2], [0; 2]);
    // SAFETY: valid out-parameters.
    if unsafe { libc::pipe(go.as_mut_ptr()) } != 0 || unsafe { libc::pipe(done.as_mut_ptr()) } != 0
    {
        return sys::sys_err("pipe");
    }
    // SAFETY: fork in a single-threaded program; the child only touches memory, makes
    // system calls and exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return sys::sys_err("fork");
    }
    if pid == 0 {
        // Read through the inherited mapping, report, wait for the parent, exit (unmaps).
        let b = map.get(0) ^ map.get(3 * page);
        let mut byte = [b];
        // SAFETY: valid buffers.
        unsafe {
            libc::write(done[1], byte.as_ptr().cast(), 1);
            libc::read(go[0], byte.as_mut_ptr().cast(), 1);
            libc::_exit(0);
        }
    }
    let mut byte = [0u8];
    // SAFETY: valid buffer.
    unsafe { libc::read(done[0], byte.as_mut_ptr().cast(), 1) };
    let want = first ^ map.get(3 * page);
    if byte[0] != want {
        return Err(Error::Check(format!(
            "child read {:#x} through the mapping, expected {:#x}",
            byte[0], want
        )));
    }
    out(format!("forked {}", try_truncate(dev)));
    drop(map);
    out(format!("parent-unmapped {}", try_truncate(dev)));
    // SAFETY: valid buffer; then reap the child.
    unsafe { libc::write(go[1], byte.as_ptr().cast(), 1) };
    let mut status = 0;
    // SAFETY: valid out-parameter.
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return sys::sys_err("waitpid");
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(Error::Check(format!(
            "child ended with status {:#x}",
            status
        )));
    }
    out(format!("child-exited {}", try_truncate(dev)));
    Ok(0)
}

/// mapself DEV
pub fn cmd_mapself(args: &[String]) -> Res<i32> {
    want_args(args, 1, 1, "mapself DEV")?;
    let page = page_size();
    let fd = sys::open(&args[0], libc::O_RDWR | libc::O_CLOEXEC)?;
    let size = sys::lseek(&fd, 0, libc::SEEK_END)? as usize;
    let half = size / 2 / page * page;
    if half == 0 {
        return usage_err("the device needs at least 2 pages of data");
    }
    let orig = sys::read_full(&fd, 2 * half, Some(0))?;

    // read(): first half of the device into the second half, through a fresh mapping, so
    // the copy to user space faults on pages of the device being read.
    {
        let map = Map::new(&fd, 2 * half, 0, true, true)?;
        // SAFETY: the destination is inside our writable mapping.
        let n = unsafe { libc::pread(fd.0, map.ptr.add(half).cast(), half, 0) };
        if n < 0 {
            return sys::sys_err("pread into a mapping of the same device");
        }
        if n as usize != half {
            return Err(Error::Check(format!("pread returned {} of {}", n, half)));
        }
    }
    let got = sys::read_full(&fd, 2 * half, Some(0))?;
    check_eq("first half after read()", 0, &orig[..half], &got[..half])?;
    check_eq(
        "second half after read()",
        half,
        &orig[..half],
        &got[half..],
    )?;

    // write(): the original second half back, from a file copy through a mapping: first
    // put it in the first half, then write() the first half of a fresh mapping to the
    // second half (the copy from user space faults on pages of the device being written).
    sys::write_full(&fd, &orig[half..], Some(0))?;
    {
        let map = Map::new(&fd, 2 * half, 0, false, true)?;
        // SAFETY: the source is inside our mapping.
        let n = unsafe { libc::pwrite(fd.0, map.ptr.cast(), half, half as i64) };
        if n < 0 {
            return sys::sys_err("pwrite from a mapping of the same device");
        }
        if n as usize != half {
            return Err(Error::Check(format!("pwrite returned {} of {}", n, half)));
        }
    }
    let got = sys::read_full(&fd, 2 * half, Some(0))?;
    check_eq(
        "second half after write()",
        half,
        &orig[half..],
        &got[half..],
    )?;
    out(format!("ok {}", half));
    Ok(0)
}

/// mapprivate DEV: a private writable mapping reads the device, and writes to it stay
/// private (copy on write).
pub fn cmd_mapprivate(args: &[String]) -> Res<i32> {
    want_args(args, 1, 1, "mapprivate DEV")?;
    let page = page_size();
    let fd = sys::open(&args[0], libc::O_RDWR | libc::O_CLOEXEC)?;
    let orig = sys::read_full(&fd, page, Some(0))?;
    if orig.len() != page {
        return usage_err("the device needs at least 1 page of data");
    }
    let map = Map::new(&fd, page, 0, true, false)?;
    check_eq(
        "private mapping vs read()",
        0,
        &orig,
        &map.copy_out(0, page),
    )?;
    for (i, &byte) in orig.iter().enumerate().take(page) {
        map.set(i, !byte);
    }
    let got = sys::read_full(&fd, page, Some(0))?;
    check_eq("device after writing a private mapping", 0, &orig, &got)?;
    let inv: Vec<u8> = orig.iter().map(|b| !b).collect();
    check_eq(
        "private mapping after writing it",
        0,
        &inv,
        &map.copy_out(0, page),
    )?;
    out("ok");
    Ok(0)
}

/// mapbench PATH LEN [--write] [--passes N]
pub fn cmd_mapbench(args: &[String]) -> Res<i32> {
    want_args(args, 2, 5, "mapbench PATH LEN [--write] [--passes N]")?;
    let len = round_up(int(&args[1])? as usize);
    let mut write = false;
    let mut passes = 1u64;
    let mut rest = args[2..].iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--write" => write = true,
            "--passes" => {
                let n = match rest.next() {
                    Some(n) => int(n)?,
                    None => return usage_err("--passes needs a count"),
                };
                if n < 1 {
                    return usage_err("--passes must be at least 1");
                }
                passes = n as u64;
            }
            a => return usage_err(format!("unknown option {:?}", a)),
        }
    }
    let page = page_size();
    let fd = sys::open(&args[0], libc::O_RDWR | libc::O_CLOEXEC)?;
    let mut ns = 0;
    let mut sum = 0u32;
    // Each pass maps afresh, so every page faults again; only the touching is timed.
    for _ in 0..passes {
        let map = Map::new(&fd, len, 0, write, true)?;
        let t0 = sys::monotonic_ns();
        for i in (0..len).step_by(page) {
            if write {
                map.set(i, i as u8);
            } else {
                sum = sum.wrapping_add(map.get(i) as u32);
            }
        }
        ns += sys::monotonic_ns() - t0;
    }
    let ns = ns.max(1);
    let pages = (len / page) as u128 * passes as u128;
    out(format!(
        "pages={} ns={} pages_per_s={} sum={}",
        pages,
        ns,
        pages * 1_000_000_000 / ns,
        sum
    ));
    Ok(0)
}
