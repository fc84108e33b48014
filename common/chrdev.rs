// SPDX-License-Identifier: GPL-2.0

//! Char devices: a region of device numbers, a device class for the /dev nodes, and one `cdev`
//! per minor whose `file_operations` come from a [`FileOperations`] implementation.
//!
//! C headers: [`include/linux/cdev.h`](srctree/include/linux/cdev.h),
//! [`include/linux/fs.h`](srctree/include/linux/fs.h).

use super::fops::{
    FileOperations,
    FopsVTable, //
};
use core::{
    ffi::c_void,
    ptr, //
};
use kernel::{
    bindings,
    error::{
        from_err_ptr,
        to_result, //
    },
    prelude::*,
    str::{
        CStr,
        CString, //
    },
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Completion, //
    },
    types::Opaque, //
};
use pin_init::PinInit;

/// Number of bits of a `dev_t` that hold the minor number.
pub const MINOR_BITS: u32 = bindings::MINORBITS;

/// Builds a `dev_t` from a major and a minor number (C `MKDEV`).
pub const fn mkdev(major: u32, minor: u32) -> u32 {
    (major << MINOR_BITS) | minor
}

/// The major number of a `dev_t` (C `MAJOR`).
pub const fn major(dev: u32) -> u32 {
    dev >> MINOR_BITS
}

/// The minor number of a `dev_t` (C `MINOR`).
pub const fn minor(dev: u32) -> u32 {
    dev & bindings::MINORMASK
}

/// A range of char device numbers reserved under a name (as listed in `/proc/devices`).
///
/// Shared (`Arc`): every [`CharDevice`] of the region holds it, so the numbers stay registered
/// as long as a cdev uses one of them, and each index is given to one device at a time.
///
/// # Invariants
///
/// `first .. first + count` is registered with the kernel (by `alloc_chrdev_region` or
/// `register_chrdev_region`) until this value is dropped, which unregisters it exactly once.
/// `claimed` has `count` entries; entry `i` is set while a [`CharDevice`] uses number `i`.
pub struct ChrdevRegion {
    first: u32,
    count: u32,
    claimed: KVec<Atomic<bool>>,
}

impl ChrdevRegion {
    /// Reserves `count` device numbers starting at minor `first_minor`: under a dynamically
    /// chosen major when `major` is 0, else under `major` (`EBUSY` if taken).
    pub fn new(name: &'static CStr, major: u32, first_minor: u32, count: u32) -> Result<Arc<Self>> {
        let max_minor = 1u32 << MINOR_BITS;
        if count == 0
            || major >= 1 << (32 - MINOR_BITS)
            || first_minor
                .checked_add(count)
                .is_none_or(|end| end > max_minor)
        {
            return Err(EINVAL);
        }
        let mut claimed = KVec::with_capacity(count as usize, GFP_KERNEL)?;
        for _ in 0..count {
            claimed.push(Atomic::new(false), GFP_KERNEL)?;
        }
        let mut first = 0;
        if major == 0 {
            // SAFETY: `first` is a valid place for the result; `name` is a NUL-terminated string
            // that lives forever (the kernel copies it anyway).
            to_result(unsafe {
                bindings::alloc_chrdev_region(&mut first, first_minor, count, name.as_char_ptr())
            })?;
        } else {
            first = mkdev(major, first_minor);
            // SAFETY: As above; the range was checked to fit in the minor numbers of `major`.
            to_result(unsafe {
                bindings::register_chrdev_region(first, count, name.as_char_ptr())
            })?;
        }
        // INVARIANT: the range was registered just above; nothing is claimed yet. (If the
        // allocation fails, the value is dropped, which unregisters the range.)
        Ok(Arc::new(
            Self {
                first,
                count,
                claimed,
            },
            GFP_KERNEL,
        )?)
    }

    /// The major number of the region.
    pub fn major(&self) -> u32 {
        major(self.first)
    }

    /// The first minor number of the region.
    pub fn first_minor(&self) -> u32 {
        minor(self.first)
    }

