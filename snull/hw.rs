// SPDX-License-Identifier: GPL-2.0

//! The simulated hardware of snull (LDD3's `snull_hw_tx` and the device's registers): a pool of
//! transmit buffers per interface, the wire between the two, and the interrupts it raises.
//!
//! Everything here but the copy of a frame into a buffer ([`Buffer::load`]) runs under the
//! wire lock and calls nothing of the network stack but the queue flow control. What must happen with the lock dropped (freeing a sent frame, handing a
//! received one to the stack, scheduling a poll, waking a queue) comes back to the driver as a
//! value: [`Transmitted`], [`RxInterrupt`], the devices to wake.

use super::{
    packet,
    Snull, //
};
use kernel::{
    prelude::*,
    sync::aref::ARef, //
};

use super::common::net::{
    Gso,
    LinkStats,
    NetDevice,
    TxSkb,
    ETH_FRAME_LEN, //
};

/// Room in a transmit buffer: a full frame plus an 802.1Q tag.
pub(crate) const BUFFER_LEN: usize = ETH_FRAME_LEN + 4;

/// The longest TCP super-frame (TSO) the stack may hand over, in bytes, and the room a buffer
/// grows to for one. A little under 64 KiB, so that the receive skb that takes its copy (the
/// frame, its headroom and the shared info) fits a 64 KiB allocation.
pub(crate) const SUPER_FRAME_LEN: usize = 60 * 1024;

/// The free buffers of a port that keep their room for a super-frame; the room of any more is
/// given back when they come home (see [`Wire::recycle`]).
const SUPER_BUFFERS_KEPT: usize = 8;

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
    /// Super-frames dropped for want of memory to grow a buffer for them.
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

/// A transmit buffer holding one frame.
pub(crate) struct Buffer {
    /// The frame; room for [`BUFFER_LEN`] bytes, or for [`SUPER_FRAME_LEN`] once it has held
    /// a super-frame.
    data: KVec<u8>,
    /// The segmentation asked for, if the frame is a TCP super-frame.
    gso: Option<Gso>,
    /// The interface whose pool the buffer belongs to.
    owner: usize,
}

impl Buffer {
    /// The frame.
    pub(crate) fn frame(&self) -> &[u8] {
        &self.data
    }

    /// How the frame is to be cut into segments, if it is a TCP super-frame.
    pub(crate) fn gso(&self) -> Option<&Gso> {
        self.gso.as_ref()
    }

    /// Whether the buffer has room for a super-frame.
    fn is_super(&self) -> bool {
        self.data.capacity() > BUFFER_LEN
    }

    /// The "hardware" copies `skb` into this empty buffer (the `memcpy` of C `snull_hw_tx`),
    /// however fragmented, computing on the way the checksum the stack left to it, as
    /// rtl8139 does, but that of a super-frame; then flips the addresses (see `packet.rs`).
    /// Runs with the wire lock dropped: the buffer is out of the pool, the driver's own. The
    /// first super-frame a buffer carries grows it (an atomic allocation); it keeps the room
    /// (but see [`Wire::recycle`]). `EMSGSIZE` for a frame too short or too long, `ENOMEM`
    /// if the buffer cannot grow.
    pub(crate) fn load(&mut self, skb: &TxSkb) -> Result {
        let len = skb.len();
        let gso = skb.gso();
        let (max_len, checksum) = match gso {
            Some(_) => (SUPER_FRAME_LEN, packet::Checksum::PseudoHeader),
            None => (BUFFER_LEN, packet::Checksum::Full),
        };
        if !(packet::ETH_HLEN..=max_len).contains(&len) {
            return Err(EMSGSIZE);
        }
        if self.data.capacity() < len {
            self.data.reserve(SUPER_FRAME_LEN, GFP_ATOMIC)?;
        }
        // The buffer is empty, with room for the frame; the copy fails only on fragments the
        // CPU may not read, which the stack does not hand to a device like this one.
        skb.append_to(&mut self.data)?;
        packet::flip_ipv4(&mut self.data, checksum);
        self.gso = gso;
        Ok(())
    }
}

/// The frames received by an interface and not yet handed to the stack (NAPI mode), oldest
/// first: a ring of fixed capacity, as a NIC's receive ring.
pub(crate) struct RxRing {
    slots: KVec<Option<Buffer>>,
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
    fn push(&mut self, buffer: Buffer) -> Result<(), Buffer> {
        if self.len == self.slots.len() {
            return Err(buffer);
        }
        let tail = (self.head + self.len) % self.slots.len();
        self.slots[tail] = Some(buffer);
        self.len += 1;
        Ok(())
    }

    /// Takes the oldest frame.
    fn pop(&mut self) -> Option<Buffer> {
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
    pool: KVec<Buffer>,
    /// The free buffers of this port with room for a super-frame.
    free_super_buffers: usize,
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
            pool.push(
                Buffer {
                    data,
                    gso: None,
                    owner,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            pool,
            free_super_buffers: 0,
            // Both ports' buffers can end up queued here.
            rx_queue: RxRing::new(2 * pool_size)?,
            rx_int_enabled: true,
            lost_tx: None,
            stats: LinkStats::default(),
            counters: Counters::default(),
        })
    }
}

