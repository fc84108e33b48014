// SPDX-License-Identifier: GPL-2.0

//! Network devices: a registered Ethernet device with private data, its `net_device_ops`,
//! `header_ops` and `ethtool_ops` built from one [`NetDeviceOps`] implementation, socket
//! buffers ([`TxSkb`] handed to `start_xmit`, [`RxSkb`] built for receive) and NAPI.
//!
//! What the callbacks may do is in the types they receive: [`RtnlNetDevice`] (RTNL held: the
//! name, the MTU and the address may change) in `open`, `stop`, `change_mtu` and
//! `set_mac_address`; [`NapiPoll`] (inside a poll: allocate from the NAPI cache, receive through GRO, complete) in
//! `napi_poll`; [`NetDevice`] everywhere else. NAPI is enabled and disabled by the wrapper,
//! around `open` and `stop`.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h),
//! [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h).

pub mod bindings;
mod device;
mod ops;
mod skbuff;

pub use device::{
    DeviceConfig,
    NapiPoll,
    NetDevice,
    Registration,
    RtnlNetDevice, //
};
pub use ops::{
    DriverInfo,
    LinkStats,
    NetDeviceOps,
    Transmit, //
};
pub use skbuff::{
    RxSkb,
    SkBuffRef,
    TxSkb, //
};

use bindings as b;

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
