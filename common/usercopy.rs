// SPDX-License-Identifier: GPL-2.0

//! The user buffers of `read(2)` and `write(2)` ([`UserWriter`], [`UserReader`]), and device
//! memory that is copied to and from them with no lock held ([`SharedBlock`]).
//!
//! LDD3's drivers call `copy_to_user` with the device semaphore held. A user buffer can take
//! as long to fault in as its owner likes (userfaultfd, FUSE, a mapping of the same device),
//! and meanwhile every other opener, `release` and the /proc files would sleep on the lock.
//! The drivers here find the block to copy under the lock, take a reference on it, and copy
//! with the lock dropped: only the caller waits for its own buffer, and the bytes are copied
//! once, as in C. A write whose bytes are at hand (no page fault needed) is copied with the
//! lock held but page faults disabled ([`Faults::Fail`]), which cannot wait for user space, as
//! the page cache does; only what needs a fault goes the long way.
//!
//! # The memory model
//!
//! Several calls may then copy the same bytes at once: two writers, a reader and a writer, or
//! a process writing a page through its mapping. The bytes of a [`SharedBlock`] (and of a
//! [`super::vm::PageBlock`]) are therefore never reached through a Rust reference: the kernel
//! accesses them only with the architecture's user-copy routines (C `copy_to_user` and
//! friends) and with relaxed atomic loads and stores ([`copy_from_shared`],
//! [`copy_to_shared`]). Copies that overlap may interleave at any granularity, as with a C
//! driver that copies without a lock or the page cache; each byte holds a value that some copy
//! wrote, and nothing is undefined behaviour.

use super::{
    bindings,
    qset::Vacancy,
    signal_pending, //
};
use core::{
    alloc::Layout,
    ffi::c_void,
    ops::{
        Deref,
        DerefMut, //
    },
    ptr,
    ptr::NonNull, //
};
use kernel::{
    alloc::{
        allocator::KVmalloc,
        flags::__GFP_ZERO,
        Allocator,
        NumaNode, //
    },
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    }, //
};

/// The result of a copy that stopped at `err` after `done` bytes: those bytes if there are
/// any (as `read(2)` and `write(2)` report a partial transfer), else the error.
pub fn partial(done: usize, err: Error) -> Result<usize> {
    if done > 0 {
        Ok(done)
    } else {
        Err(err)
    }
}

/// What is left of a user buffer: where it starts and how many bytes.
#[derive(Clone, Copy)]
struct Remaining {
    ptr: UserPtr,
    len: usize,
}

impl Remaining {
    /// A copy of `n` bytes (at most `len`) got all but `left` of them through: moves on past
    /// those, and returns their count, `EFAULT` if none.
    fn copied(&mut self, n: usize, left: usize) -> Result<usize> {
        let done = n - left.min(n);
        self.ptr = self.ptr.wrapping_byte_add(done);
        self.len -= done;
        if done == 0 && n > 0 {
            Err(EFAULT)
        } else {
            Ok(done)
        }
    }
}

/// Where the bytes of a `read(2)` go: what is left of the caller's buffer. Every copy moves
/// the start on by the bytes it copied.
pub struct UserWriter(Remaining);

impl UserWriter {
    /// The user buffer of `len` bytes at `ptr`; nothing is checked until a copy.
    pub fn new(ptr: UserPtr, len: usize) -> Self {
        Self(Remaining { ptr, len })
    }

    /// Bytes that may still be written.
    pub fn len(&self) -> usize {
        self.0.len
    }

    /// Whether the buffer is full.
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    /// Copies all of `data` (at most [`Self::len`] bytes), or fails with `EFAULT` having
    /// copied an unknown part of it (as `UserSliceWriter::write_slice`).
    pub fn write_slice(&mut self, data: &[u8]) -> Result {
        if data.len() > self.0.len {
            return Err(EFAULT);
        }
        UserSlice::new(self.0.ptr, data.len())
            .writer()
            .write_slice(data)?;
        self.0.copied(data.len(), 0).map(|_| ())
    }

