//! `fuzz-chr`: a seeded fuzzer for the char devices (scull0-3, scullpipe0-3, scullsingle,
//! sculluid, scullwuid, scullpriv, scullp0-3).
//!
//! The parent forks `--procs` workers, each with its own seed derived from `--seed` (so the
//! operations each worker tries are the same for the same seed and worker count; their timing
//! is not). Workers with an odd number drop to uid/gid 1000; every third one gets a pty as its
//! controlling terminal (for scullpriv). Each of the first four workers owns scullN and scullpN
//! (the only one to write, truncate or map them) and keeps a model of their bytes, size and file
//! positions; everything it reads back or sees through a mapping is compared with the model.
//! The pipes are shared: every worker counts the bytes it wrote and read in a histogram of byte
//! values, and after the workers are done the parent drains the pipes and compares.
//!
//! Every system call's result is checked against what it may return: exact values where the
//! model knows them (lseek, sizes, EBADF/EINVAL/EFAULT/EFBIG/ESPIPE/ENOTTY/EPERM/EACCES...),
//! an explicit set of errnos where timing decides (EAGAIN, EINTR, EBUSY, ENOMEM...). Any errno
//! of 512 or more (ERESTARTSYS, ENOIOCTLCMD, ...) fails at once. A worker that is not done
//! within the time plus a margin is killed and fails the run (a hang).
//!
//! Shared statistics live in a `MAP_SHARED` anonymous mapping, one slot per worker.

use crate::errno;
use crate::sys::{Error, Res};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub const FUZZ_CHR_USAGE: &str = "fuzz-chr --seed S --seconds T [--procs N] [--tiny-geometry]\n\
     \tfuzz the scull, scullpipe, access and scullp devices that exist for T seconds with N\n\
     \t(default 4) worker processes, deterministically from seed S; prints `seed=S` first and\n\
     \ta summary last (ops, per-syscall counts and errnos, signals). Exits 1 with a `FAIL`\n\
     \tline (with the seed) on an errno a call may not return, a lost or changed byte, a\n\
     \tworker killed by an unexpected signal or still running T + 30 s later.\n\
     \tAs root it changes the module-wide geometry and restores it at the end (RESET ioctls,\n\
     \tthe pipe size it found). --tiny-geometry also sets quantum/qset of a few bytes.";

const PAGE: usize = 4096;
/// Blocks one read or write of scull or scullp copies at most (common::usercopy::MAX_PIECES).
const MAX_PIECES: usize = 4096;
/// scull's and scullp's default `scull_max_size` / `scullp_max_size`.
const SCULL_MAX: u64 = 64 << 20;
const SCULLP_MAX: u64 = 128 << 20;
const SRC_LEN: usize = (4 << 20) + (64 << 10);
const DST_LEN: usize = 4 << 20;
/// errnos counted per syscall; anything above is reported as a leak.
const NERR: usize = 134;
const NPIPES: usize = 4;
const MAX_FDS: usize = 10;
const MAX_MAPS: usize = 6;
/// The highest user address + 1 on x86_64 with 4-level page tables (`TASK_SIZE_MAX`).
const TASK_SIZE_MAX: usize = 0x7fff_ffff_f000;

const SYSCALLS: [&str; 22] = [
    "open",
    "close",
    "read",
    "write",
    "pread",
    "pwrite",
    "readv",
    "writev",
    "lseek",
    "ioctl",
    "fcntl",
    "poll",
    "epoll_ctl",
    "epoll_wait",
    "mmap",
    "munmap",
    "mprotect",
    "mremap",
    "map_access",
    "fork",
    "pread_into_map",
    "pwrite_from_map",
];
const NSYS: usize = SYSCALLS.len();
#[derive(Clone, Copy)]
enum Sys {
    Open,
    Close,
    Read,
    Write,
    Pread,
    Pwrite,
    Readv,
    Writev,
    Lseek,
    Ioctl,
    Fcntl,
    Poll,
    EpollCtl,
    EpollWait,
    Mmap,
    Munmap,
    Mprotect,
    Mremap,
    MapAccess,
    Fork,
    PreadMap,
    PwriteMap,
}

/// One worker's counters, in the shared mapping.
#[repr(C)]
struct Stats {
    ops: u64,
    calls: [u64; NSYS],
    errnos: [[u32; NERR]; NSYS],
    signals: [u64; 65],
    pipe_w: [[u64; 256]; NPIPES],
    pipe_r: [[u64; 256]; NPIPES],
    child_sigbus: u64,
    child_sigsegv: u64,
    short_io: u64,
    /// What the worker is doing (for a hang report), NUL-terminated.
    current: [u8; 160],
    /// Why it failed, NUL-terminated.
    failure: [u8; 1536],
}

static SIGCOUNT: [AtomicU64; 65] = [const { AtomicU64::new(0) }; 65];

extern "C" fn on_signal(sig: libc::c_int) {
    if let Some(c) = SIGCOUNT.get(sig as usize) {
        c.fetch_add(1, Relaxed);
    }
}

fn signals_total() -> u64 {
    SIGCOUNT.iter().map(|c| c.load(Relaxed)).sum()
}

fn errno_now() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

type R = Result<isize, i32>;

fn rv(r: isize) -> R {
    if r < 0 {
        Err(errno_now())
    } else {
        Ok(r)
    }
}

fn show(r: &R) -> String {
    match r {
        Ok(v) => format!("{}", v),
        Err(e) => errno::name(*e),
    }
}

fn names(set: &[i32]) -> String {
    set.iter()
        .map(|e| errno::name(*e))
        .collect::<Vec<_>>()
        .join("|")
}

/// splitmix64: small, fast, and good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    fn pick<T: Copy>(&mut self, s: &[T]) -> T {
        s[self.below(s.len() as u64) as usize]
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Scull,
    Pipe,
    Single,
    Uid,
    Wuid,
    Priv,
    Scullp,
}

struct Dev {
    path: String,
    kind: Kind,
    num: usize,
}

/// The bytes of an owned device as the worker expects them.
struct Model {
    size: u64,
    max: u64,
    pages: BTreeMap<u64, Box<[u8; PAGE]>>,
    /// Which 1 MiB (scull) / 4 MiB (scullp) regions were written since the last truncation:
    /// the largest block is that big, so this bounds the memory the device holds.
    regions: BTreeSet<u64>,
    region_shift: u32,
    region_budget: usize,
}

impl Model {
    fn new(kind: Kind) -> Model {
        let (max, shift, budget) = match kind {
            Kind::Scullp => (SCULLP_MAX, 22, 6),
            _ => (SCULL_MAX, 20, 12),
        };
        Model {
            size: 0,
            max,
            pages: BTreeMap::new(),
            regions: BTreeSet::new(),
            region_shift: shift,
            region_budget: budget,
        }
    }
    fn byte(&self, off: u64) -> u8 {
        match self.pages.get(&(off / PAGE as u64)) {
            Some(p) => p[(off % PAGE as u64) as usize],
            None => 0,
        }
    }
    fn set(&mut self, off: u64, src: &[u8]) {
        let mut i = 0;
        while i < src.len() {
            let o = off + i as u64;
            let (pg, po) = (o / PAGE as u64, (o % PAGE as u64) as usize);
            let n = (PAGE - po).min(src.len() - i);
            let page = self.pages.entry(pg).or_insert_with(|| Box::new([0; PAGE]));
            page[po..po + n].copy_from_slice(&src[i..i + n]);
            i += n;
        }
    }
    /// Records a completed write of `src` at `off`.
    fn write(&mut self, off: u64, src: &[u8]) {
        self.set(off, src);
        if !src.is_empty() {
            self.size = self.size.max(off + src.len() as u64);
        }
    }
    fn truncate(&mut self) {
        self.size = 0;
        self.pages.clear();
        self.regions.clear();
    }
    /// Would writing `[off, off + len)` go over the memory budget?
    fn over_budget(&self, off: u64, len: u64) -> bool {
        if len == 0 || off >= self.max {
            return false;
        }
        let end = (off + len).min(self.max) - 1;
        let (a, b) = (off >> self.region_shift, end >> self.region_shift);
        let new = (a..=b).filter(|r| !self.regions.contains(r)).count();
        self.regions.len() + new > self.region_budget
    }
    fn charge(&mut self, off: u64, len: u64) {
        if len == 0 || off >= self.max {
            return;
        }
        let end = (off + len).min(self.max) - 1;
        for r in (off >> self.region_shift)..=(end >> self.region_shift) {
            self.regions.insert(r);
        }
    }
}

/// An open file.
struct OFile {
    fd: i32,
    dev: usize,
    acc: i32,
    nonblock: bool,
    /// The file position, for owned devices.
    pos: u64,
    in_epoll: bool,
}

/// A live mapping of an owned scullp device.
struct Mapping {
    addr: usize,
    len: usize,
    dev: usize,
    off: u64,
    prot: i32,
    shared: bool,
    /// The file was opened read-only (shared writable mappings are refused).
    rdonly: bool,
    /// Pages of a private mapping that were written (now private copies).
    dirty: BTreeSet<usize>,
}

/// A buffer for one call: where it points and how much of it is accessible.
#[derive(Clone, Copy, Debug)]
enum BufKind {
    Good,
    Null,
    NoAccess,
    Partial(usize),
    ReadOnly,
    Kernel,
    NonCanonical,
}

#[derive(Clone, Copy)]
struct Buf {
    kind: BufKind,
    ptr: usize,
    len: usize,
    /// Bytes accessible from `ptr` for this direction.
    good: usize,
}

impl Buf {
    /// Does the VFS refuse the buffer (`access_ok`) before the driver sees it?
    fn vfs_bad(&self) -> bool {
        self.ptr
            .checked_add(self.len)
            .is_none_or(|e| e > TASK_SIZE_MAX)
    }
}

/// Settings values the fuzzer sets that are in range. Any pairing of a quantum and a qset
/// keeps scull's index of blocks small (quantum * qset >= 4000); --tiny-geometry adds tiny ones.
const QUANTA: &[i64] = &[1000, 4000, 4096, 65536, 1 << 20];
const QSETS: &[i64] = &[4, 7, 64, 1000, 65536];
const TINY_QUANTA: &[i64] = &[1, 3, 16, 100];
const TINY_QSETS: &[i64] = &[1, 2, 3];
const PIPE_SIZES: &[i64] = &[2, 3, 17, 100, 4000, 4096, 65536, 1 << 20];
const ORDERS: &[i64] = &[0, 1, 2, 3, 5, 10];
const P_QSETS: &[i64] = &[1, 2, 7, 64, 500, 65536];
/// Values outside every range.
const BAD_VALUES: &[i64] = &[
    0,
    -1,
    -4000,
    i32::MIN as i64,
    (1 << 20) + 1,
    65537,
    1 << 31,
    1 << 40,
    11,
    -(1 << 40),
];

struct Ctx {
    rng: Rng,
    id: usize,
    root: bool,
    tty: bool,
    tiny: bool,
    st: *mut Stats,
    devs: Vec<Dev>,
    models: BTreeMap<usize, Model>,
    files: Vec<OFile>,
    maps: Vec<Mapping>,
    src: Vec<u8>,
    dst: Vec<u8>,
    /// 3 pages: read-write (random bytes), PROT_NONE, read-only (zeros).
    trap: usize,
    epfd: i32,
    opno: u64,
    /// Keeps the pty (master, slave) open for the worker's life.
    _pty: Option<(crate::sys::Fd, crate::sys::Fd)>,
}

type Fr = Result<(), String>;

fn cset(buf: &mut [u8], s: &str) {
    let n = s.len().min(buf.len() - 1);
    buf[..n].copy_from_slice(&s.as_bytes()[..n]);
    buf[n] = 0;
}

