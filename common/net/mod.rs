// SPDX-License-Identifier: GPL-2.0

//! Network devices: a registered Ethernet device with private data, its `net_device_ops`,
//! `header_ops` and `ethtool_ops` built from one [`NetDeviceOps`] implementation, socket
//! buffers ([`TxSkb`] handed to `start_xmit`, [`RxSkb`] built for receive) and NAPI.
//!
//! What the callbacks may do is in the types they receive: [`RtnlNetDevice`] (RTNL held: the
//! name, the MTU and the address may change) in `open`, `stop`, `change_mtu` and
//! `set_mac_address`; [`NapiPoll`] (inside a poll: receive in NAPI mode, complete) in
//! `napi_poll`; [`NetDevice`] everywhere else. NAPI is enabled and disabled by the wrapper,
//! around `open` and `stop`.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h),
//! [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h).

pub mod bindings;

use bindings as b;
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
        from_result,
        to_result,
        VTABLE_DEFAULT_ERROR, //
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

/// Bytes in an Ethernet address.
pub const ETH_ALEN: usize = b::ETH_ALEN as usize;
/// Bytes in an Ethernet header.
pub const ETH_HLEN: usize = b::ETH_HLEN as usize;
/// The largest Ethernet frame without FCS (header + 1500 bytes of payload).
pub const ETH_FRAME_LEN: usize = b::ETH_FRAME_LEN as usize;
/// EtherType of IPv4.
pub const ETH_P_IP: u16 = b::ETH_P_IP as u16;
/// Bytes in an interface name, with its NUL.
const IFNAMSIZ: usize = 16;
/// The alignment `netdev_priv` guarantees (C `NETDEV_ALIGN`): the private area is the
/// cache-line aligned tail of `struct net_device`, allocated with `kvzalloc`.
pub const NETDEV_ALIGN: usize = 32;

/// What `start_xmit` did with a packet.
pub enum Transmit {
    /// The packet was taken (sent, or dropped and freed).
    Done,
    /// The device is busy: the packet is handed back and the stack retries it later.
    Busy(TxSkb),
}

/// Interface statistics, for `ndo_get_stats64` (the counters of `struct rtnl_link_stats64`
/// that a simple driver keeps).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Packets dropped on receive.
    pub rx_dropped: u64,
    /// Packets dropped on transmit.
    pub tx_dropped: u64,
}

/// What `ethtool -i` shows.
pub struct DriverInfo {
    /// Driver name.
    pub driver: &'static CStr,
    /// Driver version.
    pub version: &'static CStr,
}

/// Settings applied to a new device before it is registered.
pub struct DeviceConfig {
    /// The Ethernet address.
    pub mac: [u8; ETH_ALEN],
    /// `IFF_NOARP`: nobody answers ARP on this link.
    pub noarp: bool,
    /// Transmit watchdog: `tx_timeout` runs when a stopped queue stays stopped this long.
    pub watchdog_jiffies: Option<u32>,
}

