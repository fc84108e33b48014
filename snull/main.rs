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
//! ```sh
//! insmod snull.ko                                  # use_napi=1 pool_size=8 lockup=0 timeout=5
//! ip addr add 192.168.0.1/24 dev sn0; ip link set sn0 up
//! ip addr add 192.168.1.2/24 dev sn1; ip link set sn1 up
//! ping -c 3 192.168.0.2                            # out of sn0, back in through sn1
//! ethtool -S sn0                                   # rx_interrupts, tx_interrupts, ...
//! ```
//!
//! The layers of the book's `snull.c`: the simulated hardware is `hw.rs` (`snull_hw_tx`: the
//! buffers, the wire, the interrupts it raises, and the copy of a received frame out of its
//! buffer, which C `snull_rx` makes under the device lock); here are the operations the kernel
//! calls and the interrupt handlers, which run with the wire lock dropped.
//!
//! Unlike the book: buffers hold full-size frames (and TCP super-frames by reference), only
//! IPv4 is rewritten, a frame is freed exactly once, nothing sleeps in the watchdog, an error
//! on sn1 frees sn0, and unloading while the interfaces carry traffic is safe.

#![deny(unsafe_code)]

use kernel::{
    new_spinlock_irq,
    prelude::*,
    str::CStr,
    sync::{
        aref::ARef,
        Arc,
        SpinLockIrq, //
    }, //
};

#[allow(unsafe_code)]
#[path = "../common/lib.rs"]
pub mod common;
mod hw;
mod packet;