    /// How many device numbers the region holds.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The `index`-th device number of the region, if it has that many.
    pub fn devt(&self, index: u32) -> Option<u32> {
        (index < self.count).then(|| self.first + index)
    }

    /// Takes number `index` for a device: `EINVAL` outside the region, `EBUSY` if another
    /// device has it.
    fn claim(&self, index: u32) -> Result<u32> {
        let devt = self.devt(index).ok_or(EINVAL)?;
        if self.claimed[index as usize].xchg(true, Relaxed) {
            return Err(EBUSY);
        }
        Ok(devt)
    }

    /// Gives number `index` back (its cdev is gone).
    fn unclaim(&self, index: u32) {
        self.claimed[index as usize].store(false, Relaxed);
    }
}

impl Drop for ChrdevRegion {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the range is registered, and this is the only place that
        // unregisters it.
        unsafe { bindings::unregister_chrdev_region(self.first, self.count) };
    }
}

/// A device class: a directory under `/sys/class`; devices created in it get their `/dev`
/// node from devtmpfs (or udev), so no `mknod` is needed, with the permission bits the class
/// was created with (what the book's `scull_load` script set with `chmod`).
///
/// # Invariants
///
/// `ptr` is a class created by `class_create` and not yet destroyed; it is destroyed exactly
/// once, on drop. Its `devnode` is [`devnode`], so every device created in it must carry its
/// node mode as driver data, as [`CharDevice::new`] does.
pub struct DeviceClass {
    ptr: *mut bindings::class,
    mode: u16,
}

// SAFETY: A `struct class` may be used and destroyed from any thread; the driver core locks it.
unsafe impl Send for DeviceClass {}
// SAFETY: The only operations through `&DeviceClass` are `device_create`/`device_destroy`,
// which the driver core serialises itself.
unsafe impl Sync for DeviceClass {}

/// The `devnode` of every [`DeviceClass`]: the node keeps its default name (NULL) and gets the
/// mode that the device's driver data carries.
///
/// # Safety
///
/// `dev` must be a live device created in a [`DeviceClass`], and `mode` NULL or valid for a
/// write (as `device_get_devnode` in `drivers/base/core.c` calls it).
unsafe extern "C" fn devnode(
    dev: *const bindings::device,
    mode: *mut bindings::umode_t,
) -> *mut kernel::ffi::c_char {
    if !mode.is_null() {
        // SAFETY: By the contract above `dev` is live and `mode` writable; the driver data of
        // a device of a `DeviceClass` is its node mode (`CharDevice::new`), not a pointer.
        unsafe { *mode = (*dev).driver_data as usize as bindings::umode_t };
    }
    ptr::null_mut()
}

impl DeviceClass {
    /// Creates the class `/sys/class/<name>`, whose device nodes get the permission bits
    /// `mode` (`EINVAL` unless within `0o777`).
    pub fn new(name: &'static CStr, mode: u16) -> Result<Arc<Self>> {
        if mode & !0o777 != 0 {
            return Err(EINVAL);
        }
        // SAFETY: `name` is NUL-terminated and lives forever, as the class keeps a pointer to it.
        let ptr = from_err_ptr(unsafe { bindings::class_create(name.as_char_ptr()) })?;
        // SAFETY: The class was just created and no device is in it yet, so nothing reads
        // `devnode` concurrently; it stays valid as long as the class (it is code).
        unsafe { (*ptr).devnode = Some(devnode) };
        // INVARIANT: `ptr` was just created, with `devnode` set. (If the allocation fails,
        // the value is dropped, which destroys the class.)
        Ok(Arc::new(Self { ptr, mode }, GFP_KERNEL)?)
    }

    /// The permission bits of the class's device nodes.
    pub fn mode(&self) -> u16 {
        self.mode
    }
}

impl Drop for DeviceClass {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `ptr` is a live class, destroyed only here. Devices
        // created in it hold an `Arc<DeviceClass>`, so none is left.
        unsafe { bindings::class_destroy(self.ptr) };
    }
}