    /// Writes `n` zero bytes (at most [`Self::len`]); returns how many were written before a
    /// fault, `EFAULT` if none.
    pub fn write_zeros(&mut self, n: usize) -> Result<usize> {
        let n = n.min(self.0.len);
        // SAFETY: `clear_user` checks the user range and stops at a fault.
        let left = unsafe { bindings::ldd3_clear_user(self.0.ptr.as_mut_ptr(), n) };
        self.0.copied(n, left)
    }

    /// Copies `n` bytes (at most [`Self::len`]) from `src`, faulting user pages in or not as
    /// `faults` says; returns how many were copied before a fault, `EFAULT` if none.
    ///
    /// # Safety
    ///
    /// `src` is valid for reads of `n` bytes during the call, and written meanwhile only by
    /// user copies or atomic stores (the model of the module documentation).
    pub(super) unsafe fn write_raw(
        &mut self,
        src: *const u8,
        n: usize,
        faults: Faults,
    ) -> Result<usize> {
        let n = n.min(self.0.len);
        let (dst, src) = (self.0.ptr.as_mut_ptr(), src.cast::<c_void>());
        // SAFETY: `copy_to_user` checks the user range and stops at a fault (with page faults
        // disabled, also at a page not present); `src` is valid for `n` bytes (the caller's
        // contract) and only read.
        let left = unsafe {
            match faults {
                Faults::Wait => bindings::ldd3_copy_to_user(dst, src, n),
                Faults::Fail => bindings::ldd3_copy_to_user_nofault(dst, src, n),
            }
        };
        self.0.copied(n, left)
    }
}

/// Where the bytes of a `write(2)` come from: what is left of the caller's buffer. Every copy
/// moves the start on by the bytes it copied.
pub struct UserReader(Remaining);

impl UserReader {
    /// The user buffer of `len` bytes at `ptr`; nothing is checked until a copy.
    pub fn new(ptr: UserPtr, len: usize) -> Self {
        Self(Remaining { ptr, len })
    }

    /// Bytes that may still be read.
    pub fn len(&self) -> usize {
        self.0.len
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    /// Fills all of `out` (at most [`Self::len`] bytes), or fails with `EFAULT`.
    pub fn read_slice(&mut self, out: &mut [u8]) -> Result {
        if out.len() > self.0.len {
            return Err(EFAULT);
        }
        UserSlice::new(self.0.ptr, out.len())
            .reader()
            .read_slice(out)?;
        self.0.copied(out.len(), 0).map(|_| ())
    }

    /// Copies `n` bytes (at most [`Self::len`]) to `dst`, faulting user pages in or not as
    /// `faults` says; returns how many were copied before a fault, `EFAULT` if none. The
    /// bytes of `dst` past those copied are left as they were.
    ///
    /// # Safety
    ///
    /// `dst` is valid for writes of `n` bytes during the call, and accessed meanwhile only by
    /// user copies or atomic accesses (the model of the module documentation).
    pub(super) unsafe fn read_raw(
        &mut self,
        dst: *mut u8,
        n: usize,
        faults: Faults,
    ) -> Result<usize> {
        let n = n.min(self.0.len);
        let (dst, src) = (dst.cast::<c_void>(), self.0.ptr.as_const_ptr());
        // SAFETY: The helpers check the user range and stop at a fault (the nofault one also
        // at a page not present, without sleeping); `dst` is valid for `n` bytes (the
        // caller's contract).
        let left = unsafe {
            match faults {
                Faults::Wait => bindings::ldd3_copy_from_user_keep(dst, src, n),
                Faults::Fail => bindings::ldd3_copy_from_user_nofault(dst, src, n),
            }
        };
        self.0.copied(n, left)
    }
}

/// Whether a copy from user memory may wait for the pages it touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Faults {
    /// Fault pages in as needed, which can take as long as user space likes (userfaultfd,
    /// FUSE): for copies with no lock held.
    Wait,
    /// Copy what is present and stop, without sleeping, at the first page that would need a
    /// fault: the copy takes a bounded time, so it may run with the device lock held (the
    /// page cache does the same under its folio lock, `generic_perform_write`).
    Fail,
}

