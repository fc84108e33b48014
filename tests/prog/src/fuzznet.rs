//! `fuzz-net`: a seeded packet fuzzer for snull's sn0/sn1.
//!
//! Two threads run for the given time, each with its own PRNG stream drawn from the seed (the
//! sequence of what each thread does is a function of the seed; how the two interleave, and
//! what the kernel does meanwhile, is not):
//!
//! - traffic: raw frames through AF_PACKET on sn0 and sn1 (a sweep over every length
//!   0..=MAX_FRAME, random ethertypes, IPv4 with bad IHL, bad total length, fragments,
//!   options, bad checksums, IPv6, 802.1Q, oversize), and UDP/ICMP through normal sockets
//!   (IPv4 both ways, IPv6 to the link-local peers); the UDP datagrams it receives back carry a
//!   pattern that is checked byte for byte;
//! - churn: MTU (valid, and invalid: EINVAL), MAC address (valid while down; multicast or zero:
//!   EADDRNOTAVAIL; wrong family: EINVAL; while up: EBUSY) and link down/up, on both ends.
//!
//! Every call's errno is checked against what that call may return (see `Allowed`); then the
//! churn stops, the links come back with their MTU and MAC, the traffic drains, and the
//! counters must add up (`check_counters` says exactly how), and a ping sn0 -> sn1
//! (192.168.0.2) must be answered three times out of three.

use crate::errno;
use crate::sys::{Error, Res};
use std::collections::BTreeMap;
use std::mem::size_of;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const USAGE: &str = "fuzz-net --seed S --seconds T\n\
     \tfuzz snull's sn0/sn1 for T seconds (0: check the arguments and exit) from seed S:\n\
     \traw frames of every length and ethertype (AF_PACKET), malformed IPv4, IPv6, UDP and\n\
     \tICMP through sockets, while MTU, MAC and link state churn on both ends. sn0/sn1 get\n\
     \tthe README's addresses if they have none. Prints `seed=S` first, then what was sent\n\
     \t(per kind), the errnos seen, the counters, the checks; exit 1 if an errno was not\n\
     \tallowed for its call, the counters do not add up, or the final ping fails";

/// The devices, their default MACs, and their addresses (the README's).
const DEVS: [&str; 2] = ["sn0", "sn1"];
const MACS: [[u8; 6]; 2] = [
    [0x00, 0x53, 0x4e, 0x55, 0x4c, 0x30],
    [0x00, 0x53, 0x4e, 0x55, 0x4c, 0x31],
];
const LOCAL: [[u8; 4]; 2] = [[192, 168, 0, 1], [192, 168, 1, 2]];
/// Where each device's traffic goes: the peer as seen through the flip.
const REMOTE: [[u8; 4]; 2] = [[192, 168, 0, 2], [192, 168, 1, 1]];
/// The link-local address of each device's peer (EUI-64 of the peer's default MAC).
const PEER_LL6: [[u8; 16]; 2] = [ll6(MACS[1]), ll6(MACS[0])];
/// UDP port of the pattern-checked datagrams (raw frames never use it).
const FUZZ_PORT: u16 = 47000;
const MIN_MTU: usize = 68;
const MAX_MTU: usize = 1500;
const ETH_HLEN: usize = 14;
const VLAN_HLEN: usize = 4;
/// The sweep goes a little past the largest frame snull takes (1518, tagged).
const MAX_FRAME: usize = MAX_MTU + ETH_HLEN + VLAN_HLEN + 16;
const MAGIC: [u8; 4] = *b"LDFZ";

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_ALL: u16 = 0x0003;
const PACKET_OUTGOING: u32 = 4;
const SOL_PACKET: libc::c_int = 263;
const PACKET_STATISTICS: libc::c_int = 6;
const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GDRVINFO: u32 = 0x03;
const ETHTOOL_GSTRINGS: u32 = 0x1b;
const ETHTOOL_GSTATS: u32 = 0x1d;
const ETH_SS_STATS: u32 = 1;
const ETH_GSTRING_LEN: usize = 32;

const fn ll6(mac: [u8; 6]) -> [u8; 16] {
    [
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 2,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ]
}

// ------------------------------------------------------------------------------ PRNG

/// splitmix64: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xa076_1d64_78bd_642f));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Uniform in lo..=hi.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

// ------------------------------------------------------------------------------ tallies

/// What a thread did: per kind, calls and successes; per call kind, errnos; and the calls
/// whose result was not allowed.
#[derive(Default)]
struct Tally {
    kinds: BTreeMap<&'static str, (u64, u64)>,
    errnos: BTreeMap<(&'static str, i32), u64>,
    bad: Vec<String>,
    bad_count: u64,
    /// Raw frames sent successfully, per device.
    raw_ok: [u64; 2],
    /// Successful link-downs, per device.
    downs: [u64; 2],
    udp_sent: u64,
    udp_received: u64,
    udp_corrupt: u64,
}

/// What a call may return. `must_fail`: success is a violation too.
#[derive(Clone, Copy)]
struct Allowed<'a> {
    errnos: &'a [i32],
    must_fail: bool,
}

impl Tally {
    fn problem(&mut self, msg: String) {
        self.bad_count += 1;
        if self.bad.len() < 20 {
            self.bad.push(msg);
        }
    }

    /// Counts one call of `kind` (errno group `call`) with result `r` (Err(errno)).
    fn record(&mut self, kind: &'static str, call: &'static str, r: Result<(), i32>, a: Allowed) {
        let e = self.kinds.entry(kind).or_default();
        e.0 += 1;
        match r {
            Ok(()) => {
                e.1 += 1;
                if a.must_fail {
                    let names: Vec<String> = a.errnos.iter().map(|&e| errno::name(e)).collect();
                    self.problem(format!(
                        "{}: succeeded, expected {}",
                        kind,
                        names.join(" or ")
                    ));
                }
            }
            Err(err) => {
                *self.errnos.entry((call, err)).or_default() += 1;
                if !a.errnos.contains(&err) {
                    self.problem(format!("{}: errno {} not allowed", kind, errno::name(err)));
                }
            }
        }
    }

    fn merge(&mut self, o: Tally) {
        for (k, (n, ok)) in o.kinds {
            let e = self.kinds.entry(k).or_default();
            e.0 += n;
            e.1 += ok;
        }
        for (k, n) in o.errnos {
            *self.errnos.entry(k).or_default() += n;
        }
        for m in o.bad {
            if self.bad.len() < 20 {
                self.bad.push(m);
            }
        }
        self.bad_count += o.bad_count;
        for i in 0..2 {
            self.raw_ok[i] += o.raw_ok[i];
            self.downs[i] += o.downs[i];
        }
        self.udp_sent += o.udp_sent;
        self.udp_received += o.udp_received;
        self.udp_corrupt += o.udp_corrupt;
    }
}

// ------------------------------------------------------------------------------ system calls

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn sys<T>(what: impl Into<String>) -> Res<T> {
    Err(Error::Sys {
        what: what.into(),
        errno: errno(),
    })
}

struct Sock(libc::c_int);

impl Drop for Sock {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

fn socket(domain: libc::c_int, ty: libc::c_int, proto: libc::c_int) -> Res<Sock> {
    // SAFETY: plain system call.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return sys(format!("socket({}, {}, {})", domain, ty, proto));
    }
    Ok(Sock(fd))
}

