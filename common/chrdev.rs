// SPDX-License-Identifier: GPL-2.0

//! Char devices: a region of device numbers, a device class for the /dev nodes, and one `cdev`
//! per minor whose `file_operations` come from a [`FileOperations`] implementation.
//!
//! C headers: [`include/linux/cdev.h`](srctree/include/linux/cdev.h),
//! [`include/linux/fs.h`](srctree/include/linux/fs.h).

use super::fops::{FileOperations, FopsVTable};
use core::{ffi::c_void, mem, ptr};
use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    prelude::*,
    str::{CStr, CString},
    sync::{Arc, Completion},
    types::Opaque,
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
/// # Invariants
///
/// `first .. first + count` is registered with the kernel (by `alloc_chrdev_region` or
/// `register_chrdev_region`) until this value is dropped, which unregisters it exactly once.
pub struct ChrdevRegion {
    first: u32,
    count: u32,
}

impl ChrdevRegion {
    /// Reserves `count` device numbers starting at minor `first_minor`: under a dynamically
    /// chosen major when `major` is 0, else under `major` (`EBUSY` if taken).
    pub fn new(name: &'static CStr, major: u32, first_minor: u32, count: u32) -> Result<Self> {
        let max_minor = 1u32 << MINOR_BITS;
        if count == 0
            || major >= 1 << (32 - MINOR_BITS)
            || first_minor
                .checked_add(count)
                .is_none_or(|end| end > max_minor)
        {
            return Err(EINVAL);
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
        // INVARIANT: the range was registered just above.
        Ok(Self { first, count })
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

/// Release function of [`CharDevice::anchor`]: signals `released`.
///
/// # Safety
///
/// `kobj` must be the `anchor` of a live [`CharDevice`] whose last reference was just put.
unsafe extern "C" fn anchor_release(kobj: *mut bindings::kobject) {
    // SAFETY: By the contract above `kobj` points at the `anchor` field of a `CdevCore`.
    let core = unsafe { kernel::container_of!(Opaque::cast_from(kobj), CdevCore, anchor) };
    // SAFETY: The `CdevCore` is alive: its owner waits on `released` before freeing it.
    unsafe { (*core).released.complete_all() };
}

/// The `kobj_type` of [`CdevCore::anchor`]: nothing but a release function.
const ANCHOR_KTYPE: bindings::kobj_type = bindings::kobj_type {
    release: Some(anchor_release),
    // SAFETY: All other fields of `kobj_type` are pointers for which NULL means "none".
    ..unsafe { mem::zeroed() }
};

/// The kernel-facing part of a [`CharDevice`].
///
/// The cdev's kobject is reference counted by the kernel: each open file holds it, so it can
/// outlive `cdev_del`. Its parent, `anchor`, is held by the cdev until the cdev's last reference
/// is gone; `anchor`'s release then completes `released`. Waiting for `released` therefore waits
/// until the kernel has no pointer left into this memory.
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

/// One char device: a `cdev` bound to one device number, its `/dev` node, and the driver's
/// per-device data that `open` is given.
///
/// # Invariants
///
/// - `core.cdev` was added with `cdev_add` under `devt`, with `ops` =
///   `FopsVTable::<T>::build()` and `kobj.parent` = `core.anchor`, and a device node was made
///   by `device_create` for `devt` in `class`; both are still there while `removed` is false.
/// - `core.anchor` is an initialised kobject; while `removed` is false it holds one reference
///   of ours (put when the cdev is removed).
/// - `data` stays valid until `core.released` completes, which the drop waits for.
#[pin_data(PinnedDrop)]
pub struct CharDevice<T: FileOperations> {
    #[pin]
    core: CdevCore,
    devt: u32,
    class: Arc<DeviceClass>,
    /// Whether the node and the cdev are removed already (by [`Chrdev`]'s drop, which removes
    /// all of its devices before it waits for any).
    removed: bool,
    data: T::Data,
}

// SAFETY: The kernel-facing part may be used from any thread (the cdev and kobject code lock
// themselves); the rest is `T::Data`, which is `Send`, and an `Arc<DeviceClass>`.
unsafe impl<T: FileOperations> Send for CharDevice<T> {}
// SAFETY: No `&self` method touches the kernel-facing part; `T::Data` is `Sync`.
unsafe impl<T: FileOperations> Sync for CharDevice<T> {}

impl<T: FileOperations> CharDevice<T> {
    /// Registers `data` as the device `devt`, with the node `/dev/<name>` in `class`.
    ///
    /// The device is live when this returns: `open` may run at once.
    pub fn new(
        devt: u32,
        class: &Arc<DeviceClass>,
        name: &CStr,
        data: T::Data,
    ) -> Result<Pin<KBox<Self>>> {
        let class = class.clone();
        let class_ptr = class.ptr;
        let node_mode = class.mode;
        let init = move |slot: *mut Self| -> Result {
            // SAFETY: `slot` is valid for writes and pinned (the `pin_init_from_closure`
            // contract). Fields are written before anything can read them: `data` before
            // `cdev_add` makes `open` possible.
            unsafe {
                ptr::addr_of_mut!((*slot).devt).write(devt);
                ptr::addr_of_mut!((*slot).removed).write(false);
                ptr::addr_of_mut!((*slot).data).write(data);
                ptr::addr_of_mut!((*slot).class).write(class);
                let core = ptr::addr_of_mut!((*slot).core);
                let Ok(()) = Completion::new().__init(ptr::addr_of_mut!((*core).released));

                let anchor = Opaque::cast_into(ptr::addr_of!((*core).anchor));
                // `kobject_init` wants zeroed memory.
                ptr::write_bytes(anchor, 0, 1);
                bindings::kobject_init(anchor, &ANCHOR_KTYPE);

                let cdev = Opaque::cast_into(ptr::addr_of!((*core).cdev));
                ptr::write_bytes(cdev, 0, 1);
                bindings::cdev_init(cdev, FopsVTable::<T>::build());
                (*cdev).owner = FopsVTable::<T>::owner();
                bindings::cdev_set_parent(cdev, anchor);

                if let Err(e) = to_result(bindings::cdev_add(cdev, devt, 1)) {
                    // `cdev_add` took no reference on `anchor` when it failed.
                    bindings::kobject_put(anchor);
                    (*core).released.wait_for_completion();
                    ptr::drop_in_place(ptr::addr_of_mut!((*slot).data));
                    ptr::drop_in_place(ptr::addr_of_mut!((*slot).class));
                    return Err(e);
                }

                // The driver data is the node's mode, for `devnode` (the class invariant).
                let node = bindings::device_create(
                    class_ptr,
                    ptr::null_mut(),
                    devt,
                    usize::from(node_mode) as *mut c_void,
                    c"%s".as_char_ptr(),
                    name.as_char_ptr(),
                );
                if let Err(e) = from_err_ptr(node) {
                    Self::unregister(core);
                    ptr::drop_in_place(ptr::addr_of_mut!((*slot).data));
                    ptr::drop_in_place(ptr::addr_of_mut!((*slot).class));
                    return Err(e);
                }
            }
            Ok(())
        };
        // SAFETY: On `Ok` the closure initialised every field; on `Err` it dropped the ones it
        // had written and left the kernel with no pointer into `slot`.
        let init = unsafe { pin_init::pin_init_from_closure(init) };
        KBox::try_pin_init(init, GFP_KERNEL)
    }

    /// The device number.
    pub fn devt(&self) -> u32 {
        self.devt
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
    /// uses `FopsVTable::<T>`), and the caller must hold a reference on that cdev.
    pub(crate) unsafe fn from_cdev<'a>(cdev: *mut bindings::cdev) -> &'a Self {
        let cdev = Opaque::cast_from(cdev);
        // SAFETY: By the contract above `cdev` is the `cdev` field of a `CdevCore` ...
        let core = unsafe { kernel::container_of!(cdev, CdevCore, cdev) };
        // SAFETY: ... which is the `core` field of a `CharDevice<T>`, alive because the cdev
        // reference held by the caller keeps `anchor` and so `released` from completing.
        unsafe { &*kernel::container_of!(core, Self, core) }
    }

    /// Removes the cdev: no new open finds it; files still open keep it until they close.
    ///
    /// # Safety
    ///
    /// `core` must have been added with `cdev_add` and not removed since.
    unsafe fn remove_cdev(core: *mut CdevCore) {
        // SAFETY: By the contract above the cdev is added; `anchor` holds our reference.
        unsafe {
            bindings::cdev_del(Opaque::cast_into(ptr::addr_of!((*core).cdev)));
            bindings::kobject_put(Opaque::cast_into(ptr::addr_of!((*core).anchor)));
        }
    }

    /// Removes the cdev and waits until no file refers to it any more.
    ///
    /// # Safety
    ///
    /// `core` must have been added with `cdev_add` and not removed since.
    unsafe fn unregister(core: *mut CdevCore) {
        // SAFETY: By the contract above.
        unsafe {
            Self::remove_cdev(core);
            (*core).released.wait_for_completion();
        }
    }

    /// Removes the `/dev` node and the cdev, without waiting for open files (see [`Chrdev`]).
    fn remove(self: Pin<&mut Self>) {
        // SAFETY: `removed` is not structurally pinned; nothing is moved out.
        let this = unsafe { self.get_unchecked_mut() };
        if this.removed {
            return;
        }
        this.removed = true;
        // SAFETY: By the type invariants `node` was created for `devt` in `class` and the cdev
        // is added; `removed` was false, so neither was removed before, and it is true now,
        // so neither will be again.
        unsafe {
            bindings::device_destroy(this.class.ptr, this.devt);
            Self::remove_cdev(ptr::addr_of_mut!(this.core));
        }
    }
}

#[pinned_drop]
impl<T: FileOperations> PinnedDrop for CharDevice<T> {
    fn drop(mut self: Pin<&mut Self>) {
        self.as_mut().remove();
        // Only once `released` completes is `data` dropped (by the field drops that follow
        // this function): no open file points into this device then.
        self.core.released.wait_for_completion();
    }
}

/// A family of char devices: one region of device numbers and a [`CharDevice`] per minor,
/// all driven by the same [`FileOperations`].
///
/// Dropping it removes every node and cdev first and only then waits for each to be released,
/// so the waits overlap: unloading takes one release delay, not one per device (with
/// `CONFIG_DEBUG_KOBJECT_RELEASE` every kobject release is delayed by 1 to 4 s).
pub struct Chrdev<T: FileOperations> {
    // Declared first so that it is dropped first: no cdev may outlive its numbers.
    devices: KVec<Pin<KBox<CharDevice<T>>>>,
    region: ChrdevRegion,
}

impl<T: FileOperations> Drop for Chrdev<T> {
    fn drop(&mut self) {
        self.remove();
        // The fields' drops then wait for each device in turn.
    }
}

impl<T: FileOperations> Chrdev<T> {
    /// Creates one device per number of `region`: `/dev/<name(i)>` with data `data(i)`.
    pub fn new(
        region: ChrdevRegion,
        class: &Arc<DeviceClass>,
        mut name: impl FnMut(u32) -> Result<CString>,
        mut data: impl FnMut(u32) -> Result<T::Data>,
    ) -> Result<Self> {
        let mut devices = KVec::with_capacity(region.count() as usize, GFP_KERNEL)?;
        for i in 0..region.count() {
            let devt = region.devt(i).ok_or(EINVAL)?;
            devices.push(
                CharDevice::new(devt, class, &name(i)?, data(i)?)?,
                GFP_KERNEL,
            )?;
        }
        Ok(Self { devices, region })
    }

    /// Removes every node and cdev now: no new open finds them, files still open keep working
    /// until they close. Dropping waits for those; a module with several families calls this
    /// on each of them first, so that all the waits overlap.
    pub fn remove(&mut self) {
        for device in self.devices.iter_mut() {
            device.as_mut().remove();
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
