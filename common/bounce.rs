// SPDX-License-Identifier: GPL-2.0

//! User copies through a bounce buffer, with no device lock held, for a device whose memory a
//! call cannot keep a reference to (scullpipe's ring, where the next writer reuses the
//! bytes a reader has consumed).
//!
//! LDD3's drivers call `copy_from_user` with the device semaphore held. A user buffer can
//! take as long to fault in as its owner likes (userfaultfd, FUSE, a mapping of the same
//! device), and meanwhile every other opener, `release` and the /proc files would sleep on
//! the lock. Here the user's bytes are copied into a kernel buffer of at most [`CHUNK`] bytes
//! with no lock held, and stored from it under the lock. (Devices made of blocks copy
//! straight to and from their blocks instead: `super::usercopy`.)

use super::{
    signal_pending,
    usercopy::{
        partial,
        UserReader, //
    }, //
};
use kernel::prelude::*;

/// Bytes moved per locked step, and the bounce buffer's size at most.
pub const CHUNK: usize = 64 << 10;

/// Copies up to `input.len()` bytes from user space, chunk by chunk: each chunk is copied in
/// first, then `store(done, chunk)` stores it after the `done` bytes already stored, taking
/// and dropping the device lock itself, and returns how many it stored (fewer: the device is
/// full). Returns the bytes stored; a pending signal after the first chunk ends the copy early.
pub fn copy_from_user(
    input: &mut UserReader,
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
