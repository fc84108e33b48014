// SPDX-License-Identifier: GPL-2.0

//! snull, the "Simple Network Utility for Loading Localities" of LDD3 chapter 17: two
//! Ethernet interfaces, `sn0` and `sn1`, wired into each other by simulated hardware.
//!
//! Whatever one sends, the other receives, with the third octet of the IPv4 addresses flipped
//! (see `packet.rs`), so that with the book's addressing `ping 192.168.0.2` on sn0 is answered
//! through sn1. Interrupts are simulated: transmitting raises a receive interrupt on the peer
//! and a transmit-done interrupt on the sender. Each device has a pool of `pool_size` transmit
//! buffers; its queue stops while the pool is empty.
//!
//! Unlike the book: buffers hold full-size frames, only IPv4 is rewritten, a frame is freed
//! exactly once, nothing sleeps in the watchdog, an error on sn1 frees sn0, and unloading
//! while the interfaces carry traffic is safe.

#![deny(unsafe_code)]

use kernel::{
    new_spinlock_irq,
    prelude::*,
    str::CStr,
    sync::{aref::ARef, Arc, SpinLockIrq},
};

#[allow(unsafe_code)]
#[path = "../common/lib.rs"]
pub mod common;
mod packet;

use common::net::{
    DeviceConfig, DriverInfo, LinkStats, NapiPoll, NetDevice, NetDeviceOps, Registration,
    RtnlNetDevice, RxSkb, SkBuffRef, Transmit, TxSkb, ETH_ALEN, ETH_FRAME_LEN,
};

module! {
    type: SnullModule,
    name: "snull",
    authors: ["The ldd3-rust authors"],
    description: "LDD3 snull: two network interfaces looped into each other",
    license: "GPL",
    params: {
        lockup: i32 {
            default: 0,
            description: "Lose the transmit interrupt of every Nth packet (0: never)",
        },
        timeout: i32 {
            default: 5,
            description: "Transmit watchdog timeout in jiffies (>= 1)",
        },
        use_napi: bool {
            default: false,
            description: "Receive through a NAPI poll instead of netif_rx",
        },
        pool_size: i32 {
            default: 8,
            description: "Transmit buffers per interface (1..=1024)",
        },
    },
}

/// The accepted values of the parameters. `pool_size` is the one that sizes memory: two pools of
/// `pool_size` buffers of [`BUFFER_LEN`] bytes, and two receive queues of `2 * pool_size`
/// entries, about 3 MiB at the most.
const POOL_SIZE: core::ops::RangeInclusive<i32> = 1..=1024;
/// `lockup`: 0 (never) or every Nth transmit.
const LOCKUP: core::ops::RangeInclusive<i32> = 0..=i32::MAX;
/// `timeout`: at least one jiffy.
const TIMEOUT: core::ops::RangeInclusive<i32> = 1..=i32::MAX;

/// Checks a module parameter against its range: out of it, says so in the kernel log and fails
/// the load with `EINVAL`.
fn param(name: &str, value: i32, range: core::ops::RangeInclusive<i32>) -> Result<usize> {
    if !range.contains(&value) {
        pr_err!(
            "{}={} is out of range {}..={}\n",
            name,
            value,
            range.start(),
            range.end()
        );
        return Err(EINVAL);
    }
    // In range, so not negative.
    usize::try_from(value).map_err(|_| EINVAL)
}

/// Room in a transmit buffer: a full frame plus an 802.1Q tag.
const BUFFER_LEN: usize = ETH_FRAME_LEN + 4;

/// The `ethtool -S` counters, in [`Counters`] order.
const STAT_NAMES: [&CStr; 5] = [
    c"rx_interrupts",
    c"tx_interrupts",
    c"tx_lockups",
    c"tx_timeouts",
    c"pool_exhausted",
];

/// Events counted for `ethtool -S`.
#[derive(Default)]
struct Counters {
    rx_interrupts: u64,
    tx_interrupts: u64,
    tx_lockups: u64,
    tx_timeouts: u64,
    pool_exhausted: u64,
}

/// A transmit buffer holding one frame.
struct Buffer {
    data: KVec<u8>,
    /// The interface whose pool the buffer belongs to.
    owner: usize,
}

/// The simulated hardware state of one interface.
struct Port {
    /// Free transmit buffers.
    pool: KVec<Buffer>,
    /// Frames received and not yet handed to the stack (NAPI mode).
    rx_queue: KVec<Buffer>,
    /// Whether receive interrupts are enabled (off while a NAPI poll is pending).
    rx_int_enabled: bool,
    /// A frame whose transmit-done interrupt was lost (`lockup`), freed by the watchdog.
    lost_tx: Option<TxSkb>,
    stats: LinkStats,
    counters: Counters,
}