/// Release function of [`CdevCore::anchor`]: signals `released`.
///
/// # Safety
///
/// `kobj` must be the `anchor` of a live [`CdevCore`] whose last reference was just put.
unsafe extern "C" fn anchor_release(kobj: *mut bindings::kobject) {
    // SAFETY: By the contract above `kobj` points at the `anchor` field of a `CdevCore`.
    let core = unsafe { kernel::container_of!(Opaque::cast_from(kobj), CdevCore, anchor) };
    // SAFETY: The `CdevCore` is alive: its owner waits on `released` before freeing it.
    unsafe { (*core).released.complete_all() };
}

/// The `kobj_type` of [`CdevCore::anchor`]: nothing but a release function.
const ANCHOR_KTYPE: bindings::kobj_type = bindings::kobj_type {
    release: Some(anchor_release),
    ..pin_init::zeroed()
};

/// The kernel-facing part of a [`CharDevice`].
///
/// The cdev's kobject is reference counted by the kernel: each open file holds it, so it can
/// outlive `cdev_del`. Its parent, `anchor`, is held by the cdev until the cdev's last reference
/// is gone; `anchor`'s release then completes `released`. Waiting for `released` therefore waits
/// until the kernel has no pointer left into this memory (nor a pending call of this module's
/// `anchor_release`: with `CONFIG_DEBUG_KOBJECT_RELEASE` both releases run 1 to 4 s late).
///
/// # Invariants
///
/// `anchor` is an initialised kobject with `ANCHOR_KTYPE`, holding one reference of ours;
/// `cdev` is initialised by `cdev_init` with the operations of the `FileOperations` it was
/// made for, and has `anchor` as its parent.
#[repr(C)]
#[pin_data]
struct CdevCore {
    #[pin]
    cdev: Opaque<bindings::cdev>,
    #[pin]
    anchor: Opaque<bindings::kobject>,
    #[pin]
    released: Completion,
}

impl CdevCore {
    /// A cdev with the operations of `T` and its anchor; not added yet.
    fn new<T: FileOperations>() -> impl PinInit<Self> {
        pin_init!(&this in Self {
            released <- Completion::new(),
            // SAFETY: `anchor` points at memory for a kobject, which `kobject_init` wants
            // zeroed; the ktype is static.
            anchor <- Opaque::ffi_init(|anchor: *mut bindings::kobject| unsafe {
                ptr::write_bytes(anchor, 0, 1);
                bindings::kobject_init(anchor, &ANCHOR_KTYPE);
            }),
            // SAFETY: `cdev` points at memory for a cdev, which `cdev_init` wants zeroed; the
            // operations table is static. `this` is the core being initialised, whose
            // `anchor` was initialised just before (fields are initialised in this order).
            cdev <- Opaque::ffi_init(move |cdev: *mut bindings::cdev| unsafe {
                ptr::write_bytes(cdev, 0, 1);
                bindings::cdev_init(cdev, FopsVTable::<T>::build());
                (*cdev).owner = FopsVTable::<T>::owner();
                bindings::cdev_set_parent(cdev, Opaque::cast_into(&raw const (*this.as_ptr()).anchor));
            }),
        })
    }

    /// Adds the cdev as `devt`: `open` may run as soon as this returns `Ok`. On failure the
    /// anchor reference is given back and waited for: the kernel has no pointer into `self` any
    /// more, and `self` may be freed.
    ///
    /// # Safety
    ///
    /// Called once, and everything `open` uses must be initialised.
    unsafe fn add(&self, devt: u32) -> Result {
        // SAFETY: The cdev is initialised (type invariant) and added only here.
        let ret = to_result(unsafe { bindings::cdev_add(self.cdev.get(), devt, 1) });
        if ret.is_err() {
            // `cdev_add` took no reference on `anchor` when it failed.
            // SAFETY: Our reference on `anchor` (type invariant), put once.
            unsafe { bindings::kobject_put(self.anchor.get()) };
            self.released.wait_for_completion();
        }
        ret
    }

