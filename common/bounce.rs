// SPDX-License-Identifier: GPL-2.0

//! User copies through a bounce buffer, with no device lock held.
//!
//! LDD3's drivers call `copy_to_user` with the device semaphore held. A user buffer can take
//! as long to fault in as its owner likes (userfaultfd, FUSE, a mapping of the same device),
//! and meanwhile every other opener, `release` and the /proc files would sleep on the lock.
//! Here the device is read into (or written from) a kernel buffer of at most [`CHUNK`] bytes
//! under the lock, and the user copy runs with the lock dropped: only the caller waits for
//! its own buffer.

use super::signal_pending;
use kernel::{
    prelude::*,
    uaccess::{
        UserSliceReader,
        UserSliceWriter, //
    }, //
};

/// Bytes moved per locked step, and the bounce buffer's size at most.
pub const CHUNK: usize = 64 << 10;

/// The result of a copy that stopped at `err` after `done` bytes: those bytes if there are
/// any (as `read(2)` and `write(2)` report a partial transfer), else the error.
pub fn partial(done: usize, err: Error) -> Result<usize> {
    if done > 0 {
        Ok(done)
    } else {
        Err(err)
    }
}

/// Copies up to `out.len()` bytes to user space, chunk by chunk: `fill(done, buf)` fills `buf`
/// with the bytes that follow the `done` already copied, taking and dropping the device lock
/// itself, and returns how many it filled (0 at the end). Returns the bytes copied; a pending
/// signal after the first chunk ends the copy early.
pub fn copy_to_user(
    out: &mut UserSliceWriter,
    mut fill: impl FnMut(usize, &mut [u8]) -> Result<usize>,
) -> Result<usize> {
    let want = out.len();
    if want == 0 {
        return Ok(0);
    }
    let mut bounce = KVVec::from_elem(0u8, want.min(CHUNK), GFP_KERNEL)?;
    let mut done = 0;
    while done < want {
        if done > 0 && signal_pending() {
            break;
        }
        let chunk = (want - done).min(bounce.len());
        let n = match fill(done, &mut bounce[..chunk]) {
            Ok(0) => break,
            Ok(n) => n.min(chunk),
            Err(e) => return partial(done, e),
        };
        if let Err(e) = out.write_slice(&bounce[..n]) {
            return partial(done, e);
        }
        done += n;
    }
    Ok(done)
}

/// Copies up to `input.len()` bytes from user space, chunk by chunk: each chunk is copied in
/// first, then `store(done, chunk)` stores it after the `done` bytes already stored, taking
/// and dropping the device lock itself, and returns how many it stored (fewer: the device is
/// full). Returns the bytes stored; a pending signal after the first chunk ends the copy early.
pub fn copy_from_user(
    input: &mut UserSliceReader,
    mut store: impl FnMut(usize, &[u8]) -> Result<usize>,
) -> Result<usize> {
    let want = input.len();
    if want == 0 {
        return Ok(0);
    }
    let mut bounce = KVVec::from_elem(0u8, want.min(CHUNK), GFP_KERNEL)?;
    let mut done = 0;
    while done < want {
        if done > 0 && signal_pending() {
            break;
        }
        let chunk = (want - done).min(bounce.len());
        if let Err(e) = input.read_slice(&mut bounce[..chunk]) {
            return partial(done, e);
        }
        match store(done, &bounce[..chunk]) {
            Ok(n) => {
                done += n.min(chunk);
                if n < chunk {
                    break;
                }
            }
            Err(e) => return partial(done, e),
        }
    }
    Ok(done)
}
