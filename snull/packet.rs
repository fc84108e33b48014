// SPDX-License-Identifier: GPL-2.0

//! What the snull "hardware" does to a frame in flight: it flips the least significant bit of
//! the third octet of the IPv4 source and destination addresses, so that a packet sent to
//! 192.168.0.2 on sn0 arrives on sn1 from 192.168.1.1 to 192.168.1.2, and updates the IPv4
//! header checksum for the two words it changed (RFC 1624), as NAT does (`csum_replace4`):
//! a header that came with a bad checksum keeps a bad one, for the receiver to drop. Frames of
//! other protocols (IPv6, ...) pass unchanged.
//!
//! The TCP and UDP checksums cover the addresses too (the pseudo-header). In the 16-bit
//! one's complement sum, each flip adds or takes 0x100, by the bit's old value: when the two
//! addresses differ in that bit the changes cancel and the checksum stays right, but when
//! they agree, as with the book's own addressing (192.168.0.1 to 192.168.0.2, both 0), it
//! would be off by 0x200. The C snull leaves it so (its receiver sets `CHECKSUM_UNNECESSARY`,
//! so the local stack never notices, but a capture or a forwarding router does). Here the
//! checksum of an unfragmented datagram or first fragment is updated for the two changed
//! words (RFC 1624), which is right in both cases. A TCP super-frame (TSO) carries in that
//! field the sum of its pseudo-header only, not yet complemented, for the segments' checksums
//! to start from: the same two words are swapped in that sum ([`Checksum::PseudoHeader`]).
//!
//! Pure functions on bytes, shared with the KUnit tests in `tests/kunit/snull_kunit.rs`, which
//! check every result against the checksum computed afresh.

/// Bytes in an Ethernet header.
pub(crate) const ETH_HLEN: usize = 14;
/// EtherType of IPv4.
pub(crate) const ETH_P_IP: u16 = 0x0800;

/// Offsets in the IPv4 header.
const IP_CHECK: usize = 10;
const IP_SADDR: usize = 12;
const IP_DADDR: usize = 16;
const IP_FRAG_OFF: usize = 6;
const IP_PROTOCOL: usize = 9;
const IP_TOT_LEN: usize = 2;
/// The third octet of an address.
const THIRD_OCTET: usize = 2;
/// The IPv4 fragment offset, without the flags.
const IP_OFFSET_MASK: u16 = 0x1fff;

/// IP protocol number of TCP.
pub(crate) const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub(crate) const IPPROTO_UDP: u8 = 17;
/// Offset of the checksum in a TCP header.
const TCP_CHECK: usize = 16;
/// Offset of the checksum in a UDP header.
const UDP_CHECK: usize = 6;

/// One's complement checksum `check` updated for a 16-bit word of the data going from `old`
/// to `new` (RFC 1624, eqn. 3: `~(~check + ~old + new)`).
pub(crate) fn checksum_replace(check: u16, old: u16, new: u16) -> u16 {
    let mut sum = u32::from(!check) + u32::from(!old) + u32::from(new);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The length of the IPv4 header of an Ethernet `frame`, if it carries a well-formed one.
fn ipv4_header_len(frame: &[u8]) -> Option<usize> {
    if frame.len() < ETH_HLEN + 20 || u16::from_be_bytes([frame[12], frame[13]]) != ETH_P_IP {
        return None;
    }
    let ip = &frame[ETH_HLEN..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ihl < 20 || ihl > ip.len() {
        return None;
    }
    Some(ihl)
}

/// Where in the IPv4 packet `ip` (header of `ihl` bytes and what follows in the frame) the
/// TCP or UDP checksum is that covers its addresses: in an unfragmented datagram or a first
/// fragment, within the frame and within the IPv4 total length. `None` for other protocols,
/// later fragments, UDP without checksum (0) and packets too short to hold the field.
fn transport_checksum_offset(ip: &[u8], ihl: usize) -> Option<usize> {
    let frag_off = u16::from_be_bytes([ip[IP_FRAG_OFF], ip[IP_FRAG_OFF + 1]]);
    if frag_off & IP_OFFSET_MASK != 0 {
        return None;
    }
    let check = ihl
        + match ip[IP_PROTOCOL] {
            IPPROTO_TCP => TCP_CHECK,
            IPPROTO_UDP => UDP_CHECK,
            _ => return None,
        };
    let tot_len = usize::from(u16::from_be_bytes([ip[IP_TOT_LEN], ip[IP_TOT_LEN + 1]]));
    if check + 2 > ip.len().min(tot_len) {
        return None;
    }
    if ip[IP_PROTOCOL] == IPPROTO_UDP && ip[check..check + 2] == [0, 0] {
        return None;
    }
    Some(check)
}

/// What the TCP or UDP checksum field of a frame holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checksum {
    /// The checksum of the segment (complemented sum of pseudo-header, header and data).
    Full,
    /// The sum of the pseudo-header alone, not complemented: a TCP super-frame's
    /// (`CHECKSUM_PARTIAL`), whose segments' checksums are still to be computed.
    PseudoHeader,
}

/// Applies the snull address flip to an Ethernet `frame` and updates the IPv4 header checksum
/// and the TCP or UDP checksum field, which holds `checksum`, for the new addresses (see the
/// top of this file). Returns whether the frame was IPv4 (and so changed).
pub(crate) fn flip_ipv4(frame: &mut [u8], checksum: Checksum) -> bool {
    let Some(ihl) = ipv4_header_len(frame) else {
        return false;
    };
    let ip = &mut frame[ETH_HLEN..];
    let transport_check = transport_checksum_offset(ip, ihl);
    // The 16-bit words (of the header and of the pseudo-header) that hold the third octets.
    let words = [IP_SADDR + THIRD_OCTET, IP_DADDR + THIRD_OCTET];
    let old = words.map(|at| u16::from_be_bytes([ip[at], ip[at + 1]]));
    for at in words {
        ip[at] ^= 1;
    }
    // A checksum over both words (the header's, or the transport's over the pseudo-header),
    // updated for their flip.
    let flipped = |check| {
        old.iter().fold(check, |check, &word| {
            checksum_replace(check, word, word ^ 0x100)
        })
    };
    let check = flipped(u16::from_be_bytes([ip[IP_CHECK], ip[IP_CHECK + 1]]));
    ip[IP_CHECK..IP_CHECK + 2].copy_from_slice(&check.to_be_bytes());
    if let Some(at) = transport_check {
        let field = u16::from_be_bytes([ip[at], ip[at + 1]]);
        // A pseudo-header sum is updated as the checksum it will become, its complement.
        let check = flipped(match checksum {
            Checksum::Full => field,
            Checksum::PseudoHeader => !field,
        });
        let field = match checksum {
            // In UDP a zero checksum means "none": a computed zero is sent as all ones.
            Checksum::Full if ip[IP_PROTOCOL] == IPPROTO_UDP && check == 0 => 0xffff,
            Checksum::Full => check,
            Checksum::PseudoHeader => !check,
        };
        ip[at..at + 2].copy_from_slice(&field.to_be_bytes());
    }
    true
}
