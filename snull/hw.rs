// SPDX-License-Identifier: GPL-2.0

//! The simulated hardware of snull (LDD3's `snull_hw_tx` and the device's registers): a pool of
//! transmit buffers per interface, the wire between the two, and the interrupts it raises.
//!
//! Everything here runs under the wire lock, and calls nothing of the network stack but the
//! queue flow control and the copies of a frame (at most [`BUFFER_LEN`] bytes) into a buffer
//! ([`Buffer::load`], which takes only the headers of a super-frame) and out of it into a
//! receive skb the driver allocated beforehand ([`Buffer::unload`]), and `dev_kfree_skb_any`
//! for an skb lost with its buffer: bounded work that takes no lock. What must happen with the
//! lock dropped (freeing a sent frame, handing a received one to the stack, scheduling a poll,
//! waking a queue) comes back to the driver as a value: [`Transmitted`], [`RxInterrupt`], the
//! devices to wake.

use super::{
    packet,
    Snull, //
};
use kernel::{
    prelude::*,
    sync::aref::ARef, //
};

use super::common::net::{
    LinkStats,
    NetDevice,
    RxSkb,
    TxSkb,
    ETH_FRAME_LEN, //
};

/// Room in a transmit buffer: a full frame plus an 802.1Q tag.
pub(crate) const BUFFER_LEN: usize = ETH_FRAME_LEN + 4;

/// Bytes a receive skb holds before the frame, so that its IP header is aligned.
pub(crate) const RX_HEADROOM: usize = 2;

/// The longest TCP super-frame (TSO) the stack may hand over, in bytes: the stack's own
/// default (`GSO_LEGACY_MAX_SIZE`). A buffer takes one by reference, not copied (see
/// [`Buffer::load`]).
pub(crate) const SUPER_FRAME_LEN: usize = 64 * 1024;

/// Events counted for `ethtool -S`, named by [`Counters::NAMES`].
#[derive(Default)]
pub(crate) struct Counters {
    rx_interrupts: u64,
    tx_interrupts: u64,
    tx_lockups: u64,
    tx_timeouts: u64,
    pool_exhausted: u64,
    /// Frames handed over in pieces (scatter-gather), gathered by the copy.
    tx_fragmented: u64,
    /// Frames whose transport checksum the copy filled in (checksum offload).
    tx_checksummed: u64,
    /// TCP super-frames sent whole (segmentation offload, TSO).
    tx_super_frames: u64,
    /// Super-frames dropped for want of memory to take them (their headers' copy).
    tx_super_dropped: u64,
}

impl Counters {
    /// The `ethtool -S` names, in [`Counters::values`] order.
    pub(crate) const NAMES: [&'static CStr; 9] = [
        c"rx_interrupts",
        c"tx_interrupts",
        c"tx_lockups",
        c"tx_timeouts",
        c"pool_exhausted",
        c"tx_fragmented",
        c"tx_checksummed",
        c"tx_super_frames",
        c"tx_super_dropped",
    ];

    /// The counters, in [`Counters::NAMES`] order.
    pub(crate) fn values(&self) -> [u64; 9] {
        [
            self.rx_interrupts,
            self.tx_interrupts,
            self.tx_lockups,
            self.tx_timeouts,
            self.pool_exhausted,
            self.tx_fragmented,
            self.tx_checksummed,
            self.tx_super_frames,
            self.tx_super_dropped,
        ]
    }
}

/// A transmit buffer holding one frame: a copy of it, or a TCP super-frame by reference (C
/// `struct snull_packet`). Buffers go from pool to wire to receiver boxed, as the C passes a
/// pointer: handing one on moves a pointer, not the buffer.
pub(crate) struct Buffer {
    /// A copied frame; room for [`BUFFER_LEN`] bytes.
    data: KVec<u8>,
    /// A super-frame, taken by reference and ready to go up on the peer (see [`Buffer::load`]).
    carried: Option<RxSkb>,
    /// The interface whose pool the buffer belongs to.
    owner: usize,
}

