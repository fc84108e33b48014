// SPDX-License-Identifier: GPL-2.0

//! Socket buffers: [`TxSkb`] (handed to `start_xmit`), [`RxSkb`] (built for receive) and
//! [`SkBuffRef`] (one being filled by `create_header`).
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h).

use super::bindings as b;
use core::{
    ptr,
    ptr::NonNull, //
};
use kernel::{
    prelude::*,
    types::Opaque, //
};

/// A socket buffer the stack hands to `start_xmit`: read-only, as it may be a clone or
/// shared. Dropping it frees it as a drop (C `dev_kfree_skb_any`); [`TxSkb::consume`] frees it
/// as a completed transmission.
///
/// # Invariants
///
/// The pointer is a valid `sk_buff` whose one reference this value owns.
pub struct TxSkb(NonNull<b::sk_buff>);

// SAFETY: An owned reference to an `sk_buff` may move between contexts and CPUs.
unsafe impl Send for TxSkb {}

impl TxSkb {
    /// Takes over the reference to `skb` that the stack hands to `ndo_start_xmit`.
    ///
    /// # Safety
    ///
    /// `skb` is a valid `sk_buff` whose one reference the caller gives to the new value.
    pub(super) unsafe fn from_raw(skb: NonNull<b::sk_buff>) -> Self {
        // INVARIANT: as the caller guarantees.
        Self(skb)
    }

    /// Gives the reference back as a raw pointer, without freeing the skb.
    pub(super) fn into_raw(self) -> *mut b::sk_buff {
        let skb = self.0.as_ptr();
        core::mem::forget(self);
        skb
    }

    /// The packet's linear bytes: all of it, since the devices made here do not advertise
    /// scatter-gather (`validate_xmit_skb` linearises for them).
    pub fn data(&self) -> &[u8] {
        // SAFETY: `data` holds `skb_headlen` bytes in the skb's head, which lives as long as
        // our reference; the head of a clone is only written by the holder of its header
        // (not us), so nothing writes these bytes while we read them.
        unsafe {
            let skb = self.0.as_ptr();
            core::slice::from_raw_parts((*skb).data, b::ldd3_skb_headlen(skb) as usize)
        }
    }

    /// Frees the packet after a successful transmission (C `dev_consume_skb_any`).
    pub fn consume(self) {
        // SAFETY: We own the reference (type invariant); `dev_consume_skb_any` gives it back
        // in any context.
        unsafe { b::ldd3_dev_consume_skb_any(self.into_raw()) };
    }
}

impl Drop for TxSkb {
    fn drop(&mut self) {
        // SAFETY: We own the reference (type invariant); `dev_kfree_skb_any` works in any
        // context.
        unsafe { b::ldd3_dev_kfree_skb_any(self.0.as_ptr()) };
    }
}

/// A receive buffer being built by the driver ([`NetDevice::alloc_skb`]), until it is handed
/// to the stack; freed on drop (C `dev_kfree_skb_any`).
///
/// # Invariants
///
/// The pointer is a linear `sk_buff` from `netdev_alloc_skb` that only this value refers to
/// (not cloned or shared); its bytes from `data` to `tail` were written through
/// [`RxSkb::put_slice`].
pub struct RxSkb(NonNull<b::sk_buff>);

// SAFETY: An owned `sk_buff` may move between contexts and CPUs.
unsafe impl Send for RxSkb {}

impl RxSkb {
    /// Takes over a new receive buffer.
    ///
    /// # Safety
    ///
    /// `skb` is a linear `sk_buff` from `netdev_alloc_skb`, empty (`data == tail`), that
    /// nothing else refers to.
    pub(super) unsafe fn from_raw(skb: NonNull<b::sk_buff>) -> Self {
        // INVARIANT: as the caller guarantees; no bytes were put in yet.
        Self(skb)
    }

    /// Gives the buffer back as a raw pointer, without freeing it.
    pub(super) fn into_raw(self) -> *mut b::sk_buff {
        let skb = self.0.as_ptr();
        core::mem::forget(self);
        skb
    }