fn cget(buf: &[u8]) -> String {
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn fnv(d: &[u8]) -> u64 {
    d.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

impl Ctx {
    fn st(&mut self) -> &mut Stats {
        // SAFETY: our slot of the shared mapping, used by this process only.
        unsafe { &mut *self.st }
    }

    fn is_owned(&self, dev: usize) -> bool {
        self.models.contains_key(&dev)
    }

    /// Counts a call, and fails on an errno no call may return (>= NERR, e.g. ERESTARTSYS).
    fn note(&mut self, s: Sys, r: &R) -> Fr {
        let st = self.st();
        st.ops += 1;
        st.calls[s as usize] += 1;
        if let Err(e) = *r {
            if e <= 0 || e as usize >= NERR {
                return Err(format!(
                    "{}: errno {} ({}) reached user space",
                    SYSCALLS[s as usize],
                    e,
                    errno::name(e)
                ));
            }
            st.errnos[s as usize][e as usize] += 1;
        }
        Ok(())
    }

    fn fail<T>(&self, what: String) -> Result<T, String> {
        Err(what)
    }

    fn doing(&mut self, what: impl FnOnce() -> String) {
        let s = what();
        let n = self.opno;
        cset(&mut self.st().current, &format!("op {}: {}", n, s));
    }

    /// Requires `r` to be an error in `allowed`, or a success (when `ok_allowed`).
    fn expect_err(&self, what: &str, r: &R, allowed: &[i32], ok_allowed: bool) -> Fr {
        match r {
            Ok(_) if ok_allowed => Ok(()),
            Err(e) if allowed.contains(e) => Ok(()),
            _ => self.fail(format!(
                "{}: got {}, expected {}{}",
                what,
                show(r),
                if ok_allowed { "success or " } else { "" },
                names(allowed)
            )),
        }
    }

    fn expect_exact(&self, what: &str, r: &R, want: R) -> Fr {
        if *r != want {
            return self.fail(format!(
                "{}: got {}, expected {}",
                what,
                show(r),
                show(&want)
            ));
        }
        Ok(())
    }

    // ------------------------------------------------------------ timers

    /// Arms a one-shot SIGALRM in 1..60 ms (before a call that may block).
    fn arm(&mut self) {
        let us = self.rng.range(1000, 60_000) as _;
        let it = libc::itimerval {
            it_interval: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            it_value: libc::timeval {
                tv_sec: 0,
                tv_usec: us,
            },
        };
        // SAFETY: plain syscall with a valid struct.
        unsafe { libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut()) };
    }

    fn disarm(&mut self) {
        let it = libc::itimerval {
            it_interval: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            it_value: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
        };
        // SAFETY: as in `arm`.
        unsafe { libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut()) };
    }

    // ------------------------------------------------------------ buffers

    fn size(&mut self, max: usize) -> usize {
        let s = match self.rng.below(20) {
            0 | 1 => 0,
            2 | 3 => 1,
            4..=7 => self.rng.range(2, 64) as usize,
            8 => self.rng.pick(&[3999, 4000, 4001, 4095, 4096, 4097]),
            9 => self.rng.pick(&[65535, 65536, 65537, 8000, 8192]),
            10..=15 => self.rng.range(1, 16384) as usize,
            16 | 17 => self.rng.range(1, 256 << 10) as usize,
            _ => self.rng.range(1, 4 << 20) as usize,
        };
        s.min(max)
    }

    /// A buffer of `len` bytes to read into (`read`) or write from.
    fn buf(&mut self, len: usize, read: bool) -> Buf {
        let kind = if self.rng.pct(85) {
            BufKind::Good
        } else {
            match self.rng.below(6) {
                0 => BufKind::Null,
                1 => BufKind::NoAccess,
                2 if len > 1 => {
                    BufKind::Partial(self.rng.range(1, (len - 1).min(PAGE - 1) as u64) as usize)
                }
                3 => BufKind::ReadOnly,
                4 => BufKind::Kernel,
                5 => BufKind::NonCanonical,
                _ => BufKind::Null,
            }
        };
        let (ptr, good, len) = match kind {
            BufKind::Good => {
                if read {
                    (
                        self.dst.as_mut_ptr() as usize,
                        len.min(DST_LEN),
                        len.min(DST_LEN),
                    )
                } else {
                    let o = self.rng.below(64 << 10) as usize;
                    let len = len.min(SRC_LEN - o);
                    (self.src.as_ptr() as usize + o, len, len)
                }
            }
            BufKind::Null => (0, 0, len),
            BufKind::NoAccess => (self.trap + PAGE, 0, len),
            BufKind::Partial(k) => (self.trap + PAGE - k, k, len),
            // For a write, the read-only page is a valid source of zeros (one page at most).
            BufKind::ReadOnly if read => (self.trap + 2 * PAGE, 0, len),
            BufKind::ReadOnly => (self.trap + 2 * PAGE, len.min(PAGE), len.min(PAGE)),
            BufKind::Kernel => (0xffff_8880_0000_0000, 0, len),
            BufKind::NonCanonical => (0x8000_0000_0000, 0, len),
        };
        Buf {
            kind,
            ptr,
            len,
            good,
        }
    }

    /// The readable source bytes of a write buffer.
    fn src_of(&self, b: &Buf) -> &[u8] {
        if b.good == 0 {
            return &[];
        }
        // SAFETY: `good` bytes from `ptr` are inside src or the trap pages we own and can read.
        unsafe { std::slice::from_raw_parts(b.ptr as *const u8, b.good) }
    }

    // ------------------------------------------------------------ files

    fn pick_dev(&mut self, filter: impl Fn(&Dev, bool) -> bool) -> Option<usize> {
        let c: Vec<usize> = (0..self.devs.len())
            .filter(|&i| filter(&self.devs[i], self.is_owned(i)))
            .collect();
        if c.is_empty() {
            None
        } else {
            Some(self.rng.pick(&c))
        }
    }

    fn op_open(&mut self) -> Fr {
        if self.files.len() >= MAX_FDS {
            return self.op_close();
        }
        // Owned devices (the ones with a model) get 40% of the opens.
        let own = !self.models.is_empty() && self.rng.pct(40);
        let Some(dev) = self.pick_dev(|_, owned| owned || !own) else {
            return Ok(());
        };
        let kind = self.devs[dev].kind;
        let owned = self.is_owned(dev);
        // Other workers' scull and scullp devices are only opened for reading: a write-only
        // open truncates.
        let mut acc = match self.rng.below(20) {
            0..=7 => libc::O_RDONLY,
            8..=16 => libc::O_RDWR,
            _ => libc::O_WRONLY,
        };
        if matches!(kind, Kind::Scull | Kind::Scullp) && !owned {
            acc = libc::O_RDONLY;
        }
        let mut flags = acc | libc::O_CLOEXEC;
        for (p, f) in [
            (30, libc::O_NONBLOCK),
            (15, libc::O_APPEND),
            (10, libc::O_TRUNC),
            (5, libc::O_NOCTTY),
        ] {
            if self.rng.pct(p) {
                flags |= f;
            }
        }
        let nonblock = flags & libc::O_NONBLOCK != 0;
        let path = self.devs[dev].path.clone();
        let mapped = self.maps.iter().any(|m| m.dev == dev);
        let holds = self.files.iter().any(|f| f.dev == dev);
        self.doing(|| format!("open {} flags {:#x}", path, flags));
        let may_block = kind == Kind::Wuid && !nonblock && !self.root;
        if may_block {
            self.arm();
        }
        let c = std::ffi::CString::new(path.clone()).unwrap();
        // SAFETY: a valid path.
        let r = rv(unsafe { libc::open(c.as_ptr(), flags) } as isize);
        if may_block {
            self.disarm();
        }
        self.note(Sys::Open, &r)?;
        let what = format!("open {} flags {:#x}", path, flags);
        // A truncating or pipe open waits for the device lock interruptibly: EINTR, not open.
        if r == Err(libc::EINTR) {
            return Ok(());
        }
        match kind {
            Kind::Scull => self.expect_err(&what, &r, &[], true)?,
            Kind::Scullp if owned && acc == libc::O_WRONLY && mapped => {
                self.expect_exact(&what, &r.map(|_| 0), Err(libc::EBUSY))?
            }
            Kind::Scullp => self.expect_err(&what, &r, &[], true)?,
            Kind::Pipe => self.expect_err(&what, &r, &[libc::ENOMEM], true)?,
            Kind::Single if holds => self.expect_exact(&what, &r.map(|_| 0), Err(libc::EBUSY))?,
            Kind::Single => self.expect_err(&what, &r, &[libc::EBUSY], true)?,
            Kind::Uid | Kind::Wuid if self.root => self.expect_err(&what, &r, &[], true)?,
            Kind::Uid => self.expect_err(&what, &r, &[libc::EBUSY], true)?,
            Kind::Wuid if nonblock => self.expect_err(&what, &r, &[libc::EAGAIN], true)?,
            Kind::Wuid => self.expect_err(&what, &r, &[libc::EINTR], true)?,
            Kind::Priv if !self.tty => {
                self.expect_exact(&what, &r.map(|_| 0), Err(libc::EINVAL))?
            }
            Kind::Priv => self.expect_err(&what, &r, &[libc::ENOMEM], true)?,
        }
        let Ok(fd) = r else {
            return Ok(());
        };
        if owned && acc == libc::O_WRONLY {
            self.models.get_mut(&dev).unwrap().truncate();
        }
        self.files.push(OFile {
            fd: fd as i32,
            dev,
            acc,
            nonblock,
            pos: 0,
            in_epoll: false,
        });
        Ok(())
    }

    fn op_close(&mut self) -> Fr {
        if self.files.is_empty() {
            return Ok(());
        }
        let i = self.rng.below(self.files.len() as u64) as usize;
        let f = self.files.swap_remove(i);
        self.doing(|| format!("close fd {}", f.fd));
        // SAFETY: our descriptor.
        let r = rv(unsafe { libc::close(f.fd) } as isize);
        self.note(Sys::Close, &r)?;
        self.expect_exact("close", &r, Ok(0))
    }

    fn pick_file(&mut self) -> Option<usize> {
        if self.files.is_empty() {
            None
        } else {
            Some(self.rng.below(self.files.len() as u64) as usize)
        }
    }

    /// Truncates an owned device (a write-only open) when a write would go over its memory
    /// budget; scullp mappings are removed first.
    fn make_room(&mut self, dev: usize, off: u64, len: u64) -> Fr {
        if !self.models[&dev].over_budget(off, len) {
            return Ok(());
        }
        while let Some(m) = self.maps.iter().position(|m| m.dev == dev) {
            let m = self.maps.swap_remove(m);
            // SAFETY: our mapping.
            let r = rv(unsafe { libc::munmap(m.addr as *mut _, m.len) } as isize);
            self.note(Sys::Munmap, &r)?;
            self.expect_exact("munmap (making room)", &r, Ok(0))?;
        }
        let path = self.devs[dev].path.clone();
        self.doing(|| format!("truncate {}", path));
        let c = std::ffi::CString::new(path.clone()).unwrap();
        // SAFETY: a valid path.
        let r = rv(unsafe { libc::open(c.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) } as isize);
        self.note(Sys::Open, &r)?;
        self.expect_err(&format!("open {} O_WRONLY (truncate)", path), &r, &[], true)?;
        if let Ok(fd) = r {
            // SAFETY: our descriptor.
            unsafe { libc::close(fd as i32) };
        }
        self.models.get_mut(&dev).unwrap().truncate();
        Ok(())
    }

    /// An offset for a positioned call on a device whose size is `size` and bound `max`.
    fn offset(&mut self, size: u64, max: u64, shared: bool) -> i64 {
        let q = self.rng.range(0, 64);
        match self.rng.below(24) {
            0..=5 => self.rng.below(size + 8192) as i64,
            6..=9 if shared => self.rng.below(2 << 20) as i64,
            6..=9 => self.rng.below(4 << 20) as i64,
            10 => (q * 4000) as i64 + self.rng.range(0, 2) as i64 - 1,
            11 => (q * 4096) as i64 + self.rng.range(0, 2) as i64 - 1,
            12 if shared => max as i64 + self.rng.range(0, 4) as i64,
            12 => max as i64 - self.rng.range(0, 8192) as i64,
            13 => max as i64 + self.rng.range(0, 4) as i64 - 1,
            14 => self
                .rng
                .pick(&[1 << 40, 1 << 62, i64::MAX, i64::MAX - 100, 1 << 32]),
            15 => self.rng.pick(&[-1, -4096, i64::MIN, -(1 << 40)]),
            16 => size as i64,
            _ => self.rng.below(size.max(1)) as i64,
        }
    }

    /// The result a read of `b` at `pos` (None: read(2) at f_pos) should have on `f`, given
    /// what the driver wants to move (`m`) and the bytes the buffer takes (`b.good`).
    fn io_prefix(&self, b: &Buf, pos: Option<i64>, f: &OFile, read: bool) -> Option<Vec<i32>> {
        let kind = self.devs[f.dev].kind;
        if let Some(p) = pos {
            if p < 0 {
                return Some(vec![libc::EINVAL]);
            }
            if kind == Kind::Pipe {
                return Some(vec![libc::ESPIPE]);
            }
        }
        let want_acc = if read { libc::O_WRONLY } else { libc::O_RDONLY };
        if f.acc == want_acc {
            return Some(vec![libc::EBADF]);
        }
        if b.vfs_bad() {
            return Some(vec![libc::EFAULT]);
        }
        if kind != Kind::Pipe {
            let p = pos.unwrap_or(f.pos as i64);
            if p.checked_add(b.len as i64).is_none() {
                return Some(vec![libc::EINVAL]);
            }
        }
        None
    }

    // ------------------------------------------------------------ read/write on owned devices

    /// Expected outcome of one read of `len` bytes at `p` into a buffer with `good` accessible
    /// bytes: Ok(bytes) for an exact count, or Err(errnos) with the maximum count allowed.
    fn predict_read(
        &self,
        kind: Kind,
        size: u64,
        p: u64,
        len: usize,
        good: usize,
    ) -> (usize, Vec<i32>) {
        if p >= size || len == 0 {
            return (0, vec![]);
        }
        let total = (len as u64).min(size - p) as usize;
        let _ = kind;
        if good >= total {
            (total, vec![])
        } else if good == 0 {
            (0, vec![libc::EFAULT])
        } else {
            (good, vec![libc::EFAULT])
        }
    }

    fn predict_write(
        &self,
        kind: Kind,
        max: u64,
        p: u64,
        len: usize,
        good: usize,
    ) -> (usize, Vec<i32>) {
        // scull and scullp alike check the position first, then copy straight into their
        // blocks, stopping at the first byte that cannot be read: the bytes before it are
        // stored (x86's user copies stop exactly there), those after it are untouched.
        let _ = kind;
        if len == 0 {
            return (0, vec![]);
        }
        if p >= max {
            return (0, vec![libc::EFBIG]);
        }
        let total = (len as u64).min(max - p) as usize;
        if good >= total {
            (total, vec![])
        } else if good == 0 {
            (0, vec![libc::EFAULT])
        } else {
            (good, vec![libc::EFAULT])
        }
    }

    /// Compares `got` (read at `off`) with the model.
    fn verify(&mut self, dev: usize, off: u64, got: &[u8], what: &str) -> Fr {
        let m = &self.models[&dev];
        let mut i = 0;
        while i < got.len() {
            let o = off + i as u64;
            let (pg, po) = (o / PAGE as u64, (o % PAGE as u64) as usize);
            let n = (PAGE - po).min(got.len() - i);
            let same = match m.pages.get(&pg) {
                Some(p) => p[po..po + n] == got[i..i + n],
                None => got[i..i + n].iter().all(|&b| b == 0),
            };
            if !same {
                for (j, &g) in got.iter().enumerate().skip(i).take(n) {
                    let o = off + j as u64;
                    let want = m.byte(o);
                    if g == want {
                        continue;
                    }
                    return self.fail(format!(
                        "{}: {} byte at offset {} is {:#04x}, expected {:#04x} (size {})",
                        what, self.devs[dev].path, o, g, want, m.size
                    ));
                }
            }
            i += n;
        }
        Ok(())
    }

    /// Reads `[off, off + len)` of an owned device back with a good buffer and checks it.
    fn readback(&mut self, dev: usize, off: u64, len: u64, what: &str) -> Fr {
        let got = self.read_range(dev, off, len, what)?;
        self.verify(dev, off, &got, what)
    }

    /// Reads `[off, off + len)` (clipped to the size) of an owned device with a good buffer.
    fn read_range(
        &mut self,
        dev: usize,
        off: u64,
        len: u64,
        what: &str,
    ) -> Result<Vec<u8>, String> {
        let size = self.models[&dev].size;
        if off >= size || len == 0 {
            return Ok(Vec::new());
        }
        let len = len.min(size - off).min(DST_LEN as u64) as usize;
        let path = self.devs[dev].path.clone();
        let c = std::ffi::CString::new(path.clone()).unwrap();
        // SAFETY: a valid path.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return self.fail(format!(
                "open {} to check: {}",
                path,
                errno::name(errno_now())
            ));
        }
        let mut got = vec![0u8; len];
        let mut done = 0;
        while done < len {
            // SAFETY: `got` has room for len - done bytes at done.
            let r = rv(unsafe {
                libc::pread(
                    fd,
                    got[done..].as_mut_ptr().cast(),
                    len - done,
                    (off + done as u64) as i64,
                )
            });
            match r {
                Ok(0) => break,
                Ok(n) => done += n as usize,
                Err(libc::EINTR) => continue,
                Err(e) => {
                    // SAFETY: ours.
                    unsafe { libc::close(fd) };
                    return self.fail(format!("pread to check {}: {}", path, errno::name(e)));
                }
            }
        }
        // SAFETY: ours.
        unsafe { libc::close(fd) };
        if done != len {
            return self.fail(format!(
                "{}: reading back {} bytes at {} gave {}",
                what, len, off, done
            ));
        }
        Ok(got)
    }

    /// After a failed or short write from a bad buffer: the bytes past the count must be
    /// unchanged.
    fn after_bad_write(&mut self, dev: usize, at: u64, done: usize, len: usize, what: &str) -> Fr {
        let m = &self.models[&dev];
        if at >= m.max || len <= done {
            return Ok(());
        }
        let end = (at + len as u64).min(m.max);
        let start = at + done as u64;
        let size = self.models[&dev].size;
        let len = end.min(size).saturating_sub(start).min(2 << 20);
        self.readback(
            dev,
            start,
            len,
            &format!("{} (bytes past the count must be unchanged)", what),
        )
    }

    fn op_rw(&mut self, fi: usize, write: bool, positioned: bool) -> Fr {
        let (fd, dev, acc) = (self.files[fi].fd, self.files[fi].dev, self.files[fi].acc);
        let kind = self.devs[dev].kind;
        let owned = self.is_owned(dev);
        // Writes only to owned devices, the pipes and the access devices.
        if write && matches!(kind, Kind::Scull | Kind::Scullp) && !owned {
            return Ok(());
        }
        let shared = !owned;
        let (size, max) = match self.models.get(&dev) {
            Some(m) => (m.size, m.max),
            None => (0, SCULL_MAX),
        };
        let pos = if positioned {
            Some(self.offset(size, max, shared))
        } else {
            None
        };
        let mut len = self.size(DST_LEN);
        if shared && kind != Kind::Pipe {
            len = len.min(256 << 10);
        }
        let at = pos.unwrap_or(self.files[fi].pos as i64);
        if write && owned && at >= 0 {
            self.make_room(dev, at as u64, len as u64)?;
            self.models
                .get_mut(&dev)
                .unwrap()
                .charge(at as u64, len as u64);
        }
        // Shared access devices: keep writes below 2 MiB (or past the bound).
        if write
            && shared
            && kind != Kind::Pipe
            && at >= 0
            && (at as u64) < SCULL_MAX
            && at as u64 + len as u64 > 2 << 20
        {
            return Ok(());
        }
        let mut b = self.buf(len, !write);
        // A huge count with a good buffer is only safe where the driver moves little.
        if !write && self.rng.pct(2) {
            let room = match self.models.get(&dev) {
                Some(m) => m.size.saturating_sub(at.max(0) as u64),
                None if kind == Kind::Pipe => 1 << 20,
                None => u64::MAX,
            };
            if room <= (DST_LEN as u64) {
                b.len = self
                    .rng
                    .pick(&[1usize << 40, 1 << 50, usize::MAX >> 1, usize::MAX]);
                if matches!(b.kind, BufKind::Good) {
                    b.good = DST_LEN;
                }
            }
        }
        let blocking = kind == Kind::Pipe && !self.files[fi].nonblock;
        let call = match (write, positioned) {
            (false, false) => Sys::Read,
            (true, false) => Sys::Write,
            (false, true) => Sys::Pread,
            (true, true) => Sys::Pwrite,
        };
        let path = self.devs[dev].path.clone();
        let what = format!(
            "{} {} ({}) {} bytes at {} buffer {:?}",
            SYSCALLS[call as usize],
            path,
            match acc {
                libc::O_RDONLY => "rdonly",
                libc::O_WRONLY => "wronly",
                _ => "rdwr",
            },
            b.len,
            at,
            b.kind
        );
        self.doing(|| what.clone());
        let sig0 = signals_total();
        if blocking {
            self.arm();
        }
        // SAFETY: the buffer is either ours (src, dst, trap pages: good for `good` bytes and
        // the count never lets the kernel write past them, see above) or deliberately bad.
        let r = rv(unsafe {
            match (write, pos) {
                (false, None) => libc::read(fd, b.ptr as *mut _, b.len),
                (true, None) => libc::write(fd, b.ptr as *const _, b.len),
                (false, Some(p)) => libc::pread(fd, b.ptr as *mut _, b.len, p),
                (true, Some(p)) => libc::pwrite(fd, b.ptr as *const _, b.len, p),
            }
        });
        if blocking {
            self.disarm();
        }
        let signalled = signals_total() != sig0;
        self.note(call, &r)?;
        if let Some(errs) = self.io_prefix(&b, pos, &self.files[fi], !write) {
            return self.expect_err(&what, &r, &errs, false);
        }
        match kind {
            Kind::Pipe => {
                let mut allowed = vec![libc::EAGAIN, libc::EINTR];
                if b.good < b.len {
                    allowed.push(libc::EFAULT);
                }
                if !write && b.len > 0 && b.good < b.len && !blocking {
                    // nothing more
                }
                self.expect_err(&what, &r, &allowed, true)?;
                if let Ok(n) = r {
                    let n = n as usize;
                    if n > b.len || (n > b.good && b.len > 0) {
                        return self.fail(format!(
                            "{}: returned {} with {} good bytes",
                            what, n, b.good
                        ));
                    }
                    if write && n == 0 && b.len > 0 {
                        return self.fail(format!("{}: returned 0", what));
                    }
                    let _ = signalled;
                    // SAFETY: the n bytes are in our memory (n <= good).
                    let data =
                        unsafe { std::slice::from_raw_parts(b.ptr as *const u8, n) }.to_vec();
                    let p = self.devs[dev].num;
                    let st = self.st();
                    let h = if write {
                        &mut st.pipe_w[p]
                    } else {
                        &mut st.pipe_r[p]
                    };
                    for &x in &data {
                        h[x as usize] += 1;
                    }
                }
                Ok(())
            }
            _ if !owned => {
                // EINTR: the wait for the device lock is interruptible (a timer signal).
                let allowed = [
                    libc::EFAULT,
                    libc::EFBIG,
                    libc::ENOMEM,
                    libc::ENOSPC,
                    libc::EINTR,
                ];
                self.expect_err(&what, &r, &allowed, true)?;
                if let Ok(n) = r {
                    if n as usize > b.len {
                        return self.fail(format!("{}: returned {} > count", what, n));
                    }
                    if !positioned {
                        self.files[fi].pos += n as u64;
                    }
                }
                Ok(())
            }
            _ => {
                let at = at as u64;
                let (max_n, errs) = if write {
                    self.predict_write(kind, max, at, b.len, b.good)
                } else {
                    self.predict_read(kind, size, at, b.len, b.good)
                };
                let mut allowed = errs.clone();
                // The wait for the device lock is interruptible: EINTR, nothing done.
                allowed.push(libc::EINTR);
                if write {
                    allowed.extend([libc::ENOMEM, libc::ENOSPC]);
                } else if kind == Kind::Scullp {
                    allowed.push(libc::ENOMEM);
                }
                let n = match r {
                    Err(e) if allowed.contains(&e) => {
                        if write && b.good < b.len {
                            self.after_bad_write(dev, at, 0, b.len, &what)?;
                        }
                        return Ok(());
                    }
                    Err(_) => {
                        return self.fail(format!(
                            "{}: got {}, expected {}{}",
                            what,
                            show(&r),
                            if errs.is_empty() {
                                format!("{} bytes", max_n)
                            } else {
                                String::new()
                            },
                            if allowed.is_empty() {
                                String::new()
                            } else {
                                format!(" or {}", names(&allowed))
                            }
                        ))
                    }
                    Ok(n) => n as usize,
                };
                if !errs.is_empty() && errs != [libc::EFAULT] {
                    return self.fail(format!("{}: got {}, expected {}", what, n, names(&errs)));
                }
                let exact = errs.is_empty();
                // A pending signal ends a read of scull or scullp at the end of a block
                // (signals come from the worker's timers and from other workers), and so does
                // the 4096th block (common::usercopy::MAX_PIECES), of 1 byte at least.
                let short_ok = if write {
                    true
                } else {
                    matches!(kind, Kind::Scull | Kind::Scullp) && (signalled || n >= MAX_PIECES)
                };
                if n > max_n || (exact && n < max_n && !short_ok) || (n == 0 && max_n > 0 && exact)
                {
                    return self.fail(format!("{}: got {} bytes, expected {}", what, n, max_n));
                }
                if exact && n < max_n {
                    self.st().short_io += 1;
                }
                if write {
                    let data = self.src_of(&b)[..n].to_vec();
                    self.models.get_mut(&dev).unwrap().write(at, &data);
                    if n < b.len && b.good < b.len {
                        self.after_bad_write(dev, at, n, b.len, &what)?;
                    }
                } else if n > 0 {
                    // SAFETY: n <= good bytes of our memory.
                    let data =
                        unsafe { std::slice::from_raw_parts(b.ptr as *const u8, n) }.to_vec();
                    self.verify(dev, at, &data, &what)?;
                }
                if !positioned {
                    self.files[fi].pos += n as u64;
                }
                Ok(())
            }
        }
    }

    /// readv/writev with 1-4 segments: good ones, or a NULL one.
    fn op_rwv(&mut self, fi: usize, write: bool) -> Fr {
        let (fd, dev, acc) = (self.files[fi].fd, self.files[fi].dev, self.files[fi].acc);
        let kind = self.devs[dev].kind;
        let owned = self.is_owned(dev);
        if write && matches!(kind, Kind::Scull | Kind::Scullp) && !owned {
            return Ok(());
        }
        if !owned && kind != Kind::Pipe {
            return Ok(());
        }
        let nseg = self.rng.range(1, 4) as usize;
        let mut iov = Vec::new();
        let mut segs = Vec::new(); // (good, len)
        for i in 0..nseg {
            let len = self.size(1 << 20);
            if self.rng.pct(8) {
                iov.push(libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: len,
                });
                segs.push((false, len));
            } else if write {
                let o = self.rng.below((SRC_LEN - len) as u64) as usize;
                iov.push(libc::iovec {
                    iov_base: self.src[o..].as_ptr() as *mut _,
                    iov_len: len,
                });
                segs.push((true, len));
            } else {
                iov.push(libc::iovec {
                    iov_base: self.dst[i << 20..].as_mut_ptr().cast(),
                    iov_len: len,
                });
                segs.push((true, len));
            }
        }
        let at = self.files[fi].pos;
        let total: usize = segs.iter().map(|s| s.1).sum();
        if write && owned {
            self.make_room(dev, at, total as u64)?;
            self.models.get_mut(&dev).unwrap().charge(at, total as u64);
        }
        let blocking = kind == Kind::Pipe && !self.files[fi].nonblock;
        let call = if write { Sys::Writev } else { Sys::Readv };
        let what = format!(
            "{} {} acc {} segments {:?} at {}",
            SYSCALLS[call as usize], self.devs[dev].path, acc, segs, at
        );
        self.doing(|| what.clone());
        let sig0 = signals_total();
        if blocking {
            self.arm();
        }
        // SAFETY: each segment is our memory of its length, or NULL (deliberately bad).
        let r = rv(unsafe {
            if write {
                libc::writev(fd, iov.as_ptr(), iov.len() as i32)
            } else {
                libc::readv(fd, iov.as_ptr(), iov.len() as i32)
            }
        });
        if blocking {
            self.disarm();
        }
        let _signalled = signals_total() != sig0;
        self.note(call, &r)?;
        let bad_acc = if write {
            libc::O_RDONLY
        } else {
            libc::O_WRONLY
        };
        if acc == bad_acc {
            return self.expect_exact(&what, &r, Err(libc::EBADF));
        }
        // The bytes the call moved, as one run, in the order of the segments.
        let moved = |n: usize| -> Vec<u8> {
            let mut v = Vec::with_capacity(n);
            for s in &iov {
                if v.len() == n {
                    break;
                }
                let k = (n - v.len()).min(s.iov_len);
                if k == 0 {
                    continue; // an empty segment, maybe NULL
                }
                // SAFETY: the first n bytes moved are in good segments (a NULL one ends it).
                v.extend_from_slice(unsafe {
                    std::slice::from_raw_parts(s.iov_base as *const u8, k)
                });
            }
            v
        };
        if kind == Kind::Pipe {
            self.expect_err(&what, &r, &[libc::EAGAIN, libc::EINTR, libc::EFAULT], true)?;
            if let Ok(n) = r {
                let good_prefix: usize = segs
                    .iter()
                    .take_while(|s| s.0 || s.1 == 0)
                    .map(|s| s.1)
                    .sum();
                if n as usize > good_prefix {
                    return self.fail(format!(
                        "{}: returned {}, only {} good bytes first",
                        what, n, good_prefix
                    ));
                }
                let data = moved(n as usize);
                let p = self.devs[dev].num;
                let st = self.st();
                let h = if write {
                    &mut st.pipe_w[p]
                } else {
                    &mut st.pipe_r[p]
                };
                for &x in &data {
                    h[x as usize] += 1;
                }
            }
            return Ok(());
        }
        // Owned device: the VFS checks the whole range, then calls the driver per segment.
        // A signal while the first segment waits for the device lock: EINTR, nothing done.
        if r == Err(libc::EINTR) && total > 0 {
            return Ok(());
        }
        if total == 0 {
            return self.expect_exact(&what, &r, Ok(0));
        }
        if (at as i64).checked_add(total as i64).is_none() {
            return self.expect_exact(&what, &r, Err(libc::EINVAL));
        }
        let m = &self.models[&dev];
        let (size, max) = (m.size, m.max);
        let mut p = at;
        let mut expect: R = Ok(0);
        let mut fail_len = 0;
        for &(good, len) in &segs {
            let g = if good { len } else { 0 };
            let (n, errs) = if write {
                self.predict_write(kind, max, p, len, g)
            } else {
                self.predict_read(kind, size, p, len, g)
            };
            if !errs.is_empty() && n == 0 {
                if expect == Ok(0) {
                    expect = Err(errs[0]);
                    fail_len = len;
                }
                break;
            }
            expect = Ok(expect.unwrap_or(0) + n as isize);
            p += n as u64;
            if n != len {
                break;
            }
        }
        let n = match (&r, &expect) {
            (Ok(n), Ok(e)) if n == e => *n as usize,
            (Ok(n), Ok(e))
                if *n < *e && *n > 0 && (write || matches!(kind, Kind::Scull | Kind::Scullp)) =>
            {
                self.st().short_io += 1;
                *n as usize
            }
            (Err(e), _) if write && [libc::ENOMEM, libc::ENOSPC].contains(e) => return Ok(()),
            (Err(libc::ENOMEM), _) if kind == Kind::Scullp => return Ok(()),
            (Err(e), Err(w)) if e == w => {
                if write {
                    self.after_bad_write(dev, at, 0, fail_len, &what)?;
                }
                return Ok(());
            }
            _ => {
                return self.fail(format!(
                    "{}: got {}, expected {}",
                    what,
                    show(&r),
                    show(&expect)
                ))
            }
        };
        let data = moved(n);
        if write {
            self.models.get_mut(&dev).unwrap().write(at, &data);
            // The NULL segment after the ones written must have left the bytes alone.
            let done_segs: usize = {
                let mut acc = 0;
                let mut k = 0;
                for s in &segs {
                    if acc >= n {
                        break;
                    }
                    acc += s.1;
                    k += 1;
                }
                k
            };
            if let Some(&(false, len)) = segs.get(done_segs) {
                self.after_bad_write(dev, at + n as u64, 0, len, &what)?;
            }
        } else {
            self.verify(dev, at, &data, &what)?;
        }
        self.files[fi].pos += n as u64;
        Ok(())
    }

    fn op_lseek(&mut self, fi: usize) -> Fr {
        let (fd, dev) = (self.files[fi].fd, self.files[fi].dev);
        let kind = self.devs[dev].kind;
        let whence = match self.rng.below(10) {
            0..=2 => libc::SEEK_SET,
            3..=5 => libc::SEEK_CUR,
            6 | 7 => libc::SEEK_END,
            8 => self.rng.pick(&[libc::SEEK_DATA, libc::SEEK_HOLE]),
            _ => self.rng.pick(&[5, 7, -1, 1000, i32::MAX]),
        };
        let size = self.models.get(&dev).map_or(0, |m| m.size);
        let off = match self.rng.below(6) {
            0 => 0,
            1 => -(self.rng.below(size + 10) as i64),
            2 => self.offset(size, SCULL_MAX, true),
            _ => self.rng.below(size + 8192) as i64,
        };
        let what = format!("lseek {} {} whence {}", self.devs[dev].path, off, whence);
        self.doing(|| what.clone());
        // SAFETY: plain syscall.
        let r = rv(unsafe { libc::lseek(fd, off, whence) } as isize);
        self.note(Sys::Lseek, &r)?;
        let w = whence as u32;
        if kind == Kind::Pipe {
            let want = if w <= 4 { libc::ESPIPE } else { libc::EINVAL };
            return self.expect_exact(&what, &r, Err(want));
        }
        // The wait for the device lock is interruptible: EINTR, the position unchanged.
        if r == Err(libc::EINTR) {
            return Ok(());
        }
        if !self.is_owned(dev) {
            if whence == libc::SEEK_SET {
                let want = if off >= 0 {
                    Ok(off as isize)
                } else {
                    Err(libc::EINVAL)
                };
                self.expect_exact(&what, &r, want)?;
            } else {
                self.expect_err(&what, &r, &[libc::EINVAL], true)?;
            }
            if let Ok(p) = r {
                self.files[fi].pos = p as u64;
            }
            return Ok(());
        }
        let cur = self.files[fi].pos as i64;
        let res = match whence {
            libc::SEEK_SET => Some(off),
            libc::SEEK_CUR => cur.checked_add(off),
            libc::SEEK_END => (size as i64).checked_add(off),
            _ => None,
        };
        let want = match res {
            Some(p) if p >= 0 => Ok(p as isize),
            _ => Err(libc::EINVAL),
        };
        self.expect_exact(&what, &r, want)?;
        if let Ok(p) = r {
            self.files[fi].pos = p as u64;
        }
        Ok(())
    }

    // ------------------------------------------------------------ ioctl

    fn op_ioctl(&mut self, fi: usize) -> Fr {
        let (fd, dev) = (self.files[fi].fd, self.files[fi].dev);
        let kind = self.devs[dev].kind;
        let scullp_fd = kind == Kind::Scullp;
        let table = if self.rng.pct(80) == scullp_fd {
            crate::ioctl::SCULLP
        } else {
            crate::ioctl::SCULL
        };
        let ours = std::ptr::eq(table, crate::ioctl::SCULLP) == scullp_fd;
        let choice = self.rng.below(10);
        let (name, cmd) = if choice < 8 {
            let (n, c) = table[self.rng.below(table.len() as u64) as usize];
            (n.to_string(), c)
        } else if choice == 8 {
            // The right magic, a number past the last or the right number with other bits.
            let magic = if self.rng.pct(50) { b'k' } else { b'K' } as u32;
            let nr = self.rng.below(256) as u32;
            let dir = self.rng.below(4) as u32;
            let size = self.rng.pick(&[0u32, 4, 8, 1]);
            let c = (dir << 30) | (size << 16) | (magic << 8) | nr;
            (format!("{:#x}", c), c)
        } else {
            // A random number, avoiding the generic ones the VFS answers itself.
            loop {
                let c = self.rng.next() as u32;
                let t = (c >> 8) & 0xff;
                if ![0x00, 0x54, 0x58, 0x66, 0x94, 0x15].contains(&t) {
                    break (format!("{:#x}", c), c);
                }
            }
        };
        let known = crate::ioctl::SCULL
            .iter()
            .chain(crate::ioctl::SCULLP.iter())
            .find(|(_, c)| *c == cmd);
        let _ = ours;
        let valid_here = known.is_some() && ((cmd >> 8) & 0xff == b'K' as u32) == scullp_fd;
        let name = known.map_or(name, |k| k.0.to_string());
        let dir = cmd >> 30;
        let op = name
            .rsplit("IOC")
            .next()
            .unwrap_or("")
            .chars()
            .next()
            .unwrap_or('?');
        let what_setting = name
            .rsplit("IOC")
            .next()
            .unwrap_or("")
            .get(1..)
            .unwrap_or("")
            .to_string();
        // The argument: a value or a pointer to an int.
        let mut val: i32 = 0;
        let (range_lo, range_hi, good_vals): (i64, i64, Vec<i64>) =
            match (scullp_fd, what_setting.as_str()) {
                (false, "QUANTUM") => (1, 1 << 20, self.quanta()),
                (false, "QSET") => (1, 1 << 16, self.qsets()),
                (false, "SIZE") => (2, 1 << 20, PIPE_SIZES.to_vec()),
                (true, "ORDER") => (0, 10, ORDERS.to_vec()),
                (true, "QSET") => (1, 1 << 16, P_QSETS.to_vec()),
                _ => (0, 0, vec![]),
            };
        let value: i64 = if !good_vals.is_empty() && self.rng.pct(60) {
            self.rng.pick(&good_vals)
        } else {
            self.rng.pick(BAD_VALUES)
        };
        let bad_ptr = dir != 0 && self.rng.pct(15);
        let ro_ptr = dir != 0 && !bad_ptr && self.rng.pct(5);
        let arg: usize = if dir != 0 {
            val = value as i32;
            if bad_ptr {
                self.rng
                    .pick(&[0usize, self.trap + PAGE, 0xffff_8880_0000_0000, 8])
            } else if ro_ptr {
                self.trap + 2 * PAGE + 64 // reads as 0
            } else {
                &mut val as *mut i32 as usize
            }
        } else {
            value as usize
        };
        // A set value changes module-wide settings: only values of the safe lists go through.
        let in_range = |v: i64| v >= range_lo && v <= range_hi;
        // What the driver reads: our int, or 0 from the read-only page.
        let value_in = if ro_ptr {
            0
        } else if dir != 0 {
            val as i64
        } else {
            value
        };
        let setter = matches!(op, 'S' | 'T' | 'X' | 'H') || name.ends_with("RESET");
        if setter
            && self.root
            && valid_here
            && in_range(value_in)
            && !good_vals.contains(&value_in)
            && !(ro_ptr || bad_ptr)
        {
            return Ok(());
        }
        if setter && self.root && ro_ptr && valid_here && !in_range(0) {
            // fine: *arg == 0 is out of range (EINVAL) for all but scullp's ORDER.
        } else if setter && self.root && ro_ptr && valid_here {
            return Ok(());
        }
        let what = format!(
            "ioctl {} {} ({:#x}) arg {:#x} (*arg {})",
            self.devs[dev].path, name, cmd, arg, val
        );
        self.doing(|| what.clone());
        // SAFETY: arg is a live int of ours, our read-only trap page, or deliberately bad.
        let r = rv(unsafe { libc::ioctl(fd, cmd as _, arg) } as isize);
        self.note(Sys::Ioctl, &r)?;
        if !valid_here {
            return self.expect_exact(&what, &r, Err(libc::ENOTTY));
        }
        let bad = bad_ptr || (ro_ptr && (op == 'G' || op == 'X'));
        let check_val = |v: i64| {
            in_range(v) && (good_vals.contains(&v) || v == 4000 || v == 1000 || v == 500 || v == 0)
        };
        let want: R = if name.ends_with("RESET") {
            if self.root {
                Ok(0)
            } else {
                Err(libc::EPERM)
            }
        } else {
            match op {
                'G' => {
                    if bad {
                        Err(libc::EFAULT)
                    } else {
                        Ok(0)
                    }
                }
                'Q' => {
                    if let Ok(v) = r {
                        if !check_val(v as i64) {
                            return self.fail(format!(
                                "{}: returned {}, not a value anybody set",
                                what, v
                            ));
                        }
                    }
                    r
                }
                _ if !self.root => Err(libc::EPERM),
                'S' => {
                    if bad_ptr {
                        Err(libc::EFAULT)
                    } else if in_range(value_in) {
                        Ok(0)
                    } else {
                        Err(libc::EINVAL)
                    }
                }
                'T' => {
                    if in_range(value) {
                        Ok(0)
                    } else {
                        Err(libc::EINVAL)
                    }
                }
                'X' => {
                    if bad_ptr {
                        Err(libc::EFAULT)
                    } else if !in_range(value_in) {
                        Err(libc::EINVAL)
                    } else if bad {
                        Err(libc::EFAULT)
                    } else {
                        Ok(0)
                    }
                }
                'H' => {
                    if !in_range(value) {
                        Err(libc::EINVAL)
                    } else {
                        if let Ok(v) = r {
                            if !check_val(v as i64) {
                                return self.fail(format!(
                                    "{}: returned old value {}, not a value anybody set",
                                    what, v
                                ));
                            }
                        }
                        r
                    }
                }
                _ => Err(libc::ENOTTY),
            }
        };
        self.expect_exact(&what, &r, want)?;
        if r.is_ok() && (op == 'G' || op == 'X') && !check_val(val as i64) {
            return self.fail(format!("{}: stored {}, not a value anybody set", what, val));
        }
        Ok(())
    }

    fn quanta(&self) -> Vec<i64> {
        let mut v = QUANTA.to_vec();
        if self.tiny {
            v.extend_from_slice(TINY_QUANTA);
        }
        v
    }

    fn qsets(&self) -> Vec<i64> {
        let mut v = QSETS.to_vec();
        if self.tiny {
            v.extend_from_slice(TINY_QSETS);
        }
        v
    }

    // ------------------------------------------------------------ fcntl, poll, epoll

    fn op_fcntl(&mut self, fi: usize) -> Fr {
        let (fd, dev) = (self.files[fi].fd, self.files[fi].dev);
        let kind = self.devs[dev].kind;
        let mut fl = 0;
        for (p, f) in [
            (40, libc::O_NONBLOCK),
            (20, libc::O_APPEND),
            (40, libc::O_ASYNC),
            (5, libc::O_DIRECT),
        ] {
            if self.rng.pct(p) {
                fl |= f;
            }
        }
        let what = format!("fcntl {} F_SETFL {:#x}", self.devs[dev].path, fl);
        self.doing(|| what.clone());
        // SAFETY: plain syscalls.
        unsafe { libc::fcntl(fd, libc::F_SETOWN, libc::getpid()) };
        // SAFETY: plain syscall.
        let r = rv(unsafe { libc::fcntl(fd, libc::F_SETFL, fl) } as isize);
        self.note(Sys::Fcntl, &r)?;
        if fl & libc::O_DIRECT != 0 {
            return self.expect_exact(&what, &r, Err(libc::EINVAL));
        }
        self.expect_exact(&what, &r, Ok(0))?;
        // SAFETY: plain syscall.
        let g = rv(unsafe { libc::fcntl(fd, libc::F_GETFL) } as isize);
        self.note(Sys::Fcntl, &g)?;
        let mask = libc::O_NONBLOCK | libc::O_APPEND | libc::O_ASYNC;
        // O_ASYNC sticks only where the driver has a fasync queue (the pipes).
        let want = fl & (libc::O_NONBLOCK | libc::O_APPEND)
            | if kind == Kind::Pipe {
                fl & libc::O_ASYNC
            } else {
                0
            };
        match g {
            Ok(v) if (v as i32) & mask == want => {}
            _ => {
                return self.fail(format!(
                    "{}: F_GETFL then gave {} (want flags {:#x})",
                    what,
                    show(&g),
                    want
                ))
            }
        }
        self.files[fi].nonblock = fl & libc::O_NONBLOCK != 0;
        Ok(())
    }

    fn op_poll(&mut self) -> Fr {
        if self.files.is_empty() {
            return Ok(());
        }
        let n = self.rng.range(1, self.files.len().min(4) as u64) as usize;
        let mut pfds = Vec::new();
        let mut kinds = Vec::new();
        for _ in 0..n {
            let f = &self.files[self.rng.below(self.files.len() as u64) as usize];
            pfds.push(libc::pollfd {
                fd: f.fd,
                events: libc::POLLIN
                    | libc::POLLOUT
                    | libc::POLLPRI
                    | libc::POLLRDNORM
                    | libc::POLLWRNORM,
                revents: 0,
            });
            kinds.push((self.devs[f.dev].kind, f.acc));
        }
        let timeout = self.rng.pick(&[0, 0, 1, 5, 20]);
        self.doing(|| format!("poll {} fds timeout {}", n, timeout));
        // SAFETY: a valid array of pollfds.
        let r = rv(unsafe { libc::poll(pfds.as_mut_ptr(), n as libc::nfds_t, timeout) } as isize);
        self.note(Sys::Poll, &r)?;
        self.expect_err("poll", &r, &[libc::EINTR], true)?;
        if r.is_err() {
            return Ok(());
        }
        let rw = libc::POLLIN | libc::POLLOUT | libc::POLLRDNORM | libc::POLLWRNORM;
        for (p, (k, acc)) in pfds.iter().zip(kinds) {
            let ok = if k == Kind::Pipe {
                p.revents & !(rw | libc::POLLHUP) == 0
                    && (p.revents & libc::POLLHUP == 0 || acc != libc::O_WRONLY)
            } else {
                p.revents == rw
            };
            if !ok {
                return self.fail(format!(
                    "poll on {:?} (acc {}): revents {:#x}",
                    k, acc, p.revents
                ));
            }
        }
        Ok(())
    }

    fn op_epoll(&mut self, fi: usize) -> Fr {
        let (fd, dev) = (self.files[fi].fd, self.files[fi].dev);
        let kind = self.devs[dev].kind;
        if self.rng.pct(50) {
            let mut ev = libc::epoll_event {
                events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLET) as u32,
                u64: fd as u64,
            };
            let what = format!("epoll_ctl ADD {}", self.devs[dev].path);
            self.doing(|| what.clone());
            // SAFETY: a valid event struct.
            let r = rv(
                unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } as isize,
            );
            self.note(Sys::EpollCtl, &r)?;
            let want = if self.files[fi].in_epoll {
                Err(libc::EEXIST)
            } else if kind == Kind::Pipe {
                Ok(0)
            } else {
                Err(libc::EPERM)
            };
            self.expect_exact(&what, &r, want)?;
            if r.is_ok() {
                self.files[fi].in_epoll = true;
            }
        } else {
            let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 8];
            let t = self.rng.pick(&[0, 1, 10]);
            self.doing(|| "epoll_wait".into());
            // SAFETY: a valid array.
            let r = rv(unsafe { libc::epoll_wait(self.epfd, evs.as_mut_ptr(), 8, t) } as isize);
            self.note(Sys::EpollWait, &r)?;
            self.expect_err("epoll_wait", &r, &[libc::EINTR], true)?;
            if let Ok(n) = r {
                for e in &evs[..n as usize] {
                    let bad = libc::EPOLLERR as u32;
                    if e.events & bad != 0 {
                        let ev = e.events;
                        return self.fail(format!("epoll_wait: events {:#x}", ev));
                    }
                }
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ scullp mappings

    fn op_mmap(&mut self) -> Fr {
        if self.maps.len() >= MAX_MAPS {
            return self.op_munmap();
        }
        let c: Vec<usize> = (0..self.files.len())
            .filter(|&i| {
                self.devs[self.files[i].dev].kind == Kind::Scullp
                    && self.is_owned(self.files[i].dev)
            })
            .collect();
        if c.is_empty() {
            return Ok(());
        }
        let fi = self.rng.pick(&c);
        let (fd, dev, acc) = (self.files[fi].fd, self.files[fi].dev, self.files[fi].acc);
        let size = self.models[&dev].size;
        let pages = self.rng.range(1, 64) as usize;
        let len = match self.rng.below(10) {
            0 => 0,
            1 => pages * PAGE - self.rng.range(1, 100) as usize,
            _ => pages * PAGE,
        };
        let off: i64 = match self.rng.below(10) {
            0 => self.rng.range(1, 4095) as i64,
            1 => (size / PAGE as u64 + self.rng.range(0, 4)) as i64 * PAGE as i64,
            2 => -(PAGE as i64),
            _ => (self.rng.below(size / PAGE as u64 + 1) * PAGE as u64) as i64,
        };
        let shared = self.rng.pct(75);
        let mut prot = libc::PROT_READ;
        if self.rng.pct(60) {
            prot |= libc::PROT_WRITE;
        }
        let flags = if shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        let what = format!(
            "mmap {} len {} off {} prot {} {} (acc {})",
            self.devs[dev].path,
            len,
            off,
            prot,
            if shared { "shared" } else { "private" },
            acc
        );
        self.doing(|| what.clone());
        // SAFETY: a new mapping chosen by the kernel.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd, off) };
        let r = if p == libc::MAP_FAILED {
            Err(errno_now())
        } else {
            Ok(0)
        };
        self.note(Sys::Mmap, &r)?;
        let want: R = if len == 0 || off % PAGE as i64 != 0 {
            Err(libc::EINVAL)
        } else if acc == libc::O_WRONLY
            || (shared && prot & libc::PROT_WRITE != 0 && acc == libc::O_RDONLY)
        {
            Err(libc::EACCES)
        } else if off < 0 {
            Err(libc::EINVAL)
        } else {
            Ok(0)
        };
        if off < 0 && len != 0 && off % PAGE as i64 == 0 {
            // A negative offset is a huge page offset: refused, or a mapping that is all SIGBUS.
            self.expect_err(
                &what,
                &r,
                &[libc::EINVAL, libc::EOVERFLOW, libc::EACCES],
                true,
            )?;
            if r.is_ok() {
                // SAFETY: the mapping just made; nothing refers to it.
                unsafe { libc::munmap(p, len) };
                return Ok(());
            }
        } else {
            self.expect_exact(&what, &r, want)?;
        }
        if r.is_ok() {
            self.maps.push(Mapping {
                addr: p as usize,
                len: len.div_ceil(PAGE) * PAGE,
                dev,
                off: off as u64,
                prot,
                shared,
                rdonly: acc == libc::O_RDONLY,
                dirty: BTreeSet::new(),
            });
        }
        Ok(())
    }

    fn op_munmap(&mut self) -> Fr {
        if self.maps.is_empty() {
            return Ok(());
        }
        let i = self.rng.below(self.maps.len() as u64) as usize;
        let pages = self.maps[i].len / PAGE;
        let part = self.rng.below(3);
        let k = self.rng.range(1, pages as u64) as usize;
        let (addr, len) = {
            let m = &self.maps[i];
            match part {
                0 if k < pages => (m.addr, k * PAGE), // head
                1 if k < pages => (m.addr + k * PAGE, (pages - k) * PAGE), // tail
                _ => (m.addr, m.len),
            }
        };
        self.doing(|| format!("munmap {:#x} {}", addr, len));
        // SAFETY: a part of our mapping; no references into it.
        let r = rv(unsafe { libc::munmap(addr as *mut _, len) } as isize);
        self.note(Sys::Munmap, &r)?;
        self.expect_exact("munmap", &r, Ok(0))?;
        let m = &mut self.maps[i];
        if len == m.len {
            self.maps.swap_remove(i);
        } else if addr == m.addr {
            m.addr += len;
            m.off += len as u64;
            m.len -= len;
            m.dirty = m
                .dirty
                .iter()
                .filter(|&&p| p >= len / PAGE)
                .map(|p| p - len / PAGE)
                .collect();
        } else {
            m.len -= len;
        }
        Ok(())
    }

    fn op_mprotect(&mut self) -> Fr {
        if self.maps.is_empty() {
            return Ok(());
        }
        let i = self.rng.below(self.maps.len() as u64) as usize;
        let prot = self.rng.pick(&[
            libc::PROT_READ,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::PROT_NONE,
        ]);
        let m = &self.maps[i];
        let (addr, len, shared, rdonly) = (m.addr, m.len, m.shared, m.rdonly);
        self.doing(|| format!("mprotect {:#x} {} {}", addr, len, prot));
        // SAFETY: our whole mapping.
        let r = rv(unsafe { libc::mprotect(addr as *mut _, len, prot) } as isize);
        self.note(Sys::Mprotect, &r)?;
        let want = if shared && rdonly && prot & libc::PROT_WRITE != 0 {
            Err(libc::EACCES)
        } else {
            Ok(0)
        };
        self.expect_exact(
            &format!("mprotect prot {} shared {} rdonly {}", prot, shared, rdonly),
            &r,
            want,
        )?;
        if r.is_ok() {
            self.maps[i].prot = prot;
        }
        Ok(())
    }

    fn op_mremap(&mut self) -> Fr {
        if self.maps.is_empty() {
            return Ok(());
        }
        let i = self.rng.below(self.maps.len() as u64) as usize;
        let (addr, len) = (self.maps[i].addr, self.maps[i].len);
        let what;
        let r;
        match self.rng.below(3) {
            0 => {
                // grow: refused (VM_DONTEXPAND)
                let new = len + PAGE * self.rng.range(1, 4) as usize;
                what = format!("mremap grow {} -> {}", len, new);
                self.doing(|| what.clone());
                // SAFETY: our mapping; MAYMOVE would leave the old range, which we forget.
                let p = unsafe { libc::mremap(addr as *mut _, len, new, libc::MREMAP_MAYMOVE) };
                r = if p == libc::MAP_FAILED {
                    Err(errno_now())
                } else {
                    Ok(p as isize)
                };
                self.note(Sys::Mremap, &r)?;
                self.expect_exact(&what, &r.map(|_| 0), Err(libc::EFAULT))?;
            }
            1 if len > PAGE => {
                let new = len - PAGE;
                what = format!("mremap shrink {} -> {}", len, new);
                self.doing(|| what.clone());
                // SAFETY: our mapping, shrunk in place.
                let p = unsafe { libc::mremap(addr as *mut _, len, new, 0) };
                r = if p == libc::MAP_FAILED {
                    Err(errno_now())
                } else {
                    Ok(p as isize)
                };
                self.note(Sys::Mremap, &r)?;
                self.expect_exact(&what, &r, Ok(addr as isize))?;
                self.maps[i].len = new;
            }
            _ => {
                // move to a fresh place
                // SAFETY: a fresh anonymous reservation, replaced by the move.
                let dest = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        len,
                        libc::PROT_NONE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    )
                };
                if dest == libc::MAP_FAILED {
                    return Ok(());
                }
                what = format!("mremap move {} bytes", len);
                self.doing(|| what.clone());
                // SAFETY: our mapping moved onto our reservation.
                let p = unsafe {
                    libc::mremap(
                        addr as *mut _,
                        len,
                        len,
                        libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                        dest,
                    )
                };
                r = if p == libc::MAP_FAILED {
                    Err(errno_now())
                } else {
                    Ok(p as isize)
                };
                self.note(Sys::Mremap, &r)?;
                if r.is_err() {
                    // SAFETY: our reservation.
                    unsafe { libc::munmap(dest, len) };
                }
                self.expect_exact(&what, &r, Ok(dest as isize))?;
                self.maps[i].addr = dest as usize;
            }
        }
        Ok(())
    }

    /// What touching byte `i` of mapping `mi` must do: Some(true) works, Some(false) SIGBUS,
    /// None: either (a page inside the size that was never written may or may not be in an
    /// allocated block).
    fn map_state(&self, mi: usize, i: usize) -> Option<bool> {
        let m = &self.maps[mi];
        let pg = i / PAGE;
        if !m.shared && m.dirty.contains(&pg) {
            return Some(true);
        }
        let d = m.off + i as u64;
        let model = &self.models[&m.dev];
        let start = d / PAGE as u64 * PAGE as u64;
        if start >= model.size {
            return Some(false);
        }
        if model.pages.contains_key(&(d / PAGE as u64)) {
            Some(true)
        } else {
            None
        }
    }

    /// Runs `f` in a child; its exit status (or 128 + signal); fails on a hang (10 s).
    fn in_child(&mut self, f: impl FnOnce() -> i32) -> Result<i32, String> {
        // SAFETY: fork; the child runs `f` (plain memory accesses) and _exits.
        let pid = unsafe { libc::fork() };
        let r = rv(pid as isize);
        self.note(Sys::Fork, &r)?;
        if pid < 0 {
            return self.fail(format!("fork: {}", errno::name(errno_now())));
        }
        if pid == 0 {
            // SAFETY: default actions, so the fault kills the child.
            unsafe {
                libc::signal(libc::SIGBUS, libc::SIG_DFL);
                libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                libc::alarm(10);
                libc::signal(libc::SIGALRM, libc::SIG_DFL);
            }
            let c = f();
            // SAFETY: leave without running anything of the parent's.
            unsafe { libc::_exit(c) };
        }
        let mut status = 0;
        loop {
            // SAFETY: valid out-parameter.
            let w = unsafe { libc::waitpid(pid, &mut status, 0) };
            if w == pid {
                break;
            }
            if errno_now() != libc::EINTR {
                return self.fail(format!("waitpid: {}", errno::name(errno_now())));
            }
        }
        Ok(if libc::WIFSIGNALED(status) {
            128 + libc::WTERMSIG(status)
        } else {
            libc::WEXITSTATUS(status)
        })
    }

    fn op_map_access(&mut self) -> Fr {
        if self.maps.is_empty() {
            return Ok(());
        }
        let mi = self.rng.below(self.maps.len() as u64) as usize;
        let i = self.rng.below(self.maps[mi].len as u64) as usize;
        let write = self.rng.pct(40);
        let (addr, prot, shared, dev, off) = {
            let m = &self.maps[mi];
            (m.addr, m.prot, m.shared, m.dev, m.off)
        };
        let d = off + i as u64;
        let state = self.map_state(mi, i);
        let allowed = if write {
            prot & libc::PROT_WRITE != 0
        } else {
            prot & libc::PROT_READ != 0
        };
        let what = format!(
            "{} byte {} of a {} mapping of {} at offset {} (device offset {}, size {}, prot {})",
            if write { "write" } else { "read" },
            i,
            if shared { "shared" } else { "private" },
            self.devs[dev].path,
            off,
            d,
            self.models[&dev].size,
            prot
        );
        self.doing(|| what.clone());
        let p = (addr + i) as *mut u8;
        let v = self.rng.next() as u8;
        if !allowed || state != Some(true) {
            let want = self.models[&dev].byte(d);
            // SAFETY: in a child: the access may fault, which is what is being tested.
            let st = self.in_child(move || unsafe {
                if write {
                    // The byte the device has: a write that works must not change it.
                    p.write_volatile(want);
                    0
                } else if p.read_volatile() == want {
                    0
                } else {
                    3
                }
            })?;
            let r: R = Ok(0);
            self.note(Sys::MapAccess, &r)?;
            let ok = match (allowed, state) {
                (false, _) => st == 128 + libc::SIGSEGV,
                (true, Some(false)) => st == 128 + libc::SIGBUS,
                _ => st == 0 || st == 128 + libc::SIGBUS,
            };
            if st == 128 + libc::SIGBUS {
                self.st().child_sigbus += 1;
            }
            if st == 128 + libc::SIGSEGV {
                self.st().child_sigsegv += 1;
            }
            if !ok {
                return self.fail(format!("{}: the child ended with status {} (128+N: signal N; 3: wrong byte; 142: hang)", what, st));
            }
            return Ok(());
        }
        let r: R = Ok(0);
        self.note(Sys::MapAccess, &r)?;
        if write {
            // SAFETY: a present page of our writable mapping (the model says it is mapped).
            unsafe { p.write_volatile(v) };
            if shared {
                self.models.get_mut(&dev).unwrap().set(d, &[v]);
            } else {
                self.maps[mi].dirty.insert(i / PAGE);
            }
        } else if shared || !self.maps[mi].dirty.contains(&(i / PAGE)) {
            // SAFETY: a present page of our readable mapping.
            let got = unsafe { p.read_volatile() };
            let want = self.models[&dev].byte(d);
            if got != want {
                return self.fail(format!(
                    "{}: read {:#04x}, expected {:#04x}",
                    what, got, want
                ));
            }
        }
        Ok(())
    }

    /// fork with mappings: the child checks some mapped bytes against the model and exits.
    fn op_fork(&mut self) -> Fr {
        let mut probes = Vec::new();
        for _ in 0..8 {
            if self.maps.is_empty() {
                break;
            }
            let mi = self.rng.below(self.maps.len() as u64) as usize;
            let m = &self.maps[mi];
            let i = self.rng.below(m.len as u64) as usize;
            if m.shared && m.prot & libc::PROT_READ != 0 && self.map_state(mi, i) == Some(true) {
                probes.push((
                    (m.addr + i) as *const u8,
                    self.models[&m.dev].byte(m.off + i as u64),
                ));
            }
        }
        let nm = self.maps.len();
        self.doing(|| format!("fork with {} mappings, {} probes", nm, probes.len()));
        // SAFETY: in the child: reads of present pages of shared readable mappings.
        let st = self.in_child(move || {
            for (p, want) in probes {
                if unsafe { p.read_volatile() } != want {
                    return 3;
                }
            }
            0
        })?;
        if st != 0 {
            return self.fail(format!(
                "fork: the child saw other bytes through the mappings (status {})",
                st
            ));
        }
        Ok(())
    }

    /// pread(2) into, or pwrite(2) from, a mapping of the same device (non-overlapping ranges):
    /// the copy faults on our own device's pages with no driver lock held.
    fn op_self_copy(&mut self, into: bool) -> Fr {
        if self.maps.is_empty() {
            return Ok(());
        }
        let mi = self.rng.below(self.maps.len() as u64) as usize;
        let (addr, mlen, dev, moff, prot, shared) = {
            let m = &self.maps[mi];
            (m.addr, m.len, m.dev, m.off, m.prot, m.shared)
        };
        if !shared
            || prot != libc::PROT_READ | libc::PROT_WRITE && into
            || prot & libc::PROT_READ == 0
        {
            return Ok(());
        }
        let Some(fi) = (0..self.files.len())
            .find(|&f| self.files[f].dev == dev && self.files[f].acc == libc::O_RDWR)
        else {
            return Ok(());
        };
        let n = self.rng.range(1, mlen.min(64 << 10) as u64) as usize;
        let i = self.rng.below((mlen - n + 1) as u64) as usize;
        if (i..i + n)
            .step_by(PAGE)
            .chain(std::iter::once(i + n - 1))
            .any(|j| self.map_state(mi, j) != Some(true))
        {
            return Ok(());
        }
        let size = self.models[&dev].size;
        let (ma, mb) = (moff + i as u64, moff + (i + n) as u64);
        let pos = self.rng.below(size.max(1) + 4096);
        if pos < mb && ma < pos + n as u64 {
            return Ok(());
        }
        if into && pos + n as u64 > size {
            return Ok(());
        }
        if !into && self.models[&dev].over_budget(pos, n as u64) {
            return Ok(());
        }
        let fd = self.files[fi].fd;
        let p = addr + i;
        let what = format!(
            "{} {} {} bytes at {} {} its own mapping at device offset {}",
            if into { "pread" } else { "pwrite" },
            self.devs[dev].path,
            n,
            pos,
            if into { "into" } else { "from" },
            ma
        );
        self.doing(|| what.clone());
        // SAFETY: n bytes of our mapping, present and writable (into) or readable.
        let r = rv(unsafe {
            if into {
                libc::pread(fd, p as *mut _, n, pos as i64)
            } else {
                libc::pwrite(fd, p as *const _, n, pos as i64)
            }
        });
        self.note(if into { Sys::PreadMap } else { Sys::PwriteMap }, &r)?;
        self.expect_exact(&what, &r, Ok(n as isize))?;
        let m = self.models.get_mut(&dev).unwrap();
        if into {
            let data: Vec<u8> = (pos..pos + n as u64).map(|o| m.byte(o)).collect();
            m.set(ma, &data);
        } else {
            let data: Vec<u8> = (ma..mb).map(|o| m.byte(o)).collect();
            m.charge(pos, n as u64);
            m.write(pos, &data);
        }
        // Check the result through read(2).
        let (o, l) = if into {
            (ma, n as u64)
        } else {
            (pos, n as u64)
        };
        self.readback(dev, o, l, &what)
    }

    // ------------------------------------------------------------ the loop

    fn step(&mut self) -> Fr {
        self.opno += 1;
        let choice = self.rng.below(100);
        if choice < 8 || self.files.is_empty() {
            return self.op_open();
        }
        if choice < 12 {
            return self.op_close();
        }
        let fi = self.pick_file().unwrap();
        match choice {
            12..=27 => self.op_rw(fi, false, false),
            28..=43 => self.op_rw(fi, true, false),
            44..=51 => self.op_rw(fi, false, true),
            52..=59 => self.op_rw(fi, true, true),
            60..=62 => self.op_rwv(fi, false),
            63..=65 => self.op_rwv(fi, true),
            66..=71 => self.op_lseek(fi),
            72..=79 => self.op_ioctl(fi),
            80 | 81 => self.op_fcntl(fi),
            82 | 83 => self.op_poll(),
            84 => self.op_epoll(fi),
            85 | 86 => self.op_mmap(),
            87 => self.op_munmap(),
            88 => self.op_mprotect(),
            89 => self.op_mremap(),
            90..=94 => self.op_map_access(),
            95 => self.op_fork(),
            96 => self.op_self_copy(true),
            97 => self.op_self_copy(false),
            _ => {
                // Re-read a stretch of an owned device through a fresh file.
                let owned: Vec<usize> = self.models.keys().copied().collect();
                if owned.is_empty() {
                    return Ok(());
                }
                let dev = self.rng.pick(&owned);
                let size = self.models[&dev].size;
                let off = self.rng.below(size + 1);
                let len = self.rng.range(1, 1 << 20);
                self.doing(|| "read back".into());
                self.readback(dev, off, len, "read back through a new file")
            }
        }
    }
}

