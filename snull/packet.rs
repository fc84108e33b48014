// SPDX-License-Identifier: GPL-2.0

//! What the snull "hardware" does to a frame in flight: it flips the least significant bit of
//! the third octet of the IPv4 source and destination addresses, so that a packet sent to
//! 192.168.0.2 on sn0 arrives on sn1 from 192.168.1.1 to 192.168.1.2, and fixes the IPv4
//! header checksum. Frames of other protocols (IPv6, ...) pass unchanged.
//!
//! Pure functions on bytes, shared with the KUnit tests in `tests/kunit/snull_kunit.rs`.

/// Bytes in an Ethernet header.
pub(crate) const ETH_HLEN: usize = 14;
/// EtherType of IPv4.
pub(crate) const ETH_P_IP: u16 = 0x0800;

/// Offsets in the IPv4 header.
const IP_CHECK: usize = 10;
const IP_SADDR: usize = 12;
const IP_DADDR: usize = 16;
/// The third octet of an address.
const THIRD_OCTET: usize = 2;

/// The Internet checksum of `header` (RFC 1071), with the checksum field counted as is.
pub(crate) fn ip_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The IPv4 header of an Ethernet `frame`, if it carries a well-formed one.
fn ipv4_header(frame: &mut [u8]) -> Option<&mut [u8]> {
    if frame.len() < ETH_HLEN + 20 || u16::from_be_bytes([frame[12], frame[13]]) != ETH_P_IP {
        return None;
    }
    let ip = &mut frame[ETH_HLEN..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ihl < 20 || ihl > ip.len() {
        return None;
    }
    Some(&mut ip[..ihl])
}

/// Applies the snull address flip to an Ethernet `frame` and recomputes the IPv4 header
/// checksum. Returns whether the frame was IPv4 (and so changed).
pub(crate) fn flip_ipv4(frame: &mut [u8]) -> bool {
    let Some(header) = ipv4_header(frame) else {
        return false;
    };
    header[IP_SADDR + THIRD_OCTET] ^= 1;
    header[IP_DADDR + THIRD_OCTET] ^= 1;
    header[IP_CHECK..IP_CHECK + 2].fill(0);
    let check = ip_checksum(header);
    header[IP_CHECK..IP_CHECK + 2].copy_from_slice(&check.to_be_bytes());
    true
}
