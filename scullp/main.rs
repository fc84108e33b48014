// SPDX-License-Identifier: GPL-2.0

//! scullp, LDD3 chapter 15: scull whose blocks are whole (zeroed) pages, and which can be
//! mapped into user space.
//!
//! `/dev/scullp0` .. `/dev/scullp3` behave as scull0..3 (read, write, llseek, truncation by an
//! `O_WRONLY` open), answer the `'K'` ioctls for the page order and the qset, and support
//! `mmap`: pages are supplied on demand by a fault handler, which also maps the present
//! neighbours of the faulting page in the same fault (fault-around).
//!
//! ```sh
//! insmod scullp.ko                                 # scullp_order=0 scullp_qset=500 ...
//! dd if=/dev/urandom of=/dev/scullp0 bs=4096 count=64
//! ldd3test mapcmp /dev/scullp0                     # mmap it, compare with read()
//! ```
//!
//! ```c
//! #include <ldd3/scullp.h>                         /* include/uapi/ldd3/scullp.h */
//! int fd = open("/dev/scullp0", O_RDWR);
//! char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
//! p[0] = 'x';                                      /* read(fd, ..) at 0 now sees 'x' */
//! ioctl(fd, SCULLP_IOCQORDER);                     /* 0: one page per block */
//! ```
//!
//! Locking, and how it differs from the book:
//! - The fault handler runs with the VMA read-locked (`mmap_lock` or the per-VMA lock) and
//!   takes the device mutex. So the device mutex is never held while user memory is
//!   accessed: `read` finds a block under the mutex, takes a reference on it, drops the
//!   mutex, then copies from its pages to user space (and `write` the other way round), as
//!   the page cache does with its folios. A `read` into a buffer that is a mapping of the same
//!   device therefore faults with no lock of ours held: no ABBA between `mmap_lock` and the
//!   device lock, no deadlock.
//! - A fault past the end or in a hole is `SIGBUS` (the book returned NOPAGE with nothing
//!   mapped, and the access retried forever).
//! - Mappings of any order work: blocks are compound pages (`__GFP_COMP`), whose tail pages
//!   `vm_insert_page` accepts (the book refused mapping with `ENODEV` when the order was not 0).
//! - Truncation (`O_WRONLY` open) is refused with `EBUSY` while any mapping exists; the live
//!   VMAs are counted by the vm `open`/`close` operations (the new mapping and the copies made
//!   by fork, split or mremap, and removal).

#![deny(unsafe_code)]

use kernel::{
    fs::{
        file::{
            flags,
            Offset, //
        },
        File,
        LocalFile, //
    },
    ioctl::{
        _IOC_NR,
        _IOC_TYPE, //
    },
    mm::virt::{
        VmaNew,
        VmaRef, //
    },
    new_mutex,
    prelude::*,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        ArcBorrow,
        Mutex, //
    },
};

#[allow(unsafe_code)]
#[path = "../common/lib.rs"]
pub mod common;
mod storage;

use common::{
    chrdev::{
        ChrdevRegion,
        DeviceClass,
        DeviceFamily, //
    },
    fops::{
        FileOperations,
        SeekFrom, //
    },
    qset::Geometry,
    settings::{
        param_count,
        param_size,
        require_admin,
        settings_ioctl,
        Setting,
        SettingIoctls, //
    },
    sync::lock_interruptible,
    uapi::*,
    usercopy::{
        self,
        BlockReads,
        BlockWrites,
        ReadPiece,
        UserReader,
        UserWriter,
        WritePiece,
        Written, //
    },
    vm::{
        FaultError,
        VmFault,
        VmMapping,
        VmOperations,
        MAX_ORDER, //
    }, //
};
use storage::{
    page_at,
    Block,
    Storage, //
};

module! {
    type: ScullpModule,
    name: "scullp",
    authors: ["The ldd3-rust authors"],
    description: "LDD3 scullp: page-backed scull devices that can be mapped",
    license: "GPL",
    params: {
        scullp_major: i32 {
            default: 0,
            description: "Major number (0: dynamic)",
        },
        scullp_devs: i32 {
            default: 4,
            description: "Number of scullp devices",
        },
        scullp_qset: i32 {
            default: 500,
            description: "Blocks per list item (1..=65536)",
        },
        scullp_order: i32 {
            default: 0,
            description: "Page order of a block (0..=10): a block is PAGE_SIZE << order bytes",
        },
        scullp_fault_around: i32 {
            default: 16,
            description: "Pages mapped per fault at most (1, 2, 4, 8 or 16; 1: no fault-around)",
        },
        scullp_max_size: i64 {
            default: 128 << 20,
            description: "Bytes a device can hold; writes past it fail with EFBIG",
        },
        scullp_mode: u16 {
            default: 0o666,
            description: "Permission bits of the /dev nodes (default 0666: any user)",
        },
    },
}

/// Bounds of the order (the page allocator's `MAX_PAGE_ORDER`).
const ORDER_RANGE: (i32, i32) = (0, MAX_ORDER as i32);
/// Bounds of the qset.
const QSET_RANGE: (i32, i32) = (1, 1 << 16);