fn page_map(len: usize, prot: i32) -> usize {
    // SAFETY: a new anonymous mapping.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert!(p != libc::MAP_FAILED, "mmap of {} bytes failed", len);
    p as usize
}

fn install_handlers() {
    for sig in [libc::SIGALRM, libc::SIGIO, libc::SIGUSR1] {
        // SAFETY: a handler that only increments an atomic; no SA_RESTART, so blocked calls
        // are interrupted.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = 0;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// One worker: runs until `deadline` (monotonic ns); exit status 0, or 1 after a failure
/// (written to its stats slot).
#[allow(clippy::too_many_arguments)]
fn worker(
    id: usize,
    seed: u64,
    st: *mut Stats,
    devs: Vec<Dev>,
    deadline: u128,
    tiny: bool,
    procs: usize,
) -> i32 {
    let _ = procs;
    install_handlers();
    let mut rng = Rng(seed);
    let tty = id % 3 == 2;
    let root_start = unsafe { libc::geteuid() } == 0;
    // SAFETY: plain syscall: a new session (no controlling terminal) for this worker.
    unsafe { libc::setsid() };
    let pty = if tty {
        match crate::pipe::open_pty() {
            // SAFETY: make the pty our controlling terminal.
            Ok((m, s, _)) => {
                unsafe { libc::ioctl(s.0, libc::TIOCSCTTY, 0) };
                Some((m, s))
            }
            Err(_) => None,
        }
    } else {
        None
    };
    let root = root_start && id.is_multiple_of(2);
    if root_start && !root {
        // SAFETY: plain syscalls dropping to the unprivileged user.
        unsafe {
            libc::setgroups(0, std::ptr::null());
            libc::setgid(1000);
            libc::setuid(1000);
        }
    }
    let mut models = BTreeMap::new();
    for (i, d) in devs.iter().enumerate() {
        if matches!(d.kind, Kind::Scull | Kind::Scullp) && d.num == id {
            models.insert(i, Model::new(d.kind));
        }
    }
    let mut src = vec![0u8; SRC_LEN];
    for c in src.chunks_mut(8) {
        let v = rng.next().to_le_bytes();
        c.copy_from_slice(&v[..c.len()]);
    }
    let trap = page_map(3 * PAGE, libc::PROT_READ | libc::PROT_WRITE);
    // SAFETY: our fresh trap pages: random bytes in the first, then protections.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), trap as *mut u8, PAGE);
        libc::mprotect((trap + PAGE) as *mut _, PAGE, libc::PROT_NONE);
        libc::mprotect((trap + 2 * PAGE) as *mut _, PAGE, libc::PROT_READ);
    }
    // SAFETY: plain syscall.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    let mut c = Ctx {
        rng,
        id,
        root,
        tty: pty.is_some(),
        tiny,
        st,
        devs,
        models,
        files: Vec::new(),
        maps: Vec::new(),
        src,
        dst: vec![0u8; DST_LEN],
        trap,
        epfd,
        opno: 0,
        _pty: pty,
    };
    // The owned devices start empty: truncate them.
    let owned: Vec<usize> = c.models.keys().copied().collect();
    for dev in owned {
        let path = c.devs[dev].path.clone();
        let cs = std::ffi::CString::new(path).unwrap();
        // SAFETY: a valid path.
        let fd = unsafe { libc::open(cs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if fd >= 0 {
            // SAFETY: ours.
            unsafe { libc::close(fd) };
        }
    }
    let mut status = 0;
    while crate::sys::monotonic_ns() < deadline {
        if let Err(msg) = c.step() {
            let full = format!(
                "worker {} (uid {}, op {}): {}",
                c.id,
                if c.root { 0 } else { 1000 },
                c.opno,
                msg
            );
            cset(&mut c.st().failure, &full);
            status = 1;
            break;
        }
    }
    c.disarm();
    // Closing the pty master (when `c` goes) hangs up our own session: that SIGHUP is ours.
    // SAFETY: plain syscall.
    unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    for (i, s) in SIGCOUNT.iter().enumerate() {
        c.st().signals[i] = s.load(Relaxed);
    }
    let _ = fnv(&[]);
    status
}

fn parse_args(args: &[String]) -> Res<(u64, u64, usize, bool)> {
    let (mut seed, mut secs, mut procs, mut tiny) = (None, None, 4usize, false);
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1);
        match args[i].as_str() {
            "--seed" => seed = v.and_then(|s| s.parse::<u64>().ok()),
            "--seconds" => secs = v.and_then(|s| s.parse::<u64>().ok()),
            "--procs" => procs = v.and_then(|s| s.parse::<usize>().ok()).unwrap_or(0),
            "--tiny-geometry" => {
                tiny = true;
                i += 1;
                continue;
            }
            a => {
                return Err(Error::Usage(format!(
                    "fuzz-chr: unknown argument {:?}\nusage: ldd3test {}",
                    a, FUZZ_CHR_USAGE
                )))
            }
        }
        i += 2;
    }
    match (seed, secs) {
        (Some(s), Some(t)) if (1..=64).contains(&procs) => Ok((s, t, procs, tiny)),
        _ => Err(Error::Usage(format!("usage: ldd3test {}", FUZZ_CHR_USAGE))),
    }
}

