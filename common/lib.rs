// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers over the kernel interfaces the LDD3 drivers need and the 7.3 `kernel` crate
//! does not wrap, and the policy the drivers share:
//!
//! | module | C side | what it gives |
//! |---|---|---|
//! | [`chrdev`] | `linux/cdev.h`, `linux/device.h` | regions, a device class, cdevs ([`chrdev::CharDevice`], [`chrdev::DeviceFamily`]) |
//! | [`fops`] | `linux/fs.h` | [`fops::FileOperations`]: open, read, write, llseek, poll, fasync, ioctl, mmap |
//! | [`vm`] | `linux/mm.h` | page blocks, [`vm::VmOperations`] and the fault handler's [`vm::VmFault`] |
//! | [`procfs`] | `linux/proc_fs.h`, `linux/seq_file.h` | `/proc` files as a [`procfs::SeqShow`] |
//! | [`net`] | `linux/netdevice.h`, `linux/skbuff.h` | registered net devices, `NetDeviceOps`, socket buffers, NAPI |
//! | [`usercopy`] | `linux/uaccess.h` | `read`/`write` user buffers, blocks copied with no lock held |
//! | [`sync`] | `linux/mutex.h` | interruptible lock waits |
//! | [`qset`] | - | LDD3's list of qsets, bounded, and its geometry |
//! | [`settings`] | - | module-wide settings and their ioctls, parameter checks |
//! | [`uapi`], [`bindings`] | `include/uapi/ldd3/`, bindgen | ioctl numbers, raw bindings |
//!
//! This is the only place in the project with `unsafe` code. Kbuild builds every `.rs` object
//! as a crate of its own and cannot link a sibling crate into an out-of-tree module, so each
//! module compiles this same source as its submodule:
//!
//! ```ignore
//! #[path = "../common/lib.rs"]
//! mod common;
//! ```
//!
//! Everything here refers to itself through `super::`, never through `crate::`, so it works at
//! any mount point.

pub mod bindings;
pub mod chrdev;
pub mod fops;
#[cfg(ldd3_net)]
pub mod net;
pub mod procfs;
pub mod qset;
pub mod settings;
pub mod sync;
pub mod uapi;
pub mod usercopy;
pub mod vm;

/// The capability that guards module-wide settings (`CAP_SYS_ADMIN`).
pub const CAP_SYS_ADMIN: u32 = bindings::CAP_SYS_ADMIN;

/// Whether the current task has capability `cap` (one of the `CAP_*` numbers) in the initial
/// user namespace, as the C `capable()`; the check is audited like C's.
pub fn capable(cap: u32) -> bool {
    let Ok(cap) = i32::try_from(cap) else {
        return false;
    };
    // SAFETY: `capable` only reads the current task's credentials; any value of `cap` is
    // accepted (an unknown one is simply not held).
    unsafe { bindings::capable(cap) }
}

/// Whether the current task has a signal to handle (C `signal_pending(current)`): a long
/// operation stops at the next step and returns what it did so far.
pub fn signal_pending() -> bool {
    kernel::current!().signal_pending()
}

/// The device number of the current task's controlling terminal, or `None` without one.
pub fn current_tty() -> Option<u32> {
    // SAFETY: `get_current_tty` returns NULL or a `tty_struct` with a reference taken for us.
    let tty = unsafe { bindings::get_current_tty() };
    if tty.is_null() {
        return None;
    }
    // SAFETY: `tty` is a live tty we hold a reference on; `tty_kref_put` gives that back.
    let devnum = unsafe {
        let devnum = bindings::tty_devnum(tty);
        bindings::tty_kref_put(tty);
        devnum
    };
    Some(devnum)
}
