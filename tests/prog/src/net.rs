//! Network helpers for the snull tests: a UDP flood.

use crate::sys::{Error, Res};
use crate::{int, out, want_args};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

pub const UDP_FLOOD_USAGE: &str = "udp-flood ADDR PORT SIZE SECONDS [COUNT]\n\
     \tsend UDP datagrams of SIZE payload bytes (0..=65507) to ADDR:PORT (IPv4) as fast\n\
     \tas possible for SECONDS, or until COUNT were sent; a failed send (ENOBUFS,\n\
     \tENETUNREACH, ...) is counted and the flood goes on. Prints `sent=N errors=M`";

pub fn cmd_udp_flood(args: &[String]) -> Res<i32> {
    want_args(args, 4, 5, UDP_FLOOD_USAGE)?;
    let addr: Ipv4Addr = args[0]
        .parse()
        .map_err(|_| Error::Usage(format!("not an IPv4 address: {:?}", args[0])))?;
    let port = int(&args[1])?;
    let size = int(&args[2])?;
    let secs = int(&args[3])?;
    let count = match args.get(4) {
        Some(c) => int(c)?,
        None => i64::MAX,
    };
    if !(1..=65535).contains(&port) || !(0..=65507).contains(&size) || secs < 0 || count < 0 {
        return Err(Error::Usage(format!(
            "usage: ldd3test {}",
            UDP_FLOOD_USAGE.lines().next().unwrap_or("")
        )));
    }
    let to = SocketAddrV4::new(addr, port as u16);
    let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| Error::Sys {
        what: "bind".into(),
        errno: e.raw_os_error().unwrap_or(0),
    })?;
    let buf = vec![0x5au8; size as usize];
    let end = Instant::now() + Duration::from_secs(secs as u64);
    let (mut sent, mut errors) = (0i64, 0i64);
    while sent < count {
        // Checking the clock every 64 sends keeps it off the fast path.
        if (sent + errors) % 64 == 0 && Instant::now() >= end {
            break;
        }
        match sock.send_to(&buf, to) {
            Ok(_) => sent += 1,
            Err(_) => errors += 1,
        }
    }
    out(format!("sent={} errors={}", sent, errors));
    Ok(0)
}

pub const CSUM_CHECK_USAGE: &str = "csum-check udp|udp-corked|tcp ADDR PORT BYTES DEV [--gro]\n\
     \tcapture (AF_PACKET) the IPv4 frames that DEV receives while BYTES bytes go to\n\
     \tADDR:PORT, to a receiver of this program on 0.0.0.0:PORT: udp: one datagram (1..=1472\n\
     \tbytes), udp-corked: one datagram written 100 bytes at a time with MSG_MORE, tcp: a\n\
     \tconnection, in writes of 64 KiB. Recomputes the TCP or UDP checksum (pseudo-header\n\
     \tincluded) of every received frame of that protocol to or from PORT (unfragmented).\n\
     \t--gro: DEV merges TCP segments (GRO), whose merged packets (IPv4 total length over\n\
     \t1500) carry only the pseudo-header sum: they are counted as merged, not checked.\n\
     \tPrints `frames=N bad=M merged=G payload=P received=R` (P: payload bytes to PORT in\n\
     \tthe frames, R: bytes the receiver got) and exits 1 if a checksum is wrong, no frame\n\
     \twas seen, or the receiver got other than BYTES bytes";