    /// Removes the cdev (`open` cannot find it any more) and gives our anchor reference back;
    /// `released` completes once the last open file is gone and the kobject releases ran.
    ///
    /// # Safety
    ///
    /// The cdev was added and this is the only call.
    unsafe fn start_removal(&self) {
        // SAFETY: By the contract above the cdev is added; `anchor` holds our reference.
        unsafe {
            bindings::cdev_del(self.cdev.get());
            bindings::kobject_put(self.anchor.get());
        }
    }
}

/// One char device: a `cdev` bound to one device number of a [`ChrdevRegion`], its `/dev`
/// node, and the driver's per-device data that `open` is given.
///
/// # Invariants
///
/// - `core.cdev` was added with `cdev_add` under number `index` of `region`, which this
///   device has claimed, with the operations of `T`; the node in `class` for that number, if
///   there is one, is this device's.
/// - `data` stays valid until `core.released` completes, which the drop waits for; `removing`
///   says whether `CdevCore::start_removal` ran.
#[pin_data(PinnedDrop)]
pub struct CharDevice<T: FileOperations> {
    region: Arc<ChrdevRegion>,
    index: u32,
    class: Arc<DeviceClass>,
    data: T::Data,
    removing: bool,
    #[pin]
    core: CdevCore,
}

// SAFETY: The kernel-facing part may be used from any thread (the cdev and kobject code lock
// themselves); the rest is `T::Data`, which is `Send`, and `Arc`s of `Sync` types.
unsafe impl<T: FileOperations> Send for CharDevice<T> {}
// SAFETY: No `&self` method touches the kernel-facing part; `T::Data` is `Sync`.
unsafe impl<T: FileOperations> Sync for CharDevice<T> {}

