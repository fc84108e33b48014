// SPDX-License-Identifier: GPL-2.0

//! A registered network device ([`Registration`]), the device as the operations see it
//! ([`NetDevice`], [`RtnlNetDevice`] under RTNL) and the NAPI poll context ([`NapiPoll`]).
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h).

use super::bindings as b;
use super::ops::{
    LinkStats,
    NetDeviceOps,
    OpsTables, //
};
use super::skbuff::{
    RxSkb, //
};
use super::{
    ETH_ALEN,
    ETH_HLEN,
    IFNAMSIZ,
    NETDEV_ALIGN, //
};
use core::{
    fmt,
    marker::PhantomData,
    mem::{
        align_of,
        size_of, //
    },
    ops::Deref,
    ptr,
    ptr::NonNull, //
};
use kernel::{
    error::{
        to_result, //
    },
    prelude::*,
    str::CStr,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    types::Opaque, //
};
use pin_init::PinInit;

/// Settings applied to a new device before it is registered.
pub struct DeviceConfig {
    /// The Ethernet address.
    pub mac: [u8; ETH_ALEN],
    /// `IFF_NOARP`: nobody answers ARP on this link.
    pub noarp: bool,
    /// Transmit watchdog: `tx_timeout` runs when a stopped queue stays stopped this long.
    pub watchdog_jiffies: Option<u32>,
    /// TCP segmentation offload (`NETIF_F_TSO`, on and toggleable with `ethtool -K`): the
    /// stack may hand over TCP super-frames ([`TxSkb::is_super_frame`]) of up to this many bytes (at
    /// most `GSO_MAX_SIZE`) instead of segmenting them itself. For a driver whose transmit
    /// path takes frames of that length.
    ///
    /// [`TxSkb::is_super_frame`]: super::TxSkb::is_super_frame
    pub tso_max_size: Option<u32>,
}

/// The private area of a device: the transmit function `ldd3_start_xmit` calls (at offset 0,
/// where the C code looks for it), the NAPI context, then the driver's data.
#[pin_data]
#[repr(C)]
struct PrivArea<T: NetDeviceOps> {
    head: b::ldd3_priv_head,
    /// Zeroed until `netif_napi_add` (in [`Registration::new`]) sets it up in place.
    #[pin]
    napi: Opaque<b::napi_struct>,
    #[pin]
    data: T::Data,
}

impl<T: NetDeviceOps> PrivArea<T> {
    /// An initialiser of the whole area: the head for `T`, NAPI zeroed, then `data`. If
    /// `data` fails, nothing is left to drop (the head and NAPI have no destructor).
    fn new(data: impl PinInit<T::Data, Error>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            head: b::ldd3_priv_head {
                start_xmit: Some(OpsTables::<T>::start_xmit),
            },
            napi: Opaque::zeroed(),
            data <- data,
        })
    }
}

/// The private area of `dev` (C `netdev_priv`), which [`Registration::new`] asked
/// `alloc_netdev_mqs` to size for a `PrivArea<T>`.
///
/// # Safety
///
/// `dev` is a valid `net_device`.
unsafe fn priv_area<T: NetDeviceOps>(dev: *mut b::net_device) -> *mut PrivArea<T> {
    // SAFETY: `dev` is valid (the caller's promise). In 7.3 `netdev_priv(dev)` is `dev->priv`,
    // the flexible array member that ends the device (include/linux/netdevice.h); its address
    // is taken without making a reference.
    unsafe { (&raw mut (*dev).priv_).cast() }
}

/// A network device whose private data is `T::Data`, as the kernel hands it to the
/// operations.
///
/// # Invariants
///
/// The `net_device` was allocated by [`Registration::new`] for `T`: its private area is an
/// initialised `PrivArea<T>` for as long as a `&NetDevice<T>` can exist. Such references are
/// only made while the device is registered, or held (`dev_hold`, see [`ARef`]), which
/// delays its unregistering and so the drop of the private data.
#[repr(transparent)]
pub struct NetDevice<T: NetDeviceOps>(Opaque<b::net_device>, PhantomData<T>);

// SAFETY: The methods of `&NetDevice` are C functions that may be called from any context
// that holds the device; `T::Data` is `Sync`.
unsafe impl<T: NetDeviceOps> Sync for NetDevice<T> {}
// SAFETY: A `NetDevice` is only ever behind a reference or an `ARef`, which may be dropped on
// any thread (`dev_put` works in any context).
unsafe impl<T: NetDeviceOps> Send for NetDevice<T> {}

