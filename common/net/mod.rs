// SPDX-License-Identifier: GPL-2.0

//! Network devices: a registered Ethernet device with private data, its `net_device_ops`,
//! `header_ops` and `ethtool_ops` built from one [`NetDeviceOps`] implementation, owned socket
//! buffers ([`SkBuff`]) and NAPI.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h),
//! [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h).

pub mod bindings;

use bindings as b;
use core::{marker::PhantomData, mem::size_of, ptr, ptr::NonNull};
use kernel::{
    error::{to_result, VTABLE_DEFAULT_ERROR},
    prelude::*,
    str::CStr,
    types::Opaque,
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

/// What `start_xmit` did with a packet.
pub enum Transmit {
    /// The packet was consumed (sent or dropped).
    Done,
    /// The device is busy: the packet is handed back and the stack retries it later.
    Busy(SkBuff),
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
    /// Private data kept in the device (C `netdev_priv`).
    type Data: Send + Sync;

    /// The interface goes up.
    fn open(dev: &NetDevice<Self>) -> Result;

    /// The interface goes down.
    fn stop(dev: &NetDevice<Self>) -> Result;

    /// Sends `skb` (runs with bottom halves disabled, must not sleep).
    fn start_xmit(skb: SkBuff, dev: &NetDevice<Self>) -> Transmit;

    /// Fills in the interface counters.
    fn get_stats64(_dev: &NetDevice<Self>, _stats: &mut LinkStats) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The transmit watchdog fired for queue `txqueue` (timer context, must not sleep).
    fn tx_timeout(_dev: &NetDevice<Self>, _txqueue: u32) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes the MTU, already checked against the device's `min_mtu..=max_mtu`; the
    /// implementation calls [`NetDevice::set_mtu`] to take it.
    fn change_mtu(_dev: &NetDevice<Self>, _new_mtu: u32) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes the Ethernet address (RTNL held); the implementation calls
    /// [`NetDevice::set_mac`] to take it.
    fn set_mac_address(_dev: &NetDevice<Self>, _addr: &[u8; ETH_ALEN]) -> Result {
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

    /// NAPI poll: receives up to `budget` packets, returns how many it did; below `budget`
    /// it must call [`NetDevice::napi_complete_done`].
    fn napi_poll(_dev: &NetDevice<Self>, _budget: i32) -> i32 {
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
#[repr(C)]
struct PrivArea<T: NetDeviceOps> {
    head: b::ldd3_priv_head,
    napi: Opaque<b::napi_struct>,
    data: T::Data,
}

/// A network device whose private data is `T::Data`, as the kernel hands it to the
/// operations.
///
/// # Invariants
///
/// The `net_device` was allocated by [`Registration::new`] for `T`: its private area is an
/// initialised `PrivArea<T>` for as long as a `&NetDevice<T>` can exist.
#[repr(transparent)]
pub struct NetDevice<T: NetDeviceOps>(Opaque<b::net_device>, PhantomData<T>);

// SAFETY: The methods of `&NetDevice` are the C functions that may be called from any context
// that holds the device; `T::Data` is `Sync`.
unsafe impl<T: NetDeviceOps> Sync for NetDevice<T> {}

impl<T: NetDeviceOps> NetDevice<T> {
    /// # Safety
    ///
    /// `dev` must be a device made by [`Registration::new`] for `T`, alive for `'a`, with its
    /// private area initialised.
    unsafe fn from_raw<'a>(dev: *mut b::net_device) -> &'a Self {
        // SAFETY: `NetDevice` is a transparent wrapper; validity is the caller's promise.
        unsafe { &*dev.cast() }
    }

    fn as_raw(&self) -> *mut b::net_device {
        self.0.get()
    }

    fn area(&self) -> &PrivArea<T> {
        // SAFETY: By the type invariant the private area is an initialised `PrivArea<T>`.
        unsafe { &*b::ldd3_netdev_priv(self.as_raw()).cast::<PrivArea<T>>() }
    }

    /// The driver's private data.
    pub fn data(&self) -> &T::Data {
        &self.area().data
    }

    /// The interface name (`sn0`).
    pub fn name(&self) -> &CStr {
        // SAFETY: `name` is a NUL-terminated array inside the device, which outlives `self`.
        unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr().cast()) }
    }

    /// The MTU.
    pub fn mtu(&self) -> u32 {
        // SAFETY: The device is valid; `mtu` is read with READ_ONCE semantics.
        unsafe { ptr::read_volatile(&raw const (*self.as_raw()).mtu) }
    }

    /// Takes a new MTU (from [`NetDeviceOps::change_mtu`], under RTNL).
    pub fn set_mtu(&self, mtu: u32) {
        // SAFETY: The device is valid; the stack writes `mtu` with WRITE_ONCE under RTNL, as
        // `change_mtu` runs.
        unsafe { ptr::write_volatile(&raw mut (*self.as_raw()).mtu, mtu) };
    }

    /// The Ethernet address.
    pub fn mac(&self) -> [u8; ETH_ALEN] {
        let mut mac = [0; ETH_ALEN];
        // SAFETY: `dev_addr` points at `addr_len` (6, set by `ether_setup`) bytes.
        unsafe { ptr::copy_nonoverlapping((*self.as_raw()).dev_addr, mac.as_mut_ptr(), ETH_ALEN) };
        mac
    }

    /// Takes a new Ethernet address (from [`NetDeviceOps::set_mac_address`], under RTNL).
    pub fn set_mac(&self, mac: &[u8; ETH_ALEN]) {
        // SAFETY: The device is valid and `mac` has `addr_len` bytes.
        unsafe { b::ldd3_eth_hw_addr_set(self.as_raw(), mac.as_ptr()) };
    }

    /// Whether the interface is up (`IFF_UP`).
    pub fn is_up(&self) -> bool {
        // SAFETY: The device is valid; `flags` is a plain word.
        let flags = unsafe { ptr::read_volatile(&raw const (*self.as_raw()).flags) };
        flags & b::net_device_flags_IFF_UP != 0
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

    /// Allocates a receive buffer of `len` bytes for this device (C `netdev_alloc_skb`, atomic).
    pub fn alloc_skb(&self, len: usize) -> Result<SkBuff> {
        let len = u32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: The device is valid; `netdev_alloc_skb` allocates atomically.
        let skb = unsafe { b::ldd3_netdev_alloc_skb(self.as_raw(), len) };
        NonNull::new(skb).map(SkBuff).ok_or(ENOMEM)
    }

    /// Hands a received Ethernet frame to the stack: sets its protocol from the header
    /// (`eth_type_trans`), marks its checksum as checked and queues it to the backlog
    /// (`netif_rx`), or, from a NAPI poll, delivers it at once (`netif_receive_skb`).
    pub fn receive(&self, skb: SkBuff, from_napi: bool) {
        let skb = skb.into_raw();
        // SAFETY: `skb` is an owned, linear frame whose data starts at the Ethernet header;
        // ownership passes to the stack.
        unsafe {
            b::ldd3_skb_rx_prepare(skb, self.as_raw());
            if from_napi {
                b::netif_receive_skb(skb);
            } else {
                b::netif_rx(skb);
            }
        }
    }

    fn napi(&self) -> *mut b::napi_struct {
        self.area().napi.get()
    }

    /// Schedules the NAPI poll ([`NetDeviceOps::napi_poll`]); false if it was already.
    pub fn napi_schedule(&self) -> bool {
        // SAFETY: NAPI was added by `Registration::new` (the device has `napi_poll`).
        T::HAS_NAPI_POLL && unsafe { b::ldd3_napi_schedule(self.napi()) }
    }

    /// Ends a NAPI poll that did `work_done` packets; true if the poll is really over (the
    /// driver may re-enable its interrupts).
    pub fn napi_complete_done(&self, work_done: i32) -> bool {
        // SAFETY: Called from `napi_poll`, on the device's NAPI context.
        T::HAS_NAPI_POLL && unsafe { b::napi_complete_done(self.napi(), work_done) }
    }

    /// Enables NAPI polling (from `open`).
    pub fn napi_enable(&self) {
        if T::HAS_NAPI_POLL {
            // SAFETY: NAPI was added by `Registration::new`.
            unsafe { b::napi_enable(self.napi()) };
        }
    }

    /// Disables NAPI polling, waiting for a running poll (from `stop`).
    pub fn napi_disable(&self) {
        if T::HAS_NAPI_POLL {
            // SAFETY: NAPI was added by `Registration::new`.
            unsafe { b::napi_disable(self.napi()) };
        }
    }
}

/// A counted reference to a [`NetDevice`] (C `dev_hold`/`dev_put`).
///
/// `unregister_netdev` waits until every reference is gone, so references kept in a device's
/// own data must be dropped before its [`Registration`] is.
///
/// # Invariants
///
/// `dev` is a device of `T` on which this value holds one reference.
pub struct NetDeviceRef<T: NetDeviceOps> {
    dev: NonNull<b::net_device>,
    _t: PhantomData<T>,
}

// SAFETY: A device reference may be taken, used and dropped on any thread.
unsafe impl<T: NetDeviceOps> Send for NetDeviceRef<T> {}
// SAFETY: It only gives `&NetDevice`, which is `Sync`.
unsafe impl<T: NetDeviceOps> Sync for NetDeviceRef<T> {}

impl<T: NetDeviceOps> NetDevice<T> {
    /// Takes a counted reference to the device.
    pub fn to_ref(&self) -> NetDeviceRef<T> {
        // SAFETY: The device is valid; the reference is given back on drop.
        unsafe { b::ldd3_dev_hold(self.as_raw()) };
        NetDeviceRef {
            dev: NonNull::from(&self.0).cast(),
            _t: PhantomData,
        }
    }
}

impl<T: NetDeviceOps> core::ops::Deref for NetDeviceRef<T> {
    type Target = NetDevice<T>;

    fn deref(&self) -> &NetDevice<T> {
        // SAFETY: The reference keeps the device (and its private area) alive: it is freed
        // only after `unregister_netdev`, which waits for all references.
        unsafe { NetDevice::from_raw(self.dev.as_ptr()) }
    }
}

impl<T: NetDeviceOps> Clone for NetDeviceRef<T> {
    fn clone(&self) -> Self {
        self.to_ref()
    }
}

impl<T: NetDeviceOps> Drop for NetDeviceRef<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant this value holds a reference.
        unsafe { b::ldd3_dev_put(self.dev.as_ptr()) };
    }
}

/// An owned socket buffer, freed on drop (C `dev_kfree_skb_any`).
///
/// # Invariants
///
/// The pointer is a valid `sk_buff` owned by this value; its data is linear (the devices made
/// here do not advertise scatter-gather, so the stack never sends them paged buffers).
pub struct SkBuff(NonNull<b::sk_buff>);

// SAFETY: An owned `sk_buff` may move between contexts and CPUs.
unsafe impl Send for SkBuff {}

impl SkBuff {
    fn into_raw(self) -> *mut b::sk_buff {
        let skb = self.0.as_ptr();
        core::mem::forget(self);
        skb
    }

    /// The packet bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: By the type invariant `data` holds `len` linear bytes, owned by `self`.
        unsafe {
            let skb = self.0.as_ptr();
            core::slice::from_raw_parts((*skb).data, (*skb).len as usize)
        }
    }

    /// Reserves `len` bytes of headroom in an empty buffer (C `skb_reserve`).
    pub fn reserve(&mut self, len: usize) {
        // SAFETY: The buffer is owned; `skb_reserve` only moves pointers within it.
        unsafe { b::ldd3_skb_reserve(self.0.as_ptr(), len as i32) };
    }

    /// Appends `bytes` at the tail; `ENOSPC` if they do not fit in the tailroom.
    pub fn put_slice(&mut self, bytes: &[u8]) -> Result {
        let skb = self.0.as_ptr();
        // SAFETY: The buffer is owned; `end - tail` is its tailroom.
        let tailroom = unsafe { (*skb).end - (*skb).tail } as usize;
        if bytes.len() > tailroom {
            return Err(ENOSPC);
        }
        // SAFETY: There is room, so `skb_put` returns a pointer to `bytes.len()` bytes.
        unsafe {
            let dst = b::skb_put(skb, bytes.len() as u32).cast::<u8>();
            ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
        }
        Ok(())
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: The buffer is owned; `dev_kfree_skb_any` works in any context.
        unsafe { b::ldd3_dev_kfree_skb_any(self.0.as_ptr()) };
    }
}

