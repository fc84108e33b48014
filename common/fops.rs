// SPDX-License-Identifier: GPL-2.0

//! File operations of a char device: the [`FileOperations`] trait and the C
//! `struct file_operations` table built from it at compile time.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h).

use super::chrdev::CharDevice;
use super::usercopy::{
    UserReader,
    UserWriter, //
};
use super::vm::VmMapping;
use core::{
    ffi::c_void,
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    error::{
        from_result,
        VTABLE_DEFAULT_ERROR, //
    },
    fs::{
        file::Offset,
        File,
        LocalFile, //
    },
    mm::virt::VmaNew,
    module::this_module,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        poll::PollTable,
        rcu, //
    },
    types::{
        ForeignOwnable,
        Opaque, //
    },
    uaccess::UserPtr, //
};

/// `FMODE_ATOMIC_POS` (`include/linux/fs.h`, generated in `common/bindings.rs`).
const FMODE_ATOMIC_POS: bindings::fmode_t = super::bindings::FMODE_ATOMIC_POS;

/// Poll event bits, as returned by [`FileOperations::poll`].
pub mod poll_flags {
    use kernel::bindings;
    /// Data can be read (`POLLIN | POLLRDNORM`).
    pub const READABLE: u32 = bindings::POLLIN | bindings::POLLRDNORM;
    /// Data can be written (`POLLOUT | POLLWRNORM`).
    pub const WRITABLE: u32 = bindings::POLLOUT | bindings::POLLWRNORM;
    /// The other end is gone (`POLLHUP`).
    pub const HANGUP: u32 = bindings::POLLHUP;
}

/// The list of files that asked for `SIGIO` (`struct fasync_struct *` in C).
///
/// A driver owns the queue (usually in its device data), names it in
/// [`FileOperations::fasync_queue`] and calls [`FasyncQueue::notify_readable`]; which files
/// are on it is the file-operations wrapper's business alone: it adds a file on
/// `fcntl(F_SETFL, O_ASYNC)` and takes it off on `O_ASYNC` being cleared and on the last close
/// (the VFS calls `fasync(-1, file, 0)` before `release` for every file with `FASYNC` set, see
/// `__fput` in `fs/file_table.c`). Driver code cannot put a file on a queue, so
/// [`FasyncQueue::notify_readable`] never reaches a file that has been released.
///
/// # Invariants
///
/// `head` is a list head that only `fasync_helper` and `kill_fasync` touch. Every entry on the list is for a file that has not been released yet: entries are
/// only added by [`FopsVTable`] for a file whose queue this is, and removed before that file's
/// `release`.
pub struct FasyncQueue {
    head: Opaque<*mut bindings::fasync_struct>,
}

// SAFETY: `fasync_helper` and `kill_fasync` lock the list themselves (`fasync_lock`, the file's
// `f_lock`, each entry's `fa_lock`, and RCU for the readers).
unsafe impl Send for FasyncQueue {}
// SAFETY: As above.
unsafe impl Sync for FasyncQueue {}