/// Device memory that a read or write copies to or from user space with the device lock
/// dropped ([`SharedBlock`], [`super::vm::PageBlock`], or either behind an `Arc`).
pub trait UserCopy {
    /// Copies `n` bytes from `offset` on to `out` (at most what `out` has room for), with
    /// `faults` as [`UserWriter::write_raw`]; returns how many were copied before a fault in
    /// the user buffer (`EFAULT` if none), `EINVAL` if the range goes past the end of the
    /// block.
    fn copy_to_user(
        &self,
        offset: usize,
        n: usize,
        out: &mut UserWriter,
        faults: Faults,
    ) -> Result<usize>;

    /// Copies `n` bytes from `input` (at most what it holds) into the block at `offset`,
    /// with `faults` as [`UserReader::read_raw`]; returns how many were copied before a fault
    /// (`EFAULT` if none), the bytes after those left as they were. `EINVAL` if the range goes
    /// past the end of the block.
    fn copy_from_user(
        &self,
        offset: usize,
        n: usize,
        input: &mut UserReader,
        faults: Faults,
    ) -> Result<usize>;

    /// A new block of `size` bytes holding `n` bytes from `input` (at most what it holds) at
    /// `offset` and zeros everywhere else, filled before anything else can reach it; with how
    /// many bytes were copied before a fault (`EFAULT` if none, and no block). `EINVAL` if the
    /// range goes past `size` or no block has that size.
    fn new_from_user(
        size: usize,
        offset: usize,
        n: usize,
        input: &mut UserReader,
        faults: Faults,
    ) -> Result<(Self, usize)>
    where
        Self: Sized;
}

impl<T: UserCopy> UserCopy for Arc<T> {
    fn copy_to_user(
        &self,
        offset: usize,
        n: usize,
        out: &mut UserWriter,
        faults: Faults,
    ) -> Result<usize> {
        (**self).copy_to_user(offset, n, out, faults)
    }

    fn copy_from_user(
        &self,
        offset: usize,
        n: usize,
        input: &mut UserReader,
        faults: Faults,
    ) -> Result<usize> {
        (**self).copy_from_user(offset, n, input, faults)
    }

    fn new_from_user(
        size: usize,
        offset: usize,
        n: usize,
        input: &mut UserReader,
        faults: Faults,
    ) -> Result<(Self, usize)> {
        let before = input.0;
        let (block, copied) = T::new_from_user(size, offset, n, input, faults)?;
        match Arc::new(block, GFP_KERNEL) {
            Ok(block) => Ok((block, copied)),
            Err(e) => {
                // No block: the bytes are not in the device, so they were not read either.
                input.0 = before;
                Err(e.into())
            }
        }
    }
}

/// Blocks one read or write copies at most. The book's calls stop at the end of one quantum;
/// these go on to the end of the buffer, but a tiny geometry (1-byte quanta, set by root)
/// would make that millions of lookups and allocations in one call: past this many blocks the
/// call returns what it did, as a short read or write.
pub const MAX_PIECES: usize = 4096;

/// What a read finds at its position, looked up under the device lock.
pub enum ReadPiece<B> {
    /// `len` bytes of `block` from `offset` on.
    Data {
        /// The block, with a reference taken: it outlives the copy.
        block: B,
        /// Where the bytes start in the block.
        offset: usize,
        /// How many there are, to the end of the block or of the device.
        len: usize,
    },
    /// `len` bytes never written, read as zeros.
    Hole(usize),
    /// The end of the device.
    End,
}