impl<T: FileOperations> CharDevice<T> {
    /// Registers `data` as the device with number `index` of `region` (`EINVAL` past its end,
    /// `EBUSY` if another device has it), with the node `/dev/<name>` in `class`.
    ///
    /// The device is live when this returns: `open` may run at once.
    pub fn new(
        region: &Arc<ChrdevRegion>,
        index: u32,
        class: &Arc<DeviceClass>,
        name: &CStr,
        data: T::Data,
    ) -> Result<Pin<KBox<Self>>> {
        let devt = region.claim(index)?;
        let init = try_pin_init!(Self {
            region: region.clone(),
            index,
            class: class.clone(),
            data,
            removing: false,
            core <- CdevCore::new::<T>(),
        }? Error);
        let device = KBox::try_pin_init(init, GFP_KERNEL).inspect_err(|_| region.unclaim(index))?;
        // SAFETY: Called once; `data` (all that `open` uses) is initialised. If this fails,
        // the core is not reachable by the kernel, and dropping `device` must not remove it.
        if let Err(e) = unsafe { device.core.add(devt) } {
            // `removing` tells the drop that there is nothing to remove; the core was waited
            // for.
            let mut device = device;
            *device.as_mut().project().removing = true;
            drop(device);
            return Err(e);
        }
        // The driver data is the node's mode, for `devnode` (the class invariant).
        // SAFETY: The class is live (we hold it); `devt` is ours; the format takes one string.
        let node = unsafe {
            bindings::device_create(
                class.ptr,
                ptr::null_mut(),
                devt,
                usize::from(class.mode) as *mut c_void,
                c"%s".as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        // On failure the drop removes the cdev again (and finds no node to destroy).
        from_err_ptr(node)?;
        Ok(device)
    }

    /// The device number.
    pub fn devt(&self) -> u32 {
        self.region.first + self.index
    }

    /// The driver's data for this device.
    pub fn data(&self) -> &T::Data {
        &self.data
    }

    /// Recovers the device from the `cdev` of an inode being opened.
    ///
    /// # Safety
    ///
    /// `cdev` must be the `core.cdev` of a `CharDevice<T>` (true for any inode whose `i_cdev`
    /// uses `FopsVTable::<T>`), and the caller must hold a reference on that cdev; the device
    /// lives at least until that reference is put.
    pub(crate) unsafe fn from_cdev<'a>(cdev: *mut bindings::cdev) -> &'a Self {
        let cdev = Opaque::cast_from(cdev);
        // SAFETY: By the contract above `cdev` is the `cdev` field of a `CdevCore` ...
        let core = unsafe { kernel::container_of!(cdev, CdevCore, cdev) };
        // SAFETY: ... which is the `core` field of a `CharDevice<T>`, alive because the cdev
        // reference held by the caller keeps `anchor` and so `released` from completing.
        unsafe { &*kernel::container_of!(core, Self, core) }
    }

    /// Removes the node and the cdev, without waiting: new opens fail from now on. The drop
    /// waits for the files that are still open; [`DeviceFamily`] starts the removal of all its
    /// devices first, so that their (possibly delayed) kobject releases overlap.
    fn start_removal(self: Pin<&mut Self>) {
        if self.removing {
            return;
        }
        // SAFETY: By the type invariants any node for this number in `class` is ours, and the
        // cdev is added; `removing` makes this the only removal.
        unsafe {
            bindings::device_destroy(self.class.ptr, self.devt());
            self.core.start_removal();
        }
        *self.project().removing = true;
    }
}

#[pinned_drop]
impl<T: FileOperations> PinnedDrop for CharDevice<T> {
    fn drop(mut self: Pin<&mut Self>) {
        self.as_mut().start_removal();
        // Bounded where it matters: at module exit no file of the device is open (each holds
        // a reference on the module, so `rmmod` is refused until the last close), and this
        // waits for the kobject releases only. Only a device dropped while the module stays
        // (a failed init, a test) can wait here for user space to close a file: the files
        // point into `data` and this module's code, so that wait is what makes them safe.
        self.core.released.wait_for_completion();
        // The number is free again; `data` is dropped by the field drops that follow.
        self.region.unclaim(self.index);
    }
}

/// A family of char devices: one region of device numbers and a [`CharDevice`] per minor,
/// all driven by the same [`FileOperations`].
pub struct DeviceFamily<T: FileOperations> {
    devices: KVec<Pin<KBox<CharDevice<T>>>>,
    region: Arc<ChrdevRegion>,
}

impl<T: FileOperations> DeviceFamily<T> {
    /// Creates one device per number of `region`: `/dev/<name(i)>` with data `data(i)`.
    pub fn new(
        region: Arc<ChrdevRegion>,
        class: &Arc<DeviceClass>,
        mut name: impl FnMut(u32) -> Result<CString>,
        mut data: impl FnMut(u32) -> Result<T::Data>,
    ) -> Result<Self> {
        let mut this = Self {
            devices: KVec::with_capacity(region.count() as usize, GFP_KERNEL)?,
            region,
        };
        for i in 0..this.region.count() {
            let device = CharDevice::new(&this.region, i, class, &name(i)?, data(i)?)?;
            this.devices.push(device, GFP_KERNEL)?;
        }
        Ok(this)
    }

    /// Removes every node and cdev now: no new open finds them, files still open keep working
    /// until they close. Dropping waits for those; a module with several families calls this
    /// on each of them first, so that all of their waits overlap.
    pub fn remove(&mut self) {
        for device in self.devices.iter_mut() {
            device.as_mut().start_removal();
        }
    }

    /// The region of device numbers.
    pub fn region(&self) -> &ChrdevRegion {
        &self.region
    }

    /// The devices, in minor number order.
    pub fn devices(&self) -> impl Iterator<Item = &CharDevice<T>> {
        self.devices.iter().map(|d| &**d)
    }
}

impl<T: FileOperations> Drop for DeviceFamily<T> {
    fn drop(&mut self) {
        // Remove every device first, then wait for each (the field drop): the waits overlap,
        // so unloading takes one device's kobject release delay, not the sum of them all.
        self.remove();
    }
}
