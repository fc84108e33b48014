// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of snull (the module `snull_test`): what the snull "hardware" does to a frame
//! (`snull/packet.rs`: the Internet checksum and the IPv4 address flip), and the checks of the
//! `common/net` socket buffers it is built on (a test device, `ldd3kt%d`, exists during those
//! cases). The suites run when this module is inserted and report KTAP in the kernel log.

#![deny(unsafe_code)]

use kernel::prelude::*;

#[allow(unsafe_code)]
#[path = "../../common/lib.rs"]
pub mod common;
#[path = "../../snull/packet.rs"]
mod packet;

module! {
    type: SnullTest,
    name: "snull_test",
    authors: ["The ldd3-rust authors"],
    description: "KUnit tests of the snull packet rewriting and of common/net",
    license: "GPL",
}

struct SnullTest;

impl kernel::Module for SnullTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

#[kunit_tests(snull_packet)]
mod tests {
    use super::packet::{
        flip_ipv4,
        ip_checksum,
        ETH_HLEN,
        ETH_P_IP, //
    };
    use kernel::prelude::*;

    /// sn0's and sn1's MACs: a frame from sn0 to sn1.
    const ETH: [u8; 12] = [
        0x00, 0x53, 0x4e, 0x55, 0x4c, 0x31, 0x00, 0x53, 0x4e, 0x55, 0x4c, 0x30,
    ];

    /// An ICMP echo request header, 192.168.0.1 -> 192.168.0.2, checksum 0x0d88.
    const IP_PING: [u8; 20] = [
        0x45, 0x00, 0x00, 0x54, 0xab, 0xcd, 0x40, 0x00, 0x40, 0x01, 0x0d, 0x88, 192, 168, 0, 1,
        192, 168, 0, 2,
    ];

    /// An Ethernet frame of `ethertype` carrying `payload`.
    fn frame(ethertype: u16, payload: &[u8]) -> KVec<u8> {
        let mut f = KVec::new();
        f.extend_from_slice(&ETH, GFP_KERNEL).unwrap();
        f.extend_from_slice(&ethertype.to_be_bytes(), GFP_KERNEL)
            .unwrap();
        f.extend_from_slice(payload, GFP_KERNEL).unwrap();
        f
    }

    /// The ICMP echo frame, with some payload after the IP header.
    fn ping_frame() -> KVec<u8> {
        let mut f = frame(ETH_P_IP, &IP_PING);
        f.extend_from_slice(
            &[0x08, 0x00, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef],
            GFP_KERNEL,
        )
        .unwrap();
        f
    }

    fn copy(f: &[u8]) -> KVec<u8> {
        let mut c = KVec::new();
        c.extend_from_slice(f, GFP_KERNEL).unwrap();
        c
    }

    /// Flips `f` and checks that it did not change and that flip_ipv4 said so.
    fn assert_unchanged(mut f: KVec<u8>) {
        let before = copy(&f);
        assert!(!flip_ipv4(&mut f));
        assert_eq!(&f[..], &before[..]);
    }