/// The Internet checksum (RFC 1071) of the pieces, as if concatenated (each of even length
/// but the last).
fn inet_sum(pieces: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    for p in pieces {
        for w in p.chunks(2) {
            sum += u64::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// What one captured frame is.
enum Captured {
    /// A frame of the flow: whether its checksum is right, its payload bytes to the port.
    Checked(bool, usize),
    /// A GRO-merged packet of the flow (IPv4 total length over 1500), its payload bytes.
    Merged(usize),
}

/// What one captured frame says, if it is an unfragmented IPv4 TCP or UDP (per `proto`) frame
/// to or from `port`; a packet longer than a 1500-byte MTU allows counts as merged if `gro`.
fn check_frame(frame: &[u8], proto: u8, port: u16, gro: bool) -> Option<Captured> {
    if frame.len() < 34 || frame[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let tot_len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let frag = u16::from_be_bytes([ip[6], ip[7]]);
    if ip[0] >> 4 != 4 || ihl < 20 || tot_len > ip.len() || tot_len < ihl + 8 {
        return None;
    }
    if ip[9] != proto || frag & 0x3fff != 0 {
        return None;
    }
    let l4 = &ip[ihl..tot_len];
    let (sport, dport) = (
        u16::from_be_bytes([l4[0], l4[1]]),
        u16::from_be_bytes([l4[2], l4[3]]),
    );
    if sport != port && dport != port {
        return None;
    }
    let l4_len = (l4.len() as u16).to_be_bytes();
    let pseudo = [0, proto, l4_len[0], l4_len[1]];
    let right = inet_sum(&[&ip[12..20], &pseudo, l4]) == 0xffff;
    let header = if proto == libc::IPPROTO_TCP as u8 {
        if l4.len() < 20 {
            return Some(Captured::Checked(false, 0));
        }
        usize::from(l4[12] >> 4) * 4
    } else {
        // A UDP checksum of 0 is "none": not what Linux sends.
        if l4[6..8] == [0, 0] {
            return Some(Captured::Checked(false, 0));
        }
        8
    };
    let payload = if dport == port {
        l4.len().saturating_sub(header)
    } else {
        0
    };
    if gro && tot_len > 1500 {
        return Some(Captured::Merged(payload));
    }
    Some(Captured::Checked(right, payload))
}

fn sys_error(what: &str) -> Error {
    Error::Sys {
        what: what.into(),
        errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
    }
}

fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::Sys {
        what: what.into(),
        errno: e.raw_os_error().unwrap_or(0),
    }
}

/// A packet socket receiving every frame of interface `dev`.
fn capture_socket(dev: &str) -> Res<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let all = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain system call.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            all.into(),
        )
    };
    if fd < 0 {
        return Err(sys_error("socket(AF_PACKET)"));
    }
    // SAFETY: `fd` is a new descriptor of ours.
    let sock = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let name = std::ffi::CString::new(dev).map_err(|_| Error::Usage("bad DEV".into()))?;
    // SAFETY: `name` is a NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(sys_error(&format!("if_nametoindex {}", dev)));
    }
    // SAFETY: all-zero is a valid sockaddr_ll.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = all;
    sll.sll_ifindex = index as i32;
    // SAFETY: `sll` is a valid sockaddr_ll of the size given.
    if unsafe {
        libc::bind(
            fd,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    } < 0
    {
        return Err(sys_error("bind(AF_PACKET)"));
    }
    let size: libc::c_int = 16 << 20;
    // SAFETY: `size` is an int, as the option takes. (FORCE: root may pass rmem_max.)
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&size as *const libc::c_int).cast(),
            4,
        )
    };
    Ok(sock)
}

/// Sends `bytes` bytes to `to` as `mode` says, to a receiver on `to`'s port that this
/// function runs; returns the bytes the receiver got.
fn csum_send(mode: &str, to: SocketAddrV4, bytes: usize) -> Res<usize> {
    use std::io::{Read, Write};
    let data: Vec<u8> = (0..bytes).map(|i| (i * 7 + 3) as u8).collect();
    let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, to.port());
    if mode == "tcp" {
        let listener = std::net::TcpListener::bind(any).map_err(|e| io_error("bind tcp", e))?;
        let server = std::thread::spawn(move || -> std::io::Result<usize> {
            let (mut conn, _) = listener.accept()?;
            conn.set_read_timeout(Some(Duration::from_secs(30)))?;
            let mut got = Vec::new();
            conn.read_to_end(&mut got)?;
            Ok(got.len())
        });
        let mut c = std::net::TcpStream::connect_timeout(&to.into(), Duration::from_secs(10))
            .map_err(|e| io_error("connect", e))?;
        for chunk in data.chunks(65536) {
            c.write_all(chunk).map_err(|e| io_error("write", e))?;
        }
        drop(c);
        return server
            .join()
            .map_err(|_| Error::Usage("server thread panicked".into()))?
            .map_err(|e| io_error("server", e));
    }
    let rx = UdpSocket::bind(any).map_err(|e| io_error("bind udp", e))?;
    rx.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| io_error("SO_RCVTIMEO", e))?;
    let tx = UdpSocket::bind("0.0.0.0:0").map_err(|e| io_error("bind", e))?;
    tx.connect(to).map_err(|e| io_error("connect", e))?;
    if mode == "udp" {
        tx.send(&data).map_err(|e| io_error("send", e))?;
    } else {
        use std::os::fd::AsRawFd;
        let pieces: Vec<&[u8]> = data.chunks(100).collect();
        for (i, p) in pieces.iter().enumerate() {
            let flags = if i + 1 < pieces.len() {
                libc::MSG_MORE
            } else {
                0
            };
            // SAFETY: `p` is valid for its length.
            if unsafe { libc::send(tx.as_raw_fd(), p.as_ptr().cast(), p.len(), flags) } < 0 {
                return Err(sys_error("send MSG_MORE"));
            }
        }
    }
    let mut buf = vec![0u8; 65536];
    let n = rx.recv(&mut buf).map_err(|e| io_error("recv", e))?;
    if buf[..n] != data[..] {
        return Err(Error::Usage("the datagram arrived changed".into()));
    }
    Ok(n)
}

