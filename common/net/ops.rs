// SPDX-License-Identifier: GPL-2.0

//! The operations of a network device: [`NetDeviceOps`], in the shape of `struct
//! net_device_ops`, `header_ops` and `ethtool_ops`, and the C tables built from it.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h).

use super::bindings as b;
use super::device::{
    copy_cstr,
    NapiPoll,
    NetDevice,
    RtnlNetDevice, //
};
use super::skbuff::{
    SkBuffRef,
    TxSkb, //
};
use super::{
    ETH_ALEN,
    ETH_HLEN, //
};
use core::{
    marker::PhantomData,
    ptr,
    ptr::NonNull, //
};
use kernel::{
    error::{
        from_result,
        VTABLE_DEFAULT_ERROR, //
    },
    prelude::*,
    str::CStr, //
};

/// The offloads of every device made here (as rtl8139's): scatter-gather (`NETIF_F_SG`: the
/// stack may hand over skbs with page fragments), checksum offload of any protocol
/// (`NETIF_F_HW_CSUM`: `CHECKSUM_PARTIAL` skbs, checksum start and offset given) and fragments
/// in high memory (`NETIF_F_HIGHDMA`). They are right for every driver of common/net because
/// a driver can only read a transmitted packet through [`TxSkb::append_to`], which copies
/// every fragment (mapping its page) and fills the checksum in as it goes, or pass it on
/// whole to a receiving stack, fragments and checksum state as they are
/// ([`TxSkb::forward`]). With them the stack neither linearises an skb nor checksums it before
/// `start_xmit` (`validate_xmit_skb`), and its segmentation in software (GSO) makes
/// segments that share the pages of the original instead of copies.
const COPY_OFFLOADS: b::netdev_features_t =
    (1 << b::NETIF_F_SG_BIT) | (1 << b::NETIF_F_HW_CSUM_BIT) | (1 << b::NETIF_F_HIGHDMA_BIT);

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

/// The C operation tables of a [`NetDeviceOps`] implementation.
///
/// Under kCFI an indirect call checks a hash of the pointer's C type, so every function here
/// has exactly the type of its C slot, in integers and struct pointers only (hashed the same
/// by clang and rustc); the one slot with an enum in its type, `ndo_start_xmit`, holds the C
/// trampoline `ldd3_start_xmit` instead (see `common/net/helpers.h`).
pub(super) struct OpsTables<T: NetDeviceOps>(PhantomData<T>);

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

    /// `alloc_netdev_mqs` setup: an Ethernet device with this type's operations and the
    /// [`COPY_OFFLOADS`] on (and toggleable with `ethtool -K`).
    ///
    /// # Safety
    ///
    /// Called by `alloc_netdev_mqs` on the device it is allocating.
    pub(super) unsafe extern "C" fn setup(dev: *mut b::net_device) {
        // SAFETY: `dev` is being allocated; nothing else uses it yet.
        unsafe {
            b::ether_setup(dev);
            // `register_netdev` starts `wanted_features` from `features & hw_features`; VLAN
            // devices on top take `vlan_features` (the copy is as right for their skbs).
            (*dev).features |= COPY_OFFLOADS;
            (*dev).hw_features |= COPY_OFFLOADS;
            (*dev).vlan_features |= COPY_OFFLOADS;
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
    pub(super) unsafe extern "C" fn start_xmit(
        skb: *mut b::sk_buff,
        dev: *mut b::net_device,
    ) -> c_int {
        // SAFETY: The stack passes a valid skb whose reference it gives up (unless we return
        // NETDEV_TX_BUSY), for a registered device.
        let (skb, dev) = unsafe { (TxSkb::from_raw(NonNull::new_unchecked(skb)), Self::dev(dev)) };
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
    pub(super) unsafe extern "C" fn napi_poll(napi: *mut b::napi_struct, budget: c_int) -> c_int {
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
