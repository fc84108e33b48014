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