    #[test]
    fn checksum_rfc1071_example() {
        // RFC 1071, 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (with end-around carry).
        assert_eq!(
            ip_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2u16
        );
        assert_eq!(
            ip_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
    }

    #[test]
    fn checksum_ipv4_header() {
        // 192.168.0.1 -> 192.168.0.199, UDP: the well-known header with checksum b861.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(ip_checksum(&h), 0xb861);
        h[10] = 0xb8;
        h[11] = 0x61;
        // A header with its checksum in place verifies as 0.
        assert_eq!(ip_checksum(&h), 0);
        assert_eq!(ip_checksum(&IP_PING), 0);
    }

    #[test]
    fn checksum_edge_cases() {
        assert_eq!(ip_checksum(&[]), 0xffff);
        // An odd byte is padded with a zero byte.
        assert_eq!(ip_checksum(&[0x01]), 0xfeff);
        assert_eq!(ip_checksum(&[0x01, 0x00]), 0xfeff);
        // Carries fold back in more than once: 0xffff * n sums to 0xffff.
        assert_eq!(ip_checksum(&[0xff; 64]), 0);
        assert_eq!(ip_checksum(&[0xff, 0xff, 0x00, 0x01]), 0xfffe);
    }

    #[test]
    fn flip_ping() {
        let mut f = ping_frame();
        let before = copy(&f);
        assert!(flip_ipv4(&mut f));
        assert_eq!(f.len(), before.len());
        // Ethernet header and payload untouched.
        assert_eq!(&f[..ETH_HLEN], &before[..ETH_HLEN]);
        assert_eq!(&f[ETH_HLEN + 20..], &before[ETH_HLEN + 20..]);
        // Only the addresses' third octets and the checksum changed.
        let ip = &f[ETH_HLEN..ETH_HLEN + 20];
        assert_eq!(&ip[..10], &IP_PING[..10]);
        assert_eq!(&ip[12..20], &[192, 168, 1, 1, 192, 168, 1, 2]);
        assert_eq!(&ip[10..12], &[0x0b, 0x88]);
        assert_eq!(ip_checksum(ip), 0);
    }

    #[test]
    fn flip_twice_restores() {
        let mut f = ping_frame();
        let before = copy(&f);
        assert!(flip_ipv4(&mut f));
        assert!(f[..] != before[..]);
        assert!(flip_ipv4(&mut f));
        assert_eq!(&f[..], &before[..]);
    }

    #[test]
    fn flip_all_third_octets() {
        // Every third octet maps to its neighbour and the checksum always verifies.
        for octet in 0..=255u8 {
            let mut ip = IP_PING;
            ip[14] = octet;
            ip[18] = octet ^ 0x80;
            ip[10] = 0;
            ip[11] = 0;
            let check = ip_checksum(&ip).to_be_bytes();
            ip[10] = check[0];
            ip[11] = check[1];
            let mut f = frame(ETH_P_IP, &ip);
            assert!(flip_ipv4(&mut f));
            assert_eq!(f[ETH_HLEN + 14], octet ^ 1);
            assert_eq!(f[ETH_HLEN + 18], octet ^ 0x81);
            assert_eq!(ip_checksum(&f[ETH_HLEN..]), 0);
        }
    }

    #[test]
    fn flip_with_options() {
        // IHL 6: one word of options, covered by the checksum and left as is.
        let mut ip = [
            0x46, 0x00, 0x00, 0x58, 0xab, 0xcd, 0x40, 0x00, 0x40, 0x01, 0x0a, 0x82, 192, 168, 0, 1,
            192, 168, 0, 2, 0x01, 0x01, 0x01, 0x01,
        ];
        assert_eq!(ip_checksum(&ip), 0);
        let mut f = frame(ETH_P_IP, &ip);
        assert!(flip_ipv4(&mut f));
        ip[14] = 1;
        ip[18] = 1;
        ip[10] = 0x08;
        ip[11] = 0x82;
        assert_eq!(&f[ETH_HLEN..], &ip[..]);
        assert_eq!(ip_checksum(&f[ETH_HLEN..]), 0);
    }

    #[test]
    fn non_ipv4_unchanged() {
        // An IPv6 frame (router solicitation from link-up, say), whose bytes at the IPv4
        // offsets would otherwise be flipped.
        let mut ip6 = [0u8; 48];
        ip6[0] = 0x60;
        ip6[6] = 58;
        ip6[7] = 255;
        ip6[8] = 0xfe;
        ip6[9] = 0x80;
        assert_unchanged(frame(0x86dd, &ip6));
        // IPv4 inside an 802.1Q tag or ARP: not ours to rewrite either.
        assert_unchanged(frame(0x8100, &IP_PING));
        assert_unchanged(frame(0x0806, &IP_PING));
        // Version 6 in an IPv4 EtherType.
        let mut ip = IP_PING;
        ip[0] = 0x65;
        assert_unchanged(frame(ETH_P_IP, &ip));
    }

    #[test]
    fn truncated_unchanged() {
        assert_unchanged(KVec::new());
        assert_unchanged(frame(ETH_P_IP, &[]));
        // One byte short of a minimal IPv4 header.
        assert_unchanged(frame(ETH_P_IP, &IP_PING[..19]));
        // Exactly a minimal header is enough.
        let mut f = frame(ETH_P_IP, &IP_PING);
        assert!(flip_ipv4(&mut f));
        assert_eq!(ip_checksum(&f[ETH_HLEN..]), 0);
        // IHL 15 (60 bytes) in a frame holding 20 bytes of IP.
        let mut ip = IP_PING;
        ip[0] = 0x4f;
        assert_unchanged(frame(ETH_P_IP, &ip));
        // IHL 6 with only 20 bytes present.
        ip[0] = 0x46;
        assert_unchanged(frame(ETH_P_IP, &ip));
    }

    #[test]
    fn bad_ihl_unchanged() {
        for ihl in 0..5u8 {
            let mut ip = IP_PING;
            ip[0] = 0x40 | ihl;
            let mut f = frame(ETH_P_IP, &ip);
            f.extend_from_slice(&[0u8; 40], GFP_KERNEL).unwrap();
            assert_unchanged(f);
        }
    }
}

#[kunit_tests(snull_net)]
mod net_tests {
    use super::common::net::{
        DeviceConfig,
        NetDevice,
        NetDeviceOps,
        Registration,
        RtnlNetDevice,
        Transmit,
        TxSkb,
        ETH_HLEN, //
    };
    use kernel::prelude::*;

    /// A device that does nothing: only its socket buffers and receive path are tested.
    struct Dummy;

    #[vtable]
    impl NetDeviceOps for Dummy {
        type Data = ();

        fn open(_dev: &RtnlNetDevice<Self>) -> Result {
            Ok(())
        }

        fn stop(_dev: &RtnlNetDevice<Self>) -> Result {
            Ok(())
        }

        fn start_xmit(_skb: TxSkb, _dev: &NetDevice<Self>) -> Transmit {
            Transmit::Done
        }
    }

    const CONFIG: DeviceConfig = DeviceConfig {
        mac: [0x00, 0x53, 0x4e, 0x55, 0x4c, 0x7e],
        noarp: true,
        watchdog_jiffies: None,
    };