impl Buffer {
    /// The frame as a receive skb (the copy of C `snull_rx`): the super-frame the buffer
    /// carries, up whole (as GRO would have merged its segments, its checksum vouched for), or
    /// a copy of its frame in the empty skb that `alloc(len)` gives for `len` bytes. `None` if
    /// there is no skb for it: the frame is lost.
    pub(crate) fn unload(&mut self, alloc: impl FnOnce(usize) -> Result<RxSkb>) -> Option<RxSkb> {
        if let Some(frame) = self.carried.take() {
            return Some(frame);
        }
        let mut skb = alloc(RX_HEADROOM + self.data.len()).ok()?;
        skb.reserve(RX_HEADROOM).ok()?;
        skb.put_slice(&self.data).ok()?;
        // The wire cannot corrupt a frame: don't check it.
        skb.set_checksum_unnecessary();
        Some(skb)
    }

    /// The "hardware" takes `skb` into this empty buffer (C `snull_hw_tx`) and flips the
    /// addresses (see `packet.rs`).
    ///
    /// A frame is copied (the `memcpy` of the book), however fragmented, and the checksum the
    /// stack left to the device is computed on the way, as rtl8139 does. A TCP super-frame,
    /// up to [`SUPER_FRAME_LEN`] bytes, is not: the buffer takes it by reference, as a NIC's
    /// DMA engine reads a frame where it lies, and only its headers are copied, to be flipped
    /// (`TxSkb::forward`); its transport checksum stays the pseudo-header's sum, for the
    /// receiving stack. (The stack keeps that checksum field, and so the headers before it,
    /// in the linear part, which `forward` copies: `skb_checksum_help` warns otherwise.)
    /// `EMSGSIZE` for a frame too short or too long, `ENOMEM` if a super-frame cannot be
    /// taken.
    pub(crate) fn load(&mut self, skb: &mut TxSkb) -> Result {
        let len = skb.len();
        let is_super = skb.is_super_frame();
        let max_len = if is_super {
            SUPER_FRAME_LEN
        } else {
            BUFFER_LEN
        };
        if !(packet::ETH_HLEN..=max_len).contains(&len) {
            return Err(EMSGSIZE);
        }
        if is_super {
            let mut frame = skb.forward()?;
            packet::flip_ipv4(frame.data_mut(), packet::Checksum::PseudoHeader);
            self.carried = Some(frame);
            return Ok(());
        }
        // The buffer is empty, with room for the frame; the copy fails only on fragments the
        // CPU may not read, which the stack does not hand to a device like this one.
        skb.append_to(&mut self.data)?;
        packet::flip_ipv4(&mut self.data, packet::Checksum::Full);
        Ok(())
    }
}

/// The frames received by an interface and not yet handed to the stack (NAPI mode), oldest
/// first: a ring of fixed capacity, as a NIC's receive ring.
pub(crate) struct RxRing {
    slots: KVec<Option<KBox<Buffer>>>,
    /// The slot of the oldest frame.
    head: usize,
    /// The number of frames.
    len: usize,
}

impl RxRing {
    /// An empty ring of `capacity` slots (at least 1).
    fn new(capacity: usize) -> Result<Self> {
        let mut slots = KVec::with_capacity(capacity.max(1), GFP_KERNEL)?;
        for _ in 0..capacity.max(1) {
            slots.push(None, GFP_KERNEL)?;
        }
        Ok(Self {
            slots,
            head: 0,
            len: 0,
        })
    }

    /// Whether no frame is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues `buffer` after the others; gives it back if the ring is full.
    fn push(&mut self, buffer: KBox<Buffer>) -> Result<(), KBox<Buffer>> {
        if self.len == self.slots.len() {
            return Err(buffer);
        }
        let tail = (self.head + self.len) % self.slots.len();
        self.slots[tail] = Some(buffer);
        self.len += 1;
        Ok(())
    }

