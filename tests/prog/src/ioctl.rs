//! ioctl numbers: the drivers' symbolic commands, and the `_IOC` encoding (x86_64).
//!
//! To add a driver's commands, add a table and list it in `TABLES`.

pub const IOC_NONE: u32 = 0;
pub const IOC_WRITE: u32 = 1;
pub const IOC_READ: u32 = 2;

pub const fn ioc(dir: u32, ty: u8, nr: u8, size: u32) -> u32 {
    (dir << 30) | (size << 16) | ((ty as u32) << 8) | nr as u32
}
const INT: u32 = core::mem::size_of::<libc::c_int>() as u32;
const fn io(ty: u8, nr: u8) -> u32 {
    ioc(IOC_NONE, ty, nr, 0)
}
const fn iow(ty: u8, nr: u8) -> u32 {
    ioc(IOC_WRITE, ty, nr, INT)
}
const fn ior(ty: u8, nr: u8) -> u32 {
    ioc(IOC_READ, ty, nr, INT)
}
const fn iowr(ty: u8, nr: u8) -> u32 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, INT)
}

pub fn dir(cmd: u32) -> u32 {
    cmd >> 30
}

/// scull, magic 'k' (scull.h of the reference).
const SCULL_MAGIC: u8 = b'k';
pub const SCULL: &[(&str, u32)] = &[
    ("SCULL_IOCRESET", io(SCULL_MAGIC, 0)),
    ("SCULL_IOCSQUANTUM", iow(SCULL_MAGIC, 1)),
    ("SCULL_IOCSQSET", iow(SCULL_MAGIC, 2)),
    ("SCULL_IOCTQUANTUM", io(SCULL_MAGIC, 3)),
    ("SCULL_IOCTQSET", io(SCULL_MAGIC, 4)),
    ("SCULL_IOCGQUANTUM", ior(SCULL_MAGIC, 5)),
    ("SCULL_IOCGQSET", ior(SCULL_MAGIC, 6)),
    ("SCULL_IOCQQUANTUM", io(SCULL_MAGIC, 7)),
    ("SCULL_IOCQQSET", io(SCULL_MAGIC, 8)),
    ("SCULL_IOCXQUANTUM", iowr(SCULL_MAGIC, 9)),
    ("SCULL_IOCXQSET", iowr(SCULL_MAGIC, 10)),
    ("SCULL_IOCHQUANTUM", io(SCULL_MAGIC, 11)),
    ("SCULL_IOCHQSET", io(SCULL_MAGIC, 12)),
    ("SCULL_P_IOCTSIZE", io(SCULL_MAGIC, 13)),
    ("SCULL_P_IOCQSIZE", io(SCULL_MAGIC, 14)),
];

/// scullp, magic 'K' (scullp.h of the reference): order 1-6, qset 7-12.
const SCULLP_MAGIC: u8 = b'K';
pub const SCULLP: &[(&str, u32)] = &[
    ("SCULLP_IOCRESET", io(SCULLP_MAGIC, 0)),
    ("SCULLP_IOCSORDER", iow(SCULLP_MAGIC, 1)),
    ("SCULLP_IOCTORDER", io(SCULLP_MAGIC, 2)),
    ("SCULLP_IOCGORDER", ior(SCULLP_MAGIC, 3)),
    ("SCULLP_IOCQORDER", io(SCULLP_MAGIC, 4)),
    ("SCULLP_IOCXORDER", iowr(SCULLP_MAGIC, 5)),
    ("SCULLP_IOCHORDER", io(SCULLP_MAGIC, 6)),
    ("SCULLP_IOCSQSET", iow(SCULLP_MAGIC, 7)),
    ("SCULLP_IOCTQSET", io(SCULLP_MAGIC, 8)),
    ("SCULLP_IOCGQSET", ior(SCULLP_MAGIC, 9)),
    ("SCULLP_IOCQQSET", io(SCULLP_MAGIC, 10)),
    ("SCULLP_IOCXQSET", iowr(SCULLP_MAGIC, 11)),
    ("SCULLP_IOCHQSET", io(SCULLP_MAGIC, 12)),
];

/// (table, prefixes that may be left out when naming a command of it)
/// A driver's commands: (name, number).
pub type Table = &'static [(&'static str, u32)];

pub const TABLES: &[(Table, &[&str])] = &[
    (SCULL, &["SCULL_IOC", "SCULL_"]),
    // Full names only for scullp (SCULLP_IOCGQSET): the short ones belong to scull.
    (SCULLP, &[]),
];

/// Resolve a command: a full name (`SCULL_IOCGQUANTUM`), a short one (`GQUANTUM`,
/// `P_IOCQSIZE`), case-insensitive, or a raw number (`0x6b00`, decimal).
pub fn lookup(s: &str) -> Option<u32> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u32::from_str_radix(h, 16).ok();
    }
    if let Ok(n) = s.parse::<u32>() {
        return Some(n);
    }
    let up = s.to_ascii_uppercase();
    for (table, prefixes) in TABLES {
        for (name, num) in table.iter() {
            if *name == up {
                return Some(*num);
            }
            for p in prefixes.iter() {
                if name.strip_prefix(p) == Some(up.as_str()) {
                    return Some(*num);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn scullp_numbers() {
        assert_eq!(lookup("SCULLP_IOCRESET"), Some(0x4b00));
        assert_eq!(lookup("scullp_iocgorder"), Some(0x80044b03));
        assert_eq!(lookup("SCULLP_IOCXQSET"), Some(0xc0044b0b));
        assert_eq!(lookup("SCULLP_IOCHQSET"), Some(0x4b0c));
        // the short names stay scull's
        assert_eq!(lookup("GQSET"), Some(0x80046b06));
    }
    #[test]
    fn scull_numbers_match_spec() {
        let want: [(&str, u32); 15] = [
            ("RESET", 0x6b00),
            ("SQUANTUM", 0x40046b01),
            ("SQSET", 0x40046b02),
            ("TQUANTUM", 0x6b03),
            ("TQSET", 0x6b04),
            ("GQUANTUM", 0x80046b05),
            ("GQSET", 0x80046b06),
            ("QQUANTUM", 0x6b07),
            ("QQSET", 0x6b08),
            ("XQUANTUM", 0xc0046b09),
            ("XQSET", 0xc0046b0a),
            ("HQUANTUM", 0x6b0b),
            ("HQSET", 0x6b0c),
            ("P_IOCTSIZE", 0x6b0d),
            ("P_IOCQSIZE", 0x6b0e),
        ];
        for (n, v) in want {
            assert_eq!(lookup(n), Some(v), "{}", n);
        }
        assert_eq!(lookup("scull_iocreset"), Some(0x6b00));
        assert_eq!(lookup("SCULL_P_IOCQSIZE"), Some(0x6b0e));
        assert_eq!(lookup("0x40046b01"), Some(0x40046b01));
        assert_eq!(lookup("nonsense"), None);
        assert_eq!(dir(0xc0046b09), IOC_READ | IOC_WRITE);
    }
}