/// The operations of a network device, in the shape of `struct net_device_ops` plus the
/// `header_ops` and `ethtool_ops` it points to.
#[vtable]
pub trait NetDeviceOps: Sized + 'static {
    /// Private data kept in the device (C `netdev_priv`); its alignment must not exceed
    /// [`NETDEV_ALIGN`] (checked at compile time).
    type Data: Send + Sync;

    /// The interface goes up (RTNL held). With [`NetDeviceOps::napi_poll`], NAPI is already
    /// enabled (and disabled again if this fails).
    fn open(dev: &RtnlNetDevice<Self>) -> Result;

    /// The interface goes down (RTNL held). NAPI is already disabled: no poll runs, and none
    /// starts, until the next `open`.
    fn stop(dev: &RtnlNetDevice<Self>) -> Result;

    /// Sends `skb` (runs with bottom halves disabled, must not sleep).
    fn start_xmit(skb: TxSkb, dev: &NetDevice<Self>) -> Transmit;

    /// Fills in the interface counters.
    fn get_stats64(_dev: &NetDevice<Self>, _stats: &mut LinkStats) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The transmit watchdog fired for queue `txqueue` (timer context, must not sleep).
    fn tx_timeout(_dev: &NetDevice<Self>, _txqueue: u32) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes the MTU (RTNL held), already checked against the device's
    /// `min_mtu..=max_mtu`; the implementation calls [`RtnlNetDevice::set_mtu`] to take it.
    fn change_mtu(_dev: &RtnlNetDevice<Self>, _new_mtu: u32) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes the Ethernet address (RTNL held); the implementation calls
    /// [`RtnlNetDevice::set_mac`] to take it.
    fn set_mac_address(_dev: &RtnlNetDevice<Self>, _addr: &[u8; ETH_ALEN]) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Builds the link-layer header of `skb` (`header_ops.create`): `dest` is the neighbour's
    /// address if known, `source` the sender's. Returns the header length.
    fn create_header(
        _skb: &mut SkBuffRef,
        _dev: &NetDevice<Self>,
        _ethertype: u16,
        _dest: Option<&[u8; ETH_ALEN]>,
        _source: Option<&[u8; ETH_ALEN]>,
    ) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// NAPI poll: receives up to `budget` packets through [`NapiPoll::receive`], returns how
    /// many it did; below `budget` it calls [`NapiPoll::complete_done`].
    fn napi_poll(_napi: &mut NapiPoll<'_, Self>, _budget: i32) -> i32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Driver name and version for `ethtool -i`.
    fn driver_info(_dev: &NetDevice<Self>) -> DriverInfo {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Names of the `ethtool -S` counters (each at most 31 bytes).
    fn ethtool_stat_names() -> &'static [&'static CStr] {
        &[]
    }

    /// Values of the `ethtool -S` counters, one per name, into `values`.
    fn ethtool_stats(_dev: &NetDevice<Self>, _values: &mut [u64]) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
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
    unsafe fn from_raw<'a>(dev: *mut b::net_device) -> &'a Self {
        // SAFETY: `NetDevice` is a transparent wrapper; validity is the caller's promise.
        unsafe { &*dev.cast() }
    }

    fn as_raw(&self) -> *mut b::net_device {
        self.0.get()
    }

    fn area(&self) -> &PrivArea<T> {
        // SAFETY: By the type invariant the private area is an initialised `PrivArea<T>`;
        // only its `Opaque` NAPI field is ever written through C while it is shared.
        unsafe { &*b::ldd3_netdev_priv(self.as_raw()).cast::<PrivArea<T>>() }
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
        // SAFETY: The device is valid; `netif_running` is an atomic bit test.
        unsafe { b::ldd3_netif_running(self.as_raw()) }
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
        // SAFETY: The device is valid.
        unsafe { b::ldd3_netif_queue_stopped(self.as_raw()) }
    }

    /// Allocates an empty receive buffer with room for `len` bytes for this device (C
    /// `netdev_alloc_skb`, atomic).
    pub fn alloc_skb(&self, len: usize) -> Result<RxSkb> {
        let len = u32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: The device is valid; `netdev_alloc_skb` allocates atomically and returns
        // NULL or a new linear skb that only we hold.
        let skb = unsafe { b::ldd3_netdev_alloc_skb(self.as_raw(), len) };
        // INVARIANT: as just said.
        NonNull::new(skb).map(RxSkb).ok_or(ENOMEM)
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

    fn napi(&self) -> *mut b::napi_struct {
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
    unsafe fn from_raw<'a>(dev: *mut b::net_device) -> &'a Self {
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

/// The context of one NAPI poll ([`NetDeviceOps::napi_poll`]): the only way to receive in NAPI
/// mode and to end the poll.
///
/// # Invariants
///
/// Exists only during a call of `napi_poll` by the core, for `dev`'s NAPI instance, on the
/// polling CPU (not `Send`); `budget` is that call's budget.
pub struct NapiPoll<'a, T: NetDeviceOps> {
    dev: &'a NetDevice<T>,
    budget: i32,
    completed: bool,
    _not_send: PhantomData<*mut ()>,
}

impl<'a, T: NetDeviceOps> NapiPoll<'a, T> {
    /// The polled device.
    pub fn device(&self) -> &'a NetDevice<T> {
        self.dev
    }

    /// Hands a received Ethernet frame to the stack at once (`eth_type_trans`,
    /// `netif_receive_skb`); refuses a short one as [`NetDevice::receive`] does.
    pub fn receive(&mut self, skb: RxSkb) -> Result {
        let skb = self.dev.rx_prepare(skb)?;
        // SAFETY: `skb` is a prepared frame of ours; we are in a NAPI poll (type invariant),
        // softirq context, where `netif_receive_skb` may be called.
        unsafe { b::netif_receive_skb(skb) };
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
    fn into_raw(self) -> *mut b::sk_buff {
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
    fn into_raw(self) -> *mut b::sk_buff {
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
        let area = unsafe { b::ldd3_netdev_priv(raw) }.cast::<PrivArea<T>>();
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
            ptr::drop_in_place(b::ldd3_netdev_priv(raw).cast::<PrivArea<T>>());
            b::free_netdev(raw);
        }
    }
}

/// Copies `s` into the C string field `dst`, truncated and NUL-terminated.
fn copy_cstr(dst: &mut [c_char], s: &CStr) {
    let bytes = s.to_bytes();
    let n = bytes.len().min(dst.len().saturating_sub(1));
    for (d, &c) in dst.iter_mut().zip(&bytes[..n]) {
        *d = c as c_char;
    }
    if let Some(end) = dst.get_mut(n) {
        *end = 0;
    }
}

/// The C operation tables of a [`NetDeviceOps`] implementation.
///
/// Under kCFI an indirect call checks a hash of the pointer's C type, so every function here
/// has exactly the type of its C slot, in integers and struct pointers only (hashed the same
/// by clang and rustc); the one slot with an enum in its type, `ndo_start_xmit`, holds the C
/// trampoline `ldd3_start_xmit` instead (see `common/net_helpers.h`).
struct OpsTables<T: NetDeviceOps>(PhantomData<T>);

impl<T: NetDeviceOps> OpsTables<T> {
    /// # Safety
    ///
    /// `dev` must be a device of `T` with its private area initialised (true for every
    /// callback below: the stack calls them only on a registered device).
    unsafe fn dev<'a>(dev: *mut b::net_device) -> &'a NetDevice<T> {
        // SAFETY: As above.
        unsafe { NetDevice::from_raw(dev) }
    }

    /// # Safety
    ///
    /// As [`Self::dev`], and RTNL is held for `'a`.
    unsafe fn rtnl_dev<'a>(dev: *mut b::net_device) -> &'a RtnlNetDevice<T> {
        // SAFETY: As above.
        unsafe { RtnlNetDevice::from_raw(dev) }
    }

    /// `alloc_netdev_mqs` setup: an Ethernet device with this type's operations.
    ///
    /// # Safety
    ///
    /// Called by `alloc_netdev_mqs` on the device it is allocating.
    unsafe extern "C" fn setup(dev: *mut b::net_device) {
        // SAFETY: `dev` is being allocated; nothing else uses it yet.
        unsafe {
            b::ether_setup(dev);
            (*dev).netdev_ops = &Self::NETDEV_OPS;
            (*dev).ethtool_ops = &Self::ETHTOOL_OPS;
            if T::HAS_CREATE_HEADER {
                (*dev).header_ops = &Self::HEADER_OPS;
            }
        }
    }

    /// # Safety
    ///
    /// Called by the networking core as `ndo_open`: under RTNL, on a registered device of
    /// `T`.
    unsafe extern "C" fn open(dev: *mut b::net_device) -> c_int {
        // SAFETY: `__dev_open` calls `ndo_open` under RTNL (`ASSERT_RTNL`).
        let dev = unsafe { Self::rtnl_dev(dev) };
        if T::HAS_NAPI_POLL {
            // SAFETY: NAPI was added disabled by `Registration::new`, and is disabled again
            // by `stop` (or below), so this enable is paired (no `BUG_ON` in
            // `napi_enable_locked`); the core calls `ndo_stop` only after a successful
            // `ndo_open`.
            unsafe { b::napi_enable(dev.napi()) };
        }
        from_result(|| {
            if let Err(e) = T::open(dev) {
                if T::HAS_NAPI_POLL {
                    // SAFETY: Enabled just above; `ndo_stop` will not be called.
                    unsafe { b::napi_disable(dev.napi()) };
                }
                return Err(e);
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the networking core as `ndo_stop`: under RTNL, on a registered device of
    /// `T` that `open` brought up.
    unsafe extern "C" fn stop(dev: *mut b::net_device) -> c_int {
        // SAFETY: `__dev_close_many` calls `ndo_stop` under RTNL (`ASSERT_RTNL`).
        let dev = unsafe { Self::rtnl_dev(dev) };
        if T::HAS_NAPI_POLL {
            // SAFETY: `open` succeeded, so NAPI is enabled; this disable pairs with its
            // enable and waits for a running poll. It may sleep, as `ndo_stop` may.
            unsafe { b::napi_disable(dev.napi()) };
        }
        from_result(|| {
            T::stop(dev)?;
            Ok(0)
        })
    }

    /// The Rust half of `ndo_start_xmit`, called by `ldd3_start_xmit` through the private
    /// area's head: returns `NETDEV_TX_OK` or `NETDEV_TX_BUSY`.
    ///
    /// # Safety
    ///
    /// Called by the networking core (through the C trampoline) as `ndo_start_xmit`, with an
    /// skb whose reference it gives us, on a registered device of `T`.
    unsafe extern "C" fn start_xmit(skb: *mut b::sk_buff, dev: *mut b::net_device) -> c_int {
        // SAFETY: The stack passes a valid skb whose reference it gives up (unless we return
        // NETDEV_TX_BUSY), for a registered device.
        let (skb, dev) = unsafe { (TxSkb(NonNull::new_unchecked(skb)), Self::dev(dev)) };
        match T::start_xmit(skb, dev) {
            Transmit::Done => b::netdev_tx_NETDEV_TX_OK as c_int,
            Transmit::Busy(skb) => {
                // The stack keeps ownership of a packet refused with NETDEV_TX_BUSY.
                let _ = skb.into_raw();
                b::netdev_tx_NETDEV_TX_BUSY as c_int
            }
        }
    }

    /// # Safety
    ///
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
    unsafe extern "C" fn get_stats64(dev: *mut b::net_device, out: *mut b::rtnl_link_stats64) {
        let mut stats = LinkStats::default();
        // SAFETY: Called by the stack on a registered device.
        T::get_stats64(unsafe { Self::dev(dev) }, &mut stats);
        // SAFETY: `out` is valid (zeroed by the caller) for the duration of the call, but may
        // be only 4-byte aligned (it can live in a netlink attribute): write unaligned.
        unsafe {
            (&raw mut (*out).rx_packets).write_unaligned(stats.rx_packets);
            (&raw mut (*out).tx_packets).write_unaligned(stats.tx_packets);
            (&raw mut (*out).rx_bytes).write_unaligned(stats.rx_bytes);
            (&raw mut (*out).tx_bytes).write_unaligned(stats.tx_bytes);
            (&raw mut (*out).rx_errors).write_unaligned(stats.rx_errors);
            (&raw mut (*out).tx_errors).write_unaligned(stats.tx_errors);
            (&raw mut (*out).rx_dropped).write_unaligned(stats.rx_dropped);
            (&raw mut (*out).tx_dropped).write_unaligned(stats.tx_dropped);
        }
    }

    /// # Safety
    ///
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
    unsafe extern "C" fn tx_timeout(dev: *mut b::net_device, txqueue: c_uint) {
        // SAFETY: Called by the watchdog on a registered device.
        T::tx_timeout(unsafe { Self::dev(dev) }, txqueue);
    }

    /// # Safety
    ///
    /// Called by the networking core as `ndo_change_mtu`: under RTNL (the ops lock of a
    /// device without `request_ops_lock`), on a registered device of `T`.
    unsafe extern "C" fn change_mtu(dev: *mut b::net_device, new_mtu: c_int) -> c_int {
        from_result(|| {
            let mtu = u32::try_from(new_mtu).map_err(|_| EINVAL)?;
            // SAFETY: `netif_set_mtu_ext` asserts the ops lock, RTNL for our devices.
            T::change_mtu(unsafe { Self::rtnl_dev(dev) }, mtu)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the networking core as `ndo_set_mac_address`: under RTNL, on a registered
    /// device of `T`, with `addr` a `struct sockaddr_storage`.
    unsafe extern "C" fn set_mac_address(dev: *mut b::net_device, addr: *mut c_void) -> c_int {
        // SAFETY: `addr` is a `struct sockaddr_storage` whose data (at the offset of
        // `sockaddr.sa_data`) holds `addr_len` (6) bytes of address.
        let mac = unsafe {
            let sa = addr.cast::<b::sockaddr>();
            let mut mac = [0u8; ETH_ALEN];
            ptr::copy_nonoverlapping(
                (*sa).sa_data.as_ptr().cast::<u8>(),
                mac.as_mut_ptr(),
                ETH_ALEN,
            );
            mac
        };
        from_result(|| {
            // SAFETY: `dev_set_mac_address` runs under RTNL (its callers take it).
            T::set_mac_address(unsafe { Self::rtnl_dev(dev) }, &mac)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
    unsafe extern "C" fn create_header(
        skb: *mut b::sk_buff,
        dev: *mut b::net_device,
        ethertype: c_ushort,
        daddr: *const c_void,
        saddr: *const c_void,
        _len: c_uint,
    ) -> c_int {
        // SAFETY: The stack lends `skb` for the call; the addresses are NULL or `ETH_ALEN` bytes.
        let (skb, dest, source) = unsafe {
            (
                &mut *skb.cast::<SkBuffRef>(),
                daddr.cast::<[u8; ETH_ALEN]>().as_ref(),
                saddr.cast::<[u8; ETH_ALEN]>().as_ref(),
            )
        };
        // SAFETY: Called by the stack on a registered device.
        match T::create_header(skb, unsafe { Self::dev(dev) }, ethertype, dest, source) {
            Ok(len) => c_int::try_from(len).unwrap_or(c_int::MAX),
            // The C convention: a negative header length when the header is incomplete.
            Err(_) => -(ETH_HLEN as c_int),
        }
    }

    /// # Safety
    ///
    /// Called by the networking core as the poll of the NAPI instance `Registration::new`
    /// added for a device of `T`.
    unsafe extern "C" fn napi_poll(napi: *mut b::napi_struct, budget: c_int) -> c_int {
        // INVARIANT: the token lives for this call of the poll only, on this CPU.
        let mut poll = NapiPoll {
            // SAFETY: `napi` was added for a registered device of `T`, whose private data
            // outlives every poll (NAPI is disabled before they are dropped).
            dev: unsafe { Self::dev((*napi).dev) },
            budget,
            completed: false,
            _not_send: PhantomData,
        };
        let work = T::napi_poll(&mut poll, budget).clamp(0, budget.max(0));
        // After a completion the core must see less than the budget, or it would requeue
        // an instance that may already be scheduled again (`__napi_poll`).
        if poll.completed {
            work.min(budget - 1)
        } else {
            work
        }
    }

    /// # Safety
    ///
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
    unsafe extern "C" fn get_drvinfo(dev: *mut b::net_device, info: *mut b::ethtool_drvinfo) {
        // SAFETY: Called by ethtool on a registered device, `info` valid for the call.
        let (info_out, dev) = unsafe { (&mut *info, Self::dev(dev)) };
        let info = T::driver_info(dev);
        copy_cstr(&mut info_out.driver, info.driver);
        copy_cstr(&mut info_out.version, info.version);
    }

    /// # Safety
    ///
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
    unsafe extern "C" fn get_sset_count(_dev: *mut b::net_device, set: c_int) -> c_int {
        if set == b::ethtool_stringset_ETH_SS_STATS as c_int {
            T::ethtool_stat_names().len() as c_int
        } else {
            EOPNOTSUPP.to_errno()
        }
    }

    /// # Safety
    ///
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
    unsafe extern "C" fn get_strings(_dev: *mut b::net_device, set: u32, data: *mut u8) {
        if set != b::ethtool_stringset_ETH_SS_STATS {
            return;
        }
        const LEN: usize = b::ETH_GSTRING_LEN as usize;
        for (i, name) in T::ethtool_stat_names().iter().enumerate() {
            // SAFETY: ethtool gives room for `get_sset_count` strings of ETH_GSTRING_LEN.
            let slot =
                unsafe { core::slice::from_raw_parts_mut(data.add(i * LEN).cast::<c_char>(), LEN) };
            copy_cstr(slot, name);
        }
    }

    /// # Safety
    ///
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
    unsafe extern "C" fn get_ethtool_stats(
        dev: *mut b::net_device,
        _stats: *mut b::ethtool_stats,
        data: *mut u64,
    ) {
        let n = T::ethtool_stat_names().len();
        // SAFETY: ethtool gives room for `get_sset_count` values.
        let values = unsafe { core::slice::from_raw_parts_mut(data, n) };
        // SAFETY: Called by ethtool on a registered device.
        T::ethtool_stats(unsafe { Self::dev(dev) }, values);
    }

    const NETDEV_OPS: b::net_device_ops = b::net_device_ops {
        ndo_open: Some(Self::open),
        ndo_stop: Some(Self::stop),
        // The C trampoline of the true type (kCFI), which calls `Self::start_xmit`.
        ndo_start_xmit: Some(b::ldd3_start_xmit),
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64)
        } else {
            None
        },
        ndo_tx_timeout: if T::HAS_TX_TIMEOUT {
            Some(Self::tx_timeout)
        } else {
            None
        },
        ndo_change_mtu: if T::HAS_CHANGE_MTU {
            Some(Self::change_mtu)
        } else {
            None
        },
        ndo_set_mac_address: if T::HAS_SET_MAC_ADDRESS {
            Some(Self::set_mac_address)
        } else {
            None
        },
        // SAFETY: NULL is "absent" for every other operation.
        ..unsafe { core::mem::zeroed() }
    };

    const HEADER_OPS: b::header_ops = b::header_ops {
        create: Some(Self::create_header),
        parse: Some(b::eth_header_parse),
        // SAFETY: NULL is "absent" for every other operation.
        ..unsafe { core::mem::zeroed() }
    };

    const ETHTOOL_OPS: b::ethtool_ops = b::ethtool_ops {
        get_drvinfo: if T::HAS_DRIVER_INFO {
            Some(Self::get_drvinfo)
        } else {
            None
        },
        get_link: Some(b::ethtool_op_get_link),
        get_sset_count: if T::HAS_ETHTOOL_STATS {
            Some(Self::get_sset_count)
        } else {
            None
        },
        get_strings: if T::HAS_ETHTOOL_STATS {
            Some(Self::get_strings)
        } else {
            None
        },
        get_ethtool_stats: if T::HAS_ETHTOOL_STATS {
            Some(Self::get_ethtool_stats)
        } else {
            None
        },
        // SAFETY: NULL is "absent" for every other operation.
        ..unsafe { core::mem::zeroed() }
    };
}