/// Where the next bytes of a write go, looked up under the device lock: `len` bytes from
/// `offset` on, in `target`.
pub struct WritePiece<B> {
    /// The block there, or the vacancy a new one fills.
    pub target: WriteTarget<B>,
    /// Where the bytes go in the block.
    pub offset: usize,
    /// How many fit, to the end of the block or the device's bound.
    pub len: usize,
}

/// The block a [`WritePiece`] goes to.
pub enum WriteTarget<B> {
    /// A block written before, with a reference taken: it outlives the copy.
    Block(B),
    /// No block yet: the write fills a new one ([`UserCopy::new_from_user`]) with the lock
    /// dropped, and the device inserts it there if the place is still free
    /// ([`super::qset::Qsets::store`]). Until then nobody else sees its bytes, so it is
    /// allocated without zeroing the bytes that the write fills.
    Vacant(Vacancy),
}

/// What a write put in place for one [`WritePiece`], for the device to record under its lock.
pub enum Written<B> {
    /// Bytes copied into the block of [`WriteTarget::Block`].
    Into(B),
    /// A new block, filled for the vacancy.
    New(B, Vacancy),
}

/// Bytes copied at most under one hold of the device lock while they are at hand: past them
/// the lock is dropped and taken again (the first block always goes), so that a large call
/// lets the device's other users in between, as the book's one-quantum calls do.
const HOLD_BYTES: usize = 64 * 1024;

/// How one hold of the device lock ended in [`copy_at_hand`].
enum Held {
    /// The user buffer is done, or the call's [`MAX_PIECES`] are.
    Finished,
    /// [`HOLD_BYTES`] were copied: the lock is to be dropped and taken again.
    Relock,
    /// The next bytes are not at hand: they go the long way, from this hold's look-up.
    NotAtHand,
}

/// Copies the bytes at hand block after block under one hold of the device lock, with
/// `copy(done)`: it copies the piece at `done` bytes into the call and returns how many it
/// copied (0 if they are not at hand) and whether the user buffer is done. Counts each piece
/// copied in `*done` and `*pieces`. Reads and writes thus take the lock once for all the blocks
/// of a call (up to [`HOLD_BYTES`]), not once per block.
fn copy_at_hand(
    done: &mut usize,
    pieces: &mut usize,
    mut copy: impl FnMut(usize) -> Result<(usize, bool)>,
) -> Result<Held> {
    let mut held = 0;
    loop {
        if *pieces >= MAX_PIECES {
            return Ok(Held::Finished);
        }
        if held >= HOLD_BYTES {
            return Ok(Held::Relock);
        }
        let (n, buffer_done) = copy(*done)?;
        if n == 0 {
            return Ok(Held::NotAtHand);
        }
        *done += n;
        *pieces += 1;
        held += n;
        if buffer_done {
            return Ok(Held::Finished);
        }
    }
}

/// A device made of blocks, as [`read_pieces`] sees it with the device lock held.
pub trait BlockReads {
    /// The blocks, shared with the copies that run with the lock dropped.
    type Block: UserCopy;

    /// Copies the bytes from `pos` on that one block holds to `out`, as far as they need no
    /// page fault (with the lock held and [`Faults::Fail`], as `Qsets::read_at_hand`).
    /// Returns how many were copied: 0 when the first one needs a fault, in a hole, or at
    /// the end.
    fn read_at_hand(&self, pos: usize, out: &mut UserWriter) -> Result<usize>;

    /// What a read of up to `max` bytes finds at `pos` (as `Qsets::read_piece`).
    fn read_piece(&self, pos: usize, max: usize) -> ReadPiece<Self::Block>;
}