    /// The bytes put in so far.
    pub fn data(&self) -> &[u8] {
        // SAFETY: `data` holds `skb_headlen` (= `len`, linear) initialised bytes, all ours
        // (type invariant).
        unsafe {
            let skb = self.0.as_ptr();
            core::slice::from_raw_parts((*skb).data, b::ldd3_skb_headlen(skb) as usize)
        }
    }

    /// Free bytes after the data (C `skb_tailroom`).
    pub fn tailroom(&self) -> usize {
        // SAFETY: The skb is valid; `skb_tailroom` is `end - tail` of a linear skb, never
        // negative (`tail <= end` is kept by `skb_reserve`/`skb_put` as used here).
        let room = unsafe { b::ldd3_skb_tailroom(self.0.as_ptr()) };
        usize::try_from(room).unwrap_or(0)
    }

    /// Moves the start of an empty buffer `len` bytes on, as headroom (C `skb_reserve`):
    /// `EINVAL` if data was already put in, `ENOSPC` if `len` exceeds the tailroom.
    pub fn reserve(&mut self, len: usize) -> Result {
        if !self.data().is_empty() {
            return Err(EINVAL);
        }
        if len > self.tailroom() {
            return Err(ENOSPC);
        }
        // SAFETY: The skb is ours and empty (`data == tail`), and `len` (so also fits an
        // `int`) is at most `end - tail`: `data` and `tail` move on together and stay within
        // the buffer.
        unsafe { b::ldd3_skb_reserve(self.0.as_ptr(), len as i32) };
        Ok(())
    }

    /// Appends `bytes` at the tail; `ENOSPC` if they do not fit in the tailroom.
    pub fn put_slice(&mut self, bytes: &[u8]) -> Result {
        if bytes.len() > self.tailroom() {
            return Err(ENOSPC);
        }
        let skb = self.0.as_ptr();
        // SAFETY: The skb is ours and linear, with room for `bytes` (so their length fits a
        // `u32`): `skb_put` extends it (no `skb_over_panic`) and returns the `bytes.len()`
        // bytes at the old tail, which we fill.
        unsafe {
            let dst = b::skb_put(skb, bytes.len() as u32).cast::<u8>();
            ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
        }
        Ok(())
    }

    /// Tells the stack the checksums of this frame need no checking
    /// (`CHECKSUM_UNNECESSARY`), as for a link that cannot corrupt data.
    pub fn set_checksum_unnecessary(&mut self) {
        // SAFETY: The skb is ours; `ip_summed` is a bitfield the C helper sets.
        unsafe { b::ldd3_skb_checksum_unnecessary(self.0.as_ptr()) };
    }
}

impl Drop for RxSkb {
    fn drop(&mut self) {
        // SAFETY: The buffer is ours; `dev_kfree_skb_any` works in any context.
        unsafe { b::ldd3_dev_kfree_skb_any(self.0.as_ptr()) };
    }
}

/// A socket buffer being built by the stack, lent to [`NetDeviceOps::create_header`].
#[repr(transparent)]
pub struct SkBuffRef(Opaque<b::sk_buff>);

impl SkBuffRef {
    /// Prepends `len` zeroed bytes to the data and returns them (C `skb_push`); the stack
    /// reserved `hard_header_len` bytes of headroom for the link-layer header. `ENOSPC` if the
    /// headroom is smaller.
    pub fn push(&mut self, len: usize) -> Result<&mut [u8]> {
        let skb = self.0.get();
        // SAFETY: The buffer is valid for the call; `skb_headroom` is `data - head`.
        let headroom = unsafe { b::ldd3_skb_headroom(skb) } as usize;
        if len > headroom {
            return Err(ENOSPC);
        }
        // SAFETY: There is room (so `len` fits a `u32`): `skb_push` moves `data` back `len`
        // bytes, still within the buffer (no `skb_under_panic`). The stack lends us the
        // header area for the call (`&mut self`); the bytes may be uninitialised headroom, so
        // they are zeroed before a slice of them is made.
        unsafe {
            let start = b::skb_push(skb, len as u32).cast::<u8>();
            ptr::write_bytes(start, 0, len);
            Ok(core::slice::from_raw_parts_mut(start, len))
        }
    }
}