fn find_devices() -> Vec<Dev> {
    let mut devs = Vec::new();
    let mut add = |path: String, kind: Kind, num: usize| {
        if std::path::Path::new(&path).exists() {
            devs.push(Dev { path, kind, num });
        }
    };
    for i in 0..4 {
        add(format!("/dev/scull{}", i), Kind::Scull, i);
    }
    for i in 0..NPIPES {
        add(format!("/dev/scullpipe{}", i), Kind::Pipe, i);
    }
    add("/dev/scullsingle".into(), Kind::Single, 0);
    add("/dev/sculluid".into(), Kind::Uid, 0);
    add("/dev/scullwuid".into(), Kind::Wuid, 0);
    add("/dev/scullpriv".into(), Kind::Priv, 0);
    for i in 0..4 {
        add(format!("/dev/scullp{}", i), Kind::Scullp, i);
    }
    devs
}

fn ioctl_on(path: &str, cmd: u32, arg: usize) -> R {
    let c = std::ffi::CString::new(path).unwrap();
    // SAFETY: a valid path; arg is a value.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(errno_now());
    }
    // SAFETY: plain ioctl with a value argument.
    let r = rv(unsafe { libc::ioctl(fd, cmd as _, arg) } as isize);
    // SAFETY: ours.
    unsafe { libc::close(fd) };
    r
}

