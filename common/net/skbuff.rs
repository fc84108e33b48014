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
    error::to_result,
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

    /// The packet's length in bytes (C `skb->len`): its linear head, its page fragments and
    /// its `frag_list` together, as [`TxSkb::append_to`] copies them.
    pub fn len(&self) -> usize {
        // SAFETY: The skb is valid (type invariant). Its `len` is written only by the holder of
        // the `sk_buff` itself, and the stack gave that to us: nobody changes it while we
        // hold it (a shared skb, `skb_shared`, is not changed by any of its holders).
        unsafe { (*self.0.as_ptr()).len as usize }
    }

    /// Whether the packet has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some of the packet's bytes are outside its linear head, in page fragments or
    /// a `frag_list` (C `skb_is_nonlinear`): only with scatter-gather on.
    pub fn is_nonlinear(&self) -> bool {
        // SAFETY: The skb is valid; `data_len` is as stable as `len` (see `Self::len`).
        unsafe { (*self.0.as_ptr()).data_len != 0 }
    }

    /// Whether the stack left the transport checksum to the device (`CHECKSUM_PARTIAL`),
    /// for the copy to fill in: only with checksum offload on.
    pub fn needs_checksum(&self) -> bool {
        // SAFETY: The skb is valid; `ip_summed` is as stable as `len` (see `Self::len`), a
        // bitfield that the C helper reads.
        unsafe { b::ldd3_skb_checksum_partial(self.0.as_ptr()) }
    }

    /// The segmentation the stack asks of this packet if it is a TCP super-frame (TSO: only
    /// on a device made with [`DeviceConfig::tso_max_size`]), up to that many bytes of
    /// segments, each to be cut to [`Gso::segment_size`] bytes of payload. Its copy
    /// ([`TxSkb::append_to`]) keeps the transport checksum as the stack left it, the sum of
    /// the pseudo-header only; [`RxSkb::set_gso`] tells the receiving stack so.
    ///
    /// [`DeviceConfig::tso_max_size`]: super::DeviceConfig::tso_max_size
    pub fn gso(&self) -> Option<Gso> {
        let mut gso = Gso(b::ldd3_gso {
            size: 0,
            segs: 0,
            type_: 0,
            csum_start: 0,
            csum_offset: 0,
        });
        // SAFETY: The skb is valid (type invariant) and its shared info and checksum fields
        // are as stable as `len` (see `Self::len`); the helper only reads them and writes
        // `gso`, a local of the right type.
        unsafe { b::ldd3_skb_gso(self.0.as_ptr(), &mut gso.0) }.then_some(gso)
    }

    /// Appends the whole packet, linear or not, to `dst`, into the vector's spare capacity (no
    /// allocation, no zeroing first), and, if the stack left its transport checksum to the
    /// device (`CHECKSUM_PARTIAL`), computes it on the way and stores it in the copy (C
    /// `skb_copy_and_csum_dev`, as rtl8139 does); the skb itself is not changed. A super-frame
    /// ([`TxSkb::gso`]) is copied as it is (C `skb_copy_bits`), its checksum left to whoever
    /// cuts it into segments. `EMSGSIZE` (and `dst` unchanged) if fewer than [`TxSkb::len`]
    /// bytes of capacity are spare; `EFAULT` (and `dst` unchanged) for a super-frame whose
    /// fragments the CPU may not read (`skb_frags_readable`).
    ///
    /// This copy is the only access to a transmitted packet's bytes that common/net gives,
    /// and it is right for every skb: that is why every device made here advertises
    /// scatter-gather and checksum offload (see `OpsTables::setup`). It writes every one of
    /// the [`TxSkb::len`] bytes and nothing else: the copy of the packet, or (for an skb whose
    /// checksum offsets are out of range, which the function warns about) a copy without the
    /// checksum or zeros, and zeros for fragments the CPU may not read (`skb_frags_readable`;
    /// such skbs are not handed to devices without netmem support anyway:
    /// `validate_xmit_unreadable_skb`).
    pub fn append_to(&self, dst: &mut KVec<u8>) -> Result {
        let len = self.len();
        let spare = dst.spare_capacity_mut();
        if spare.len() < len {
            return Err(EMSGSIZE);
        }
        // SAFETY: `spare` is writable (if uninitialised) memory of ours for at least `len`
        // bytes. The skb is valid and stays so for the call: we hold a reference (type
        // invariant), which keeps its head, its fragments' pages and its `frag_list` alive.
        // The helper only reads the skb (a `const` pointer: right for a clone or a shared
        // skb), and only in C: a fragment page that someone writes meanwhile (a user page
        // sent with MSG_ZEROCOPY, say) changes what is copied, and is no memory that Rust
        // holds a reference to. Nothing in it sleeps or takes a lock, so it may run in any
        // context, including ours under a spinlock with interrupts off. It writes `skb->len`
        // bytes at the start of `spare`, the room just checked:
        // - for a super-frame (`skb_is_gso`), `skb_copy_bits` (net/core/skbuff.c) from offset
        //   0 for `skb->len` bytes copies the head, each fragment (mapped a page at a time)
        //   and the `frag_list` in turn, exactly `len` bytes, and returns 0; or, if a
        //   fragment is unreadable, `-EFAULT`, having written a part;
        // - else `skb_copy_and_csum_dev` writes them in every branch and the helper returns
        //   0: the head up to the checksum start, then `skb_copy_and_csum_bits` over the rest
        //   (it maps each fragment page with `kmap_atomic`, zeroes what is unreadable, and
        //   stops at exactly `len`, the sum of the parts for any skb of the stack), then the
        //   folded checksum at `csum_start + csum_offset`, which it has checked lies within
        //   the `len` bytes; or, if those offsets are out of range, `skb_copy_bits` of the
        //   `len` bytes or a memset of them.
        to_result(unsafe { b::ldd3_skb_copy_dev(self.0.as_ptr(), spare.as_mut_ptr().cast()) })?;
        // SAFETY: The copy succeeded: the `len` bytes after the old length were all written
        // just above, and they are within the capacity.
        unsafe { dst.inc_len(len) };
        Ok(())
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

/// A receive buffer being built by the driver ([`NetDevice::alloc_skb`], or
/// [`NapiPoll::alloc_skb`] inside a NAPI poll), until it is handed to the stack; freed on drop
/// (C `dev_kfree_skb_any`).
///
/// # Invariants
///
/// The pointer is a linear `sk_buff` from `netdev_alloc_skb` or `napi_alloc_skb` that only this
/// value refers to (not cloned or shared); its bytes from `data` to `tail` were written through
/// [`RxSkb::put_slice`].
pub struct RxSkb(NonNull<b::sk_buff>);

// SAFETY: An owned `sk_buff` may move between contexts and CPUs.
unsafe impl Send for RxSkb {}

impl RxSkb {
    /// Takes over a new receive buffer.
    ///
    /// # Safety
    ///
    /// `skb` is a linear `sk_buff` from `netdev_alloc_skb` or `napi_alloc_skb`, empty
    /// (`data == tail`), that nothing else refers to.
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

    /// Marks the frame as the copy of a TCP super-frame that was sent with `gso` (from
    /// [`TxSkb::gso`]): the receiving stack takes it whole, as a packet merged by GRO, with
    /// its transport checksum the sum of the pseudo-header only (`CHECKSUM_PARTIAL`, to be
    /// filled in if it is ever sent on). `EINVAL` (and nothing changed) if the checksum does
    /// not lie within the bytes put in: the frame does not start as the super-frame did.
    pub fn set_gso(&mut self, gso: &Gso) -> Result {
        // SAFETY: The skb is ours and linear (type invariant). `skb_partial_csum_set` checks
        // that the checksum field lies within the linear data before it changes anything;
        // the segmentation fields are plain values of the shared info, which the stack
        // checks against the headers before it cuts a packet (`tcp4_gso_segment` pulls and
        // validates them, as for packets from a virtio or tun device), and only ours. (A
        // `Gso` comes from `TxSkb::gso`, and the stack hands a device only GSO types its
        // features cover, `skb_gso_ok`/`net_gso_ok`: `SKB_GSO_TCPV4` here.)
        if unsafe { b::ldd3_skb_set_gso(self.0.as_ptr(), &gso.0) } {
            Ok(())
        } else {
            Err(EINVAL)
        }
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

/// How the stack wants a TCP super-frame cut into segments (TSO), read from a transmitted
/// skb by [`TxSkb::gso`] and given to the receive skb that carries its copy by
/// [`RxSkb::set_gso`].
#[derive(Clone, Copy)]
pub struct Gso(b::ldd3_gso);

impl Gso {
    /// The payload bytes of each segment (C `gso_size`): the connection's MSS.
    pub fn segment_size(&self) -> u16 {
        self.0.size
    }

    /// The number of segments (C `gso_segs`).
    pub fn segments(&self) -> u16 {
        self.0.segs
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