    /// Takes the oldest frame.
    fn pop(&mut self) -> Option<KBox<Buffer>> {
        if self.len == 0 {
            return None;
        }
        let buffer = self.slots[self.head].take();
        self.head = (self.head + 1) % self.slots.len();
        self.len -= 1;
        buffer
    }
}

/// The simulated hardware state of one interface.
pub(crate) struct Port {
    /// Free transmit buffers.
    pool: KVec<KBox<Buffer>>,
    /// Frames received and not yet handed to the stack (NAPI mode).
    rx_queue: RxRing,
    /// Whether receive interrupts are enabled (off while a NAPI poll is pending).
    rx_int_enabled: bool,
    /// A frame whose transmit-done interrupt was lost (`lockup`), freed by the watchdog.
    lost_tx: Option<TxSkb>,
    /// The interface statistics (`ip -s link`).
    pub(crate) stats: LinkStats,
    /// The `ethtool -S` counters.
    pub(crate) counters: Counters,
}

impl Port {
    /// A port with `pool_size` buffers of its own, for interface `owner`.
    pub(crate) fn new(owner: usize, pool_size: usize) -> Result<Self> {
        let mut pool = KVec::with_capacity(pool_size, GFP_KERNEL)?;
        for _ in 0..pool_size {
            let data = KVec::with_capacity(BUFFER_LEN, GFP_KERNEL)?;
            let buffer = Buffer {
                data,
                carried: None,
                owner,
            };
            pool.push(KBox::new(buffer, GFP_KERNEL)?, GFP_KERNEL)?;
        }
        Ok(Self {
            pool,
            // Both ports' buffers can end up queued here.
            rx_queue: RxRing::new(2 * pool_size)?,
            rx_int_enabled: true,
            lost_tx: None,
            stats: LinkStats::default(),
            counters: Counters::default(),
        })
    }
}

/// How the peer receives a frame: at once, or from its NAPI poll (`use_napi`).
pub(crate) enum Receive {
    /// At once, into this empty receive skb with room for the frame and [`RX_HEADROOM`]
    /// (C `snull_rx`'s `dev_alloc_skb`, made before the wire lock is taken; `None` if there
    /// was no memory for one, or the frame is a super-frame, which needs none).
    Now(Option<RxSkb>),
    /// Later: the frame waits in the peer's receive ring for its NAPI poll.
    Poll,
}

/// What the receive interrupt a transmission raised on the peer asks of its driver.
pub(crate) enum RxInterrupt {
    /// Hand this frame to the stack now (C `snull_rx`, whose copy the "hardware" made into
    /// the skb of [`Receive::Now`]); `None` if it was lost for want of an skb (counted).
    Deliver(Option<RxSkb>),
    /// Schedule the peer's NAPI poll, which takes the queued frames (C `snull_napi_interrupt`).
    SchedulePoll,
    /// Nothing: a poll is already pending and will find the frame queued.
    Masked,
}

/// What became of a frame given to [`Wire::transmit`].
pub(crate) enum Transmitted {
    /// Dropped and counted: nobody listens at the other end, or it could not be loaded
    /// ([`Buffer::load`]). Its buffer went home; `wake` is a device whose queue must be woken
    /// (its last buffer came back).
    Dropped {
        wake: Option<ARef<NetDevice<Snull>>>,
    },
    /// On the wire. `tx_done` is the frame whose transmit-done interrupt came (`None` when
    /// `lockup` lost it: the watchdog frees it), `rx` the peer's receive interrupt, `wake` a
    /// device whose queue must be woken (a frame received at once gave its buffer back).
    Sent {
        tx_done: Option<TxSkb>,
        peer: ARef<NetDevice<Snull>>,
        rx: RxInterrupt,
        wake: Option<ARef<NetDevice<Snull>>>,
    },
}

/// The state of both interfaces: the "hardware" between them, under one lock.
pub(crate) struct Wire {
    pub(crate) ports: [Port; 2],
    /// The interfaces, once registered; emptied before they are unregistered.
    pub(crate) devices: [Option<ARef<NetDevice<Snull>>>; 2],
    /// Lose the transmit-done interrupt of every `lockup`th frame (0: never).
    pub(crate) lockup: u64,
}