/// Pages mapped per fault at most: the faulting one and its present neighbours in the aligned
/// group of this many pages (the page cache's default `fault_around_bytes`, 64 KiB). The
/// `scullp_fault_around` parameter may lower it (the bench compares).
const FAULT_AROUND: usize = 16;

/// The fault-around group size in use (a power of two up to [`FAULT_AROUND`]).
static FAULT_AROUND_PAGES: Atomic<i32> = Atomic::new(FAULT_AROUND as i32);

static ORDER: Setting = Setting::new(ORDER_RANGE.0, ORDER_RANGE.1);
static QSET: Setting = Setting::new(QSET_RANGE.0, QSET_RANGE.1);
/// S, T, G, Q, X and H of the order.
const ORDER_IOCTLS: SettingIoctls = [
    SCULLP_IOCSORDER,
    SCULLP_IOCTORDER,
    SCULLP_IOCGORDER,
    SCULLP_IOCQORDER,
    SCULLP_IOCXORDER,
    SCULLP_IOCHORDER,
];
/// S, T, G, Q, X and H of the qset.
const QSET_IOCTLS: SettingIoctls = [
    SCULLP_IOCSQSET,
    SCULLP_IOCTQSET,
    SCULLP_IOCGQSET,
    SCULLP_IOCQQSET,
    SCULLP_IOCXQSET,
    SCULLP_IOCHQSET,
];

/// The current geometry for a device being truncated.
fn geometry() -> Result<Geometry> {
    // Both settings are always within their (non-negative) ranges.
    storage::geometry(ORDER.get() as u32, QSET.get() as usize)
}

/// What the device mutex protects.
struct Inner {
    storage: Storage,
    /// Live VMAs mapping the device.
    vmas: usize,
}

/// A read comes from the storage.
impl BlockReads for Inner {
    type Block = Block;

    fn read_at_hand(&self, pos: usize, out: &mut UserWriter) -> Result<usize> {
        self.storage.read_at_hand(pos, out)
    }

    fn read_piece(&self, pos: usize, max: usize) -> ReadPiece<Block> {
        self.storage.read_piece(pos, max)
    }
}

/// A write goes to the storage.
impl BlockWrites for Inner {
    type Block = Block;

    fn write_at_hand(&mut self, pos: usize, input: &mut UserReader) -> Result<usize> {
        self.storage.write_at_hand(pos, input)
    }

    fn write_piece(&mut self, pos: usize, max: usize) -> Result<WritePiece<Block>> {
        self.storage.write_piece(pos, max)
    }

    fn stored(&mut self, written: Written<Block>, end: usize) -> bool {
        self.storage.stored(written, end)
    }
}

/// One scullp device.
#[pin_data]
struct ScullpDev {
    #[pin]
    inner: Mutex<Inner>,
}

impl ScullpDev {
    fn new(max_size: usize) -> Result<Arc<Self>> {
        let storage = Storage::new(geometry()?, max_size);
        Arc::pin_init(
            pin_init!(Self {
                inner <- new_mutex!(Inner {
                    storage,
                    vmas: 0,
                }),
            }),
            GFP_KERNEL,
        )
    }

    /// Opening write-only truncates the device and gives it the current geometry; refused
    /// with `EBUSY` while the device is mapped (the mappings would go on showing freed data).
    fn truncate_if_write_only(&self, file: &File) -> Result {
        if file.flags() & flags::O_ACCMODE != flags::O_WRONLY {
            return Ok(());
        }
        let mut inner = lock_interruptible(&self.inner)?;
        if inner.vmas > 0 {
            return Err(EBUSY);
        }
        inner.storage.trim(geometry()?);
        Ok(())
    }

    fn size(&self) -> Result<usize> {
        Ok(lock_interruptible(&self.inner)?.storage.size())
    }
}

#[vtable]
impl VmOperations for ScullpDev {
    /// C: `scullp_vma_open`.
    fn open(&self, _vma: &VmaRef) {
        self.inner.lock().vmas += 1;
    }

    /// C: `scullp_vma_close`.
    fn close(&self, _vma: &VmaRef) {
        let mut inner = self.inner.lock();
        inner.vmas = inner.vmas.saturating_sub(1);
    }

    /// C: `scullp_vma_nopage`. Maps the page at the fault's offset, and its present
    /// neighbours with it (fault-around). The mutex is held while inserting, so no block can
    /// be freed under us (and truncation is refused while mapped anyway); each PTE takes its
    /// own page reference.
    fn fault(&self, vmf: &VmFault<'_>) -> Result<(), FaultError> {
        let inner = self.inner.lock();
        let page = |pgoff| page_at(&inner.storage, pgoff);
        // Past the end or in a hole nothing may be mapped: SIGBUS (the book's NOPAGE_SIGBUS).
        if page(vmf.pgoff()).is_none() {
            return Err(FaultError::SigBus);
        }
        vmf.insert_around(FAULT_AROUND_PAGES.load(Relaxed) as usize, page);
        Ok(())
    }
}

/// The file operations of scullp0..3.
struct ScullpFile;

