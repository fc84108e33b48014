//! Data specs for writes and checks, and printable escaping for reads.
//!
//! A DATA argument is one of:
//!   `pattern:N`   N bytes where the byte at absolute file offset o is `o % 251`
//!                 (251 is prime, so a block placed at a wrong quantum shows up)
//!   `zero:N`      N zero bytes
//!   `fill:B:N`    N bytes of value B (decimal or 0x..)
//!   `hex:HEX`     the bytes given in hex, e.g. `hex:00ff10`
//!   `text:TEXT`   TEXT literally
//!   anything else is taken literally as text.

use crate::sys::{Error, Res};

pub fn pattern_byte(off: u64) -> u8 {
    (off % 251) as u8
}

pub enum Spec {
    Pattern(usize),
    Bytes(Vec<u8>),
}

fn num(s: &str) -> Res<u64> {
    let r = if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16)
    } else {
        s.parse()
    };
    r.map_err(|_| Error::Usage(format!("bad number {:?}", s)))
}

pub fn parse(s: &str) -> Res<Spec> {
    if let Some(n) = s.strip_prefix("pattern:") {
        return Ok(Spec::Pattern(num(n)? as usize));
    }
    if let Some(n) = s.strip_prefix("zero:") {
        return Ok(Spec::Bytes(vec![0; num(n)? as usize]));
    }
    if let Some(rest) = s.strip_prefix("fill:") {
        let (b, n) = rest
            .split_once(':')
            .ok_or_else(|| Error::Usage(format!("fill:BYTE:COUNT expected, got {:?}", s)))?;
        let b = num(b)?;
        if b > 255 {
            return Err(Error::Usage(format!("fill byte {} > 255", b)));
        }
        return Ok(Spec::Bytes(vec![b as u8; num(n)? as usize]));
    }
    if let Some(h) = s.strip_prefix("hex:") {
        if h.len() % 2 != 0 {
            return Err(Error::Usage(format!("odd number of hex digits in {:?}", s)));
        }
        let mut v = Vec::new();
        for i in (0..h.len()).step_by(2) {
            v.push(
                u8::from_str_radix(&h[i..i + 2], 16)
                    .map_err(|_| Error::Usage(format!("bad hex in {:?}", s)))?,
            );
        }
        return Ok(Spec::Bytes(v));
    }
    if let Some(t) = s.strip_prefix("text:") {
        return Ok(Spec::Bytes(t.as_bytes().to_vec()));
    }
    Ok(Spec::Bytes(s.as_bytes().to_vec()))
}

impl Spec {
    pub fn len(&self) -> usize {
        match self {
            Spec::Pattern(n) => *n,
            Spec::Bytes(b) => b.len(),
        }
    }
    /// The bytes, for data that starts at absolute offset `off`.
    pub fn bytes_at(&self, off: u64) -> Vec<u8> {
        match self {
            Spec::Pattern(n) => (0..*n as u64).map(|i| pattern_byte(off + i)).collect(),
            Spec::Bytes(b) => b.clone(),
        }
    }
}

/// Compare `got` (read from absolute offset `off`) with `spec`.
pub fn compare(spec: &Spec, off: u64, got: &[u8]) -> Res<()> {
    let want = spec.bytes_at(off);
    if let Some(i) = want.iter().zip(got).position(|(a, b)| a != b) {
        return Err(Error::Check(format!(
            "mismatch at offset {}: expected {:#04x}, got {:#04x}",
            off + i as u64,
            want[i],
            got[i]
        )));
    }
    if got.len() != want.len() {
        return Err(Error::Check(format!(
            "short read at offset {}: got {} of {} bytes",
            off + got.len() as u64,
            got.len(),
            want.len()
        )));
    }
    Ok(())
}

/// Printable ASCII as is, `\` as `\\`, everything else as `\xNN`.
pub fn escape(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{:02x}", c)),
        }
    }
    s
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|c| format!("{:02x}", c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn specs() {
        assert_eq!(parse("pattern:3").unwrap().bytes_at(250), vec![250, 0, 1]);
        assert_eq!(parse("fill:0x41:2").unwrap().bytes_at(0), b"AA".to_vec());
        assert_eq!(parse("hex:00ff").unwrap().bytes_at(0), vec![0, 255]);
        assert_eq!(parse("hello").unwrap().bytes_at(7), b"hello".to_vec());
        assert_eq!(parse("zero:2").unwrap().len(), 2);
        assert!(compare(&parse("abc").unwrap(), 0, b"abc").is_ok());
        assert!(compare(&parse("abc").unwrap(), 0, b"ab").is_err());
        assert!(compare(&parse("pattern:2").unwrap(), 5, &[5, 7]).is_err());
        assert_eq!(escape(b"a\\\n\0"), "a\\\\\\x0a\\x00");
    }
}