impl Wire {
    /// C `snull_hw_tx`: interface `index` sends `skb` to its peer, which receives it as
    /// `receive` says: takes a buffer from its pool, loads the frame into it
    /// ([`Buffer::load`]) and puts it on the wire ([`Wire::transmit`]), all under one hold of
    /// the wire lock. Gives `skb` back if the pool is empty (the queue is stopped then).
    pub(crate) fn send(
        &mut self,
        dev: &NetDevice<Snull>,
        index: usize,
        mut skb: TxSkb,
        receive: Receive,
    ) -> Result<Transmitted, TxSkb> {
        let Some(mut buffer) = self.take_buffer(dev, index) else {
            return Err(skb);
        };
        let loaded = buffer.load(&mut skb);
        Ok(self.transmit(dev, index, skb, buffer, loaded, receive))
    }

    /// C `snull_get_tx_buffer`: a free buffer of interface `index`, for [`Buffer::load`];
    /// stops `dev`'s queue when it was the last one, or (`None`) when there is none, which
    /// cannot happen while the queue is stopped on the last buffer.
    fn take_buffer(&mut self, dev: &NetDevice<Snull>, index: usize) -> Option<KBox<Buffer>> {
        let port = &mut self.ports[index];
        let Some(buffer) = port.pool.pop() else {
            dev.stop_queue();
            return None;
        };
        if port.pool.is_empty() {
            port.counters.pool_exhausted += 1;
            dev.stop_queue();
        }
        Some(buffer)
    }

    /// The rest of C `snull_hw_tx`: puts the frame `skb` that interface `index` loaded into
    /// `buffer` (`loaded` says how that went) on the wire to the peer, raising the
    /// transmit-done interrupt (stopping `dev`'s queue if `lockup` loses it) and the peer's
    /// receive interrupt, which takes the frame out of the buffer at once or queues the buffer
    /// for its NAPI poll (`receive`).
    fn transmit(
        &mut self,
        dev: &NetDevice<Snull>,
        index: usize,
        skb: TxSkb,
        mut buffer: KBox<Buffer>,
        loaded: Result,
        receive: Receive,
    ) -> Transmitted {
        let peer_index = 1 - index;
        let peer = self.devices[peer_index].clone().filter(|peer| peer.is_up());
        let (Some(peer), Ok(())) = (peer, loaded) else {
            let port = &mut self.ports[index];
            port.stats.tx_dropped += 1;
            port.counters.tx_super_dropped += u64::from(loaded == Err(ENOMEM));
            return Transmitted::Dropped {
                wake: self.recycle(buffer),
            };
        };
        let port = &mut self.ports[index];
        let gso = buffer.carried.is_some();
        port.counters.tx_fragmented += u64::from(skb.is_nonlinear());
        port.counters.tx_checksummed += u64::from(!gso && skb.needs_checksum());
        port.counters.tx_super_frames += u64::from(gso);
        port.stats.tx_packets += 1;
        port.stats.tx_bytes += skb.len() as u64;

        // Transmit-done interrupt, unless `lockup` loses this one.
        let tx_done = if self.lockup != 0 && port.stats.tx_packets % self.lockup == 0 {
            port.counters.tx_lockups += 1;
            dev.stop_queue();
            port.lost_tx.replace(skb)
        } else {
            port.counters.tx_interrupts += 1;
            Some(skb)
        };

        // Receive interrupt on the peer: a frame copied out to deliver at once (its buffer
        // going home), or one queued for its NAPI poll.
        let port = &mut self.ports[peer_index];
        port.counters.rx_interrupts += 1;
        let (rx, wake) = match receive {
            Receive::Now(skb) => {
                let frame = buffer.unload(|_| skb.ok_or(ENOMEM));
                let delivered = frame.as_ref().map(RxSkb::len);
                let wake = self.rx_done(peer_index, buffer, delivered);
                (RxInterrupt::Deliver(frame), wake)
            }
            Receive::Poll => {
                // Cannot fail: room for every buffer of both pools.
                let _ = port.rx_queue.push(buffer);
                if port.rx_int_enabled {
                    port.rx_int_enabled = false;
                    (RxInterrupt::SchedulePoll, None)
                } else {
                    (RxInterrupt::Masked, None)
                }
            }
        };
        Transmitted::Sent {
            tx_done,
            peer,
            rx,
            wake,
        }
    }