// SAFETY: `dev_hold` and `dev_put` count references to the device; `unregister_netdev` (in
// `Registration::drop`) waits until every one is given back, and only then are the private
// data dropped and the device freed. So a reference keeps the whole `NetDevice<T>` valid.
unsafe impl<T: NetDeviceOps> AlwaysRefCounted for NetDevice<T> {
    fn inc_ref(&self) {
        // SAFETY: The device is valid (`&self`); `dev_hold` works in any context.
        unsafe { b::ldd3_dev_hold(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives back a reference taken by `inc_ref`; `dev_put` works in
        // any context.
        unsafe { b::ldd3_dev_put(obj.cast().as_ptr()) };
    }
}

impl<T: NetDeviceOps> NetDevice<T> {
    /// # Safety
    ///
    /// `dev` must be a device made by [`Registration::new`] for `T`, valid (registered or
    /// held) for `'a`.
    pub(super) unsafe fn from_raw<'a>(dev: *mut b::net_device) -> &'a Self {
        // SAFETY: `NetDevice` is a transparent wrapper; validity is the caller's promise.
        unsafe { &*dev.cast() }
    }

    fn as_raw(&self) -> *mut b::net_device {
        self.0.get()
    }

    fn area(&self) -> &PrivArea<T> {
        // SAFETY: The device is valid. By the type invariant its private area is an
        // initialised `PrivArea<T>`; only its `Opaque` NAPI field is ever written through C
        // while it is shared.
        unsafe { &*priv_area(self.as_raw()) }
    }

    /// The driver's private data.
    pub fn data(&self) -> &T::Data {
        &self.area().data
    }

    /// Takes a counted reference to the device (C `dev_hold`).
    ///
    /// `unregister_netdev` waits until every reference is gone, so references kept in a
    /// device's own data must be dropped before its [`Registration`] is.
    pub fn to_ref(&self) -> ARef<Self> {
        ARef::from(self)
    }

    /// The MTU.
    pub fn mtu(&self) -> u32 {
        // SAFETY: The device is valid; the stack writes `mtu` with WRITE_ONCE and reads it
        // locklessly with READ_ONCE, which a volatile read is.
        unsafe { ptr::read_volatile(&raw const (*self.as_raw()).mtu) }
    }

    /// The Ethernet address.
    pub fn mac(&self) -> [u8; ETH_ALEN] {
        let mut mac = [0; ETH_ALEN];
        // SAFETY: `dev_addr` points at `addr_len` (6, set by `ether_setup`) bytes that live
        // as long as the device. They change only under RTNL (`eth_hw_addr_set`); like
        // `eth_header()` this reads them without it, byte by byte with READ_ONCE.
        unsafe {
            let addr = (*self.as_raw()).dev_addr;
            for (i, byte) in mac.iter_mut().enumerate() {
                *byte = ptr::read_volatile(addr.add(i));
            }
        }
        mac
    }

    /// Whether the interface is running (C `netif_running`): true from just before `open`
    /// until just before `stop`.
    pub fn is_up(&self) -> bool {
        // SAFETY: The device is valid. C `netif_running` is `test_bit(__LINK_STATE_START,
        // &dev->state)`, a volatile read of the word (x86 `constant_test_bit`) that
        // `set_bit`/`clear_bit` change atomically: an aligned word, never torn.
        let state = unsafe { ptr::read_volatile(&raw const (*self.as_raw()).state) };
        state & (1 << b::netdev_state_t___LINK_STATE_START) != 0
    }

    /// Prints `args` to the kernel log at info level, prefixed with the driver and the
    /// interface name (C `netdev_info`; use with `fmt!`).
    pub fn info(&self, args: fmt::Arguments<'_>) {
        // SAFETY: The device is valid; `%pA` formats the `fmt::Arguments` that the pointer
        // points to, during the call.
        unsafe { b::ldd3_netdev_info(self.as_raw(), (&raw const args).cast()) };
    }

    /// The interface statistics as `ip -s link` shows them (C `dev_get_stats`): the driver's
    /// counters plus the drops the core counted.
    pub fn stats(&self) -> LinkStats {
        // SAFETY: `rtnl_link_stats64` is integers only, for which zero is valid.
        let mut s: b::rtnl_link_stats64 = unsafe { core::mem::zeroed() };
        // SAFETY: The device is valid; `dev_get_stats` fills the zeroed `s` (from any
        // context) and returns a pointer to it.
        unsafe { b::dev_get_stats(self.as_raw(), &mut s) };
        LinkStats {
            rx_packets: s.rx_packets,
            tx_packets: s.tx_packets,
            rx_bytes: s.rx_bytes,
            tx_bytes: s.tx_bytes,
            rx_errors: s.rx_errors,
            tx_errors: s.tx_errors,
            rx_dropped: s.rx_dropped,
            tx_dropped: s.tx_dropped,
        }
    }

    /// Lets the stack transmit (C `netif_start_queue`).
    pub fn start_queue(&self) {
        // SAFETY: The device is valid.
        unsafe { b::ldd3_netif_start_queue(self.as_raw()) };
    }

    /// Stops the stack from transmitting (C `netif_stop_queue`).
    pub fn stop_queue(&self) {
        // SAFETY: The device is valid.
        unsafe { b::ldd3_netif_stop_queue(self.as_raw()) };
    }

    /// Restarts a stopped queue and reschedules it (C `netif_wake_queue`).
    pub fn wake_queue(&self) {
        // SAFETY: The device is valid.
        unsafe { b::ldd3_netif_wake_queue(self.as_raw()) };
    }

    /// Whether the queue is stopped.
    pub fn queue_stopped(&self) -> bool {
        // SAFETY: The device is valid, and so is its first transmit queue, `_tx[0]` (C
        // `netdev_get_tx_queue(dev, 0)`), from `alloc_netdev_mqs` until `free_netdev`. C
        // `netif_queue_stopped` is `test_bit(__QUEUE_STATE_DRV_XOFF, &queue->state)`, read
        // as in `is_up`.
        let state = unsafe { ptr::read_volatile(&raw const (*(*self.as_raw())._tx).state) };
        state & (1 << b::netdev_queue_state_t___QUEUE_STATE_DRV_XOFF) != 0
    }

    /// Allocates an empty receive buffer with room for `len` bytes for this device (C
    /// `netdev_alloc_skb`, atomic).
    pub fn alloc_skb(&self, len: usize) -> Result<RxSkb> {
        let len = u32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: The device is valid; `__netdev_alloc_skb` with GFP_ATOMIC (C
        // `netdev_alloc_skb`) allocates atomically, in any context, and returns NULL or a new
        // linear skb that only we hold.
        let skb =
            unsafe { b::__netdev_alloc_skb(self.as_raw(), len, kernel::bindings::GFP_ATOMIC) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: A new, empty, linear skb that only we hold, as just said.
        Ok(unsafe { RxSkb::from_raw(skb) })
    }

    /// Sets the protocol of a received frame from its Ethernet header (`eth_type_trans`) and
    /// returns it, or, for a frame shorter than an Ethernet header, frees it and counts it as
    /// a receive drop of the device (`EINVAL`).
    fn rx_prepare(&self, skb: RxSkb) -> Result<*mut b::sk_buff> {
        if skb.data().len() < ETH_HLEN {
            // SAFETY: The device is valid; the counter is per-CPU and atomic.
            unsafe { b::ldd3_dev_core_stats_rx_dropped_inc(self.as_raw()) };
            // SAFETY: The skb is ours (`into_raw`); freeing it works in any context.
            unsafe { b::ldd3_kfree_skb_too_small(skb.into_raw()) };
            return Err(EINVAL);
        }
        let skb = skb.into_raw();
        // SAFETY: `skb` is a linear frame of ours holding at least ETH_HLEN bytes, as
        // `eth_type_trans` reads and pulls; the device is valid.
        unsafe { b::ldd3_skb_set_protocol_eth(skb, self.as_raw()) };
        Ok(skb)
    }

    /// Hands a received Ethernet frame to the stack from any context: sets its protocol from
    /// the header (`eth_type_trans`) and queues it to the backlog (`netif_rx`). A frame
    /// shorter than an Ethernet header is refused: freed, counted in the device's
    /// `rx_dropped`, and `EINVAL`. (From a NAPI poll, use [`NapiPoll::receive`].)
    pub fn receive(&self, skb: RxSkb) -> Result {
        let skb = self.rx_prepare(skb)?;
        // SAFETY: `skb` is a prepared frame of ours; `netif_rx` takes it in any context.
        unsafe { b::netif_rx(skb) };
        Ok(())
    }

    pub(super) fn napi(&self) -> *mut b::napi_struct {
        self.area().napi.get()
    }

    /// Schedules the NAPI poll ([`NetDeviceOps::napi_poll`]); false if it was already, or if
    /// NAPI is disabled (the interface is down), or `T` has no poll.
    pub fn napi_schedule(&self) -> bool {
        // SAFETY: NAPI was added by `Registration::new` (the device has `napi_poll`) and is
        // deleted only by `free_netdev`; `napi_schedule` is a no-op on a disabled instance.
        T::HAS_NAPI_POLL && unsafe { b::ldd3_napi_schedule(self.napi()) }
    }
}

/// A device inside a callback that runs with RTNL held (`open`, `stop`, `change_mtu`,
/// `set_mac_address`): its name, MTU and address cannot change under it, and it may change
/// them.
///
/// # Invariants
///
/// RTNL is held for as long as a `&RtnlNetDevice` exists (only the trampolines of those
/// callbacks make one, for the call).
#[repr(transparent)]
pub struct RtnlNetDevice<T: NetDeviceOps>(NetDevice<T>);

impl<T: NetDeviceOps> RtnlNetDevice<T> {
    /// # Safety
    ///
    /// As [`NetDevice::from_raw`], and RTNL is held for `'a`.
    pub(super) unsafe fn from_raw<'a>(dev: *mut b::net_device) -> &'a Self {
        // SAFETY: A transparent wrapper of `NetDevice`; the rest is the caller's promise.
        unsafe { &*dev.cast() }
    }

    /// The interface name (`sn0`).
    pub fn name(&self) -> &CStr {
        // SAFETY: `name` is a NUL-terminated array inside the device; it changes only in
        // `netif_change_name`, under RTNL, which we hold (type invariant) for the lifetime of
        // the result.
        unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr().cast()) }
    }

    /// Takes a new MTU (from [`NetDeviceOps::change_mtu`]).
    pub fn set_mtu(&self, mtu: u32) {
        // SAFETY: The device is valid; the stack writes `mtu` with WRITE_ONCE under RTNL
        // (held, type invariant) and reads it with READ_ONCE.
        unsafe { ptr::write_volatile(&raw mut (*self.as_raw()).mtu, mtu) };
    }

    /// Takes a new Ethernet address (from [`NetDeviceOps::set_mac_address`]).
    pub fn set_mac(&self, mac: &[u8; ETH_ALEN]) {
        // SAFETY: The device is valid, RTNL is held (type invariant), as `eth_hw_addr_set`
        // requires, and `mac` has `addr_len` bytes.
        unsafe { b::ldd3_eth_hw_addr_set(self.as_raw(), mac.as_ptr()) };
    }
}

impl<T: NetDeviceOps> Deref for RtnlNetDevice<T> {
    type Target = NetDevice<T>;

    fn deref(&self) -> &NetDevice<T> {
        &self.0
    }
}

/// The context of one NAPI poll ([`NetDeviceOps::napi_poll`]): the only way to allocate from the
/// NAPI cache, to receive in NAPI mode (through GRO) and to end the poll. Being handed one is
/// what makes those calls right: they need the poll's context (bottom halves off, this NAPI
/// instance scheduled and polled on this CPU), which the token cannot leave (not `Send`, and
/// it lives for the call).
///
/// # Invariants
///
/// Exists only during a call of `napi_poll` by the core, for `dev`'s NAPI instance, on the
/// polling CPU (not `Send`); `budget` is that call's budget.
pub struct NapiPoll<'a, T: NetDeviceOps> {
    pub(super) dev: &'a NetDevice<T>,
    pub(super) budget: i32,
    pub(super) completed: bool,
    pub(super) _not_send: PhantomData<*mut ()>,
}

impl<'a, T: NetDeviceOps> NapiPoll<'a, T> {
    /// The polled device.
    pub fn device(&self) -> &'a NetDevice<T> {
        self.dev
    }