use common::{
    net::{
        DeviceConfig,
        DriverInfo,
        LinkStats,
        NapiPoll,
        NetDevice,
        NetDeviceOps,
        Registration,
        RtnlNetDevice,
        RxSkb,
        SkBuffRef,
        Transmit,
        TxSkb,
        ETH_ALEN, //
    },
    settings::param_count, //
};
use hw::{
    Buffer,
    Counters,
    Port,
    Receive,
    RxInterrupt,
    Transmitted,
    Wire, //
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
/// `pool_size` buffers of [`hw::BUFFER_LEN`] bytes, and two receive queues of `2 * pool_size`
/// entries, about 3 MiB at the most; a buffer carrying a TCP super-frame (by reference) holds
/// its skb, up to [`hw::SUPER_FRAME_LEN`] bytes, until the peer takes it.
const POOL_SIZE: core::ops::RangeInclusive<u32> = 1..=1024;
/// `lockup`: 0 (never) or every Nth transmit.
const LOCKUP: core::ops::RangeInclusive<u32> = 0..=i32::MAX as u32;
/// `timeout`: at least one jiffy.
const TIMEOUT: core::ops::RangeInclusive<u32> = 1..=i32::MAX as u32;

/// Frames a NAPI poll takes off the receive queue under one lock (and counts under one more).
const RX_BATCH: usize = 16;

/// The private data of sn0 and sn1.
#[pin_data]
struct SnullDev {
    index: usize,
    shared: Arc<Shared>,
}

/// What both interfaces share: the hardware, under one lock taken with interrupts off.
#[pin_data]
struct Shared {
    /// Whether received frames wait for a NAPI poll (`use_napi`).
    use_napi: bool,
    #[pin]
    wire: SpinLockIrq<Wire>,
}

/// The net_device operations of sn0 and sn1.
struct Snull;

impl Snull {
    /// C `snull_rx` in a NAPI poll on `dev`, for the frames in `buffers` (at most
    /// [`RX_BATCH`]), with the wire lock dropped: copies each into a new skb from the NAPI
    /// cache (or takes the super-frame it carries), then, under one lock, counts them and gives
    /// the buffers back to their pools, then hands the skbs to the stack (through GRO) and
    /// wakes the queues that waited for a buffer.
    fn rx(
        shared: &Shared,
        dev: &NetDevice<Snull>,
        buffers: &mut [Option<KBox<Buffer>>],
        napi: &mut NapiPoll<'_, Snull>,
    ) {
        let mut skbs: [Option<RxSkb>; RX_BATCH] = [const { None }; RX_BATCH];
        for (buffer, skb) in buffers.iter_mut().zip(skbs.iter_mut()) {
            if let Some(buffer) = buffer {
                *skb = buffer.unload(|len| napi.alloc_skb(len));
            }
        }
        let mut wake: [Option<ARef<NetDevice<Snull>>>; 2] = [None, None];
        {
            let mut wire = shared.wire.lock();
            // A buffer past RX_BATCH (none) has no skb: counted as dropped, but it goes home.
            for (i, buffer) in buffers.iter_mut().enumerate() {
                let Some(buffer) = buffer.take() else {
                    continue;
                };
                let delivered = skbs.get(i).and_then(|skb| skb.as_ref()).map(RxSkb::len);
                if let Some(owner) = wire.rx_done(dev.data().index, buffer, delivered) {
                    let owner_index = owner.data().index;
                    wake[owner_index] = Some(owner);
                }
            }
        }
        for skb in skbs.into_iter().flatten() {
            // Cannot be refused: `start_xmit` sends only whole Ethernet frames.
            let _ = napi.receive(skb);
        }
        for owner in wake.into_iter().flatten() {
            owner.wake_queue();
        }
    }

    /// C `snull_interrupt` (and `snull_napi_interrupt`), for the receive interrupt that a
    /// transmission raised on `peer`.
    fn rx_interrupt(peer: &NetDevice<Snull>, rx: RxInterrupt) {
        match rx {
            // The rest of C `snull_rx`: up through the backlog. Cannot be refused: `start_xmit`
            // sends only whole Ethernet frames.
            RxInterrupt::Deliver(frame) => {
                if let Some(skb) = frame {
                    let _ = peer.receive(skb);
                }
            }
            // False if it was scheduled already, or the peer is going down: nothing to do.
            RxInterrupt::SchedulePoll => {
                peer.napi_schedule();
            }
            RxInterrupt::Masked => {}
        }
    }

    /// C `snull_interrupt`, for a transmit-done interrupt: the frame is sent, free it.
    fn tx_done_interrupt(skb: TxSkb) {
        skb.consume();
    }
}

#[vtable]
impl NetDeviceOps for Snull {
    type Data = SnullDev;

    /// C `snull_open`.
    fn open(dev: &RtnlNetDevice<Self>) -> Result {
        dev.start_queue();
        Ok(())
    }

    /// C `snull_release`.
    fn stop(dev: &RtnlNetDevice<Self>) -> Result {
        dev.stop_queue();
        // Frames still queued for this interface are lost; their buffers go home.
        let wake = dev.data().shared.wire.lock().flush_rx(dev.data().index);
        for owner in wake {
            owner.wake_queue();
        }
        Ok(())
    }

    /// C `snull_tx`: the frame goes to the hardware, which loads it into a buffer (a copy, or
    /// a super-frame by reference) and puts it on the wire under one hold of the wire lock;
    /// without NAPI the peer's receive interrupt copies it out at once, into the skb allocated
    /// here beforehand. The interrupts are then handled with the lock dropped.
    fn start_xmit(skb: TxSkb, dev: &NetDevice<Self>) -> Transmit {
        let shared = &dev.data().shared;
        let index = dev.data().index;
        let receive = if shared.use_napi {
            Receive::Poll
        } else if skb.is_super_frame() {
            // Carried up as it is: no copy, no skb of its own.
            Receive::Now(None)
        } else {
            Receive::Now(dev.alloc_skb(hw::RX_HEADROOM + skb.len()).ok())
        };
        let sent = match shared.wire.lock().send(dev, index, skb, receive) {
            Ok(sent) => sent,
            Err(skb) => return Transmit::Busy(skb),
        };
        match sent {
            Transmitted::Dropped { wake } => {
                if let Some(owner) = wake {
                    owner.wake_queue();
                }
            }
            Transmitted::Sent {
                tx_done,
                peer,
                rx,
                wake,
            } => {
                if let Some(skb) = tx_done {
                    Self::tx_done_interrupt(skb);
                }
                Self::rx_interrupt(&peer, rx);
                if let Some(owner) = wake {
                    owner.wake_queue();
                }
            }
        }
        Transmit::Done
    }

    /// C `snull_poll`: up to `budget` queued frames to the stack, [`RX_BATCH`] taken off the
    /// queue at a time, then receive interrupts on again once the queue is empty.
    fn napi_poll(napi: &mut NapiPoll<'_, Self>, budget: i32) -> i32 {
        let dev = napi.device();
        let shared = &dev.data().shared;
        let index = dev.data().index;
        let mut done = 0;
        while done < budget {
            let mut batch: [Option<KBox<Buffer>>; RX_BATCH] = Default::default();
            // `budget - done` is positive here.
            let want = RX_BATCH.min((budget - done) as usize);
            let taken = shared.wire.lock().take_rx(index, &mut batch[..want]);
            if taken == 0 {
                break;
            }
            Self::rx(shared, dev, &mut batch[..taken], napi);
            // At most RX_BATCH: fits.
            done += taken as i32;
            if taken < want {
                // The queue ran empty; `poll_done` below sees what came in since.
                break;
            }
        }
        if done < budget && napi.complete_done(done) && shared.wire.lock().poll_done(index) {
            // A frame came in while receive interrupts were off.
            dev.napi_schedule();
        }
        done
    }

    /// C `snull_stats` (64-bit, `ndo_get_stats64`).
    fn get_stats64(dev: &NetDevice<Self>, stats: &mut LinkStats) {
        *stats = dev.data().shared.wire.lock().ports[dev.data().index].stats;
    }

    /// C `snull_tx_timeout`.
    fn tx_timeout(dev: &NetDevice<Self>, _txqueue: u32) {
        let (lost, has_buffer) = dev.data().shared.wire.lock().timeout(dev.data().index);
        // The lost transmit-done interrupt, at last.
        if let Some(skb) = lost {
            Self::tx_done_interrupt(skb);
        }
        dev.info(fmt!("transmit timeout, restarting the queue\n"));
        if has_buffer {
            dev.wake_queue();
        }
    }

    /// C `snull_change_mtu`.
    fn change_mtu(dev: &RtnlNetDevice<Self>, new_mtu: u32) -> Result {
        // The core already checked 68..=1500, and every buffer holds a full frame.
        dev.set_mtu(new_mtu);
        Ok(())
    }

    /// The book has none (`eth_mac_addr`); refused while up, as there.
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

    /// C `snull_header`.
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

    /// `ethtool -i` (the book has no ethtool_ops).
    fn driver_info(_dev: &NetDevice<Self>) -> DriverInfo {
        DriverInfo {
            driver: c"snull",
            version: c"1.0",
        }
    }

    fn ethtool_stat_names() -> &'static [&'static CStr] {
        &Counters::NAMES
    }

    /// `ethtool -S`: the counters of [`Counters::NAMES`].
    fn ethtool_stats(dev: &NetDevice<Self>, values: &mut [u64]) {
        let counters = dev.data().shared.wire.lock().ports[dev.data().index]
            .counters
            .values();
        for (value, counter) in values.iter_mut().zip(counters) {
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
        let pool_size = param_count("pool_size", module_parameters::pool_size.value(), POOL_SIZE)?;
        // At most 1024: fits.
        let pool_size = pool_size as usize;
        let lockup = param_count("lockup", module_parameters::lockup.value(), LOCKUP)?;
        let timeout = param_count("timeout", module_parameters::timeout.value(), TIMEOUT)?;
        let use_napi = module_parameters::use_napi.value();
        let shared = Arc::pin_init(
            try_pin_init!(Shared {
                use_napi,
                wire <- new_spinlock_irq!(Wire {
                    ports: [Port::new(0, pool_size)?, Port::new(1, pool_size)?],
                    devices: [None, None],
                    lockup: lockup.into(),
                }),
            }),
            GFP_KERNEL,
        )?;

        let mut devices = KVec::with_capacity(2, GFP_KERNEL)?;
        for index in 0..2 {
            let config = DeviceConfig {
                // "\0SNUL0" and "\0SNUL1".
                mac: [0x00, 0x53, 0x4e, 0x55, 0x4c, 0x30 + index as u8],
                noarp: true,
                watchdog_jiffies: Some(timeout),
                // TCP super-frames go on the wire whole: fewer, longer frames.
                tso_max_size: Some(hw::SUPER_FRAME_LEN as u32),
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
            if use_napi { ", NAPI" } else { "" }
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