    /// Takes `buffer` back into its owner's pool (a super-frame it still carries is lost
    /// with it, freed); returns the owner if its queue must be woken.
    pub(crate) fn recycle(&mut self, mut buffer: KBox<Buffer>) -> Option<ARef<NetDevice<Snull>>> {
        let owner = buffer.owner;
        buffer.data.clear();
        buffer.carried = None;
        // Cannot fail: the pool has room for all of its buffers.
        let _ = self.ports[owner].pool.push(buffer, GFP_ATOMIC);
        self.devices[owner]
            .as_ref()
            .filter(|dev| dev.queue_stopped() && self.ports[owner].lost_tx.is_none())
            .cloned()
    }

    /// Moves the oldest frames queued for interface `index`'s NAPI poll into `batch`, as
    /// many as there are and it has slots; returns how many.
    pub(crate) fn take_rx(&mut self, index: usize, batch: &mut [Option<KBox<Buffer>>]) -> usize {
        let queue = &mut self.ports[index].rx_queue;
        let mut taken = 0;
        for slot in batch.iter_mut() {
            let Some(buffer) = queue.pop() else {
                break;
            };
            *slot = Some(buffer);
            taken += 1;
        }
        taken
    }

    /// Interface `index` is done with a received `buffer`: counts it as received (`delivered`,
    /// a frame of that many bytes) or dropped, and takes it back into its pool; returns its
    /// owner if the owner's queue must be woken.
    pub(crate) fn rx_done(
        &mut self,
        index: usize,
        buffer: KBox<Buffer>,
        delivered: Option<usize>,
    ) -> Option<ARef<NetDevice<Snull>>> {
        let stats = &mut self.ports[index].stats;
        if let Some(len) = delivered {
            stats.rx_packets += 1;
            stats.rx_bytes += len as u64;
        } else {
            stats.rx_dropped += 1;
        }
        self.recycle(buffer)
    }

    /// The NAPI poll of interface `index` is complete: receive interrupts are enabled again,
    /// unless a frame came in meanwhile, in which case the poll must be scheduled again
    /// (returns `true`).
    pub(crate) fn poll_done(&mut self, index: usize) -> bool {
        let port = &mut self.ports[index];
        let pending = !port.rx_queue.is_empty();
        port.rx_int_enabled = !pending;
        pending
    }

    /// Interface `index` went down: frames still queued for it are lost (counted), their
    /// buffers go home. Returns the devices whose queues must be woken.
    pub(crate) fn flush_rx(&mut self, index: usize) -> KVec<ARef<NetDevice<Snull>>> {
        let mut wake = KVec::new();
        self.ports[index].rx_int_enabled = true;
        while let Some(buffer) = self.ports[index].rx_queue.pop() {
            self.ports[index].stats.rx_dropped += 1;
            if let Some(owner) = self.recycle(buffer) {
                let _ = wake.push(owner, GFP_ATOMIC);
            }
        }
        wake
    }

    /// The watchdog fired on interface `index`: counts it, and gives back the frame whose
    /// transmit-done interrupt was lost, if any, and whether a buffer is free to go on with.
    pub(crate) fn timeout(&mut self, index: usize) -> (Option<TxSkb>, bool) {
        let port = &mut self.ports[index];
        port.counters.tx_timeouts += 1;
        port.stats.tx_errors += 1;
        (port.lost_tx.take(), !port.pool.is_empty())
    }
}