#[vtable]
impl FileOperations for ScullpFile {
    type Data = Arc<ScullpDev>;
    type Ptr = Arc<ScullpDev>;

    /// C: `scullp_open`: a write-only open truncates, unless mapped.
    fn open(dev: &Arc<ScullpDev>, file: &File) -> Result<Arc<ScullpDev>> {
        dev.truncate_if_write_only(file)?;
        Ok(dev.clone())
    }

    /// C: `scullp_read`. The device is locked only to find each block, not while user memory
    /// is touched (see `common::usercopy` and the module documentation for why).
    fn read(
        dev: ArcBorrow<'_, ScullpDev>,
        _file: &LocalFile,
        buf: &mut UserWriter,
        pos: &mut Offset,
    ) -> Result<usize> {
        let start = usize::try_from(*pos).map_err(|_| EINVAL)?;
        let done = usercopy::read_pieces(buf, start, || lock_interruptible(&dev.inner))?;
        *pos += done as Offset;
        Ok(done)
    }

    /// C: `scullp_write`: each block is found under the lock and filled there when the
    /// user's bytes are at hand, else with the lock dropped (see `usercopy::write_pieces`).
    fn write(
        dev: ArcBorrow<'_, ScullpDev>,
        _file: &LocalFile,
        buf: &mut UserReader,
        pos: &mut Offset,
    ) -> Result<usize> {
        let start = usize::try_from(*pos).map_err(|_| EINVAL)?;
        let done = usercopy::write_pieces(
            buf,
            start,
            || lock_interruptible(&dev.inner),
            || dev.inner.lock(),
        )?;
        *pos += done as Offset;
        Ok(done)
    }

    /// C: `scullp_llseek`.
    fn llseek(
        dev: ArcBorrow<'_, ScullpDev>,
        _file: &LocalFile,
        whence: SeekFrom,
        current: Offset,
    ) -> Result<Offset> {
        whence.resolve(current, dev.size()? as Offset)
    }

    /// C: `scullp_ioctl`.
    fn ioctl(_dev: ArcBorrow<'_, ScullpDev>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        scullp_ioctl(cmd, arg)
    }

    /// C: `scullp_mmap`. Any order can be mapped. The VMA may not grow by mremap (`VM_DONTEXPAND`);
    /// `VM_MIXEDMAP` is set by the installation of the fault handler, whose `open` counts
    /// the new mapping.
    fn mmap(dev: ArcBorrow<'_, ScullpDev>, _file: &File, vma: &VmaNew) -> Result<VmMapping> {
        vma.set_dontexpand();
        Ok(VmMapping::new::<ScullpDev>(dev.into()))
    }
}

/// The `'K'` ioctls of `<ldd3/scullp.h>`, shared by every scullp device: they read and change
/// the module-wide order and qset.
fn scullp_ioctl(cmd: u32, arg: usize) -> Result<isize> {
    if _IOC_TYPE(cmd) != u32::from(SCULLP_IOC_MAGIC) || _IOC_NR(cmd) > SCULLP_IOC_MAXNR {
        return Err(ENOTTY);
    }
    if cmd == SCULLP_IOCRESET {
        require_admin()?;
        ORDER.replace(module_parameters::scullp_order.value().into())?;
        QSET.replace(module_parameters::scullp_qset.value().into())?;
        return Ok(0);
    }
    settings_ioctl(cmd, arg, &[(&ORDER, ORDER_IOCTLS), (&QSET, QSET_IOCTLS)])
}

/// The loaded module: the device class and the devices.
struct ScullpModule {
    _devices: DeviceFamily<ScullpFile>,
    _class: Arc<DeviceClass>,
}

impl kernel::Module for ScullpModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let major = param_count(
            "scullp_major",
            module_parameters::scullp_major.value(),
            0..=4095,
        )?;
        let devs = param_count(
            "scullp_devs",
            module_parameters::scullp_devs.value(),
            1..=256,
        )?;
        let max_size = param_size(
            "scullp_max_size",
            module_parameters::scullp_max_size.value(),
        )?;
        ORDER.replace(module_parameters::scullp_order.value().into())?;
        QSET.replace(module_parameters::scullp_qset.value().into())?;
        let around = param_count(
            "scullp_fault_around",
            module_parameters::scullp_fault_around.value(),
            0..=FAULT_AROUND as u32,
        )?;
        if !around.is_power_of_two() {
            return Err(EINVAL);
        }
        FAULT_AROUND_PAGES.store(around as i32, Relaxed);

        let class = DeviceClass::new(c"scullp", module_parameters::scullp_mode.value())?;
        let region = ChrdevRegion::new(c"scullp", major, 0, devs)?;
        let devices = DeviceFamily::new(
            region,
            &class,
            |i| CString::try_from_fmt(fmt!("scullp{i}")),
            |_| ScullpDev::new(max_size),
        )?;
        pr_info!(
            "major {}, {devs} devices, order {}, qset {}\n",
            devices.region().major(),
            ORDER.get(),
            QSET.get()
        );
        Ok(Self {
            _devices: devices,
            _class: class,
        })
    }
}
