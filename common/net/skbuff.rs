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

/// Why a buffer freed on drop was dropped, for the `kfree_skb` tracepoint (C
/// `dev_kfree_skb_any`'s reason).
const NOT_SPECIFIED: b::skb_drop_reason = b::skb_drop_reason_SKB_DROP_REASON_NOT_SPECIFIED;

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

    /// Whether the packet is a TCP super-frame (TSO: only on a device made with
    /// [`DeviceConfig::tso_max_size`]) that the stack asks to be cut into segments of its
    /// MSS, up to that many bytes of them. Its transport checksum is the sum of the
    /// pseudo-header only, left for the segments; its copy ([`TxSkb::append_to`]) keeps it
    /// so, and [`TxSkb::forward`] passes it on with its segmentation.
    ///
    /// [`DeviceConfig::tso_max_size`]: super::DeviceConfig::tso_max_size
    pub fn is_super_frame(&self) -> bool {
        // SAFETY: The skb is valid (type invariant) and its shared info and checksum fields
        // are as stable as `len` (see `Self::len`); the helper only reads them.
        unsafe { b::ldd3_skb_is_super_frame(self.0.as_ptr()) }
    }

    /// Appends the whole packet, linear or not, to `dst`, into the vector's spare capacity (no
    /// allocation, no zeroing first), and, if the stack left its transport checksum to the
    /// device (`CHECKSUM_PARTIAL`), computes it on the way and stores it in the copy (C
    /// `skb_copy_and_csum_dev`, as rtl8139 does); the skb itself is not changed. A super-frame
    /// ([`TxSkb::is_super_frame`]) is copied as it is (C `skb_copy_bits`), its checksum left to whoever
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

    /// A receive buffer holding this packet, for a device to receive, made without copying
    /// its payload (as veth passes a packet on, C `__dev_forward_skb`): a new skb with a copy of
    /// the head (headroom, and the headers the stack put in the linear part) that takes
    /// references to the page fragments (C `pskb_copy`), with the packet's checksum state
    /// (`CHECKSUM_PARTIAL` stays: the receiving stack takes the checksum as good, and fills it
    /// in if it sends the packet on) and segmentation (a super-frame goes up whole, as GRO
    /// would have merged it), and without what belonged to the sending side: its route,
    /// conntrack entry, mark and timestamp (C `skb_scrub_packet`). The head is the new
    /// buffer's own ([`RxSkb::data_mut`]); the fragments' bytes stay shared with this packet,
    /// as in a loopback, and are not reachable from Rust (user pages sent with `MSG_ZEROCOPY`
    /// too, their completion then waiting for the new buffer). This packet is left as it was,
    /// but for zerocopy fragments that may not be held, which are copied to kernel pages
    /// first, as for every clone (C `skb_orphan_frags`). `ENOMEM` if memory is short (or the fragments are not the CPU's to
    /// read, netmem, which the stack does not hand to a device like these).
    pub fn forward(&mut self) -> Result<RxSkb> {
        // SAFETY: The skb is valid and we own our reference to it (type invariant), which is
        // what `pskb_copy` needs: it reads the skb and takes references to its fragments (and
        // to a zerocopy completion, `skb_zerocopy_clone`), and changes it only to swap
        // zerocopy fragments that may not be held for copies (`skb_orphan_frags` ->
        // `skb_copy_ubufs`, which refuses a shared skb and first gives ours a head of its own,
        // `skb_unclone`), as `skb_clone` does to any skb handed to a device. It
        // allocates with GFP_ATOMIC, takes no lock of the stack and sleeps nowhere, so it may
        // run in `start_xmit`'s context, also with interrupts off (under a driver's spinlock).
        // The result is NULL or a new skb that only we hold.
        let skb = unsafe { b::ldd3_skb_forward(self.0.as_ptr()) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: A new skb that only we hold, with a head of its own (`__alloc_skb`, dataref
        // 1) whose `skb_headlen` bytes from `data` were copied from the packet's linear part;
        // its fragments and `frag_list` are the packet's, shared.
        Ok(unsafe { RxSkb::from_raw(skb) })
    }

    /// Frees the packet after a successful transmission (C `dev_consume_skb_any`).
    pub fn consume(self) {
        // SAFETY: We own the reference (type invariant); `dev_kfree_skb_any_reason` with
        // `SKB_CONSUMED` (C `dev_consume_skb_any`) gives it back in any context.
        unsafe { b::dev_kfree_skb_any_reason(self.into_raw(), b::skb_drop_reason_SKB_CONSUMED) };
    }
}

impl Drop for TxSkb {
    fn drop(&mut self) {
        // SAFETY: We own the reference (type invariant); `dev_kfree_skb_any_reason` (C
        // `dev_kfree_skb_any`) works in any context.
        unsafe { b::dev_kfree_skb_any_reason(self.0.as_ptr(), NOT_SPECIFIED) };
    }
}

/// A receive buffer, until it is handed to the stack: built by the driver
/// ([`NetDevice::alloc_skb`], or [`NapiPoll::alloc_skb`] inside a NAPI poll, then
/// [`RxSkb::put_slice`]), or made from a transmitted packet ([`TxSkb::forward`]); freed on
/// drop (C `dev_kfree_skb_any`).
///
/// # Invariants
///
/// The pointer is an `sk_buff` that only this value refers to (not shared) with a head of its
/// own (not cloned), whose bytes from `data` to `tail` are initialised: written through
/// [`RxSkb::put_slice`] into a linear skb from `netdev_alloc_skb` or `napi_alloc_skb`, or
/// copied by `pskb_copy` ([`TxSkb::forward`]). The page fragments and `frag_list` of the
/// latter are shared with the packet it was made from, and never accessed from here.
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

    /// The number of bytes in the head from `data` (C `skb_headlen`: `len - data_len`).
    fn headlen(&self) -> usize {
        // SAFETY: The skb is valid and ours (type invariant).
        unsafe {
            let skb = self.0.as_ptr();
            ((*skb).len - (*skb).data_len) as usize
        }
    }

    /// The bytes in the head (the linear part): those put in so far, or the headers of a
    /// forwarded packet ([`TxSkb::forward`]).
    pub fn data(&self) -> &[u8] {
        // SAFETY: From `data` the head holds `skb_headlen` initialised bytes, ours alone (type
        // invariant); `&self` keeps them from changing.
        unsafe { core::slice::from_raw_parts((*self.0.as_ptr()).data, self.headlen()) }
    }

    /// The bytes in the head, to change in place (the headers of a forwarded packet, say).
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: As in `data`; `&mut self` makes the access exclusive, and nothing else
        // refers to the head (type invariant: not cloned).
        unsafe { core::slice::from_raw_parts_mut((*self.0.as_ptr()).data, self.headlen()) }
    }

    /// The frame's length in bytes (C `skb->len`): the head and, in a forwarded packet, its
    /// fragments.
    pub fn len(&self) -> usize {
        // SAFETY: The skb is valid and ours (type invariant).
        unsafe { (*self.0.as_ptr()).len as usize }
    }

    /// Whether the frame has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some of the frame's bytes are outside the head (a forwarded packet's page
    /// fragments): then nothing can be put in ([`RxSkb::put_slice`], [`RxSkb::reserve`]).
    fn is_nonlinear(&self) -> bool {
        // SAFETY: The skb is valid and ours (type invariant); C `skb_is_nonlinear` is
        // `data_len != 0`.
        unsafe { (*self.0.as_ptr()).data_len != 0 }
    }

    /// Free bytes after the data (C `skb_tailroom`): none in a nonlinear frame.
    pub fn tailroom(&self) -> usize {
        if self.is_nonlinear() {
            return 0;
        }
        // SAFETY: The skb is valid and ours (type invariant). On 64-bit `tail` and `end` are
        // offsets from `head` (`NET_SKBUFF_DATA_USES_OFFSET`; on 32-bit they would be pointers
        // and this would not compile); `tail <= end` is kept by `skb_reserve`/`skb_put` as
        // used here, and by `pskb_copy`, and the subtraction saturates in any case.
        unsafe {
            let skb = self.0.as_ptr();
            (*skb).end.saturating_sub((*skb).tail) as usize
        }
    }

    /// Moves the start of an empty buffer `len` bytes on, as headroom (C `skb_reserve`):
    /// `EINVAL` if data was already put in (or the frame is nonlinear), `ENOSPC` if `len`
    /// exceeds the tailroom.
    pub fn reserve(&mut self, len: usize) -> Result {
        if !self.data().is_empty() || self.is_nonlinear() {
            return Err(EINVAL);
        }
        if len > self.tailroom() {
            return Err(ENOSPC);
        }
        // SAFETY: The skb is ours and empty (`data == tail`), and `len` (so also fits a `u32`)
        // is at most `end - tail`: `data` and `tail` (an offset, see `tailroom`) move on
        // together and stay within the buffer, as C `skb_reserve` moves them.
        unsafe {
            let skb = self.0.as_ptr();
            (*skb).data = (*skb).data.add(len);
            (*skb).tail += len as u32;
        }
        Ok(())
    }

    /// Appends `bytes` at the tail; `ENOSPC` if they do not fit in the tailroom (or the frame
    /// is nonlinear: only a head's last bytes are its tail).
    pub fn put_slice(&mut self, bytes: &[u8]) -> Result {
        if bytes.len() > self.tailroom() || self.is_nonlinear() {
            return Err(ENOSPC);
        }
        let skb = self.0.as_ptr();
        // SAFETY: The skb is ours (type invariant) and linear (just checked: `skb_put` asserts
        // it), with room for `bytes` (so their length fits a `u32`): `skb_put` extends it (no
        // `skb_over_panic`) and returns the `bytes.len()` bytes at the old tail, which we fill.
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
        // SAFETY: The buffer is ours; `dev_kfree_skb_any_reason` (C `dev_kfree_skb_any`)
        // works in any context.
        unsafe { b::dev_kfree_skb_any_reason(self.0.as_ptr(), NOT_SPECIFIED) };
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
        // SAFETY: The buffer is valid for the call; its `data` lies in its head, at or after
        // `head` (C `skb_headroom` is `data - head`).
        let headroom = unsafe { (*skb).data.offset_from((*skb).head) } as usize;
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
