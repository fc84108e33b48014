// SPDX-License-Identifier: GPL-2.0

//! Lock waits a signal can end: the `down_interruptible` of LDD3's drivers, for the 7.3
//! `kernel::sync::Mutex`, whose `lock` sleeps uninterruptibly.

use super::bindings;
use kernel::{
    prelude::*,
    sync::{
        lock::Guard,
        Mutex,
        MutexGuard, //
    }, //
};

/// Locks `mutex`, or gives up with `ERESTARTSYS` if a signal arrives first (C
/// `mutex_lock_interruptible`): the system call is then restarted, or fails with `EINTR`, and
/// a process that is being killed is never left waiting on a lock.
pub fn lock_interruptible<T: ?Sized>(mutex: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    // `Lock` is `repr(C)` with its C lock (in an `Opaque`) as the first field, the layout that
    // `Lock::from_raw` relies on too: the address of the `Mutex` is that of its `struct mutex`.
    let raw = core::ptr::from_ref(mutex)
        .cast::<bindings::mutex>()
        .cast_mut();
    // `mutex_lock_interruptible` is a function, or with lockdep a macro for its `_nested`
    // form with subclass 0 (include/linux/mutex.h); both are exported, and called here
    // directly rather than through a C helper, as this runs on every read and write.
    // SAFETY: `raw` is the `struct mutex` of `mutex`, initialised by its pin-initialiser and
    // pinned, alive for the borrow; the C side writes it only through its `Opaque` cell.
    #[cfg(not(CONFIG_DEBUG_LOCK_ALLOC))]
    let ret = unsafe { bindings::mutex_lock_interruptible(raw) };
    // SAFETY: As above.
    #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
    let ret = unsafe { bindings::mutex_lock_interruptible_nested(raw, 0) };
    if ret != 0 {
        return Err(ERESTARTSYS);
    }
    // SAFETY: `mutex_lock_interruptible` returned 0: this task holds the lock, and the guard
    // unlocks it with `mutex_unlock`, as `MutexBackend` does.
    Ok(unsafe { Guard::new(mutex, ()) })
}