/// `struct ifreq`: the name, then a 24-byte union.
#[repr(C)]
#[derive(Clone, Copy)]
struct IfReq {
    name: [u8; 16],
    data: [u8; 24],
}

impl IfReq {
    fn new(dev: &str) -> Self {
        let mut r = IfReq {
            name: [0; 16],
            data: [0; 24],
        };
        r.name[..dev.len()].copy_from_slice(dev.as_bytes());
        r
    }
    fn int(&self) -> i32 {
        i32::from_ne_bytes(self.data[..4].try_into().unwrap())
    }
    fn set_int(&mut self, v: i32) {
        self.data[..4].copy_from_slice(&v.to_ne_bytes());
    }
}

/// One interface ioctl; Err(errno).
fn ifioctl(s: &Sock, req: libc::c_ulong, r: &mut IfReq) -> Result<(), i32> {
    // SAFETY: `r` is a valid `struct ifreq` for the call (40 bytes, as the kernel copies).
    if unsafe { libc::ioctl(s.0, req as _, r as *mut IfReq) } < 0 {
        return Err(errno());
    }
    Ok(())
}

fn ifindex(s: &Sock, dev: &str) -> Res<i32> {
    let mut r = IfReq::new(dev);
    ifioctl(s, libc::SIOCGIFINDEX as _, &mut r).map_err(|e| Error::Sys {
        what: format!("SIOCGIFINDEX {} (is snull loaded?)", dev),
        errno: e,
    })?;
    Ok(r.int())
}

fn get_flags(s: &Sock, dev: &str) -> Result<i32, i32> {
    let mut r = IfReq::new(dev);
    ifioctl(s, libc::SIOCGIFFLAGS as _, &mut r)?;
    Ok(i16::from_ne_bytes([r.data[0], r.data[1]]) as i32)
}

fn set_up(s: &Sock, dev: &str, up: bool) -> Result<(), i32> {
    let flags = get_flags(s, dev)?;
    let flags = if up {
        flags | libc::IFF_UP
    } else {
        flags & !libc::IFF_UP
    };
    let mut r = IfReq::new(dev);
    r.data[..2].copy_from_slice(&(flags as i16).to_ne_bytes());
    ifioctl(s, libc::SIOCSIFFLAGS as _, &mut r)
}

fn set_mtu(s: &Sock, dev: &str, mtu: i32) -> Result<(), i32> {
    let mut r = IfReq::new(dev);
    r.set_int(mtu);
    ifioctl(s, libc::SIOCSIFMTU as _, &mut r)
}

fn set_mac(s: &Sock, dev: &str, family: u16, mac: &[u8; 6]) -> Result<(), i32> {
    let mut r = IfReq::new(dev);
    r.data[..2].copy_from_slice(&family.to_ne_bytes());
    r.data[2..8].copy_from_slice(mac);
    ifioctl(s, libc::SIOCSIFHWADDR as _, &mut r)
}

fn sockaddr_in(addr: [u8; 4], port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(addr),
        },
        sin_zero: [0; 8],
    }
}

/// Gives `dev` the README's address and netmask if it has no IPv4 address.
fn ensure_addr(s: &Sock, dev: usize) -> Res<bool> {
    let mut r = IfReq::new(DEVS[dev]);
    match ifioctl(s, libc::SIOCGIFADDR as _, &mut r) {
        Ok(()) => return Ok(false),
        Err(e) if e == libc::EADDRNOTAVAIL => {}
        Err(e) => {
            return Err(Error::Sys {
                what: format!("SIOCGIFADDR {}", DEVS[dev]),
                errno: e,
            })
        }
    }
    for (req, addr) in [
        (libc::SIOCSIFADDR, LOCAL[dev]),
        (libc::SIOCSIFNETMASK, [255, 255, 255, 0]),
    ] {
        let mut r = IfReq::new(DEVS[dev]);
        let sa = sockaddr_in(addr, 0);
        // SAFETY: a sockaddr_in (16 bytes) fits the 24-byte union.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&sa as *const libc::sockaddr_in).cast::<u8>(),
                r.data.as_mut_ptr(),
                size_of::<libc::sockaddr_in>(),
            )
        };
        ifioctl(s, req as _, &mut r).map_err(|e| Error::Sys {
            what: format!("set address of {}", DEVS[dev]),
            errno: e,
        })?;
    }
    Ok(true)
}

