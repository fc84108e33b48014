//! Throughput loops for `make bench` (tests/guest/bench): timed in this process, so the
//! figures hold no fork/exec and no shell, only the system calls being measured.

use crate::sys::{self, Error, Res};
use crate::{int, out, usage_err, want_args};

/// Usage of `iobench`.
pub const IOBENCH_USAGE: &str = "iobench write|rewrite PATH BS TOTAL | iobench read PATH BS [TOTAL]\n\
     \twrite: open PATH O_WRONLY|O_CREAT|O_TRUNC (scull empties itself on a write-only\n\
     \topen), then write TOTAL bytes in blocks of BS, each block written in full as dd\n\
     \tdoes (a short write is followed by one for the rest of the block). rewrite: the\n\
     \tsame through an O_RDWR open, which keeps the data (over it: no allocation). read: open\n\
     \tO_RDONLY, read(2) BS bytes at a time until end of file (or TOTAL bytes). Only the loop is timed\n\
     \t(CLOCK_MONOTONIC), not open and close. Prints `bytes=N calls=C ns=T mb_per_s=R\n\
     \tns_per_call=L` (R in 10^6 bytes/s; C counts the read(2)/write(2) calls, the last\n\
     \tread returning 0 included). BS and TOTAL take a k or M suffix (KiB, MiB).";

/// A size with an optional `k` (KiB) or `M` (MiB) suffix.
fn size(s: &str) -> Res<usize> {
    let (body, mul) = match s.as_bytes().last() {
        Some(b'k') | Some(b'K') => (&s[..s.len() - 1], 1024),
        Some(b'M') => (&s[..s.len() - 1], 1 << 20),
        _ => (s, 1),
    };
    let v = int(body)?;
    if v <= 0 {
        return usage_err(format!("size {:?} must be positive", s));
    }
    Ok(v as usize * mul)
}

/// iobench write|rewrite PATH BS TOTAL | iobench read PATH BS [TOTAL]
pub fn cmd_iobench(args: &[String]) -> Res<i32> {
    let first = IOBENCH_USAGE.lines().next().unwrap_or("");
    let (write, open_flags) = match args.first().map(|s| s.as_str()) {
        Some("write") => {
            want_args(args, 4, 4, first)?;
            (true, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC)
        }
        Some("rewrite") => {
            want_args(args, 4, 4, first)?;
            (true, libc::O_RDWR)
        }
        Some("read") => {
            want_args(args, 3, 4, first)?;
            (false, libc::O_RDONLY)
        }
        _ => return usage_err(format!("usage: ldd3test {}", first)),
    };
    let bs = size(&args[2])?;
    let mut buf = vec![0x5au8; bs];
    let (mut bytes, mut calls) = (0usize, 0u64);
    let t0;
    if write {
        let total = size(&args[3])?;
        let fd = sys::open(&args[1], open_flags | libc::O_CLOEXEC)?;
        t0 = sys::monotonic_ns();
        while bytes < total {
            let block = bs.min(total - bytes);
            let mut done = 0;
            while done < block {
                let n = sys::write_once(&fd, &buf[done..block], None)?;
                calls += 1;
                if n == 0 {
                    return Err(Error::Check(format!(
                        "write of {} bytes returned 0 after {} bytes",
                        block - done,
                        bytes + done
                    )));
                }
                done += n;
            }
            bytes += block;
        }
    } else {
        let total = match args.get(3) {
            Some(t) => size(t)?,
            None => usize::MAX,
        };
        let fd = sys::open(&args[1], open_flags | libc::O_CLOEXEC)?;
        t0 = sys::monotonic_ns();
        while bytes < total {
            let want = bs.min(total - bytes);
            let n = sys::read_once(&fd, &mut buf[..want], None)?;
            calls += 1;
            if n == 0 {
                break;
            }
            bytes += n;
        }
    }
    let ns = (sys::monotonic_ns() - t0).max(1);
    out(format!(
        "bytes={} calls={} ns={} mb_per_s={:.1} ns_per_call={}",
        bytes,
        calls,
        ns,
        bytes as f64 * 1000.0 / ns as f64,
        ns / calls.max(1) as u128
    ));
    Ok(0)
}