    fn dummy() -> Registration<Dummy> {
        Registration::new(c"ldd3kt%d", &CONFIG, Ok(())).unwrap()
    }

    #[test]
    fn reserve_past_tailroom() {
        let reg = dummy();
        let mut skb = reg.device().alloc_skb(100).unwrap();
        let room = skb.tailroom();
        assert!(room >= 100);
        // One byte too many, and a length that would wrap `int`: refused, nothing moved.
        assert_eq!(skb.reserve(room + 1), Err(ENOSPC));
        assert_eq!(skb.reserve(usize::MAX), Err(ENOSPC));
        assert_eq!(skb.tailroom(), room);
        assert!(skb.data().is_empty());
        // Two bytes (snull's IP alignment), then data, then no more reserving.
        assert_eq!(skb.reserve(2), Ok(()));
        assert_eq!(skb.tailroom(), room - 2);
        assert_eq!(skb.put_slice(&[1, 2, 3]), Ok(()));
        assert_eq!(skb.reserve(1), Err(EINVAL));
        assert_eq!(skb.data(), &[1, 2, 3]);
        // Exactly the tailroom fits; then nothing does.
        let rest = skb.tailroom();
        assert_eq!(skb.put_slice(&[0u8; 2048][..rest + 1]), Err(ENOSPC));
        assert_eq!(skb.put_slice(&[0u8; 2048][..rest]), Ok(()));
        assert_eq!(skb.tailroom(), 0);
        assert_eq!(skb.put_slice(&[0]), Err(ENOSPC));
        assert_eq!(skb.data().len(), 3 + rest);
    }

    #[test]
    fn reserve_all_then_put() {
        let reg = dummy();
        let mut skb = reg.device().alloc_skb(64).unwrap();
        let room = skb.tailroom();
        assert_eq!(skb.reserve(room), Ok(()));
        assert_eq!(skb.tailroom(), 0);
        assert!(skb.data().is_empty());
        assert_eq!(skb.put_slice(&[0]), Err(ENOSPC));
    }

    #[test]
    fn short_frame_refused() {
        let reg = dummy();
        let dev = reg.device();
        let before = dev.stats().rx_dropped;
        // An empty frame and one a byte short of an Ethernet header: freed, counted as
        // receive drops, never given to eth_type_trans.
        for len in [0, ETH_HLEN - 1] {
            let mut skb = dev.alloc_skb(ETH_HLEN).unwrap();
            assert_eq!(skb.put_slice(&[0xffu8; ETH_HLEN][..len]), Ok(()));
            assert_eq!(dev.receive(skb), Err(EINVAL));
        }
        assert_eq!(dev.stats().rx_dropped, before + 2);
    }

    /// Counts its drops, to see what a failed or finished registration drops.
    struct Counted;

    static DROPS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

    impl Drop for Counted {
        fn drop(&mut self) {
            DROPS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Private data in two parts, the second of which may fail to initialise.
    #[pin_data]
    struct TwoParts {
        first: Counted,
        second: Counted,
    }

    struct Parts;

    #[vtable]
    impl NetDeviceOps for Parts {
        type Data = TwoParts;

        fn open(_dev: &RtnlNetDevice<Self>) -> Result {
            Ok(())
        }

        fn stop(_dev: &RtnlNetDevice<Self>) -> Result {
            Ok(())
        }

        fn start_xmit(_skb: TxSkb, _dev: &NetDevice<Self>) -> Transmit {
            Transmit::Done
        }
    }

    fn drops() -> usize {
        DROPS.load(core::sync::atomic::Ordering::Relaxed)
    }

    #[test]
    fn data_init_failure() {
        // The second part fails: the error comes back, the first part is dropped once, the
        // second (never made) not at all, and the device is freed (kmemleak would see it).
        let before = drops();
        let fail = |e: Error| -> Result<Counted> { Err(e) };
        let reg = Registration::<Parts>::new(
            c"ldd3kf%d",
            &CONFIG,
            try_pin_init!(TwoParts {
                first: Counted,
                second: fail(ENOSPC)?,
            }),
        );
        assert_eq!(reg.err(), Some(ENOSPC));
        assert_eq!(drops(), before + 1);
        // A good one drops both parts exactly once, when unregistered.
        let reg = Registration::<Parts>::new(
            c"ldd3kf%d",
            &CONFIG,
            try_pin_init!(TwoParts {
                first: Counted,
                second: Counted,
            }),
        );
        assert!(reg.is_ok());
        assert_eq!(drops(), before + 1);
        drop(reg);
        assert_eq!(drops(), before + 3);
    }

    #[test]
    fn long_name_refused() {
        // alloc_netdev_mqs() would BUG() on a name of 16 bytes or more.
        assert!(Registration::<Dummy>::new(c"ldd3kt-too-long%d", &CONFIG, Ok(())).is_err());
        let reg = Registration::<Dummy>::new(c"ldd3kt-fifte%d", &CONFIG, Ok(()));
        assert!(reg.is_ok());
    }
}