pub fn cmd_csum_check(args: &[String]) -> Res<i32> {
    use std::os::fd::AsRawFd;
    want_args(args, 5, 6, CSUM_CHECK_USAGE)?;
    let usage = || {
        Error::Usage(format!(
            "usage: ldd3test {}",
            CSUM_CHECK_USAGE.lines().next().unwrap_or("")
        ))
    };
    let mode = args[0].as_str();
    let proto = match mode {
        "tcp" => libc::IPPROTO_TCP as u8,
        "udp" | "udp-corked" => libc::IPPROTO_UDP as u8,
        _ => return Err(usage()),
    };
    let addr: Ipv4Addr = args[1].parse().map_err(|_| usage())?;
    let port = int(&args[2])?;
    let bytes = int(&args[3])?;
    let max = if proto == libc::IPPROTO_TCP as u8 {
        1 << 30
    } else {
        1472
    };
    if !(1..=65535).contains(&port) || !(1..=max).contains(&bytes) {
        return Err(usage());
    }
    let gro = match args.get(5).map(|s| s.as_str()) {
        None => false,
        Some("--gro") => true,
        Some(_) => return Err(usage()),
    };
    let port = port as u16;
    let sock = capture_socket(&args[4])?;
    let to = SocketAddrV4::new(addr, port);
    let mode_owned = mode.to_string();
    let sender = std::thread::spawn(move || csum_send(&mode_owned, to, bytes as usize));
    let (mut frames, mut bad, mut merged, mut payload) = (0u64, 0u64, 0u64, 0usize);
    // A GRO-merged packet is up to 64 KiB plus headers.
    let mut buf = vec![0u8; 1 << 17];
    let mut quiet_since = None;
    loop {
        let mut pfd = libc::pollfd {
            fd: sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, 100) };
        if r < 0 {
            return Err(sys_error("poll"));
        }
        if r == 0 {
            // Done once the sender finished and the capture was quiet for half a second.
            if sender.is_finished() {
                let since = *quiet_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_millis(500) {
                    break;
                }
            }
            continue;
        }
        quiet_since = None;
        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut from_len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        // SAFETY: `buf` and `from` are valid for the sizes given.
        let n = unsafe {
            libc::recvfrom(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
                (&mut from as *mut libc::sockaddr_ll).cast(),
                &mut from_len,
            )
        };
        if n < 0 {
            continue;
        }
        // Frames DEV sends are seen before the device fills their checksums in.
        if from.sll_pkttype == libc::PACKET_OUTGOING as u8 {
            continue;
        }
        match check_frame(&buf[..n as usize], proto, port, gro) {
            None => {}
            Some(Captured::Merged(p)) => {
                merged += 1;
                payload += p;
            }
            Some(Captured::Checked(right, p)) => {
                frames += 1;
                payload += p;
                if !right {
                    bad += 1;
                    if bad <= 3 {
                        out(format!(
                            "bad checksum: {}",
                            crate::data::hex(&buf[..(n as usize).min(64)])
                        ));
                    }
                }
            }
        }
    }
    let received = sender
        .join()
        .map_err(|_| Error::Usage("sender thread panicked".into()))??;
    out(format!(
        "frames={} bad={} merged={} payload={} received={}",
        frames, bad, merged, payload, received
    ));
    Ok(if frames == 0 || bad != 0 || received != bytes as usize {
        1
    } else {
        0
    })
}