impl Port {
    fn new(owner: usize, pool_size: usize) -> Result<Self> {
        let mut pool = KVec::with_capacity(pool_size, GFP_KERNEL)?;
        for _ in 0..pool_size {
            let data = KVec::with_capacity(BUFFER_LEN, GFP_KERNEL)?;
            pool.push(Buffer { data, owner }, GFP_KERNEL)?;
        }
        Ok(Self {
            pool,
            // Both ports' buffers can end up queued here.
            rx_queue: KVec::with_capacity(2 * pool_size, GFP_KERNEL)?,
            rx_int_enabled: true,
            lost_tx: None,
            stats: LinkStats::default(),
            counters: Counters::default(),
        })
    }
}

/// The state of both interfaces: the "hardware" between them, under one lock.
struct Wire {
    ports: [Port; 2],
    /// The interfaces, once registered; emptied before they are unregistered.
    devices: [Option<ARef<NetDevice<Snull>>>; 2],
}

impl Wire {
    /// Takes `buffer` back into its owner's pool; returns the owner if its queue must be woken.
    fn recycle(&mut self, mut buffer: Buffer) -> Option<ARef<NetDevice<Snull>>> {
        let owner = buffer.owner;
        buffer.data.clear();
        // Cannot fail: the pool has room for all of its buffers.
        let _ = self.ports[owner].pool.push(buffer, GFP_ATOMIC);
        self.devices[owner]
            .as_ref()
            .filter(|dev| dev.queue_stopped() && self.ports[owner].lost_tx.is_none())
            .cloned()
    }
}

/// The private data of sn0 and sn1.
#[pin_data]
struct SnullDev {
    index: usize,
    shared: Arc<Shared>,
}

/// What both interfaces share.
#[pin_data]
struct Shared {
    #[pin]
    wire: SpinLockIrq<Wire>,
    use_napi: bool,
    lockup: u64,
}

/// Builds a receive skb on `dev` holding `frame`.
fn rx_skb(dev: &NetDevice<Snull>, frame: &[u8]) -> Result<RxSkb> {
    // Two bytes of headroom align the IP header.
    let mut skb = dev.alloc_skb(frame.len() + 2)?;
    skb.reserve(2)?;
    skb.put_slice(frame)?;
    // The wire cannot corrupt a frame: don't check it.
    skb.set_checksum_unnecessary();
    Ok(skb)
}

/// The net_device operations of sn0 and sn1.
struct Snull;

impl Snull {
    /// Receive "interrupt" on `dev` for `buffer`, after the wire lock is dropped: hands the
    /// frame to the stack (at once from a NAPI poll, else through the backlog) and gives the
    /// buffer back to its pool.
    fn deliver(
        shared: &Shared,
        dev: &NetDevice<Snull>,
        buffer: Buffer,
        napi: Option<&mut NapiPoll<'_, Snull>>,
    ) {
        let skb = rx_skb(dev, &buffer.data);
        let len = buffer.data.len() as u64;
        let mut wire = shared.wire.lock();
        let port = &mut wire.ports[dev.data().index];
        match skb {
            Ok(_) => {
                port.stats.rx_packets += 1;
                port.stats.rx_bytes += len;
            }
            Err(_) => port.stats.rx_dropped += 1,
        }
        let wake = wire.recycle(buffer);
        drop(wire);
        if let Ok(skb) = skb {
            // Cannot be refused: `start_xmit` sends only whole Ethernet frames.
            let _ = match napi {
                Some(napi) => napi.receive(skb),
                None => dev.receive(skb),
            };
        }
        if let Some(owner) = wake {
            owner.wake_queue();
        }
    }
}

#[vtable]
impl NetDeviceOps for Snull {
    type Data = SnullDev;

    fn open(dev: &RtnlNetDevice<Self>) -> Result {
        dev.start_queue();
        Ok(())
    }

    fn stop(dev: &RtnlNetDevice<Self>) -> Result {
        dev.stop_queue();
        // Frames still queued for this interface are lost; their buffers go home.
        let shared = &dev.data().shared;
        let mut wake = KVec::new();
        let mut wire = shared.wire.lock();
        let index = dev.data().index;
        wire.ports[index].rx_int_enabled = true;
        while let Some(buffer) = wire.ports[index].rx_queue.pop() {
            wire.ports[index].stats.rx_dropped += 1;
            if let Some(owner) = wire.recycle(buffer) {
                let _ = wake.push(owner, GFP_ATOMIC);
            }
        }
        drop(wire);
        for owner in wake {
            owner.wake_queue();
        }
        Ok(())
    }