fn cmd(name: &str) -> u32 {
    crate::ioctl::lookup(name).unwrap_or_else(|| panic!("no ioctl {}", name))
}

/// Reads what is left in a pipe (a new non-blocking reader), into `hist`.
fn drain(path: &str, hist: &mut [u64; 256]) -> Result<u64, String> {
    let c = std::ffi::CString::new(path).unwrap();
    // SAFETY: a valid path.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(format!(
            "open {} to drain: {}",
            path,
            errno::name(errno_now())
        ));
    }
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0;
    loop {
        // SAFETY: our buffer.
        let r = rv(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) });
        match r {
            Ok(0) | Err(libc::EAGAIN) => break,
            Ok(n) => {
                for &b in &buf[..n as usize] {
                    hist[b as usize] += 1;
                }
                total += n as u64;
            }
            Err(libc::EINTR) => continue,
            Err(e) => {
                // SAFETY: ours.
                unsafe { libc::close(fd) };
                return Err(format!("draining {}: {}", path, errno::name(e)));
            }
        }
    }
    // SAFETY: ours.
    unsafe { libc::close(fd) };
    Ok(total)
}

pub fn cmd_fuzz_chr(args: &[String]) -> Res<i32> {
    let (seed, secs, procs, tiny) = parse_args(args)?;
    crate::out(format!("seed={}", seed));
    let devs = find_devices();
    crate::out(format!(
        "fuzz-chr: {} s, {} workers, devices: {}",
        secs,
        procs,
        devs.iter()
            .map(|d| d.path.trim_start_matches("/dev/"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let root = unsafe { libc::geteuid() } == 0;
    // What to restore at the end: the pipe size (RESET restores quantum and qset only).
    let scull_node = devs
        .iter()
        .find(|d| d.kind != Kind::Scullp)
        .map(|d| d.path.clone());
    let scullp_node = devs
        .iter()
        .find(|d| d.kind == Kind::Scullp)
        .map(|d| d.path.clone());
    let pipe_size = scull_node
        .as_ref()
        .map(|p| ioctl_on(p, cmd("SCULL_P_IOCQSIZE"), 0));

    let slot = std::mem::size_of::<Stats>().div_ceil(PAGE) * PAGE;
    let shm = page_map(slot * procs, libc::PROT_READ | libc::PROT_WRITE);
    let stats = |i: usize| (shm + i * slot) as *mut Stats;
    let t0 = crate::sys::monotonic_ns();
    let deadline = t0 + secs as u128 * 1_000_000_000;
    let mut pids = Vec::new();
    let mut master = Rng(seed);
    for id in 0..procs {
        let wseed = master.next();
        let wdevs: Vec<Dev> = devs
            .iter()
            .map(|d| Dev {
                path: d.path.clone(),
                kind: d.kind,
                num: d.num,
            })
            .collect();
        // SAFETY: fork in a single-threaded program; the child runs the worker and _exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return crate::sys::sys_err("fork");
        }
        if pid == 0 {
            let s = worker(id, wseed, stats(id), wdevs, deadline, tiny, procs);
            // SAFETY: leave without the parent's atexit handlers.
            unsafe { libc::_exit(s) };
        }
        pids.push(pid);
    }
    // Wait, poking workers with SIGUSR1 now and then; kill those past the margin.
    let margin = 30u128 * 1_000_000_000;
    let mut status: Vec<Option<i32>> = vec![None; procs];
    let mut hung = Vec::new();
    let mut poke = Rng(seed ^ 0x5eed);
    while status.iter().any(|s| s.is_none()) {
        std::thread::sleep(std::time::Duration::from_millis(20));
        for (i, &pid) in pids.iter().enumerate() {
            if status[i].is_some() {
                continue;
            }
            let mut ws = 0;
            // SAFETY: valid out-parameter.
            if unsafe { libc::waitpid(pid, &mut ws, libc::WNOHANG) } == pid {
                status[i] = Some(if libc::WIFSIGNALED(ws) {
                    128 + libc::WTERMSIG(ws)
                } else {
                    libc::WEXITSTATUS(ws)
                });
            } else if poke.pct(3) && crate::sys::monotonic_ns() < deadline {
                // SAFETY: plain syscall to our child.
                unsafe { libc::kill(pid, libc::SIGUSR1) };
            }
        }
        if crate::sys::monotonic_ns() > deadline + margin {
            for (i, &pid) in pids.iter().enumerate() {
                if status[i].is_none() {
                    let sc = std::fs::read_to_string(format!("/proc/{}/syscall", pid))
                        .unwrap_or_default();
                    let wchan =
                        std::fs::read_to_string(format!("/proc/{}/wchan", pid)).unwrap_or_default();
                    let stack =
                        std::fs::read_to_string(format!("/proc/{}/stack", pid)).unwrap_or_default();
                    // SAFETY: our child.
                    let cur = cget(unsafe { &(*stats(i)).current });
                    hung.push(format!(
                        "worker {} hung (still running {} s after the end) in {}: syscall {} wchan {} stack {}",
                        i,
                        margin / 1_000_000_000,
                        cur,
                        sc.trim(),
                        wchan.trim(),
                        stack.replace('\n', " | ")
                    ));
                    // SAFETY: our child.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    status[i] = Some(-1);
                }
            }
            // Reap what can be reaped (a task stuck in D state cannot).
            std::thread::sleep(std::time::Duration::from_secs(2));
            for &pid in &pids {
                let mut ws = 0;
                // SAFETY: valid out-parameter.
                unsafe { libc::waitpid(pid, &mut ws, libc::WNOHANG) };
            }
        }
    }
    let elapsed = (crate::sys::monotonic_ns() - t0) as f64 / 1e9;

    let mut failures = hung;
    for (i, s) in status.iter().enumerate() {
        // SAFETY: the worker is gone; its slot is ours to read.
        let st = unsafe { &*stats(i) };
        match s {
            Some(0) | Some(-1) => {}
            Some(1) => failures.push(cget(&st.failure)),
            Some(c) => {
                failures.push(format!(
                    "worker {} ended with status {} (128+N: killed by signal N) during {}",
                    i,
                    c,
                    cget(&st.current)
                ));
                if st.failure[0] != 0 {
                    failures.push(cget(&st.failure));
                }
            }
            None => {}
        }
    }
    // Pipes: everything written was read by someone, or is still there.
    let mut pipe_lines = Vec::new();
    if hung_free(&status) {
        for d in devs.iter().filter(|d| d.kind == Kind::Pipe) {
            let (mut w, mut r) = ([0u64; 256], [0u64; 256]);
            for i in 0..procs {
                // SAFETY: as above.
                let st = unsafe { &*stats(i) };
                for b in 0..256 {
                    w[b] += st.pipe_w[d.num][b];
                    r[b] += st.pipe_r[d.num][b];
                }
            }
            let left = match drain(&d.path, &mut r) {
                Ok(n) => n,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            let (wn, rn): (u64, u64) = (w.iter().sum(), r.iter().sum());
            pipe_lines.push(format!(
                "{}: {} bytes written, {} read ({} drained at the end)",
                d.path, wn, rn, left
            ));
            if w != r {
                let b = (0..256).find(|&b| w[b] != r[b]).unwrap();
                failures.push(format!(
                    "{}: {} bytes written but {} read (byte value {:#04x}: {} written, {} read)",
                    d.path, wn, rn, b, w[b], r[b]
                ));
            }
        }
    }
    // Restore the module-wide settings and free the devices' memory.
    if root {
        if let Some(p) = &scull_node {
            let r = ioctl_on(p, cmd("SCULL_IOCRESET"), 0);
            if r != Ok(0) {
                failures.push(format!("SCULL_IOCRESET at the end: {}", show(&r)));
            }
            if let Some(Ok(size)) = pipe_size {
                let r = ioctl_on(p, cmd("SCULL_P_IOCTSIZE"), size as usize);
                if r != Ok(0) {
                    failures.push(format!(
                        "SCULL_P_IOCTSIZE {} at the end: {}",
                        size,
                        show(&r)
                    ));
                }
            }
        }
        if let Some(p) = &scullp_node {
            let r = ioctl_on(p, cmd("SCULLP_IOCRESET"), 0);
            if r != Ok(0) {
                failures.push(format!("SCULLP_IOCRESET at the end: {}", show(&r)));
            }
        }
    }
    if hung_free(&status) {
        for d in devs
            .iter()
            .filter(|d| !matches!(d.kind, Kind::Pipe | Kind::Priv))
        {
            let c = std::ffi::CString::new(d.path.clone()).unwrap();
            // SAFETY: a valid path.
            let fd = unsafe {
                libc::open(
                    c.as_ptr(),
                    libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
                )
            };
            if fd >= 0 {
                // SAFETY: ours.
                unsafe { libc::close(fd) };
            } else {
                failures.push(format!(
                    "truncating {} at the end: {}",
                    d.path,
                    errno::name(errno_now())
                ));
            }
        }
    }

    // Summary.
    let mut ops = 0u64;
    let mut calls = [0u64; NSYS];
    let mut errs = vec![[0u64; NERR]; NSYS];
    let mut sigs = [0u64; 65];
    let (mut bus, mut segv, mut short) = (0, 0, 0);
    for i in 0..procs {
        // SAFETY: as above.
        let st = unsafe { &*stats(i) };
        ops += st.ops;
        for s in 0..NSYS {
            calls[s] += st.calls[s];
            for (e, n) in errs[s].iter_mut().enumerate() {
                *n += st.errnos[s][e] as u64;
            }
        }
        for (k, n) in sigs.iter_mut().enumerate() {
            *n += st.signals[k];
        }
        bus += st.child_sigbus;
        segv += st.child_sigsegv;
        short += st.short_io;
    }
    crate::out(format!(
        "ops={} seconds={:.1} ops_per_s={:.0}",
        ops,
        elapsed,
        ops as f64 / elapsed.max(0.001)
    ));
    let mut all_errnos = BTreeSet::new();
    for s in 0..NSYS {
        if calls[s] == 0 {
            continue;
        }
        let mut line = format!("  {:<16} {:>9}", SYSCALLS[s], calls[s]);
        for (e, &n) in errs[s].iter().enumerate() {
            if n > 0 {
                line.push_str(&format!(" {}={}", errno::name(e as i32), n));
                all_errnos.insert(errno::name(e as i32));
            }
        }
        crate::out(line);
    }
    crate::out(format!(
        "errnos seen ({}): {}",
        all_errnos.len(),
        all_errnos.into_iter().collect::<Vec<_>>().join(" ")
    ));
    let signame = |s: usize| match s as i32 {
        libc::SIGALRM => "SIGALRM".to_string(),
        libc::SIGIO => "SIGIO".to_string(),
        libc::SIGUSR1 => "SIGUSR1".to_string(),
        n => format!("SIG{}", n),
    };
    let sigline: Vec<String> = (0..65)
        .filter(|&s| sigs[s] > 0)
        .map(|s| format!("{}={}", signame(s), sigs[s]))
        .collect();
    crate::out(format!(
        "signals delivered: {} ; in children: SIGBUS={} SIGSEGV={} ; short counts={}",
        if sigline.is_empty() {
            "none".to_string()
        } else {
            sigline.join(" ")
        },
        bus,
        segv,
        short
    ));
    for l in pipe_lines {
        crate::out(format!("  {}", l));
    }
    if failures.is_empty() {
        crate::out(format!("ok seed={} ops={}", seed, ops));
        Ok(0)
    } else {
        for f in &failures {
            crate::out(format!("FAIL seed={} procs={}: {}", seed, procs, f));
        }
        Ok(1)
    }
}

fn hung_free(status: &[Option<i32>]) -> bool {
    !status.contains(&Some(-1))
}
