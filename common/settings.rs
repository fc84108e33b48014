// SPDX-License-Identifier: GPL-2.0

//! Module-wide integer settings that the LDD3 ioctls read and change (scull's quantum and
//! qset, scullp's order), with the book's six ways of passing a value.

use super::{
    capable,
    CAP_SYS_ADMIN, //
};
use core::ops::RangeInclusive;
use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    }, //
};

/// How an ioctl passes a setting: the letter in the book's command names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingOp {
    /// `S`: set from the `int` that `arg` points to.
    Set,
    /// `T`: set to `arg` itself.
    Tell,
    /// `G`: store the value at `arg`.
    Get,
    /// `Q`: return the value as the ioctl's result.
    Query,
    /// `X`: exchange through `arg` (set from it, store the old value there).
    Exchange,
    /// `H`: set to `arg`, return the old value.
    Shift,
}

impl SettingOp {
    /// The six, in the order of the book's command numbers: S, T, G, Q, X, H.
    pub const ALL: [SettingOp; 6] = [
        SettingOp::Set,
        SettingOp::Tell,
        SettingOp::Get,
        SettingOp::Query,
        SettingOp::Exchange,
        SettingOp::Shift,
    ];
}

/// The ioctl numbers of one setting, one per [`SettingOp`] in [`SettingOp::ALL`] order (for
/// scull's quantum: `SCULL_IOCSQUANTUM`, `..TQUANTUM`, `..GQUANTUM`, `..QQUANTUM`,
/// `..XQUANTUM`, `..HQUANTUM`).
pub type SettingIoctls = [u32; 6];

/// Carries out ioctl `cmd` on whichever of `settings` it is a number of (see
/// [`SettingIoctls`]); `ENOTTY` if none.
pub fn settings_ioctl(
    cmd: u32,
    arg: usize,
    settings: &[(&Setting, SettingIoctls)],
) -> Result<isize> {
    for (setting, numbers) in settings {
        if let Some(i) = numbers.iter().position(|&n| n == cmd) {
            return setting.ioctl(SettingOp::ALL[i], arg);
        }
    }
    Err(ENOTTY)
}

/// A module-wide `int` setting with an inclusive valid range. Devices read it when they are
/// (re)initialised.
pub struct Setting {
    value: Atomic<i32>,
    min: i32,
    max: i32,
}

/// Fails with `EPERM` unless the caller may change module-wide settings (`CAP_SYS_ADMIN`).
pub fn require_admin() -> Result {
    if capable(CAP_SYS_ADMIN) {
        Ok(())
    } else {
        Err(EPERM)
    }
}

/// Module parameter `name` as a count in `range`; out of it, says so in the kernel log and
/// fails with `EINVAL` (which fails the load).
pub fn param_count<V>(name: &str, value: V, range: RangeInclusive<u32>) -> Result<u32>
where
    V: TryInto<u32> + Copy + kernel::fmt::Display,
{
    match value.try_into() {
        Ok(count) if range.contains(&count) => Ok(count),
        _ => {
            pr_err!(
                "{name}={value} is out of range {}..={}\n",
                range.start(),
                range.end()
            );
            Err(EINVAL)
        }
    }
}

/// Module parameter `name` as a size in bytes, at least 1; else, says so in the kernel log and
/// fails with `EINVAL`.
pub fn param_size(name: &str, value: i64) -> Result<usize> {
    match usize::try_from(value) {
        Ok(size) if size > 0 => Ok(size),
        _ => {
            pr_err!("{name}={value} is not a size in bytes (at least 1)\n");
            Err(EINVAL)
        }
    }
}

/// The user's `int` at `arg`.
fn read_int(arg: usize) -> Result<i32> {
    UserSlice::new(UserPtr::from_addr(arg), size_of::<i32>())
        .reader()
        .read::<i32>()
}

/// Stores `value` as an `int` at `arg`.
fn write_int(arg: usize, value: i32) -> Result {
    UserSlice::new(UserPtr::from_addr(arg), size_of::<i32>())
        .writer()
        .write(&value)
}

impl Setting {
    /// A setting valid in `min..=max`, 0 until first set.
    pub const fn new(min: i32, max: i32) -> Self {
        Self {
            value: Atomic::new(0),
            min,
            max,
        }
    }

    /// The current value.
    pub fn get(&self) -> i32 {
        self.value.load(Relaxed)
    }

    /// `value` if it is in range, else `EINVAL`.
    pub fn check(&self, value: i64) -> Result<i32> {
        i32::try_from(value)
            .ok()
            .filter(|v| (self.min..=self.max).contains(v))
            .ok_or(EINVAL)
    }

    /// Sets a checked value (`EINVAL` leaves the old one) and returns the previous one.
    pub fn replace(&self, value: i64) -> Result<i32> {
        Ok(self.value.xchg(self.check(value)?, Relaxed))
    }

    /// Carries out `op` with the ioctl argument `arg`. Every way of changing the setting needs
    /// `CAP_SYS_ADMIN` (`EPERM`, checked first, as in the book); a bad pointer is `EFAULT`.
    pub fn ioctl(&self, op: SettingOp, arg: usize) -> Result<isize> {
        // `arg` as a value (T and H): an `int` in C.
        let value = arg as i64;
        match op {
            SettingOp::Get => write_int(arg, self.get()).map(|()| 0),
            SettingOp::Query => Ok(self.get() as isize),
            SettingOp::Set => {
                require_admin()?;
                self.replace(read_int(arg)?.into()).map(|_| 0)
            }
            SettingOp::Tell => {
                require_admin()?;
                self.replace(value).map(|_| 0)
            }
            SettingOp::Shift => {
                require_admin()?;
                self.replace(value).map(|old| old as isize)
            }
            SettingOp::Exchange => {
                require_admin()?;
                let new = self.check(read_int(arg)?.into())?;
                let old = self.value.xchg(new, Relaxed);
                if let Err(e) = write_int(arg, old) {
                    // The caller could not be told the old value: undo, unless changed since.
                    let _ = self.value.cmpxchg(new, old, Relaxed);
                    return Err(e);
                }
                Ok(0)
            }
        }
    }
}