/// What the receive interrupt a transmission raised on the peer asks of its driver.
pub(crate) enum RxInterrupt {
    /// Hand this frame to the stack now (C `snull_rx`).
    Deliver(Buffer),
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
    /// `lockup` lost it: the watchdog frees it), `rx` the peer's receive interrupt.
    Sent {
        tx_done: Option<TxSkb>,
        peer: ARef<NetDevice<Snull>>,
        rx: RxInterrupt,
    },
}

/// The state of both interfaces: the "hardware" between them, under one lock.
pub(crate) struct Wire {
    pub(crate) ports: [Port; 2],
    /// The interfaces, once registered; emptied before they are unregistered.
    pub(crate) devices: [Option<ARef<NetDevice<Snull>>>; 2],
    /// Whether received frames wait for a NAPI poll (`use_napi`).
    pub(crate) use_napi: bool,
    /// Lose the transmit-done interrupt of every `lockup`th frame (0: never).
    pub(crate) lockup: u64,
}

impl Wire {
    /// C `snull_get_tx_buffer`: a free buffer of interface `index`, for [`Buffer::load`];
    /// stops `dev`'s queue when it was the last one, or (`None`) when there is none, which
    /// cannot happen while the queue is stopped on the last buffer.
    pub(crate) fn take_buffer(&mut self, dev: &NetDevice<Snull>, index: usize) -> Option<Buffer> {
        let port = &mut self.ports[index];
        let Some(buffer) = port.pool.pop() else {
            dev.stop_queue();
            return None;
        };
        port.free_super_buffers -= usize::from(buffer.is_super());
        if port.pool.is_empty() {
            port.counters.pool_exhausted += 1;
            dev.stop_queue();
        }
        Some(buffer)
    }

    /// The rest of C `snull_hw_tx`: puts the frame `skb` that interface `index` loaded into
    /// `buffer` (`loaded` says how that went) on the wire to the peer, raising the
    /// transmit-done interrupt (stopping `dev`'s queue if `lockup` loses it) and the peer's
    /// receive interrupt. A TCP super-frame goes whole, its checksum left to the receiving
    /// stack.
    pub(crate) fn transmit(
        &mut self,
        dev: &NetDevice<Snull>,
        index: usize,
        skb: TxSkb,
        buffer: Buffer,
        loaded: Result,
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
        let gso = buffer.gso().is_some();
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

        // Receive interrupt on the peer: a frame to deliver at once, or one queued for its
        // NAPI poll.
        let port = &mut self.ports[peer_index];
        port.counters.rx_interrupts += 1;
        let rx = if !self.use_napi {
            RxInterrupt::Deliver(buffer)
        } else {
            // Cannot fail: room for every buffer of both pools.
            let _ = port.rx_queue.push(buffer);
            if port.rx_int_enabled {
                port.rx_int_enabled = false;
                RxInterrupt::SchedulePoll
            } else {
                RxInterrupt::Masked
            }
        };
        Transmitted::Sent { tx_done, peer, rx }
    }

    /// Takes `buffer` back into its owner's pool; returns the owner if its queue must be woken.
    /// A buffer grown for a super-frame gives its room back if [`SUPER_BUFFERS_KEPT`] free
    /// ones have theirs: idle pools stay small, whatever `pool_size`.
    pub(crate) fn recycle(&mut self, mut buffer: Buffer) -> Option<ARef<NetDevice<Snull>>> {
        let owner = buffer.owner;
        buffer.data.clear();
        buffer.gso = None;
        let port = &mut self.ports[owner];
        if buffer.is_super() && port.free_super_buffers >= SUPER_BUFFERS_KEPT {
            // If even that small allocation fails, the buffer keeps its room for now.
            if let Ok(data) = KVec::with_capacity(BUFFER_LEN, GFP_ATOMIC) {
                buffer.data = data;
            }
        }
        port.free_super_buffers += usize::from(buffer.is_super());
        // Cannot fail: the pool has room for all of its buffers.
        let _ = self.ports[owner].pool.push(buffer, GFP_ATOMIC);
        self.devices[owner]
            .as_ref()
            .filter(|dev| dev.queue_stopped() && self.ports[owner].lost_tx.is_none())
            .cloned()
    }

    /// Moves the oldest frames queued for interface `index`'s NAPI poll into `batch`, as
    /// many as there are and it has slots; returns how many.
    pub(crate) fn take_rx(&mut self, index: usize, batch: &mut [Option<Buffer>]) -> usize {
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

    /// Interface `index` is done with a received `buffer`: counts it as received (`delivered`)
    /// or dropped, and takes it back into its pool; returns its owner if the owner's queue
    /// must be woken.
    pub(crate) fn rx_done(
        &mut self,
        index: usize,
        buffer: Buffer,
        delivered: bool,
    ) -> Option<ARef<NetDevice<Snull>>> {
        let stats = &mut self.ports[index].stats;
        if delivered {
            stats.rx_packets += 1;
            stats.rx_bytes += buffer.data.len() as u64;
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