    /// Allocates an empty receive buffer with room for `len` bytes for the polled device, from
    /// the per-CPU cache that only NAPI polls use (C `napi_alloc_skb`: cheaper than
    /// [`NetDevice::alloc_skb`], with no interrupts disabled; it reserves `NET_IP_ALIGN` more
    /// headroom). The buffer may be used like any other once allocated.
    ///
    /// In a poll with a budget of 0 (netpoll clears transmit completions that way, possibly
    /// with interrupts off, where the NAPI cache may not be used) this is
    /// [`NetDevice::alloc_skb`].
    pub fn alloc_skb(&self, len: usize) -> Result<RxSkb> {
        if self.budget <= 0 {
            return self.dev.alloc_skb(len);
        }
        let len = u32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: We are inside the poll of this device's NAPI instance (type invariant) with
        // a budget, so called by `__napi_poll` from the NET_RX softirq or a threaded NAPI
        // loop, or by busy polling, all with bottom halves disabled on the polling CPU: what
        // `napi_alloc_skb` requires of its per-CPU cache (only netpoll polls otherwise, with
        // a budget of 0). It allocates atomically and returns NULL or a new linear skb that
        // only we hold.
        let skb = unsafe { b::napi_alloc_skb(self.dev.napi(), len) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: A new, empty, linear skb that only we hold, as just said.
        Ok(unsafe { RxSkb::from_raw(skb) })
    }

    /// Hands a received Ethernet frame to the stack at once (`eth_type_trans`, then
    /// `napi_gro_receive`: GRO may merge it with others of the same flow, which go up when the
    /// poll completes, [`NapiPoll::complete_done`], or ends on its budget); refuses a short
    /// one as [`NetDevice::receive`] does.
    ///
    /// In a poll with a budget of 0 (netpoll, see [`NapiPoll::alloc_skb`]), which should not
    /// receive, the frame goes through the backlog as with [`NetDevice::receive`].
    pub fn receive(&mut self, skb: RxSkb) -> Result {
        if self.budget <= 0 {
            return self.dev.receive(skb);
        }
        let skb = self.dev.rx_prepare(skb)?;
        // SAFETY: `skb` is a prepared frame of ours, which `napi_gro_receive` takes in every
        // case. We are in the poll of this NAPI instance with a budget (type invariant), so
        // with bottom halves disabled on the polling CPU (see `alloc_skb`): the context GRO
        // requires for the instance's lists, which the core flushes when the poll completes
        // or returns its budget.
        unsafe { b::ldd3_napi_gro_receive(self.dev.napi(), skb) };
        Ok(())
    }

    /// Ends the poll after `work_done` packets (C `napi_complete_done`); true if it is really
    /// over (the driver may re-enable its interrupts). Only below the budget, and only once:
    /// otherwise (`work_done` at or over the budget, negative, or a second call) nothing is
    /// done and the result is false. The poll must then return at most `work_done`; the
    /// wrapper returns less than the budget to the core after a completion in any case.
    pub fn complete_done(&mut self, work_done: i32) -> bool {
        if self.completed || !(0..self.budget).contains(&work_done) {
            return false;
        }
        self.completed = true;
        // SAFETY: We are inside the poll of this NAPI instance (type invariant), which is
        // scheduled (NAPI_STATE_SCHED, set by the core before calling poll), and the poll has
        // not completed yet; `work_done` is below the budget, so the core will not touch the
        // instance after the poll returns (`__napi_poll`).
        unsafe { b::napi_complete_done(self.dev.napi(), work_done) }
    }
}

/// A registered network device; unregistered and freed on drop.
///
/// # Invariants
///
/// `dev` was allocated by `alloc_netdev_mqs` with a `PrivArea<T>` whose head and data are
/// initialised, NAPI added when `T` has `napi_poll`, and registered; it is unregistered and
/// freed once, on drop.
pub struct Registration<T: NetDeviceOps> {
    dev: NonNull<b::net_device>,
    _t: PhantomData<T>,
}

// SAFETY: Unregistering may happen on any thread (it takes RTNL itself).
unsafe impl<T: NetDeviceOps> Send for Registration<T> {}
// SAFETY: `&Registration` only gives `&NetDevice`, which is `Sync`.
unsafe impl<T: NetDeviceOps> Sync for Registration<T> {}

impl<T: NetDeviceOps> Registration<T> {
    /// Allocates an Ethernet device named after `name` (a `%d` pattern such as `sn%d`, at most
    /// 15 bytes, else `EINVAL`), applies `config`, initialises its private data with `data`
    /// and registers it.
    pub fn new(
        name: &CStr,
        config: &DeviceConfig,
        data: impl PinInit<T::Data, Error>,
    ) -> Result<Self> {
        // `netdev_priv` is NETDEV_ALIGN-aligned (a multiple of the cache line within an
        // allocation that is at least page aligned): the private area must not need more.
        const {
            assert!(
                align_of::<PrivArea<T>>() <= NETDEV_ALIGN,
                "NetDeviceOps::Data needs more alignment than netdev_priv gives"
            )
        };
        // alloc_netdev_mqs() BUG()s on a name that does not fit.
        if name.to_bytes().len() >= IFNAMSIZ {
            return Err(EINVAL);
        }
        let size = i32::try_from(size_of::<PrivArea<T>>()).map_err(|_| EINVAL)?;
        // SAFETY: `name` is a NUL-terminated string shorter than IFNAMSIZ; `setup` is the
        // right callback; one queue each way.
        let dev = unsafe {
            b::alloc_netdev_mqs(
                size,
                name.as_char_ptr(),
                b::NET_NAME_UNKNOWN as u8,
                Some(OpsTables::<T>::setup),
                1,
                1,
            )
        };
        let dev = NonNull::new(dev).ok_or(ENOMEM)?;
        let raw = dev.as_ptr();
        // SAFETY: `raw` is a new device; `netdev_priv` is its private area, of the size we
        // asked for.
        let area = unsafe { priv_area::<T>(raw) };
        // SAFETY: `raw` is a new, unregistered device that only this function can reach; its
        // private area `area` is memory of the size of `PrivArea<T>`, aligned enough (the
        // assertion above), holding nothing yet: valid to initialise. It does not move until
        // `free_netdev`, and the area is dropped in place before that (on error below, or in
        // `drop`), so it stays pinned. On `Err` the initialiser has dropped whatever it had
        // initialised, and we only free the memory (`free_netdev`), touching nothing in it.
        // Until `register_netdev` nothing calls the operations.
        if let Err(e) = unsafe { pin_init::raw_try_init(area, PrivArea::<T>::new(data)) } {
            // SAFETY: The device was allocated above, never registered: `free_netdev` frees
            // it (and its private area, which holds nothing to drop).
            unsafe { b::free_netdev(raw) };
            return Err(e);
        }
        // SAFETY: `raw` is a new, unregistered device that only this function can reach, its
        // private area initialised above. The settings are plain fields and calls allowed
        // before registration; until `register_netdev` nothing calls the operations.
        unsafe {
            b::ldd3_eth_hw_addr_set(raw, config.mac.as_ptr());
            if config.noarp {
                (*raw).flags |= b::net_device_flags_IFF_NOARP;
            }
            if let Some(jiffies) = config.watchdog_jiffies {
                (*raw).watchdog_timeo = i32::try_from(jiffies).unwrap_or(i32::MAX);
            }
            if let Some(size) = config.tso_max_size {
                const TSO: b::netdev_features_t = 1 << b::NETIF_F_TSO_BIT;
                (*raw).features |= TSO;
                (*raw).hw_features |= TSO;
                // Clamps the device's GSO limits (both 64 KiB by default) to `size`.
                b::netif_set_tso_max_size(raw, size);
            }
            if T::HAS_NAPI_POLL {
                // Added disabled; the `open` trampoline enables it.
                b::ldd3_netif_napi_add(
                    raw,
                    (*area).napi.get(),
                    Some(OpsTables::<T>::napi_poll),
                    64,
                );
            }
            if let Err(e) = to_result(b::register_netdev(raw)) {
                // Not registered: no operation runs or will run; drop the area we initialised.
                ptr::drop_in_place(area);
                b::free_netdev(raw);
                return Err(e);
            }
        }
        // INVARIANT: allocated, initialised and registered above.
        Ok(Self {
            dev,
            _t: PhantomData,
        })
    }