    fn start_xmit(skb: TxSkb, dev: &NetDevice<Self>) -> Transmit {
        let shared = &dev.data().shared;
        let index = dev.data().index;
        let len = skb.data().len();
        let mut wire = shared.wire.lock();
        // The other end of the wire: a frame nobody listens to is dropped.
        let peer_index = 1 - index;
        let peer = wire.devices[peer_index].clone().filter(|peer| peer.is_up());
        let Some(peer) = peer else {
            wire.ports[index].stats.tx_dropped += 1;
            return Transmit::Done;
        };
        if !(packet::ETH_HLEN..=BUFFER_LEN).contains(&len) {
            wire.ports[index].stats.tx_dropped += 1;
            return Transmit::Done;
        }
        let Some(mut buffer) = wire.ports[index].pool.pop() else {
            // Cannot happen while the queue is stopped on the last buffer; be safe anyway.
            dev.stop_queue();
            return Transmit::Busy(skb);
        };
        // Cannot fail: the buffer has room for BUFFER_LEN bytes.
        let _ = buffer.data.extend_from_slice(skb.data(), GFP_ATOMIC);
        packet::flip_ipv4(&mut buffer.data);

        let port = &mut wire.ports[index];
        port.stats.tx_packets += 1;
        port.stats.tx_bytes += len as u64;
        if port.pool.is_empty() {
            port.counters.pool_exhausted += 1;
            dev.stop_queue();
        }

        // Transmit-done interrupt, unless `lockup` loses this one.
        let lost = shared.lockup != 0 && port.stats.tx_packets % shared.lockup == 0;
        if lost {
            port.counters.tx_lockups += 1;
            dev.stop_queue();
        } else {
            port.counters.tx_interrupts += 1;
        }

        // Receive interrupt on the peer: queued for its NAPI poll, or delivered at once.
        let port = &mut wire.ports[peer_index];
        port.counters.rx_interrupts += 1;
        let mut now = None;
        let mut schedule = false;
        if shared.use_napi {
            // Cannot fail: room for every buffer of both pools.
            let _ = port.rx_queue.push(buffer, GFP_ATOMIC);
            if port.rx_int_enabled {
                port.rx_int_enabled = false;
                schedule = true;
            }
        } else {
            now = Some(buffer);
        }
        let done = if lost {
            wire.ports[index].lost_tx.replace(skb)
        } else {
            Some(skb)
        };
        drop(wire);
        // Frees the skb of a completed transmission.
        if let Some(done) = done {
            done.consume();
        }

        if let Some(buffer) = now {
            Self::deliver(shared, &peer, buffer, None);
        } else if schedule {
            peer.napi_schedule();
        }
        Transmit::Done
    }

    fn napi_poll(napi: &mut NapiPoll<'_, Self>, budget: i32) -> i32 {
        let dev = napi.device();
        let shared = &dev.data().shared;
        let index = dev.data().index;
        let mut done = 0;
        while done < budget {
            let buffer = {
                let mut wire = shared.wire.lock();
                let queue = &mut wire.ports[index].rx_queue;
                if queue.is_empty() {
                    break;
                }
                queue.remove(0).ok()
            };
            let Some(buffer) = buffer else { break };
            Self::deliver(shared, dev, buffer, Some(&mut *napi));
            done += 1;
        }
        if done < budget && napi.complete_done(done) {
            // Re-enable receive interrupts; one that came in meanwhile reschedules the poll.
            let mut wire = shared.wire.lock();
            let port = &mut wire.ports[index];
            let pending = !port.rx_queue.is_empty();
            port.rx_int_enabled = !pending;
            drop(wire);
            if pending {
                dev.napi_schedule();
            }
        }
        done
    }

    fn get_stats64(dev: &NetDevice<Self>, stats: &mut LinkStats) {
        *stats = dev.data().shared.wire.lock().ports[dev.data().index].stats;
    }

    fn tx_timeout(dev: &NetDevice<Self>, _txqueue: u32) {
        let mut wire = dev.data().shared.wire.lock();
        let port = &mut wire.ports[dev.data().index];
        port.counters.tx_timeouts += 1;
        port.stats.tx_errors += 1;
        // The lost transmit-done interrupt, at last: free the frame.
        let lost = port.lost_tx.take();
        let has_buffer = !port.pool.is_empty();
        drop(wire);
        if let Some(skb) = lost {
            skb.consume();
        }
        dev.info(fmt!("transmit timeout, restarting the queue\n"));
        if has_buffer {
            dev.wake_queue();
        }
    }