/// A read(2) at `start` of a device made of blocks (C `scull_read`), its state reached through
/// `lock` (the device lock, interruptibly). Under the lock, the bytes that need no page fault
/// are copied right there, block after block ([`BlockReads::read_at_hand`], up to
/// [`HOLD_BYTES`] per hold of the lock); otherwise the
/// block is looked up and a reference taken ([`BlockReads::read_piece`]), and the bytes are
/// copied with the lock dropped (a hole reads as zeros). Returns the bytes copied: all of
/// `out`, or fewer at the end of the device, at a fault in `out`, after [`MAX_PIECES`]
/// pieces, or when a signal is pending after the first piece. An error with nothing copied is
/// returned as such.
pub fn read_pieces<D, G>(
    out: &mut UserWriter,
    start: usize,
    mut lock: impl FnMut() -> Result<G>,
) -> Result<usize>
where
    D: BlockReads,
    G: Deref<Target = D>,
{
    let mut done = 0;
    let mut pieces = 0;
    while pieces < MAX_PIECES && !out.is_empty() {
        if pieces > 0 && signal_pending() {
            break;
        }
        let dev = match lock() {
            Ok(dev) => dev,
            Err(e) => return partial(done, e),
        };
        let held = copy_at_hand(&mut done, &mut pieces, |done| {
            let n = dev.read_at_hand(start + done, out)?;
            Ok((n, out.is_empty()))
        });
        match held {
            Ok(Held::NotAtHand) => pieces += 1,
            Ok(Held::Finished | Held::Relock) => continue,
            Err(e) => return partial(done, e),
        }
        let piece = dev.read_piece(start + done, out.len());
        drop(dev);
        let (want, copied) = match piece {
            ReadPiece::Data { block, offset, len } if len > 0 => {
                let want = len.min(out.len());
                (want, block.copy_to_user(offset, want, out, Faults::Wait))
            }
            ReadPiece::Hole(len) if len > 0 => {
                let want = len.min(out.len());
                (want, out.write_zeros(want))
            }
            _ => break,
        };
        match copied {
            Ok(n) => {
                done += n;
                if n < want {
                    break;
                }
            }
            Err(e) => return partial(done, e),
        }
    }
    Ok(done)
}

/// A device made of blocks, as [`write_pieces`] sees it with the device lock held.
pub trait BlockWrites {
    /// The blocks, shared with the copies that run with the lock dropped.
    type Block: UserCopy;

    /// Copies the bytes of `input` for `pos` on that need no page fault, with the lock held
    /// and [`Faults::Fail`], into the block there or a new one, and grows the size past them
    /// (as `Qsets::write_at_hand`). Returns how many were copied: 0 when the first one needs a
    /// fault.
    fn write_at_hand(&mut self, pos: usize, input: &mut UserReader) -> Result<usize>;

    /// Where byte `pos` of a write of up to `max` bytes goes: a block found there, or the
    /// vacancy for a new one (as `Qsets::write_piece`).
    fn write_piece(&mut self, pos: usize, max: usize) -> Result<WritePiece<Self::Block>>;

    /// Records that a write's bytes are in place up to `end` through `written`: the size
    /// grows, a new block goes in (as `Qsets::store`). False if another write filled the
    /// vacancy first: the bytes must be copied again, into that block.
    fn stored(&mut self, written: Written<Self::Block>, end: usize) -> bool;
}