    /// The device.
    pub fn device(&self) -> &NetDevice<T> {
        // SAFETY: By the type invariant the device is registered and initialised until drop.
        unsafe { NetDevice::from_raw(self.dev.as_ptr()) }
    }
}

impl<T: NetDeviceOps> Drop for Registration<T> {
    fn drop(&mut self) {
        let raw = self.dev.as_ptr();
        // SAFETY: By the type invariant the device is registered. `unregister_netdev` closes
        // it (the `stop` trampoline disables NAPI, waiting for a running poll; a device that
        // is not up has NAPI disabled already), waits until no operation runs and every
        // reference is gone; only then are the private data dropped and the device freed
        // (which also deletes NAPI).
        unsafe {
            b::unregister_netdev(raw);
            ptr::drop_in_place(priv_area::<T>(raw));
            b::free_netdev(raw);
        }
    }
}

/// Copies `s` into the C string field `dst`, truncated and NUL-terminated.
pub(super) fn copy_cstr(dst: &mut [c_char], s: &CStr) {
    let bytes = s.to_bytes();
    let n = bytes.len().min(dst.len().saturating_sub(1));
    for (d, &c) in dst.iter_mut().zip(&bytes[..n]) {
        *d = c as c_char;
    }
    if let Some(end) = dst.get_mut(n) {
        *end = 0;
    }
}
