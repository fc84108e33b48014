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
        checksum_replace,
        flip_ipv4,
        Checksum,
        ETH_HLEN,
        ETH_P_IP,
        IPPROTO_TCP,
        IPPROTO_UDP, //
    };
    use kernel::prelude::*;

    /// The Internet checksum of `header` (RFC 1071), with the checksum field counted as is,
    /// computed afresh: the oracle the flip's incremental updates are checked against.
    fn ip_checksum(header: &[u8]) -> u16 {
        let mut sum: u32 = header
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

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
        assert!(!flip_ipv4(&mut f, Checksum::Full));
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
        assert!(flip_ipv4(&mut f, Checksum::Full));
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
    fn flip_keeps_bad_header_checksum() {
        // The header checksum is updated, not recomputed: a wrong one stays wrong by as much,
        // and the receiver drops the packet as it would have without the flip.
        let mut ip = IP_PING;
        ip[11] ^= 0x5a;
        let residue = ip_checksum(&ip);
        assert!(residue != 0);
        let mut f = frame(ETH_P_IP, &ip);
        assert!(flip_ipv4(&mut f, Checksum::Full));
        assert_eq!(
            &f[ETH_HLEN + 12..ETH_HLEN + 20],
            &[192, 168, 1, 1, 192, 168, 1, 2]
        );
        assert_eq!(ip_checksum(&f[ETH_HLEN..]), residue);
    }

    #[test]
    fn flip_twice_restores() {
        let mut f = ping_frame();
        let before = copy(&f);
        assert!(flip_ipv4(&mut f, Checksum::Full));
        assert!(f[..] != before[..]);
        assert!(flip_ipv4(&mut f, Checksum::Full));
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
            assert!(flip_ipv4(&mut f, Checksum::Full));
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
        assert!(flip_ipv4(&mut f, Checksum::Full));
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
        assert!(flip_ipv4(&mut f, Checksum::Full));
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

    /// Offset of the transport checksum in an IPv4 packet with a 20-byte header.
    fn check_at(proto: u8) -> usize {
        20 + if proto == IPPROTO_TCP { 16 } else { 6 }
    }

    /// The TCP or UDP checksum of the IPv4 packet `ip` (20-byte header) as the receiver
    /// computes it: over the pseudo-header and the segment with its checksum field in place;
    /// 0 if the checksum is right.
    fn transport_verify(ip: &[u8]) -> u16 {
        let l4 = &ip[20..];
        let mut all = KVec::new();
        all.extend_from_slice(&ip[12..20], GFP_KERNEL).unwrap();
        all.extend_from_slice(&[0, ip[9]], GFP_KERNEL).unwrap();
        all.extend_from_slice(&(l4.len() as u16).to_be_bytes(), GFP_KERNEL)
            .unwrap();
        all.extend_from_slice(l4, GFP_KERNEL).unwrap();
        ip_checksum(&all)
    }

    /// An Ethernet frame with an IPv4 TCP or UDP packet from 192.168.`s3`.1 to 192.168.`d3`.2
    /// carrying `payload`, both checksums right (a computed UDP checksum of 0 sent as ffff).
    fn transport_frame(proto: u8, s3: u8, d3: u8, payload: &[u8]) -> KVec<u8> {
        let l4_len = if proto == IPPROTO_TCP { 20 } else { 8 } + payload.len();
        let tot = (20 + l4_len) as u16;
        let mut ip = KVec::new();
        ip.extend_from_slice(
            &[
                0x45,
                0,
                (tot >> 8) as u8,
                tot as u8,
                0x12,
                0x34,
                0x40,
                0,
                64,
                proto,
                0,
                0,
            ],
            GFP_KERNEL,
        )
        .unwrap();
        ip.extend_from_slice(&[192, 168, s3, 1, 192, 168, d3, 2], GFP_KERNEL)
            .unwrap();
        let check = ip_checksum(&ip).to_be_bytes();
        ip[10..12].copy_from_slice(&check);
        // Ports 1000 -> 9, then a TCP header (seq, ack, data offset 5, ACK|PSH, window) or
        // the UDP length, checksums zero for now.
        ip.extend_from_slice(&[0x03, 0xe8, 0x00, 0x09], GFP_KERNEL)
            .unwrap();
        if proto == IPPROTO_TCP {
            ip.extend_from_slice(
                &[0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x18, 0x10, 0, 0, 0, 0, 0],
                GFP_KERNEL,
            )
            .unwrap();
        } else {
            ip.extend_from_slice(&(l4_len as u16).to_be_bytes(), GFP_KERNEL)
                .unwrap();
            ip.extend_from_slice(&[0, 0], GFP_KERNEL).unwrap();
        }
        ip.extend_from_slice(payload, GFP_KERNEL).unwrap();
        let at = check_at(proto);
        let mut check = transport_verify(&ip);
        if proto == IPPROTO_UDP && check == 0 {
            check = 0xffff;
        }
        ip[at..at + 2].copy_from_slice(&check.to_be_bytes());
        assert_eq!(transport_verify(&ip), 0);
        frame(ETH_P_IP, &ip)
    }

    /// The transport checksum field of a frame made by `transport_frame`.
    fn transport_check(f: &[u8], proto: u8) -> u16 {
        let at = ETH_HLEN + check_at(proto);
        u16::from_be_bytes([f[at], f[at + 1]])
    }

    #[test]
    fn checksum_replace_rfc1624() {
        // RFC 1624, 4: checksum dd2f, a word 5555 becomes 3285: eqn. 3 gives 0000.
        assert_eq!(checksum_replace(0xdd2f, 0x5555, 0x3285), 0x0000);
        // Replacing a word by itself changes nothing (but -0 for +0).
        assert_eq!(checksum_replace(0x1234, 0xabcd, 0xabcd), 0x1234);
        // And back again.
        let once = checksum_replace(0x1234, 0x0001, 0x0101);
        assert_eq!(checksum_replace(once, 0x0101, 0x0001), 0x1234);
    }

    #[test]
    fn flip_fixes_transport_checksums() {
        // The book's addressing (third octets 0 and 0: the flip changes the pseudo-header sum
        // by 0x200), its mirror (1 and 1), and the cases where the bits differ (0 and 1, where
        // the checksum stays as it was), with payloads of even and odd length.
        for proto in [IPPROTO_UDP, IPPROTO_TCP] {
            for (s3, d3) in [
                (0, 0),
                (1, 1),
                (0, 1),
                (1, 0),
                (254, 255),
                (255, 255),
                (7, 42),
            ] {
                for payload in [&b"hello, world"[..], &b"odd"[..], &[0xffu8; 100][..]] {
                    let mut f = transport_frame(proto, s3, d3, payload);
                    let before = copy(&f);
                    assert!(flip_ipv4(&mut f, Checksum::Full));
                    let ip = &f[ETH_HLEN..];
                    assert_eq!(&ip[12..20], &[192, 168, s3 ^ 1, 1, 192, 168, d3 ^ 1, 2]);
                    assert_eq!(ip_checksum(&ip[..20]), 0);
                    assert_eq!(transport_verify(ip), 0);
                    let old = transport_check(&before, proto);
                    let new = transport_check(&f, proto);
                    if (s3 ^ d3) & 1 == 1 {
                        assert_eq!(new, old);
                    } else {
                        // Left as it was (the C snull), it would be wrong.
                        assert!(new != old);
                    }
                    // Nothing else of the segment changed.
                    let at = ETH_HLEN + check_at(proto);
                    assert_eq!(&f[ETH_HLEN + 20..at], &before[ETH_HLEN + 20..at]);
                    assert_eq!(&f[at + 2..], &before[at + 2..]);
                }
            }
        }
    }

    /// The sum of the pseudo-header of a TCP segment of `len` bytes between the addresses of
    /// the IPv4 packet `ip`, folded and not complemented: what the stack leaves in the
    /// checksum field of a super-frame (C `~tcp_v4_check(len, saddr, daddr, 0)`).
    fn pseudo_header_sum(ip: &[u8], len: u16) -> u16 {
        let mut pseudo = KVec::new();
        pseudo.extend_from_slice(&ip[12..20], GFP_KERNEL).unwrap();
        pseudo
            .extend_from_slice(&[0, IPPROTO_TCP], GFP_KERNEL)
            .unwrap();
        pseudo
            .extend_from_slice(&len.to_be_bytes(), GFP_KERNEL)
            .unwrap();
        !ip_checksum(&pseudo)
    }

    #[test]
    fn flip_updates_pseudo_header_sums() {
        // A super-frame's field holds the pseudo-header sum; after the flip it must hold that
        // of the new addresses, for every combination of the flipped bits.
        for (s3, d3) in [(0, 0), (1, 1), (0, 1), (1, 0), (254, 255), (7, 42)] {
            let mut f = transport_frame(IPPROTO_TCP, s3, d3, &[0xa5; 1000]);
            let at = ETH_HLEN + check_at(IPPROTO_TCP);
            let sum = pseudo_header_sum(&f[ETH_HLEN..], 60000);
            f[at..at + 2].copy_from_slice(&sum.to_be_bytes());
            let before = copy(&f);
            assert!(flip_ipv4(&mut f, Checksum::PseudoHeader));
            let ip = &f[ETH_HLEN..];
            assert_eq!(&ip[12..20], &[192, 168, s3 ^ 1, 1, 192, 168, d3 ^ 1, 2]);
            assert_eq!(ip_checksum(&ip[..20]), 0);
            assert_eq!(
                transport_check(&f, IPPROTO_TCP),
                pseudo_header_sum(&f[ETH_HLEN..], 60000)
            );
            assert_eq!(&f[at + 2..], &before[at + 2..]);
        }
    }

    #[test]
    fn flip_udp_checksum_never_zero() {
        // A payload word chosen so that the right checksum after the flip computes to 0,
        // which UDP must send as ffff (0 means "no checksum").
        let mut f = transport_frame(IPPROTO_UDP, 0, 0, &[0, 0]);
        let mut flipped = copy(&f);
        assert!(flip_ipv4(&mut flipped, Checksum::Full));
        // With the payload word 0 the flipped datagram sums (checksum field 0) to s.
        let at = ETH_HLEN + check_at(IPPROTO_UDP);
        flipped[at..at + 2].fill(0);
        let s = !transport_verify(&flipped[ETH_HLEN..]);
        // A payload word of ~s makes that sum ffff, the checksum ~ffff = 0.
        let word = (!s).to_be_bytes();
        f = transport_frame(IPPROTO_UDP, 0, 0, &word);
        assert!(flip_ipv4(&mut f, Checksum::Full));
        assert_eq!(transport_check(&f, IPPROTO_UDP), 0xffff);
        assert_eq!(transport_verify(&f[ETH_HLEN..]), 0);
    }

    #[test]
    fn flip_leaves_some_transport_checksums() {
        // UDP without checksum (0) keeps none.
        let mut f = transport_frame(IPPROTO_UDP, 0, 0, b"data");
        let at = ETH_HLEN + check_at(IPPROTO_UDP);
        f[at..at + 2].fill(0);
        assert!(flip_ipv4(&mut f, Checksum::Full));
        assert_eq!(transport_check(&f, IPPROTO_UDP), 0);
        // A later fragment holds no transport header: only the IPv4 header changes.
        for proto in [IPPROTO_UDP, IPPROTO_TCP] {
            let mut f = transport_frame(proto, 0, 0, b"data");
            f[ETH_HLEN + 6..ETH_HLEN + 8].copy_from_slice(&[0x00, 0x10]);
            let before = copy(&f);
            assert!(flip_ipv4(&mut f, Checksum::Full));
            assert_eq!(&f[ETH_HLEN + 20..], &before[ETH_HLEN + 20..]);
        }
        // The checksum field past the IPv4 total length, or past the frame: untouched.
        for proto in [IPPROTO_UDP, IPPROTO_TCP] {
            let mut f = transport_frame(proto, 0, 0, b"data");
            let short = (check_at(proto) + 1) as u16;
            f[ETH_HLEN + 2..ETH_HLEN + 4].copy_from_slice(&short.to_be_bytes());
            let before = copy(&f);
            assert!(flip_ipv4(&mut f, Checksum::Full));
            assert_eq!(&f[ETH_HLEN + 20..], &before[ETH_HLEN + 20..]);
            let mut f = transport_frame(proto, 0, 0, b"");
            f.truncate(ETH_HLEN + check_at(proto) + 1);
            let before = copy(&f);
            assert!(flip_ipv4(&mut f, Checksum::Full));
            assert_eq!(&f[ETH_HLEN + 20..], &before[ETH_HLEN + 20..]);
        }
        // Other protocols (ICMP: no pseudo-header) keep theirs: see `flip_ping`.
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
        tso_max_size: None,
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