/// A write(2) at `start` to a device made of blocks (C `scull_write`), its state reached
/// through `lock` (the device lock, interruptibly) and `relock` (the same lock, for the
/// bookkeeping of bytes already copied, which must not be lost to a signal).
///
/// Under the lock, the bytes that need no page fault are copied right there, block after
/// block (into the block where they go, or a new one), and recorded, as the page cache does
/// ([`BlockWrites::write_at_hand`], up to [`HOLD_BYTES`] per hold of the lock). When the user buffer must be faulted in, the block (a
/// reference taken) or the vacancy for a new one is looked up ([`BlockWrites::write_piece`])
/// and the lock dropped: the block or a new one is filled with no lock held, and the lock is
/// taken again to record it ([`BlockWrites::stored`]); if another write filled the vacancy
/// meanwhile, the piece is written again, into that block. So a buffer that takes long to
/// fault in (userfaultfd, FUSE, a mapping of the device) holds up only its own caller.
///
/// Returns the bytes stored: all of `input`, or fewer at an error of the device (its bound,
/// no memory), at a fault in `input`, after [`MAX_PIECES`] pieces, or when a
/// signal is pending after the first piece. An error with nothing stored is returned as
/// such; the bytes after those stored are left as they were.
pub fn write_pieces<D, G>(
    input: &mut UserReader,
    start: usize,
    mut lock: impl FnMut() -> Result<G>,
    mut relock: impl FnMut() -> G,
) -> Result<usize>
where
    D: BlockWrites,
    G: DerefMut<Target = D>,
{
    let mut done = 0;
    let mut pieces = 0;
    while pieces < MAX_PIECES && !input.is_empty() {
        if pieces > 0 && signal_pending() {
            break;
        }
        let mut dev = match lock() {
            Ok(dev) => dev,
            Err(e) => return partial(done, e),
        };
        // The bytes at hand, copied and recorded with the lock held.
        let held = copy_at_hand(&mut done, &mut pieces, |done| {
            let n = dev.write_at_hand(start + done, input)?;
            Ok((n, input.is_empty()))
        });
        match held {
            Ok(Held::NotAtHand) => pieces += 1,
            Ok(Held::Finished | Held::Relock) => continue,
            Err(e) => return partial(done, e),
        }
        // Nothing at hand: copy with the lock dropped, then take it again to record.
        let piece = match dev.write_piece(start + done, input.len()) {
            Ok(piece) if piece.len > 0 => piece,
            Ok(_) => break,
            Err(e) => return partial(done, e),
        };
        drop(dev);
        let before = input.0;
        let want = piece.len.min(input.len());
        let (n, written) = match piece.fill(want, input) {
            Ok(filled) => filled,
            Err(e) => return partial(done, e),
        };
        if !relock().stored(written, start + done + n) {
            // Another write made the block meanwhile: copy these bytes again, into it.
            input.0 = before;
            continue;
        }
        done += n;
        if n < want {
            break;
        }
    }
    Ok(done)
}

impl<B: UserCopy> WritePiece<B> {
    /// Copies `n` bytes (at most [`Self::len`]) from `input` to the piece, faulting the user
    /// pages in as needed: into the block found, or into a new block for the vacancy. Returns
    /// how many were copied and what to record.
    fn fill(self, n: usize, input: &mut UserReader) -> Result<(usize, Written<B>)> {
        let n = n.min(self.len);
        match self.target {
            WriteTarget::Block(block) => {
                let n = block.copy_from_user(self.offset, n, input, Faults::Wait)?;
                Ok((n, Written::Into(block)))
            }
            WriteTarget::Vacant(vacancy) => {
                let size = vacancy.block_size();
                let (block, n) = B::new_from_user(size, self.offset, n, input, Faults::Wait)?;
                Ok((n, Written::New(block, vacancy)))
            }
        }
    }
}

/// `len` bytes of device memory, zeroed where nothing was written, copied to and from user
/// space by any number of calls at once with no lock held (see the module documentation). Shared as an `Arc<SharedBlock>`:
/// a call takes a reference under the device lock and copies after dropping it; the memory
/// lives until the last reference goes, even if the device dropped the block meanwhile.
///
/// # Invariants
///
/// `ptr` is a [`KVmalloc`] allocation of [`Self::layout`]`(len)`, `len > 0`, owned by this
/// value. Its bytes are accessed only as the module documentation says, never through a Rust
/// reference. Every byte is initialised, except in a block that `new_from_user` is filling,
/// which nothing else can reach until it is.
pub struct SharedBlock {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: The block owns plain memory, freed with `kvfree`, which works from any thread.
unsafe impl Send for SharedBlock {}
// SAFETY: `&self` methods access the bytes only with user copies and atomics, which may run
// on several threads at once (the module documentation).
unsafe impl Sync for SharedBlock {}

impl SharedBlock {
    /// 8-byte aligned, for the word copies of [`copy_from_shared`].
    fn layout(len: usize) -> Result<Layout> {
        Layout::from_size_align(len, 8).map_err(|_| EINVAL)
    }

