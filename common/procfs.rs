// SPDX-License-Identifier: GPL-2.0

//! Read-only `/proc` files produced record by record through a `seq_file` iterator.
//!
//! C headers: [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h),
//! [`include/linux/seq_file.h`](srctree/include/linux/seq_file.h).

use super::bindings;
use core::{
    ffi::c_void,
    marker::PhantomData,
    ptr, //
};
use kernel::{
    error::{
        from_result,
        to_result, //
    },
    prelude::*,
    seq_file::SeqFile,
    str::CStr,
    sync::Arc, //
};

/// The contents of a `/proc` file: a sequence of records, printed one at a time.
///
/// The `seq_file` machinery calls [`SeqShow::show`] for positions 0, 1, ... while
/// [`SeqShow::has`] says the record exists, and resumes at the right record when the reader's
/// buffer fills, so no record is split or repeated.
pub trait SeqShow: Send + Sync + 'static {
    /// Whether there is a record at `pos`.
    fn has(&self, pos: usize) -> bool;

    /// Prints the record at `pos` (which [`SeqShow::has`]).
    fn show(&self, m: &SeqFile, pos: usize) -> Result;
}

/// A file in `/proc`, removed on drop.
///
/// # Invariants
///
/// `entry` was created by `proc_create_data` with `data`'s pointer as its private data and
/// `ProcOps::<T>` as its operations; it is removed exactly once, on drop, before `data` goes.
pub struct ProcEntry<T: SeqShow> {
    entry: *mut bindings::proc_dir_entry,
    data: Arc<T>,
}

// SAFETY: The entry may be removed from any thread; `T` is `Send + Sync`.
unsafe impl<T: SeqShow> Send for ProcEntry<T> {}
// SAFETY: `&ProcEntry` gives access to nothing but `&T`, and `T` is `Sync`.
unsafe impl<T: SeqShow> Sync for ProcEntry<T> {}

impl<T: SeqShow> ProcEntry<T> {
    /// Creates `/proc/<name>`, readable by everyone, showing `data`.
    pub fn new(name: &'static CStr, data: Arc<T>) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated and outlives the entry; the ops table is static;
        // `data` outlives the entry by the type invariant (the `Arc` is kept until after
        // `proc_remove`).
        let entry = unsafe {
            bindings::proc_create_data(
                name.as_char_ptr(),
                0o444,
                ptr::null_mut(),
                ProcOps::<T>::build(),
                Arc::as_ptr(&data).cast_mut().cast(),
            )
        };
        if entry.is_null() {
            // procfs does not say why; a duplicate name is the likely cause.
            return Err(EEXIST);
        }
        Ok(Self { entry, data })
    }

    /// The data shown.
    pub fn data(&self) -> &T {
        &self.data
    }
}

impl<T: SeqShow> Drop for ProcEntry<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the entry exists. `proc_remove` waits for every
        // running call into the ops and releases open files, so none reaches `data` after it.
        unsafe { bindings::proc_remove(self.entry) };
    }
}

/// The `proc_ops` and `seq_operations` tables for a [`SeqShow`] type.
struct ProcOps<T: SeqShow>(PhantomData<T>);

impl<T: SeqShow> ProcOps<T> {
    /// The position token for `pos`: any non-NULL pointer will do, as only `pos` is used.
    fn token(pos: usize) -> *mut c_void {
        ptr::without_provenance_mut(pos + 1)
    }

    /// # Safety
    ///
    /// `m` must be a `seq_file` opened by [`Self::open`].
    unsafe fn data<'a>(m: *mut bindings::seq_file) -> &'a T {
        // SAFETY: `open` stored the entry's data, a `T` alive while the entry is.
        unsafe { &*(*m).private.cast::<T>() }
    }

    /// # Safety
    ///
    /// Called by `seq_read` with a valid `m` and `pos`.
    unsafe extern "C" fn start(
        m: *mut bindings::seq_file,
        pos: *mut bindings::loff_t,
    ) -> *mut c_void {
        // SAFETY: As above.
        let (data, pos) = unsafe { (Self::data(m), *pos) };
        match usize::try_from(pos) {
            Ok(pos) if data.has(pos) => Self::token(pos),
            _ => ptr::null_mut(),
        }
    }

    /// # Safety
    ///
    /// Called by `seq_read` with a valid `m` and `pos`.
    unsafe extern "C" fn next(
        m: *mut bindings::seq_file,
        _v: *mut c_void,
        pos: *mut bindings::loff_t,
    ) -> *mut c_void {
        // SAFETY: `pos` is valid; `seq_read` wants it advanced whatever happens.
        unsafe { *pos += 1 };
        // SAFETY: As above.
        unsafe { Self::start(m, pos) }
    }

    /// # Safety
    ///
    /// Called by `seq_read`; nothing to release.
    unsafe extern "C" fn stop(_m: *mut bindings::seq_file, _v: *mut c_void) {}

    /// # Safety
    ///
    /// Called by `seq_read` with a valid `m` and a token from `start` or `next`.
    unsafe extern "C" fn show(m: *mut bindings::seq_file, v: *mut c_void) -> c_int {
        let pos = v.addr() - 1;
        // SAFETY: `m` is valid and used by this thread only during the call.
        let (data, seq) = unsafe { (Self::data(m), SeqFile::from_raw(m)) };
        from_result(|| data.show(seq, pos).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by procfs for an inode of an entry made by [`ProcEntry::new`].
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        from_result(|| {
            // SAFETY: `file` is being opened; the table is static.
            to_result(unsafe { bindings::seq_open(file, &Self::SEQ_OPS) })?;
            // SAFETY: `seq_open` made `private_data` a `seq_file`; `inode` is the entry's, so
            // `pde_data` is the data `ProcEntry::new` gave `proc_create_data`.
            unsafe {
                let m = (*file).private_data.cast::<bindings::seq_file>();
                (*m).private = bindings::ldd3_pde_data(inode);
            }
            Ok(0)
        })
    }

    const SEQ_OPS: bindings::seq_operations = bindings::seq_operations {
        start: Some(Self::start),
        next: Some(Self::next),
        stop: Some(Self::stop),
        show: Some(Self::show),
    };

    const PROC_OPS: bindings::proc_ops = bindings::proc_ops {
        proc_open: Some(Self::open),
        proc_read: Some(bindings::seq_read),
        proc_lseek: Some(bindings::seq_lseek),
        proc_release: Some(bindings::seq_release),
        // SAFETY: NULL is "absent" for every other field.
        ..unsafe { core::mem::zeroed() }
    };

    const fn build() -> &'static bindings::proc_ops {
        &Self::PROC_OPS
    }
}