    fn change_mtu(dev: &RtnlNetDevice<Self>, new_mtu: u32) -> Result {
        // The core already checked 68..=1500, and every buffer holds a full frame.
        dev.set_mtu(new_mtu);
        Ok(())
    }

    fn set_mac_address(dev: &RtnlNetDevice<Self>, addr: &[u8; ETH_ALEN]) -> Result {
        if dev.is_up() {
            return Err(EBUSY);
        }
        if addr[0] & 1 != 0 || addr.iter().all(|&b| b == 0) {
            return Err(EADDRNOTAVAIL);
        }
        dev.set_mac(addr);
        Ok(())
    }

    fn create_header(
        skb: &mut SkBuffRef,
        dev: &NetDevice<Self>,
        ethertype: u16,
        dest: Option<&[u8; ETH_ALEN]>,
        source: Option<&[u8; ETH_ALEN]>,
    ) -> Result<usize> {
        let own = dev.mac();
        let header = skb.push(packet::ETH_HLEN)?;
        let mut dest = *dest.unwrap_or(&own);
        // The peer's address differs from ours in the last bit: sn0 talks to sn1.
        dest[ETH_ALEN - 1] ^= 1;
        header[..ETH_ALEN].copy_from_slice(&dest);
        header[ETH_ALEN..2 * ETH_ALEN].copy_from_slice(source.unwrap_or(&own));
        header[2 * ETH_ALEN..].copy_from_slice(&ethertype.to_be_bytes());
        Ok(packet::ETH_HLEN)
    }

    fn driver_info(_dev: &NetDevice<Self>) -> DriverInfo {
        DriverInfo {
            driver: c"snull",
            version: c"1.0",
        }
    }

    fn ethtool_stat_names() -> &'static [&'static CStr] {
        &STAT_NAMES
    }

    fn ethtool_stats(dev: &NetDevice<Self>, values: &mut [u64]) {
        let wire = dev.data().shared.wire.lock();
        let c = &wire.ports[dev.data().index].counters;
        let all = [
            c.rx_interrupts,
            c.tx_interrupts,
            c.tx_lockups,
            c.tx_timeouts,
            c.pool_exhausted,
        ];
        for (value, counter) in values.iter_mut().zip(all) {
            *value = counter;
        }
    }
}

/// The loaded module: sn0 and sn1.
struct SnullModule {
    shared: Arc<Shared>,
    devices: KVec<Registration<Snull>>,
}

impl kernel::Module for SnullModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let pool_size = param("pool_size", module_parameters::pool_size.value(), POOL_SIZE)?;
        let lockup = param("lockup", module_parameters::lockup.value(), LOCKUP)?;
        let timeout = param("timeout", module_parameters::timeout.value(), TIMEOUT)?;
        let shared = Arc::pin_init(
            try_pin_init!(Shared {
                wire <- new_spinlock_irq!(Wire {
                    ports: [Port::new(0, pool_size)?, Port::new(1, pool_size)?],
                    devices: [None, None],
                }),
                use_napi: module_parameters::use_napi.value(),
                lockup: lockup as u64,
            }),
            GFP_KERNEL,
        )?;

        let mut devices = KVec::with_capacity(2, GFP_KERNEL)?;
        for index in 0..2 {
            let config = DeviceConfig {
                // "\0SNUL0" and "\0SNUL1".
                mac: [0x00, 0x53, 0x4e, 0x55, 0x4c, 0x30 + index as u8],
                noarp: true,
                watchdog_jiffies: Some(timeout as u32),
            };
            let shared = shared.clone();
            let data = try_pin_init!(SnullDev { index, shared });
            // On failure, `devices` unregisters what was registered (sn0 is not leaked).
            devices.push(Registration::new(c"sn%d", &config, data)?, GFP_KERNEL)?;
        }
        {
            let mut wire = shared.wire.lock();
            for (slot, reg) in wire.devices.iter_mut().zip(devices.iter()) {
                *slot = Some(reg.device().to_ref());
            }
        }
        pr_info!(
            "sn0 and sn1 up, {} buffers each{}\n",
            pool_size,
            if shared.use_napi { ", NAPI" } else { "" }
        );
        Ok(Self { shared, devices })
    }
}

impl Drop for SnullModule {
    fn drop(&mut self) {
        // Give back the device references first: unregistering waits for them.
        let refs = core::mem::take(&mut self.shared.wire.lock().devices);
        drop(refs);
        // Registrations drop next: each stops and unregisters its interface.
        self.devices.clear();
    }
}