    /// The most a block may hold: `kvmalloc` refuses more than `INT_MAX` bytes, with a
    /// `WARN` (`mm/slub.c`), which no safe caller may reach.
    pub const MAX_SIZE: usize = i32::MAX as usize;

    /// A block of `len` zeroed bytes; `EINVAL` if `len` is 0 or above [`Self::MAX_SIZE`],
    /// `ENOMEM`.
    pub fn new(len: usize) -> Result<Self> {
        Self::alloc(len, GFP_KERNEL | __GFP_ZERO)
    }

    /// A block of `len` bytes allocated with `flags`: zeroed with `__GFP_ZERO`, else holding
    /// whatever the memory held, which the caller overwrites before anyone reads it.
    fn alloc(len: usize, flags: kernel::alloc::Flags) -> Result<Self> {
        if len == 0 || len > Self::MAX_SIZE {
            return Err(EINVAL);
        }
        let block = KVmalloc::alloc(Self::layout(len)?, flags, NumaNode::NO_NODE)?;
        // INVARIANT: a new allocation of `len > 0` bytes with this layout, ours.
        Ok(Self {
            ptr: block.cast(),
            len,
        })
    }

    /// Bytes in the block.
    pub fn size(&self) -> usize {
        self.len
    }

    /// The address of `offset .. offset + n`, after checking it is inside the block.
    fn range(&self, offset: usize, n: usize) -> Result<*mut u8> {
        match offset.checked_add(n) {
            Some(end) if end <= self.len => {
                // SAFETY: `offset <= len`: inside the allocation or one past its end.
                Ok(unsafe { self.ptr.as_ptr().add(offset) })
            }
            _ => Err(EINVAL),
        }
    }

    /// Copies `dst.len()` bytes from `offset` on into `dst`; `EINVAL` past the end.
    pub fn read(&self, offset: usize, dst: &mut [u8]) -> Result {
        let src = self.range(offset, dst.len())?;
        // SAFETY: `src` is valid for `dst.len()` bytes, accessed by others only with user
        // copies and atomics (type invariant); `dst` is ours alone.
        unsafe { copy_from_shared(dst.as_mut_ptr(), src, dst.len()) };
        Ok(())
    }

    /// Copies `src` into the block at `offset`; `EINVAL` past the end.
    pub fn write(&self, offset: usize, src: &[u8]) -> Result {
        let dst = self.range(offset, src.len())?;
        // SAFETY: As in `read`, the other way.
        unsafe { copy_to_shared(dst, src.as_ptr(), src.len()) };
        Ok(())
    }
}

impl UserCopy for SharedBlock {
    fn copy_to_user(
        &self,
        offset: usize,
        n: usize,
        out: &mut UserWriter,
        faults: Faults,
    ) -> Result<usize> {
        let src = self.range(offset, n)?;
        // SAFETY: `src` is valid for `n` bytes (just checked, the allocation lives as long as
        // `self`), accessed only as the module documentation says (type invariant).
        unsafe { out.write_raw(src, n, faults) }
    }

    fn copy_from_user(
        &self,
        offset: usize,
        n: usize,
        input: &mut UserReader,
        faults: Faults,
    ) -> Result<usize> {
        let dst = self.range(offset, n)?;
        // SAFETY: As in `copy_to_user`, for writes.
        unsafe { input.read_raw(dst, n, faults) }
    }