/// sendto(2) with MSG_DONTWAIT; Err(errno).
fn sendto<A>(s: &Sock, buf: &[u8], addr: &A) -> Result<(), i32> {
    // SAFETY: `buf` and `addr` are valid for the call; `A` is a sockaddr type.
    let r = unsafe {
        libc::sendto(
            s.0,
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
            (addr as *const A).cast(),
            size_of::<A>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

fn recv(s: &Sock, buf: &mut [u8]) -> Option<usize> {
    // SAFETY: `buf` is valid for writes of its length.
    let r = unsafe { libc::recv(s.0, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    (r >= 0).then_some(r as usize)
}

fn setsockopt<T>(s: &Sock, level: libc::c_int, name: libc::c_int, v: &T) -> Res<()> {
    // SAFETY: `v` is valid for the call.
    let r = unsafe {
        libc::setsockopt(
            s.0,
            level,
            name,
            (v as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return sys(format!("setsockopt {} {}", level, name));
    }
    Ok(())
}

// ------------------------------------------------------------------------------ counters

/// A tap: an AF_PACKET socket on every device whose filter keeps only the frames `dev`
/// transmits (pkttype OUTGOING, ifindex), 1 byte of each. The core hands it every frame just
/// before the driver's `ndo_start_xmit` (`xmit_one`); PACKET_STATISTICS counts them all,
/// queued or dropped for lack of room, and resets on read. Not bound to the device, so a
/// link-down does not unhook it.
struct Tap(Sock);

impl Tap {
    fn new(ifindex: i32) -> Res<Tap> {
        let s = socket(libc::AF_PACKET, libc::SOCK_RAW, ETH_P_ALL.to_be() as i32)?;
        let code = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
        let prog = [
            code(0x20, 0, 0, 0xffff_f000 + 4), // ld [pkttype]
            code(0x15, 0, 3, PACKET_OUTGOING), // jeq OUTGOING
            code(0x20, 0, 0, 0xffff_f000 + 8), // ld [ifindex]
            code(0x15, 0, 1, ifindex as u32),  // jeq ifindex
            code(0x06, 0, 0, 1),               // ret 1
            code(0x06, 0, 0, 0),               // ret 0
        ];
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr() as *mut libc::sock_filter,
        };
        setsockopt(&s, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)?;
        setsockopt(&s, libc::SOL_SOCKET, libc::SO_RCVBUF, &0i32)?;
        let tap = Tap(s);
        tap.take()?;
        Ok(tap)
    }

    /// Frames seen since the last call.
    fn take(&self) -> Res<u64> {
        let mut st = [0u32; 2];
        let mut len = size_of::<[u32; 2]>() as libc::socklen_t;
        // SAFETY: `st` has room for a `struct tpacket_stats`.
        let r = unsafe {
            libc::getsockopt(
                self.0 .0,
                SOL_PACKET,
                PACKET_STATISTICS,
                st.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if r < 0 {
            return sys("getsockopt PACKET_STATISTICS");
        }
        Ok(u64::from(st[0]))
    }
}

/// The counters of one device: sysfs statistics and snull's `ethtool -S`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Counters {
    tx_packets: u64,
    tx_dropped: u64,
    tx_errors: u64,
    rx_packets: u64,
    rx_dropped: u64,
    rx_errors: u64,
    rx_interrupts: u64,
    tx_interrupts: u64,
    tx_lockups: u64,
    tx_timeouts: u64,
    pool_exhausted: u64,
}

fn sysfs_u64(path: &str) -> Res<u64> {
    let s = std::fs::read_to_string(path).map_err(|e| Error::Sys {
        what: format!("read {}", path),
        errno: e.raw_os_error().unwrap_or(0),
    })?;
    s.trim()
        .parse()
        .map_err(|_| Error::Check(format!("{}: not a number: {:?}", path, s)))
}

/// `ethtool -S DEV` through SIOCETHTOOL: (name, value) pairs.
fn ethtool_stats(s: &Sock, dev: &str) -> Res<Vec<(String, u64)>> {
    let call = |buf: &mut [u8]| -> Res<()> {
        let mut r = IfReq::new(dev);
        r.data[..8].copy_from_slice(&(buf.as_mut_ptr() as usize).to_ne_bytes());
        ifioctl(s, SIOCETHTOOL, &mut r).map_err(|e| Error::Sys {
            what: format!("SIOCETHTOOL {}", dev),
            errno: e,
        })
    };
    // struct ethtool_drvinfo: cmd, 5 strings of 32, 12 reserved, n_priv_flags, n_stats, ...
    let mut info = vec![0u8; 196];
    info[..4].copy_from_slice(&ETHTOOL_GDRVINFO.to_ne_bytes());
    call(&mut info)?;
    let n = u32::from_ne_bytes(info[180..184].try_into().unwrap()) as usize;
    let mut strings = vec![0u8; 12 + n * ETH_GSTRING_LEN];
    strings[..4].copy_from_slice(&ETHTOOL_GSTRINGS.to_ne_bytes());
    strings[4..8].copy_from_slice(&ETH_SS_STATS.to_ne_bytes());
    strings[8..12].copy_from_slice(&(n as u32).to_ne_bytes());
    call(&mut strings)?;
    let mut stats = vec![0u8; 8 + n * 8];
    stats[..4].copy_from_slice(&ETHTOOL_GSTATS.to_ne_bytes());
    stats[4..8].copy_from_slice(&(n as u32).to_ne_bytes());
    call(&mut stats)?;
    Ok((0..n)
        .map(|i| {
            let name = &strings[12 + i * ETH_GSTRING_LEN..12 + (i + 1) * ETH_GSTRING_LEN];
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            let v = &stats[8 + i * 8..16 + i * 8];
            (
                String::from_utf8_lossy(&name[..end]).into_owned(),
                u64::from_ne_bytes(v.try_into().unwrap()),
            )
        })
        .collect())
}

fn read_counters(s: &Sock, dev: &str) -> Res<Counters> {
    let f = |name: &str| sysfs_u64(&format!("/sys/class/net/{}/statistics/{}", dev, name));
    let mut c = Counters {
        tx_packets: f("tx_packets")?,
        tx_dropped: f("tx_dropped")?,
        tx_errors: f("tx_errors")?,
        rx_packets: f("rx_packets")?,
        rx_dropped: f("rx_dropped")?,
        rx_errors: f("rx_errors")?,
        ..Counters::default()
    };
    for (name, v) in ethtool_stats(s, dev)? {
        match name.as_str() {
            "rx_interrupts" => c.rx_interrupts = v,
            "tx_interrupts" => c.tx_interrupts = v,
            "tx_lockups" => c.tx_lockups = v,
            "tx_timeouts" => c.tx_timeouts = v,
            "pool_exhausted" => c.pool_exhausted = v,
            _ => {}
        }
    }
    Ok(c)
}

/// Backlog drops of all CPUs (second column of /proc/net/softnet_stat).
fn softnet_dropped() -> Res<u64> {
    let s = std::fs::read_to_string("/proc/net/softnet_stat").map_err(|e| Error::Sys {
        what: "read /proc/net/softnet_stat".into(),
        errno: e.raw_os_error().unwrap_or(0),
    })?;
    Ok(s.lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter_map(|h| u64::from_str_radix(h, 16).ok())
        .sum())
}

/// A consistent snapshot: counters of both devices and the frames the taps saw since the
/// last snapshot. Retried until neither the counters nor the taps moved while it was taken, so
/// no frame is half counted.
struct Snapshot {
    c: [Counters; 2],
    handed: [u64; 2],
    softnet_dropped: u64,
}

fn snapshot(s: &Sock, taps: &[Tap; 2]) -> Res<Snapshot> {
    // What the taps saw, over every attempt (each read resets them).
    let mut handed = [0u64; 2];
    for _ in 0..100 {
        let c = [read_counters(s, DEVS[0])?, read_counters(s, DEVS[1])?];
        handed[0] += taps[0].take()?;
        handed[1] += taps[1].take()?;
        let softnet = softnet_dropped()?;
        let again = [read_counters(s, DEVS[0])?, read_counters(s, DEVS[1])?];
        let late = [taps[0].take()?, taps[1].take()?];
        handed[0] += late[0];
        handed[1] += late[1];
        if c == again && late == [0, 0] {
            return Ok(Snapshot {
                c,
                handed,
                softnet_dropped: softnet,
            });
        }
        // A frame went by while we read: its counters may be on one side only. Again.
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(Error::Check(
        "the counters never stood still for a snapshot (traffic that does not stop?)".into(),
    ))
}

// ------------------------------------------------------------------------------ frames

/// The Internet checksum (RFC 1071).
fn csum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The pattern of a checked UDP datagram of `len` bytes numbered `seq`.
fn udp_payload(seq: u32, len: usize) -> Vec<u8> {
    let mut p: Vec<u8> = (0..len)
        .map(|i| ((i as u64 + u64::from(seq) * 7) % 251) as u8)
        .collect();
    if len >= 12 {
        p[..4].copy_from_slice(&MAGIC);
        p[4..8].copy_from_slice(&seq.to_be_bytes());
        p[8..12].copy_from_slice(&(len as u32).to_be_bytes());
    }
    p
}

/// Whether a received datagram is an intact `udp_payload`.
fn udp_payload_ok(p: &[u8]) -> bool {
    if p.len() < 12 {
        // Headerless: seq 0.
        return p == udp_payload(0, p.len()).as_slice();
    }
    if p[..4] != MAGIC || u32::from_be_bytes(p[8..12].try_into().unwrap()) as usize != p.len() {
        return false;
    }
    let seq = u32::from_be_bytes(p[4..8].try_into().unwrap());
    p == udp_payload(seq, p.len()).as_slice()
}

/// A destination MAC for a raw frame from `dev`: mostly the peer's (the frame is taken as its
/// own), else broadcast, multicast, the sender's own, or random.
fn dest_mac(rng: &mut Rng, dev: usize) -> [u8; 6] {
    match rng.below(10) {
        0 => [0xff; 6],
        1 => [0x01, 0x00, 0x5e, 0x00, 0x00, rng.next() as u8],
        2 => [0x33, 0x33, 0, 0, 0, 1],
        3 => MACS[dev],
        4 => {
            let mut m = [0u8; 6];
            rng.fill(&mut m);
            m
        }
        _ => MACS[1 - dev],
    }
}

fn eth_header(rng: &mut Rng, dev: usize, ethertype: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(MAX_FRAME);
    f.extend_from_slice(&dest_mac(rng, dev));
    if rng.chance(90) {
        f.extend_from_slice(&MACS[dev]);
    } else {
        let mut m = [0u8; 6];
        rng.fill(&mut m);
        f.extend_from_slice(&m);
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// An IPv4 packet from `dev` (to its remote address, or a random one), possibly broken in the
/// way `kind` says. Returns the bytes after the Ethernet header.
fn ipv4_packet(rng: &mut Rng, dev: usize, kind: &str, room: usize) -> Vec<u8> {
    let opts = if kind == "ipv4-options" {
        4 * rng.range(1, 10)
    } else {
        0
    };
    let ihl = 20 + opts;
    let proto = rng.pick(&[
        libc::IPPROTO_UDP,
        libc::IPPROTO_ICMP,
        libc::IPPROTO_TCP,
        0,
        253,
    ]) as u8;
    let payload_len = rng.below(room.saturating_sub(ihl).max(1));
    let mut p = vec![0u8; ihl + payload_len];
    p[0] = 0x40 | (ihl / 4) as u8;
    p[1] = rng.next() as u8 & 0xfc;
    let total = p.len() as u16;
    p[2..4].copy_from_slice(&total.to_be_bytes());
    p[4..6].copy_from_slice(&(rng.next() as u16).to_be_bytes());
    p[8] = rng.range(1, 255) as u8;
    p[9] = proto;
    // UDP from another host on the link: a fake fragment must not share a reassembly queue
    // (source, destination, protocol, id) with the checked datagrams of our sockets.
    if proto == libc::IPPROTO_UDP as u8 {
        p[12..16].copy_from_slice(&[192, 168, dev as u8, 3]);
    } else {
        p[12..16].copy_from_slice(&LOCAL[dev]);
    }
    if rng.chance(90) {
        p[16..20].copy_from_slice(&REMOTE[dev]);
    } else {
        rng.fill(&mut p[16..20]);
    }
    if opts > 0 {
        // Random option bytes, sometimes well-formed NOPs and an end marker.
        rng.fill(&mut p[20..ihl]);
        if rng.chance(50) {
            p[20..ihl].fill(1);
            p[ihl - 1] = 0;
        }
    }
    // Transport header and payload.
    rng.fill(&mut p[ihl..]);
    let l4 = &mut p[ihl..];
    match proto as i32 {
        libc::IPPROTO_UDP if l4.len() >= 8 => {
            // Any port but the checked one.
            let port = (rng.below(40000) + 1) as u16;
            l4[2..4].copy_from_slice(&port.to_be_bytes());
            let ulen = l4.len() as u16;
            l4[4..6].copy_from_slice(&ulen.to_be_bytes());
            l4[6..8].fill(0); // no checksum
        }
        libc::IPPROTO_ICMP if l4.len() >= 8 => {
            let r = rng.next() as u8;
            l4[0] = rng.pick(&[8, 8, 8, 0, 3, 5, 11, 13, r]);
            l4[1] = 0;
            l4[2..4].fill(0);
            if rng.chance(80) {
                let c = csum(l4);
                l4[2..4].copy_from_slice(&c.to_be_bytes());
            }
        }
        _ => {}
    }
    match kind {
        "ipv4-bad-ihl" => {
            let r = rng.next() as u8 & 15;
            p[0] = 0x40 | rng.pick(&[0u8, 1, 4, 15, r])
        }
        "ipv4-bad-len" => {
            let bad = rng.pick(&[0u16, 1, 19, total + 1, total + 100, 0xffff]);
            p[2..4].copy_from_slice(&bad.to_be_bytes());
        }
        "ipv4-frag" => {
            // MF and/or an offset; sometimes overlapping or past 64 KiB.
            let r = rng.next() as u16 & 0x1fff;
            let off = rng.pick(&[0u16, 1, 2, 185, 8191, r]);
            let mf = if rng.chance(60) { 0x2000 } else { 0 };
            let df = if rng.chance(10) { 0x4000 } else { 0 };
            p[6..8].copy_from_slice(&(off | mf | df).to_be_bytes());
        }
        "ipv4-bad-version" => p[0] = (rng.pick(&[0u8, 5, 6, 15]) << 4) | (ihl / 4) as u8,
        _ => {}
    }
    let c = csum(&p[..ihl.min(p.len())]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    if kind == "ipv4-bad-csum" {
        p[10] ^= 0x5a;
    }
    p
}

/// An IPv6 packet from `dev` to its peer's link-local address (or all-nodes, or random),
/// with a random next header and a payload length that is sometimes wrong.
fn ipv6_packet(rng: &mut Rng, dev: usize, room: usize) -> Vec<u8> {
    let payload_len = rng.below(room.saturating_sub(40).max(1));
    let mut p = vec![0u8; 40 + payload_len];
    rng.fill(&mut p);
    p[0] = 0x60 | (p[0] & 0x0f);
    let plen = if rng.chance(80) {
        payload_len as u16
    } else {
        rng.next() as u16
    };
    p[4..6].copy_from_slice(&plen.to_be_bytes());
    let r = rng.next() as u8;
    p[6] = rng.pick(&[17u8, 58, 6, 0, 43, 44, 59, r]);
    p[7] = rng.pick(&[1u8, 64, 255]);
    p[8..24].copy_from_slice(&ll6(MACS[dev]));
    match rng.below(4) {
        0 => {
            p[24..40].fill(0);
            p[24] = 0xff;
            p[25] = 0x02;
            p[39] = 1;
        }
        1 => {}
        _ => p[24..40].copy_from_slice(&PEER_LL6[dev]),
    }
    p
}

/// The kinds of raw frames, with their weights.
const RAW_KINDS: &[(&str, usize)] = &[
    ("raw-sweep", 30),
    ("raw-short", 4),
    ("raw-random", 8),
    ("raw-oversize", 3),
    ("raw-vlan", 5),
    ("ipv4-ok", 8),
    ("ipv4-bad-ihl", 4),
    ("ipv4-bad-len", 4),
    ("ipv4-frag", 5),
    ("ipv4-options", 4),
    ("ipv4-bad-csum", 4),
    ("ipv4-bad-version", 2),
    ("ipv6", 6),
];

/// Builds a raw frame of `kind` for `dev`; `sweep` is the next length of the sweep.
fn raw_frame(rng: &mut Rng, dev: usize, kind: &str, sweep: usize) -> Vec<u8> {
    let ethertypes = [
        ETH_P_IP,
        ETH_P_IPV6,
        0x0806,
        ETH_P_8021Q,
        0x88a8,
        0x88cc,
        0x0000,
        0x0600,
        0x05dc,
        0xffff,
    ];
    let room = MAX_MTU;
    let mut f = match kind {
        "raw-sweep" | "raw-random" => {
            let len = if kind == "raw-sweep" {
                sweep
            } else {
                rng.range(ETH_HLEN, MAX_MTU + ETH_HLEN + VLAN_HLEN)
            };
            let et = if rng.chance(50) {
                rng.pick(&ethertypes)
            } else {
                rng.next() as u16
            };
            let mut f = eth_header(rng, dev, et);
            f.resize(len.max(ETH_HLEN), 0);
            rng.fill(&mut f[ETH_HLEN..]);
            f.truncate(len);
            f
        }
        "raw-short" => {
            let mut f = vec![0u8; rng.below(ETH_HLEN)];
            rng.fill(&mut f);
            f
        }
        "raw-oversize" => {
            let et = rng.pick(&[ETH_P_IP, ETH_P_8021Q, 0x1234]);
            let mut f = eth_header(rng, dev, et);
            let len = if f[12..14] == ETH_P_8021Q.to_be_bytes() {
                rng.range(MAX_MTU + ETH_HLEN + VLAN_HLEN + 1, 9000)
            } else {
                rng.range(MAX_MTU + ETH_HLEN + 1, 9000)
            };
            f.resize(len, 0);
            rng.fill(&mut f[ETH_HLEN..]);
            f
        }
        "raw-vlan" => {
            let mut f = eth_header(rng, dev, ETH_P_8021Q);
            f.extend_from_slice(&(rng.next() as u16 & 0x0fff).to_be_bytes());
            let r = rng.next() as u16;
            let inner = rng.pick(&[ETH_P_IP, ETH_P_IPV6, r]);
            f.extend_from_slice(&inner.to_be_bytes());
            let room = rng.range(0, MAX_MTU);
            if inner == ETH_P_IP {
                f.extend_from_slice(&ipv4_packet(rng, dev, "ipv4-ok", room.max(20)));
            } else {
                let mut b = vec![0u8; room];
                rng.fill(&mut b);
                f.extend_from_slice(&b);
            }
            f
        }
        "ipv6" => {
            let mut f = eth_header(rng, dev, ETH_P_IPV6);
            f.extend_from_slice(&ipv6_packet(rng, dev, room));
            f
        }
        _ => {
            let mut f = eth_header(rng, dev, ETH_P_IP);
            f.extend_from_slice(&ipv4_packet(rng, dev, kind, room));
            f
        }
    };
    // Now and then a frame cut short anywhere, or padded past its IP length.
    if kind.starts_with("ipv4") && rng.chance(5) {
        let cut = rng.range(ETH_HLEN, f.len());
        f.truncate(cut);
    }
    f
}

/// What a raw send of `len` bytes (`vlan`: 802.1Q ethertype) may return. The MTU churns
/// between MIN_MTU and MAX_MTU meanwhile, so only the bounds of that range are certain.
fn raw_allowed(len: usize, vlan: bool) -> Allowed<'static> {
    use libc::{EAGAIN, EINVAL, EMSGSIZE, ENETDOWN, ENOBUFS};
    let extra = if vlan { VLAN_HLEN } else { 0 };
    if len < ETH_HLEN {
        // dev_validate_header: shorter than the Ethernet header (min_header_len).
        Allowed {
            errnos: &[EINVAL, ENETDOWN, EAGAIN, ENOBUFS],
            must_fail: true,
        }
    } else if len > MAX_MTU + ETH_HLEN + VLAN_HLEN {
        // Past any MTU, before the buffer is allocated.
        Allowed {
            errnos: &[EMSGSIZE, ENETDOWN],
            must_fail: true,
        }
    } else if len > MAX_MTU + ETH_HLEN + extra {
        // Past any MTU for an untagged frame (checked after the allocation).
        Allowed {
            errnos: &[EMSGSIZE, ENETDOWN, EAGAIN, ENOBUFS],
            must_fail: true,
        }
    } else if len > MIN_MTU + ETH_HLEN + extra {
        Allowed {
            errnos: &[EMSGSIZE, ENETDOWN, EAGAIN, ENOBUFS],
            must_fail: false,
        }
    } else {
        Allowed {
            errnos: &[ENETDOWN, EAGAIN, ENOBUFS],
            must_fail: false,
        }
    }
}

/// Errnos a datagram through a normal socket may get while links and MTUs churn: no route
/// (the link is down), no source address (IPv6 addresses go with the link and come back
/// after DAD), queue full, socket buffer full.
const SOCKET_ERRNOS: &[i32] = &[
    libc::ENETUNREACH,
    libc::EHOSTUNREACH,
    libc::ENETDOWN,
    libc::EADDRNOTAVAIL,
    libc::ENOBUFS,
    libc::EAGAIN,
];

/// For IPv6 also EINVAL: the route was found, but the device's IPv6 state went away (link
/// down, or an MTU below 1280) before the neighbour was made (`ip6_finish_output2`, when
/// `ndisc_constructor` finds no inet6_dev).
const UDP6_ERRNOS: &[i32] = &[
    libc::ENETUNREACH,
    libc::EHOSTUNREACH,
    libc::ENETDOWN,
    libc::EADDRNOTAVAIL,
    libc::ENOBUFS,
    libc::EAGAIN,
    libc::EINVAL,
];

// ------------------------------------------------------------------------------ threads

struct TrafficSocks {
    raw: Sock,
    udp4: Sock,
    icmp: Sock,
    udp6: Option<Sock>,
    rx4: Sock,
    rx6: Option<Sock>,
}

fn traffic_socks() -> Res<TrafficSocks> {
    let raw = socket(libc::AF_PACKET, libc::SOCK_RAW, 0)?;
    let udp4 = socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
    let icmp = socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP)?;
    let rx4 = socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
    setsockopt(&rx4, libc::SOL_SOCKET, libc::SO_REUSEADDR, &1i32)?;
    let sa = sockaddr_in([0; 4], FUZZ_PORT);
    // SAFETY: `sa` is a valid sockaddr_in.
    if unsafe {
        libc::bind(
            rx4.0,
            (&sa as *const libc::sockaddr_in).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    } < 0
    {
        return sys(format!("bind UDP port {}", FUZZ_PORT));
    }
    // IPv6 only if the kernel has it.
    let (udp6, rx6) = match socket(libc::AF_INET6, libc::SOCK_DGRAM, 0) {
        Ok(udp6) => {
            let rx6 = socket(libc::AF_INET6, libc::SOCK_DGRAM, 0)?;
            setsockopt(&rx6, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, &1i32)?;
            // SAFETY: all-zero is a valid sockaddr_in6 (the any address).
            let mut sa6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa6.sin6_port = FUZZ_PORT.to_be();
            // SAFETY: `sa6` is a valid sockaddr_in6.
            if unsafe {
                libc::bind(
                    rx6.0,
                    (&sa6 as *const libc::sockaddr_in6).cast(),
                    size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            } < 0
            {
                return sys(format!("bind UDP6 port {}", FUZZ_PORT));
            }
            (Some(udp6), Some(rx6))
        }
        Err(_) => (None, None),
    };
    Ok(TrafficSocks {
        raw,
        udp4,
        icmp,
        udp6,
        rx4,
        rx6,
    })
}

/// Receives every checked datagram waiting; a corrupted one is a problem.
fn drain_udp(socks: &TrafficSocks, t: &mut Tally, buf: &mut [u8]) {
    for s in std::iter::once(&socks.rx4).chain(socks.rx6.iter()) {
        while let Some(n) = recv(s, buf) {
            t.udp_received += 1;
            if !udp_payload_ok(&buf[..n]) {
                t.udp_corrupt += 1;
                t.problem(format!(
                    "UDP datagram of {} bytes received corrupted: {:02x?}",
                    n,
                    &buf[..n.min(32)]
                ));
            }
        }
    }
}

fn udp_size(rng: &mut Rng) -> usize {
    match rng.below(20) {
        0 => rng.range(1473, 9000),
        1 if rng.chance(10) => 65507,
        2..=5 => rng.below(64),
        _ => rng.range(64, 1472),
    }
}

fn traffic(seed: u64, ifindex: [i32; 2], stop: Arc<AtomicBool>) -> Res<Tally> {
    let mut rng = Rng::new(seed, 1);
    let mut t = Tally::default();
    let socks = traffic_socks()?;
    let total: usize = RAW_KINDS.iter().map(|k| k.1).sum();
    let mut sweep = [0usize; 2];
    let mut seq = 0u32;
    let mut buf = vec![0u8; 70000];
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let dev = rng.below(2);
        let what = rng.below(100);
        if what < 75 {
            // A raw frame.
            let mut w = rng.below(total);
            let kind = RAW_KINDS
                .iter()
                .find(|k| {
                    if w < k.1 {
                        true
                    } else {
                        w -= k.1;
                        false
                    }
                })
                .map(|k| k.0)
                .unwrap_or("raw-sweep");
            let f = raw_frame(&mut rng, dev, kind, sweep[dev]);
            if kind == "raw-sweep" {
                sweep[dev] = (sweep[dev] + 1) % (MAX_FRAME + 1);
            }
            let vlan = f.len() >= ETH_HLEN && f[12..14] == ETH_P_8021Q.to_be_bytes();
            let et = if f.len() >= ETH_HLEN {
                u16::from_be_bytes([f[12], f[13]])
            } else {
                0
            };
            // SAFETY: all-zero is a valid sockaddr_ll.
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = et.to_be();
            sll.sll_ifindex = ifindex[dev];
            sll.sll_halen = 6;
            sll.sll_addr[..6].copy_from_slice(&MACS[1 - dev]);
            let r = sendto(&socks.raw, &f, &sll);
            if r.is_ok() {
                t.raw_ok[dev] += 1;
            }
            t.record(kind, "raw-send", r, raw_allowed(f.len(), vlan));
        } else if what < 88 {
            let size = udp_size(&mut rng);
            seq = seq.wrapping_add(1);
            let p = udp_payload(if size < 12 { 0 } else { seq }, size);
            let r = sendto(&socks.udp4, &p, &sockaddr_in(REMOTE[dev], FUZZ_PORT));
            t.udp_sent += r.is_ok() as u64;
            let a = Allowed {
                errnos: SOCKET_ERRNOS,
                must_fail: false,
            };
            t.record("udp4", "udp4-send", r, a);
        } else if what < 94 {
            // ICMP: mostly echo requests with a right checksum, of any size.
            let mut p = vec![0u8; rng.range(8, 2000)];
            rng.fill(&mut p);
            p[0] = if rng.chance(85) { 8 } else { rng.next() as u8 };
            p[1] = if rng.chance(90) { 0 } else { rng.next() as u8 };
            p[2..4].fill(0);
            if rng.chance(90) {
                let c = csum(&p);
                p[2..4].copy_from_slice(&c.to_be_bytes());
            }
            let r = sendto(&socks.icmp, &p, &sockaddr_in(REMOTE[dev], 0));
            let a = Allowed {
                errnos: SOCKET_ERRNOS,
                must_fail: false,
            };
            t.record("icmp4", "icmp4-send", r, a);
        } else if let Some(udp6) = &socks.udp6 {
            let size = udp_size(&mut rng).min(9000);
            seq = seq.wrapping_add(1);
            let p = udp_payload(if size < 12 { 0 } else { seq }, size);
            // SAFETY: all-zero is a valid sockaddr_in6.
            let mut sa6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa6.sin6_port = FUZZ_PORT.to_be();
            sa6.sin6_addr.s6_addr = PEER_LL6[dev];
            sa6.sin6_scope_id = ifindex[dev] as u32;
            let r = sendto(udp6, &p, &sa6);
            t.udp_sent += r.is_ok() as u64;
            let a = Allowed {
                errnos: UDP6_ERRNOS,
                must_fail: false,
            };
            t.record("udp6", "udp6-send", r, a);
        }
        if n.is_multiple_of(8) {
            drain_udp(&socks, &mut t, &mut buf);
        }
    }
    // What is still on its way back.
    std::thread::sleep(Duration::from_millis(300));
    drain_udp(&socks, &mut t, &mut buf);
    Ok(t)
}

/// The churn thread's view of a device (it is the only one changing them).
struct DevState {
    up: bool,
    mac: [u8; 6],
}

fn churn(seed: u64, stop: Arc<AtomicBool>) -> Res<Tally> {
    use libc::{EADDRNOTAVAIL, EBUSY, EINVAL};
    let mut rng = Rng::new(seed, 2);
    let mut t = Tally::default();
    let s = socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
    let mut st = [
        DevState {
            up: true,
            mac: MACS[0],
        },
        DevState {
            up: true,
            mac: MACS[1],
        },
    ];
    let must_ok = Allowed {
        errnos: &[],
        must_fail: false,
    };
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_micros(rng.range(500, 20_000) as u64));
        let d = rng.below(2);
        let dev = DEVS[d];
        match rng.below(100) {
            0..=29 => {
                let (r1, r2) = (rng.range(MIN_MTU, MAX_MTU), rng.range(MIN_MTU, MAX_MTU));
                let mtu = rng.pick(&[MIN_MTU, MAX_MTU, 1280, 576, r1, r2]);
                let r = set_mtu(&s, dev, mtu as i32);
                t.record("mtu-valid", "SIOCSIFMTU", r, must_ok);
            }
            30..=44 => {
                let mtu = rng.pick(&[
                    0,
                    1,
                    MIN_MTU as i32 - 1,
                    MAX_MTU as i32 + 1,
                    9000,
                    65535,
                    65536,
                    -1,
                    i32::MIN,
                    i32::MAX,
                ]);
                let r = set_mtu(&s, dev, mtu);
                let a = Allowed {
                    errnos: &[EINVAL],
                    must_fail: true,
                };
                t.record("mtu-invalid", "SIOCSIFMTU", r, a);
            }
            45..=69 => {
                // A MAC: valid, multicast, zero, or of the wrong family.
                let mut mac = [0u8; 6];
                rng.fill(&mut mac);
                let (kind, family, mac, want): (&str, u16, [u8; 6], &[i32]) = match rng.below(6) {
                    0 => (
                        "mac-multicast",
                        1,
                        [mac[0] | 1, mac[1], mac[2], mac[3], mac[4], mac[5]],
                        &[EADDRNOTAVAIL],
                    ),
                    1 => ("mac-zero", 1, [0; 6], &[EADDRNOTAVAIL]),
                    2 => ("mac-family", libc::AF_INET as u16, MACS[d], &[EINVAL]),
                    3 | 4 => ("mac-default", 1, MACS[d], &[]),
                    _ => (
                        "mac-valid",
                        1,
                        [mac[0] & 0xfe, mac[1], mac[2], mac[3], mac[4], mac[5] | 1],
                        &[],
                    ),
                };
                let r = set_mac(&s, dev, family, &mac);
                // The core checks the family first, and calls the driver only for a new
                // address; snull refuses any change while up (EBUSY), then a multicast or zero
                // address.
                let a = if family != 1 {
                    Allowed {
                        errnos: &[EINVAL],
                        must_fail: true,
                    }
                } else if mac == st[d].mac {
                    Allowed {
                        errnos: &[],
                        must_fail: false,
                    }
                } else if st[d].up {
                    Allowed {
                        errnos: &[EBUSY],
                        must_fail: true,
                    }
                } else {
                    Allowed {
                        errnos: want,
                        must_fail: !want.is_empty(),
                    }
                };
                let kind = if st[d].up && family == 1 && mac != st[d].mac {
                    "mac-while-up"
                } else {
                    kind
                };
                if r.is_ok() {
                    st[d].mac = mac;
                }
                t.record(kind, "SIOCSIFHWADDR", r, a);
            }
            _ => {
                // Down more rarely than up, so the links are mostly up.
                let up = !st[d].up || rng.chance(80);
                if up == st[d].up {
                    continue;
                }
                let r = set_up(&s, dev, up);
                if r.is_ok() {
                    st[d].up = up;
                    if !up {
                        t.downs[d] += 1;
                    }
                }
                let kind = if up { "link-up" } else { "link-down" };
                t.record(kind, "SIOCSIFFLAGS", r, must_ok);
            }
        }
    }
    // Back to the README's state: MTU 1500, default MACs, both up.
    for d in 0..2 {
        let dev = DEVS[d];
        let r = set_mtu(&s, dev, MAX_MTU as i32);
        t.record("mtu-valid", "SIOCSIFMTU", r, must_ok);
        if st[d].mac != MACS[d] {
            if st[d].up {
                let r = set_up(&s, dev, false);
                t.record("link-down", "SIOCSIFFLAGS", r, must_ok);
                t.downs[d] += 1;
                st[d].up = false;
            }
            let r = set_mac(&s, dev, 1, &MACS[d]);
            t.record("mac-default", "SIOCSIFHWADDR", r, must_ok);
        }
        if !st[d].up {
            let r = set_up(&s, dev, true);
            t.record("link-up", "SIOCSIFFLAGS", r, must_ok);
        }
    }
    Ok(t)
}

// ------------------------------------------------------------------------------ checks

/// The counters must add up, over the run (deltas between the snapshots, taken with both
/// links up and no traffic in flight), for each direction A -> B:
///
/// 1. tx_packets(A) = rx_interrupts(B): every frame the driver sent raised one receive
///    interrupt on the peer (one critical section in snull);
/// 2. tx_interrupts(A) + tx_lockups(A) = tx_packets(A);
/// 3. rx_packets(B) <= tx_packets(A) <= rx_packets(B) + rx_dropped(B): each frame sent was
///    handed to B's stack (counted once, in rx_packets) or dropped by B (allocation failure,
///    or queued for a NAPI poll when B went down). An inequality, because the sysfs
///    rx_dropped also counts the core's drops of frames already counted in rx_packets: the
///    ones no protocol takes (an 802.1Q frame with no VLAN device on top), the backlog's
///    (softnet_stat), and a frame given to netif_rx just after B went down;
/// 4. tx_packets(A) <= handed(A) <= tx_packets(A) + tx_dropped(A), where handed(A) is what
///    the tap saw the core hand to A's ndo_start_xmit: the driver sends or drops (peer down)
///    each of them; the sysfs tx_dropped also counts the core's own drops (frames queued
///    to a link being taken down);
/// 5. raw_ok(A) <= handed(A) + core_tx_dropped(A) + downs(A) * tx_queue_len(A), where
///    raw_ok(A) counts the raw sends on A that succeeded and core_tx_dropped(A) =
///    tx_dropped(A) - (handed(A) - tx_packets(A)): an accepted frame reaches the driver,
///    unless the core drops it, or it waits in A's queue when A goes down;
/// 6. rx_errors(A) = 0 and tx_errors(A) = tx_timeouts(A) (snull's only error is the watchdog).
fn check_counters(
    before: &Snapshot,
    after: &Snapshot,
    t: &Tally,
    qlen: [u64; 2],
    problems: &mut Vec<String>,
) {
    let d = |i: usize, f: fn(&Counters) -> u64| f(&after.c[i]).wrapping_sub(f(&before.c[i]));
    for a in 0..2 {
        let b = 1 - a;
        let (na, nb) = (DEVS[a], DEVS[b]);
        let tx = d(a, |c| c.tx_packets);
        let handed = after.handed[a];
        let mut check = |ok: bool, what: String| {
            if !ok {
                problems.push(what);
            }
        };
        check(
            tx == d(b, |c| c.rx_interrupts),
            format!(
                "{} tx_packets {} != {} rx_interrupts {}",
                na,
                tx,
                nb,
                d(b, |c| c.rx_interrupts)
            ),
        );
        check(
            d(a, |c| c.tx_interrupts) + d(a, |c| c.tx_lockups) == tx,
            format!(
                "{} tx_interrupts {} + tx_lockups {} != tx_packets {}",
                na,
                d(a, |c| c.tx_interrupts),
                d(a, |c| c.tx_lockups),
                tx
            ),
        );
        let (rx, rx_dropped) = (d(b, |c| c.rx_packets), d(b, |c| c.rx_dropped));
        check(
            rx <= tx && tx <= rx + rx_dropped,
            format!(
                "{} tx_packets {} not in {} rx_packets {} ..= rx_packets + rx_dropped {}",
                na,
                tx,
                nb,
                rx,
                rx + rx_dropped
            ),
        );
        let tx_dropped = d(a, |c| c.tx_dropped);
        check(
            tx <= handed && handed <= tx + tx_dropped,
            format!(
                "{} handed to the driver {} not in tx_packets {} ..= tx_packets + tx_dropped {}",
                na,
                handed,
                tx,
                tx + tx_dropped
            ),
        );
        let core_dropped = (tx + tx_dropped).saturating_sub(handed);
        check(
            t.raw_ok[a] <= handed + core_dropped + t.downs[a] * qlen[a],
            format!(
                "{} raw frames accepted {} > handed {} + core drops {} + downs {} x queue {}",
                na, t.raw_ok[a], handed, core_dropped, t.downs[a], qlen[a]
            ),
        );
        check(
            d(a, |c| c.rx_errors) == 0,
            format!("{} rx_errors {}", na, d(a, |c| c.rx_errors)),
        );
        check(
            d(a, |c| c.tx_errors) == d(a, |c| c.tx_timeouts),
            format!(
                "{} tx_errors {} != tx_timeouts {}",
                na,
                d(a, |c| c.tx_errors),
                d(a, |c| c.tx_timeouts)
            ),
        );
    }
}

/// The README's ping: `count` ICMP echoes to 192.168.0.2 (out of sn0, answered through sn1),
/// each answered within 5 s. Returns how many were.
fn ping(count: u16) -> Res<u16> {
    let s = socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP)?;
    let id = (std::process::id() as u16) ^ 0x5a5a;
    let mut answered = 0;
    let mut buf = [0u8; 2048];
    for seq in 1..=count {
        let mut p = vec![0u8; 64];
        p[0] = 8;
        p[4..6].copy_from_slice(&id.to_be_bytes());
        p[6..8].copy_from_slice(&seq.to_be_bytes());
        for (i, b) in p[8..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let c = csum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
        if sendto(&s, &p, &sockaddr_in(REMOTE[0], 0)).is_err() {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        let end = Instant::now() + Duration::from_secs(5);
        'wait: while Instant::now() < end {
            match recv(&s, &mut buf) {
                Some(n) if n >= 28 => {
                    let ihl = usize::from(buf[0] & 15) * 4;
                    let icmp = &buf[ihl.min(n)..n];
                    if buf[12..16] == REMOTE[0]
                        && icmp.len() >= 8
                        && icmp[0] == 0
                        && icmp[4..6] == id.to_be_bytes()
                        && icmp[6..8] == seq.to_be_bytes()
                        && icmp[8..] == p[8..]
                    {
                        answered += 1;
                        break 'wait;
                    }
                }
                _ => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    }
    Ok(answered)
}

// ------------------------------------------------------------------------------ the command

fn parse_args(args: &[String]) -> Res<(u64, u64)> {
    let usage = || Error::Usage(format!("usage: ldd3test {}", USAGE.lines().next().unwrap()));
    let mut seed = None;
    let mut secs = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().ok_or_else(usage)?;
        let n = crate::int(v)?;
        match a.as_str() {
            "--seed" if n >= 0 => seed = Some(n as u64),
            "--seconds" if (0..=86400).contains(&n) => secs = Some(n as u64),
            _ => return Err(usage()),
        }
    }
    match (seed, secs) {
        (Some(s), Some(t)) => Ok((s, t)),
        _ => Err(usage()),
    }
}

pub fn cmd_fuzz_net(args: &[String]) -> Res<i32> {
    let (seed, secs) = parse_args(args)?;
    crate::out(format!("seed={}", seed));
    if secs == 0 {
        crate::out("fuzz-net: arguments ok; 0 seconds, nothing sent");
        return Ok(0);
    }
    let ctl = socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
    let ifindex = [ifindex(&ctl, DEVS[0])?, ifindex(&ctl, DEVS[1])?];
    for d in 0..2 {
        if ensure_addr(&ctl, d)? {
            crate::out(format!(
                "fuzz-net: gave {} {}.{}.{}.{}/24",
                DEVS[d], LOCAL[d][0], LOCAL[d][1], LOCAL[d][2], LOCAL[d][3]
            ));
        }
        set_up(&ctl, DEVS[d], true).map_err(|e| Error::Sys {
            what: format!("bring {} up", DEVS[d]),
            errno: e,
        })?;
        set_mtu(&ctl, DEVS[d], MAX_MTU as i32).map_err(|e| Error::Sys {
            what: format!("MTU of {}", DEVS[d]),
            errno: e,
        })?;
    }
    let qlen = [
        sysfs_u64("/sys/class/net/sn0/tx_queue_len")?,
        sysfs_u64("/sys/class/net/sn1/tx_queue_len")?,
    ];
    let taps = [Tap::new(ifindex[0])?, Tap::new(ifindex[1])?];
    let before = snapshot(&ctl, &taps)?;

    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let tr = {
        let stop = stop.clone();
        std::thread::spawn(move || traffic(seed, ifindex, stop))
    };
    let ch = {
        let stop = stop.clone();
        std::thread::spawn(move || churn(seed, stop))
    };
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let joined = |h: std::thread::JoinHandle<Res<Tally>>| {
        h.join()
            .unwrap_or_else(|_| Err(Error::Check("a fuzz thread panicked".into())))
    };
    let mut t = joined(tr)?;
    let elapsed = start.elapsed().as_secs_f64();
    t.merge(joined(ch)?);

    // Let the queues drain (NAPI polls, the qdisc, the watchdog of a lost interrupt).
    std::thread::sleep(Duration::from_millis(500));
    let after = snapshot(&ctl, &taps)?;

    let frames: u64 = t
        .kinds
        .iter()
        .filter(|(k, _)| !k.starts_with("mtu") && !k.starts_with("mac") && !k.starts_with("link"))
        .map(|(_, v)| v.0)
        .sum();
    crate::out(format!(
        "fuzz-net: {} frames in {:.1} s ({:.0} frames/s); {} UDP datagrams sent, {} came back intact",
        frames,
        elapsed,
        frames as f64 / elapsed,
        t.udp_sent,
        t.udp_received - t.udp_corrupt
    ));
    for (k, (n, ok)) in &t.kinds {
        crate::out(format!("kind {} sent={} ok={}", k, n, ok));
    }
    let mut by_call: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for ((call, e), n) in &t.errnos {
        by_call
            .entry(call)
            .or_default()
            .push(format!("{}={}", errno::name(*e), n));
    }
    for (call, list) in &by_call {
        crate::out(format!("errnos {}: {}", call, list.join(" ")));
    }
    for (d, dev) in DEVS.iter().enumerate() {
        let (b, a) = (&before.c[d], &after.c[d]);
        crate::out(format!(
            "counters {}: tx_packets={} tx_dropped={} tx_errors={} rx_packets={} rx_dropped={} \
             rx_errors={} handed={} rx_interrupts={} tx_interrupts={} tx_lockups={} \
             tx_timeouts={} pool_exhausted={} raw_ok={} downs={}",
            dev,
            a.tx_packets - b.tx_packets,
            a.tx_dropped - b.tx_dropped,
            a.tx_errors - b.tx_errors,
            a.rx_packets - b.rx_packets,
            a.rx_dropped - b.rx_dropped,
            a.rx_errors - b.rx_errors,
            after.handed[d],
            a.rx_interrupts - b.rx_interrupts,
            a.tx_interrupts - b.tx_interrupts,
            a.tx_lockups - b.tx_lockups,
            a.tx_timeouts - b.tx_timeouts,
            a.pool_exhausted - b.pool_exhausted,
            t.raw_ok[d],
            t.downs[d]
        ));
    }
    crate::out(format!(
        "softnet_dropped={}",
        after.softnet_dropped - before.softnet_dropped
    ));

    let mut problems: Vec<String> = Vec::new();
    check_counters(&before, &after, &t, qlen, &mut problems);
    let answered = ping(3)?;
    crate::out(format!("ping 192.168.0.2: {}/3 answered", answered));
    if answered != 3 {
        problems.push(format!("final ping: {}/3 answered", answered));
    }
    for m in &t.bad {
        crate::out(format!("FAIL {}", m));
    }
    if t.bad_count > t.bad.len() as u64 {
        crate::out(format!(
            "FAIL ... and {} more calls",
            t.bad_count - t.bad.len() as u64
        ));
    }
    for m in &problems {
        crate::out(format!("FAIL {}", m));
    }
    if t.bad_count == 0 && problems.is_empty() {
        crate::out(format!("fuzz-net: ok (seed={})", seed));
        Ok(0)
    } else {
        crate::out(format!(
            "fuzz-net: FAILED, {} problems (seed={})",
            t.bad_count + problems.len() as u64,
            seed
        ));
        Ok(1)
    }
}