impl FasyncQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        Self {
            head: Opaque::new(core::ptr::null_mut()),
        }
    }

    /// Adds `file` to the queue (`on`) or takes it off; `fasync_helper`'s result (negative
    /// errno, 0 for no change, 1 for a change).
    ///
    /// # Safety
    ///
    /// `file` must be valid and not yet released, and if `on`, the caller must make sure that
    /// the file is taken off this queue again before its `release` and before the queue is
    /// dropped (the type invariant).
    unsafe fn update(&self, fd: c_int, file: *mut bindings::file, on: bool) -> c_int {
        // SAFETY: `file` is valid by the contract above; `head` is a valid list head by the
        // type invariant, which the contract above keeps.
        unsafe { bindings::fasync_helper(fd, file, on.into(), self.head.get()) }
    }

    /// Sends `SIGIO` with band `POLL_IN` to every file in the queue: new data to read.
    pub fn notify_readable(&self) {
        // SAFETY: `head` is a valid list head, and every file on it is alive (type invariant).
        unsafe {
            bindings::kill_fasync(
                self.head.get(),
                bindings::SIGIO as i32,
                bindings::POLL_IN as i32,
            )
        };
    }

    /// How many files are on the queue.
    pub fn len(&self) -> usize {
        let mut n = 0;
        let _rcu = rcu::read_lock();
        // SAFETY: Entries are freed by RCU after being unlinked (`fasync_remove_entry` uses
        // `kfree_rcu`), so under the RCU read lock every entry reached from the head stays
        // allocated; the links are read once each, as `kill_fasync` reads them.
        unsafe {
            let mut fa = core::ptr::read_volatile(self.head.get());
            while !fa.is_null() {
                n += 1;
                fa = core::ptr::read_volatile(core::ptr::addr_of!((*fa).fa_next));
            }
        }
        n
    }

    /// Whether no file is on the queue.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for FasyncQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FasyncQueue {
    fn drop(&mut self) {
        // Files come off the queue before their release, and the queue lives in the device
        // data, which outlives every file of the device (see `CharDevice`), so the queue is
        // empty here. Should a file still be on it, `kill_fasync` on a freed queue could no
        // longer reach it, but the file's own last `fasync` call would: take it off, and say so.
        let head = self.head.get();
        let mut removed = 0usize;
        loop {
            // SAFETY: `&mut self`: nobody else can reach the head now (adding, removing and
            // `kill_fasync` all go through a reference to the queue).
            let fa = unsafe { *head };
            if fa.is_null() {
                break;
            }
            // SAFETY: `fa` is on the list, so it is allocated and its `fa_file` is the live
            // file it was added for (type invariant; only removal clears it, and unlinks it).
            let file = unsafe { (*fa).fa_file };
            // SAFETY: `file` is alive (as above) and `head` is our list. Turning it off
            // (`fasync_remove_entry`, which is not exported) unlinks the entry for `file` (the
            // first one), clears the file's `FASYNC` and frees the entry after a grace period.
            if file.is_null() || unsafe { bindings::fasync_helper(-1, file, 0, head) } <= 0 {
                // Not possible for a list that only `fasync_helper` built; do not loop.
                break;
            }
            removed += 1;
        }
        if removed > 0 {
            pr_warn!("fasync queue dropped with {removed} file(s) still on it; took them off\n");
        }
    }
}

/// For the KUnit suite: puts a file (of an anonymous inode, made here) on a new queue and
/// drops the queue with it. Returns how many files the queue held and whether the drop took
/// the file off (its `FASYNC` flag is clear again).
#[cfg(CONFIG_KUNIT)]
pub fn fasync_queue_dropped_with_a_file() -> Result<(usize, bool)> {
    use kernel::sync::aref::ARef;
    const NO_OPS: bindings::file_operations = pin_init::zeroed();
    // SAFETY: The name is a static string, `NO_OPS` a static table with no owner and no
    // operations, and NULL private data is allowed.
    let file = kernel::error::from_err_ptr(unsafe {
        super::bindings::anon_inode_getfile(
            c"ldd3_fasync_test".as_char_ptr(),
            &NO_OPS,
            core::ptr::null_mut(),
            bindings::O_RDWR as c_int,
        )
    })?;
    // SAFETY: `anon_inode_getfile` returned a new file with one reference, which the `ARef`
    // takes over; no `fdget_pos` region exists for a file without a descriptor.
    let file: ARef<File> = unsafe { ARef::from_raw(NonNull::new_unchecked(file.cast())) };
    let queue = FasyncQueue::new();
    // SAFETY: We hold a reference on `file`, and the queue is dropped, which takes the file
    // off, before that reference is.
    kernel::error::to_result(unsafe { queue.update(-1, file.as_ptr(), true) })?;
    let held = queue.len();
    drop(queue);
    Ok((held, file.flags() & bindings::FASYNC == 0))
}

/// Where an `llseek` is relative to, with its offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeekFrom {
    /// `SEEK_SET`: from the start.
    Start(Offset),
    /// `SEEK_CUR`: from the current position.
    Current(Offset),
    /// `SEEK_END`: from the end (the caller says where that is).
    End(Offset),
}

impl SeekFrom {
    /// Decodes `(offset, whence)`; `SEEK_DATA`, `SEEK_HOLE` and unknown values are `EINVAL`.
    pub fn from_raw(offset: Offset, whence: u32) -> Result<Self> {
        match whence {
            bindings::SEEK_SET => Ok(Self::Start(offset)),
            bindings::SEEK_CUR => Ok(Self::Current(offset)),
            bindings::SEEK_END => Ok(Self::End(offset)),
            _ => Err(EINVAL),
        }
    }