    fn new_from_user(
        size: usize,
        offset: usize,
        n: usize,
        input: &mut UserReader,
        faults: Faults,
    ) -> Result<(Self, usize)> {
        let n = n.min(input.len());
        let block = Self::alloc(size, GFP_KERNEL)?;
        let dst = block.range(offset, n)?;
        // SAFETY: `dst` is valid for `n` bytes (just checked), in a block nobody else can
        // reach yet.
        let copied = unsafe { input.read_raw(dst, n, faults) }?;
        let start = block.ptr.as_ptr();
        // SAFETY: `offset + copied <= offset + n <= size`, so both ranges are inside the
        // allocation; nobody else can reach it yet, so plain writes race with nothing. After
        // them every byte of the block is initialised.
        unsafe {
            ptr::write_bytes(start, 0, offset);
            ptr::write_bytes(dst.add(copied), 0, size - offset - copied);
        }
        Ok((block, copied))
    }
}

impl Drop for SharedBlock {
    fn drop(&mut self) {
        // The layout was valid when the block was made.
        if let Ok(layout) = Self::layout(self.len) {
            // SAFETY: `ptr` is our `KVmalloc` allocation of this layout (type invariant); it
            // is not used again.
            unsafe { KVmalloc::free(self.ptr, layout) };
        }
    }
}

/// Copies `len` bytes from `src`, memory that other calls or user space may write at the same
/// time, to `dst`, memory of ours.
///
/// A plain copy (`ptr::copy_nonoverlapping`, what `kernel::page::Page::read_raw` does, whose
/// contract therefore rules out a racing write) would be a data race then. Here every access
/// to the shared memory is a relaxed atomic load (`READ_ONCE`), 8 bytes at a time where `src`
/// is aligned and byte by byte at the ends: the result is, word by word, the old or the new
/// contents, as a C driver or the page cache would see, and never undefined behaviour.
///
/// # Safety
///
/// `src` must be valid for reads of `len` bytes, and written during the call only by user
/// space or by atomic accesses; `dst` must be valid for writes of `len` bytes, accessed by
/// nothing else during the call, and not overlap `src`.
pub(super) unsafe fn copy_from_shared(dst: *mut u8, src: *const u8, len: usize) {
    let mut i = 0;
    while i < len {
        // SAFETY: `i < len`, so both are in range (the contract above).
        let (d, s) = unsafe { (dst.add(i), src.add(i)) };
        if s.addr() % 8 == 0 && len - i >= 8 {
            // SAFETY: `s` is aligned and valid for 8 bytes; the other accesses to it are
            // user space's or atomic (the contract above). `d` is ours, maybe unaligned.
            unsafe {
                let word = Atomic::from_ptr(s.cast::<i64>().cast_mut()).load(Relaxed);
                d.cast::<i64>().write_unaligned(word);
            }
            i += 8;
        } else {
            // SAFETY: As above, for one byte.
            unsafe { d.write(Atomic::from_ptr(s.cast::<i8>().cast_mut()).load(Relaxed) as u8) };
            i += 1;
        }
    }
}

/// Copies `len` bytes from `src`, memory of ours, to `dst`, memory that other calls or user
/// space may read and write at the same time, with relaxed atomic stores (`WRITE_ONCE`); see
/// [`copy_from_shared`].
///
/// # Safety
///
/// `dst` must be valid for writes of `len` bytes, and accessed during the call only by user
/// space or by atomic accesses; `src` must be valid for reads of `len` bytes, written by
/// nothing during the call, and not overlap `dst`.
pub(super) unsafe fn copy_to_shared(dst: *mut u8, src: *const u8, len: usize) {
    let mut i = 0;
    while i < len {
        // SAFETY: `i < len`, so both are in range (the contract above).
        let (d, s) = unsafe { (dst.add(i), src.add(i)) };
        if d.addr() % 8 == 0 && len - i >= 8 {
            // SAFETY: `d` is aligned and valid for 8 bytes; the other accesses to it are
            // user space's or atomic (the contract above). `s` is ours, maybe unaligned.
            unsafe {
                Atomic::from_ptr(d.cast::<i64>()).store(s.cast::<i64>().read_unaligned(), Relaxed)
            };
            i += 8;
        } else {
            // SAFETY: As above, for one byte.
            unsafe { Atomic::from_ptr(d.cast::<i8>()).store(s.read() as i8, Relaxed) };
            i += 1;
        }
    }
}