/// A socket buffer being built by the stack, lent to [`NetDeviceOps::create_header`].
#[repr(transparent)]
pub struct SkBuffRef(Opaque<b::sk_buff>);

impl SkBuffRef {
    /// Prepends `len` bytes to the data and returns them (C `skb_push`); the stack reserved
    /// `hard_header_len` bytes of headroom for the link-layer header.
    pub fn push(&mut self, len: usize) -> Result<&mut [u8]> {
        let skb = self.0.get();
        // SAFETY: The buffer is valid for the call; headroom is `data - head`.
        let headroom = unsafe { (*skb).data.offset_from((*skb).head) } as usize;
        if len > headroom {
            return Err(ENOSPC);
        }
        // SAFETY: There is room, so `skb_push` returns `len` bytes at the new data start.
        unsafe {
            let start = b::skb_push(skb, len as u32).cast::<u8>();
            Ok(core::slice::from_raw_parts_mut(start, len))
        }
    }
}

/// A registered network device; unregistered and freed on drop.
///
/// # Invariants
///
/// `dev` was allocated by `alloc_netdev_mqs` with a `PrivArea<T>` whose data is initialised,
/// NAPI added when `T` has `napi_poll`, and registered; it is unregistered and freed once, on
/// drop.
pub struct Registration<T: NetDeviceOps> {
    dev: NonNull<b::net_device>,
    _t: PhantomData<T>,
}