    /// The resulting position given the current one and the end of the data: `EINVAL` when it
    /// would be negative or overflow. Positions past the end are allowed.
    pub fn resolve(self, current: Offset, end: Offset) -> Result<Offset> {
        let pos = match self {
            Self::Start(off) => Some(off),
            Self::Current(off) => current.checked_add(off),
            Self::End(off) => end.checked_add(off),
        };
        pos.filter(|&p| p >= 0).ok_or(EINVAL)
    }
}

/// The operations of an open char device, in the shape of the C `struct file_operations`.
///
/// Each device has a [`FileOperations::Data`], kept by its [`CharDevice`]; `open` turns it into
/// the per-file [`FileOperations::Ptr`], which the other operations borrow and `release` gets
/// back.
///
/// `read`, `write` and `llseek` run inside the system call's `fdget_pos` region, which may
/// not have taken the file's `f_pos_lock` (a file that nothing shares), so they see the file
/// as a [`LocalFile`]: it cannot be handed to another thread. The file position itself is the
/// wrapper's: `read` and `write` get the call's position, `llseek` returns the new one. With
/// `llseek`, the wrapper makes the file `FMODE_ATOMIC_POS`, as the VFS does for regular files,
/// so a file shared between threads or processes serialises its position changes. Operations left out are absent from the C table, so the VFS applies its defaults
/// (`EINVAL` for read/write, `ESPIPE` for llseek, `ENOTTY` for ioctl).
#[vtable]
pub trait FileOperations: Sized + 'static {
    /// Per-device data, given to `open`.
    type Data: Send + Sync;

    /// Per-file state, stored in `file->private_data` from `open` to `release`.
    type Ptr: ForeignOwnable + Send + Sync;

    /// Opens `file` on the device whose data is `device`.
    fn open(device: &Self::Data, file: &File) -> Result<Self::Ptr>;

    /// Called on the last close of `file`.
    fn release(this: Self::Ptr, _file: &File) {
        drop(this);
    }

    /// Reads into `buf` from `*pos` on, advancing `*pos`; returns the bytes read (0 at end).
    /// For a stream (no `llseek`), `*pos` is a scratch value that nothing else sees.
    fn read(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _file: &LocalFile,
        _buf: &mut UserWriter,
        _pos: &mut Offset,
    ) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Writes from `buf` at `*pos` on, advancing `*pos`; returns the bytes written.
    fn write(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _file: &LocalFile,
        _buf: &mut UserReader,
        _pos: &mut Offset,
    ) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Computes the new file position for `whence`, `current` being the present one; the
    /// caller rejects negative results with `EINVAL` and stores the position.
    fn llseek(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _file: &LocalFile,
        _whence: SeekFrom,
        _current: Offset,
    ) -> Result<Offset> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Registers `table` on the wait queues the file may become ready on and returns the
    /// events ready now ([`poll_flags`]).
    fn poll(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _table: &PollTable<'_>,
    ) -> Result<u32> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The queue that the files of `device` join when they ask for `SIGIO`
    /// (`fcntl(F_SETFL, O_ASYNC)`), so that [`FasyncQueue::notify_readable`] reaches them. The
    /// wrapper asks once per file, at open, and puts the file on that queue and takes it off
    /// (`f_op->fasync`); by the last close it is off. The queue must live as long as `device`
    /// (borrowing it from `device` does that), which outlives every file of the device.
    fn fasync_queue(_device: &Self::Data) -> &FasyncQueue {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Handles ioctl `cmd` with argument `arg` (a value or a user pointer, per `cmd`), from 64-bit
    /// and 32-bit programs alike (`compat_ptr_ioctl`: a 32-bit program's `arg` arrives
    /// zero-extended), so the argument must have the same layout for both.
    fn ioctl(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Sets up the new mapping `vma` of `file` (`f_op->mmap`, called under the mmap write
    /// lock): checks and adjusts its flags, and returns the [`VmMapping`] that serves its
    /// faults, which is installed on the VMA only if this succeeds (see
    /// [`VmMapping::new`](super::vm::VmMapping::new)).
    ///
    /// 7.3 also offers `f_op->mmap_prepare`, which sees a `vm_area_desc` instead of the VMA.
    /// This is `mmap` because (1) the kernel crate wraps exactly this stage (`VmaNew`, as
    /// `miscdevice` uses it), and (2) counting mappings needs a `vm_private_data` reference
    /// whose `close` is guaranteed: after a successful `mmap` the VMA is inserted and every
    /// way out of it runs `vm_ops->close`, whereas `mmap_region` can still fail after
    /// `mmap_prepare` (new-VMA allocation, the `unacct_error` path) without any callback to
    /// give the reference back.
    fn mmap(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _vma: &VmaNew,
    ) -> Result<VmMapping> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// What `file->private_data` points to for a file opened through a [`FopsVTable`].
///
/// # Invariants
///
/// `ptr` is the `into_foreign` of the file's `FileOperations::Ptr`, taken back only by
/// `release`. `fasync` is the file's [`FileOperations::fasync_queue`], borrowed from the
/// device data, which stays valid until after the file's release (see `CharDevice`).
struct OpenFile {
    ptr: *mut c_void,
    fasync: Option<NonNull<FasyncQueue>>,
}

/// The C `file_operations` table of a [`FileOperations`] implementation.
pub(crate) struct FopsVTable<T: FileOperations>(PhantomData<T>);

impl<T: FileOperations> FopsVTable<T> {
    /// The wrapper's state of an open file.
    ///
    /// # Safety
    ///
    /// `file` must be a file opened through this table whose `release` has not run yet.
    unsafe fn open_file<'a>(file: *mut bindings::file) -> &'a OpenFile {
        // SAFETY: `open` stored a `KBox<OpenFile>` in `private_data`; only `release` frees it.
        unsafe { &*(*file).private_data.cast::<OpenFile>() }
    }

    /// Borrows the per-file state.
    ///
    /// # Safety
    ///
    /// `file` must be a file opened through this table whose `release` has not run yet.
    unsafe fn borrow<'a>(file: *mut bindings::file) -> <T::Ptr as ForeignOwnable>::Borrowed<'a> {
        // SAFETY: By the `OpenFile` invariant `ptr` came from `into_foreign`, and only
        // `release`, which has not run, takes it back.
        unsafe { T::Ptr::borrow(Self::open_file(file).ptr) }
    }

    /// The file, for an operation that the VFS does not call inside an `fdget_pos` region
    /// (`open`, `release`, `ioctl`, `poll`, `mmap`: they use `fdget`/`fget` or no descriptor).
    ///
    /// # Safety
    ///
    /// `file` must be valid and open for `'a`, and this thread must be in no `fdget_pos`
    /// region of it (the rule upstream's `miscdevice` applies too).
    unsafe fn file<'a>(file: *mut bindings::file) -> &'a File {
        // SAFETY: As above.
        unsafe { File::from_raw_file(file) }
    }

    /// The file, for `read`, `write` and `llseek`: they run inside the `fdget_pos` region of
    /// the system call on this thread (`ksys_read`, `ksys_write`, `ksys_lseek`, the vectored
    /// ones), which took `f_pos_lock` only if the file is `FMODE_ATOMIC_POS` and shared.
    ///
    /// # Safety
    ///
    /// `file` must be valid and open for `'a`, and any `fdget_pos` region of it that did not
    /// take `f_pos_lock` must be on this thread.
    unsafe fn local_file<'a>(file: *mut bindings::file) -> &'a LocalFile {
        // SAFETY: As above.
        unsafe { LocalFile::from_raw_file(file) }
    }

    /// # Safety
    ///
    /// Called by the VFS with an inode of a device using this table, and a file being opened.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `chrdev_open` took a reference on `i_cdev`, which belongs to a
        // `CharDevice<T>` because the cdev uses this table; the file holds it until `__fput`
        // puts it after `release`, so the device outlives the file.
        // `ldd3_inode_cdev` reads `inode->i_cdev` (a member of an anonymous union).
        let device = unsafe { CharDevice::<T>::from_cdev(super::bindings::ldd3_inode_cdev(inode)) };
        if T::HAS_LLSEEK {
            // A seekable file keeps its position as a regular file does: `fdget_pos` takes
            // `f_pos_lock` whenever the file is shared, so read, write and lseek calls on it
            // from several threads or processes do not race on `f_pos`.
            // SAFETY: The file is being opened: no descriptor refers to it yet, so nothing
            // else reads or writes `f_mode`.
            unsafe { (*file).f_mode |= FMODE_ATOMIC_POS };
        } else {
            // No llseek: the file is a stream, so lseek, pread and pwrite fail with ESPIPE.
            // SAFETY: Both pointers are valid; the file is being opened.
            unsafe { bindings::stream_open(inode, file) };
        }
        from_result(|| {
            // The queue borrows from the device data, which outlives the file (above): it
            // stays valid until after `release`, as `OpenFile` requires.
            let fasync = T::HAS_FASYNC_QUEUE.then(|| NonNull::from(T::fasync_queue(device.data())));
            let mut state = KBox::new(
                OpenFile {
                    ptr: core::ptr::null_mut(),
                    fasync,
                },
                GFP_KERNEL,
            )?;
            // SAFETY: `file` is being opened, see `Self::file`.
            let ptr = T::open(device.data(), unsafe { Self::file(file) })?;
            state.ptr = ptr.into_foreign();
            // SAFETY: `open` owns `private_data` until it returns.
            unsafe { (*file).private_data = KBox::into_raw(state).cast() };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS on the last close of a file opened through this table.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `open` stored a `KBox<OpenFile>` there; `release` runs once, and no other
        // operation can run on the file any more.
        let state = unsafe { KBox::from_raw((*file).private_data.cast::<OpenFile>()) };
        // The file is off its fasync queue: `__fput` called `fasync(-1, file, 0)` before this
        // if the file had `FASYNC` set, and the file is only ever on its own queue.
        // SAFETY: `ptr` came from `into_foreign` (`OpenFile` invariant) and is taken back once.
        let ptr = unsafe { T::Ptr::from_foreign(state.ptr) };
        // SAFETY: `file` is valid during release, see `Self::file`.
        T::release(ptr, unsafe { Self::file(file) });
        0
    }

    /// # Safety
    ///
    /// Called by the VFS for a file opened through this table; `buf` is a user pointer to
    /// `count` bytes and `pos` points at the file position for this call.
    unsafe extern "C" fn read(
        file: *mut bindings::file,
        buf: *mut c_char,
        count: usize,
        pos: *mut bindings::loff_t,
    ) -> isize {
        let mut writer = UserWriter::new(UserPtr::from_ptr(buf.cast()), count);
        let mut stream_pos = 0;
        // SAFETY: The VFS gives a valid `pos`, private to this call (`ksys_read` passes a copy
        // of `f_pos` on its stack, `pread` the caller's offset), or NULL for a stream.
        let pos = unsafe { pos.as_mut() }.unwrap_or(&mut stream_pos);
        // SAFETY: The file is open, see `Self::borrow`; the call runs in this thread's
        // `fdget_pos` region, see `Self::local_file`.
        let (this, file) = unsafe { (Self::borrow(file), Self::local_file(file)) };
        from_result(|| Ok(T::read(this, file, &mut writer, pos)? as isize))
    }

    /// # Safety
    ///
    /// As for [`Self::read`], with `buf` the source.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const c_char,
        count: usize,
        pos: *mut bindings::loff_t,
    ) -> isize {
        let mut reader = UserReader::new(UserPtr::from_ptr(buf.cast_mut().cast()), count);
        let mut stream_pos = 0;
        // SAFETY: As in `read`.
        let pos = unsafe { pos.as_mut() }.unwrap_or(&mut stream_pos);
        // SAFETY: As in `read`.
        let (this, file) = unsafe { (Self::borrow(file), Self::local_file(file)) };
        from_result(|| Ok(T::write(this, file, &mut reader, pos)? as isize))
    }

    /// # Safety
    ///
    /// Called by the VFS for a file opened through this table.
    unsafe extern "C" fn llseek(
        file: *mut bindings::file,
        offset: bindings::loff_t,
        whence: c_int,
    ) -> bindings::loff_t {
        // SAFETY: `f_pos` is valid while the file is open. This runs in `ksys_lseek`'s
        // `fdget_pos` region: the file is `FMODE_ATOMIC_POS` (`open`), so either it is shared
        // and this thread holds `f_pos_lock`, or this thread holds the only reference. Every
        // write of `f_pos` by the VFS (read, write, lseek and their vectored forms) is in such
        // a region; the unlocked accesses left are `sendfile`'s and `copy_file_range`'s read
        // of the position, which the VFS makes for every kind of file, and their write-back,
        // which needs `splice_read`/`splice_write` that these files lack. The accesses here
        // are `READ_ONCE`/`WRITE_ONCE`, so even those reads see a whole value.
        let f_pos = unsafe { Atomic::from_ptr(&raw mut (*file).f_pos) };
        // SAFETY: The file is open, see `Self::borrow`; `fdget_pos` region: `Self::local_file`.
        let (this, f) = unsafe { (Self::borrow(file), Self::local_file(file)) };
        from_result(|| {
            let whence = SeekFrom::from_raw(offset, whence as u32)?;
            let pos = T::llseek(this, f, whence, f_pos.load(Relaxed))?;
            if pos < 0 {
                return Err(EINVAL);
            }
            f_pos.store(pos, Relaxed);
            Ok(pos)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS for a file opened through this table.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: The file is open, see `Self::borrow` and `Self::file`.
        let (this, f) = unsafe { (Self::borrow(file), Self::file(file)) };
        from_result(|| Ok(T::ioctl(this, f, cmd, arg)? as c_long))
    }

    /// # Safety
    ///
    /// Called by the VFS for a file opened through this table; `table` is null or valid for
    /// the call.
    unsafe extern "C" fn poll(
        file: *mut bindings::file,
        table: *mut bindings::poll_table,
    ) -> bindings::__poll_t {
        // SAFETY: `table` is valid for the duration of this call, or null.
        let table = unsafe { PollTable::from_raw(table) };
        // SAFETY: The file is open, see `Self::borrow` and `Self::file`.
        let (this, f) = unsafe { (Self::borrow(file), Self::file(file)) };
        T::poll(this, f, &table).unwrap_or(bindings::POLLERR)
    }

    /// # Safety
    ///
    /// Called by the VFS for a file opened through this table (`fcntl(F_SETFL)`, `FIOASYNC`,
    /// and on the last close before `release`).
    unsafe extern "C" fn fasync(fd: c_int, file: *mut bindings::file, on: c_int) -> c_int {
        // SAFETY: The file is open: the last-close call comes before `release`.
        let Some(queue) = (unsafe { Self::open_file(file) }).fasync else {
            // Not reached: the table has `fasync` only when `T` has a queue.
            return EINVAL.to_errno();
        };
        // SAFETY: The queue is valid until after `release` (`OpenFile` invariant). The file is
        // open, and it is only ever put on this one queue, from which the VFS's last-close
        // call takes it off before `release`; the queue, in the device data, outlives it.
        unsafe { queue.as_ref().update(fd, file, on != 0) }
    }

    /// # Safety
    ///
    /// Called by the mm (`f_op->mmap`) for a file opened through this table, with a new VMA
    /// under the mmap write lock.
    unsafe extern "C" fn mmap(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: The file is open (the VMA being set up holds a reference), see
        // `Self::borrow` and `Self::file`.
        let (this, f) = unsafe { (Self::borrow(file), Self::file(file)) };
        // SAFETY: `f_op->mmap` is the stage `VmaNew` stands for: a VMA being set up, not yet
        // visible to anyone else, under the mmap write lock.
        let area = unsafe { VmaNew::from_raw(vma) };
        from_result(|| {
            let mapping = T::mmap(this, f, area)?;
            // SAFETY: This `mmap` call returns success right after.
            unsafe { mapping.install(area) };
            Ok(0)
        })
    }

    const VTABLE: bindings::file_operations = bindings::file_operations {
        owner: this_module::<T::OwnerModule>().as_ptr(),
        open: Some(Self::open),
        release: Some(Self::release),
        read: if T::HAS_READ { Some(Self::read) } else { None },
        write: if T::HAS_WRITE {
            Some(Self::write)
        } else {
            None
        },
        llseek: if T::HAS_LLSEEK {
            Some(Self::llseek)
        } else {
            None
        },
        unlocked_ioctl: if T::HAS_IOCTL {
            Some(Self::ioctl)
        } else {
            None
        },
        // 32-bit programs: their pointer argument converted (`compat_ptr`) and handed to
        // `unlocked_ioctl`, as upstream misc devices do. Right for ioctls whose argument has the
        // same layout for both (the scull ones: an `int` or a pointer to one); `None` without
        // `CONFIG_COMPAT`.
        compat_ioctl: if T::HAS_IOCTL {
            bindings::compat_ptr_ioctl
        } else {
            None
        },
        poll: if T::HAS_POLL { Some(Self::poll) } else { None },
        fasync: if T::HAS_FASYNC_QUEUE {
            Some(Self::fasync)
        } else {
            None
        },
        mmap: if T::HAS_MMAP { Some(Self::mmap) } else { None },
        ..pin_init::zeroed()
    };

    /// The table, for `cdev_init`.
    pub(crate) const fn build() -> &'static bindings::file_operations {
        &Self::VTABLE
    }

    /// The module that owns the table: a file open on it pins the module in memory.
    pub(crate) const fn owner() -> *mut bindings::module {
        this_module::<T::OwnerModule>().as_ptr()
    }
}
