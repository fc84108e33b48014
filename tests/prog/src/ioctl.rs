//! ioctl numbers: the drivers' symbolic commands, read from their user-space headers
//! (`include/uapi/ldd3/*.h`, by `build.rs`), and the `_IOC` direction bits (x86_64).
//!
//! To add a driver's commands, add its header to `build.rs` and its table to `TABLES`.

pub const IOC_NONE: u32 = 0;
pub const IOC_WRITE: u32 = 1;
pub const IOC_READ: u32 = 2;

pub fn dir(cmd: u32) -> u32 {
    cmd >> 30
}

// `SCULL` and `SCULLP`: (name, number) of every command of <ldd3/scull.h> and <ldd3/scullp.h>.
include!(concat!(env!("OUT_DIR"), "/uapi.rs"));

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