// SAFETY: Unregistering may happen on any thread (it takes RTNL itself).
unsafe impl<T: NetDeviceOps> Send for Registration<T> {}
// SAFETY: `&Registration` only gives `&NetDevice`, which is `Sync`.
unsafe impl<T: NetDeviceOps> Sync for Registration<T> {}

impl<T: NetDeviceOps> Registration<T> {
    /// Allocates an Ethernet device named after `name` (a `%d` pattern such as `sn%d`),
    /// applies `config`, initialises its private data with `data` and registers it.
    pub fn new(
        name: &CStr,
        config: &DeviceConfig,
        data: impl PinInit<T::Data, Error>,
    ) -> Result<Self> {
        let size = i32::try_from(size_of::<PrivArea<T>>()).map_err(|_| EINVAL)?;
        // SAFETY: `name` is a NUL-terminated string; `setup` is the right callback.
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
        // SAFETY: `raw` is a new, unregistered device that only this function can reach; its
        // private area is zeroed memory of the size of `PrivArea<T>`, suitably aligned.
        unsafe {
            let area = b::ldd3_netdev_priv(raw).cast::<PrivArea<T>>();
            (&raw mut (*area).head).write(b::ldd3_priv_head {
                start_xmit: Some(OpsTables::<T>::start_xmit),
            });
            if let Err(e) = data.__init(&raw mut (*area).data) {
                b::free_netdev(raw);
                return Err(e);
            }
            b::ldd3_eth_hw_addr_set(raw, config.mac.as_ptr());
            if config.noarp {
                (*raw).flags |= b::net_device_flags_IFF_NOARP;
            }
            if let Some(jiffies) = config.watchdog_jiffies {
                (*raw).watchdog_timeo = i32::try_from(jiffies).unwrap_or(i32::MAX);
            }
            if T::HAS_NAPI_POLL {
                b::ldd3_netif_napi_add(
                    raw,
                    (*area).napi.get(),
                    Some(OpsTables::<T>::napi_poll),
                    64,
                );
            }
            if let Err(e) = to_result(b::register_netdev(raw)) {
                ptr::drop_in_place(&raw mut (*area).data);
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
        // SAFETY: By the type invariant the device is registered. `unregister_netdev` stops
        // it (calling `stop`), waits until no operation runs and every reference is gone; only
        // then are the private data dropped and the device freed (which also deletes NAPI).
        unsafe {
            b::unregister_netdev(raw);
            let area = b::ldd3_netdev_priv(raw).cast::<PrivArea<T>>();
            ptr::drop_in_place(&raw mut (*area).data);
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

    /// `alloc_netdev_mqs` setup: an Ethernet device with this type's operations.
    /// # Safety
    ///
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
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
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
    unsafe extern "C" fn open(dev: *mut b::net_device) -> c_int {
        // SAFETY: Called by the stack on a registered device.
        match T::open(unsafe { Self::dev(dev) }) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
    unsafe extern "C" fn stop(dev: *mut b::net_device) -> c_int {
        // SAFETY: Called by the stack on a registered device.
        match T::stop(unsafe { Self::dev(dev) }) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// The Rust half of `ndo_start_xmit`, called by `ldd3_start_xmit` through the private
    /// area's head: returns `NETDEV_TX_OK` or `NETDEV_TX_BUSY`.
    ///
    /// # Safety
    ///
    /// Called by the networking core (through the C trampoline) as `ndo_start_xmit`, with an
    /// skb it gives us, on a registered device of `T`.
    unsafe extern "C" fn start_xmit(skb: *mut b::sk_buff, dev: *mut b::net_device) -> c_int {
        // SAFETY: The stack passes an skb it gives up, for a registered device.
        let (skb, dev) = unsafe { (SkBuff(NonNull::new_unchecked(skb)), Self::dev(dev)) };
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
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
    unsafe extern "C" fn change_mtu(dev: *mut b::net_device, new_mtu: c_int) -> c_int {
        let Ok(mtu) = u32::try_from(new_mtu) else {
            return EINVAL.to_errno();
        };
        // SAFETY: Called by the stack, under RTNL, on a registered device.
        match T::change_mtu(unsafe { Self::dev(dev) }, mtu) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
    unsafe extern "C" fn set_mac_address(dev: *mut b::net_device, addr: *mut c_void) -> c_int {
        // SAFETY: `addr` is a `struct sockaddr` whose `sa_data` holds the address.
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
        // SAFETY: Called by the stack, under RTNL, on a registered device.
        match T::set_mac_address(unsafe { Self::dev(dev) }, &mac) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
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
            Ok(len) => len as c_int,
            // The C convention: a negative header length when the header is incomplete.
            Err(_) => -(ETH_HLEN as c_int),
        }
    }

    /// # Safety
    ///
    /// Called by the networking core with pointers valid for the call, on a device of `T`
    /// (see [`Self::dev`]).
    unsafe extern "C" fn napi_poll(napi: *mut b::napi_struct, budget: c_int) -> c_int {
        // SAFETY: `napi` was added for a device of `T` by `Registration::new`.
        T::napi_poll(unsafe { Self::dev((*napi).dev) }, budget)
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
