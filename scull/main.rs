// SPDX-License-Identifier: GPL-2.0

//! scull, the "Simple Character Utility for Loading Localities" of LDD3 chapters 3 and 6:
//! char devices backed by kernel memory.
//!
//! `/dev/scull0` .. `/dev/scull3` keep what is written to them until truncated (by an
//! `O_WRONLY` open) and answer the `'k'` ioctls that tune the block geometry. The other
//! devices: `scullpipe0..3` (`pipe.rs`), `scullsingle`, `sculluid`, `scullwuid` and
//! `scullpriv` (`access.rs`); the /proc files are in `proc.rs`, the memory in `storage.rs`.
//!
//! ```sh
//! insmod scull.ko                                  # scull_quantum=4000 scull_qset=1000 ...
//! echo hello > /dev/scull0; cat /dev/scull0        # hello
//! cat /dev/scullpipe0 & echo hi > /dev/scullpipe0  # hi
//! cat /proc/scullmem
//! ```
//!
//! ```c
//! #include <ldd3/scull.h>                          /* include/uapi/ldd3/scull.h */
//! int fd = open("/dev/scull0", O_RDWR);
//! int quantum = ioctl(fd, SCULL_IOCQQUANTUM);      /* 4000 */
//! ioctl(fd, SCULL_IOCTQUANTUM, 64);                /* root: the next truncation uses 64 */
//! ```

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
    new_mutex,
    prelude::*,
    str::CString,
    sync::{
        Arc,
        ArcBorrow,
        Mutex, //
    },
};

mod access;
#[allow(unsafe_code)]
#[path = "../common/lib.rs"]
pub mod common;
mod pipe;
mod proc;
mod storage;

use access::{
    AccessDev,
    AccessFile,
    Policy, //
};
use common::procfs::ProcEntry;
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
        SettingIoctls,
        SettingOp, //
    },
    sync::lock_interruptible,
    uapi::*,
    usercopy::{
        self,
        UserReader,
        UserWriter, //
    }, //
};
use pipe::{
    PipeFile,
    ScullPipe, //
};
use proc::{
    DeviceList,
    PipeList, //
};
use storage::Storage;

module! {
    type: ScullModule,
    name: "scull",
    authors: ["The ldd3-rust authors"],
    description: "LDD3 scull: char devices backed by kernel memory",
    license: "GPL",
    params: {
        scull_major: i32 {
            default: 0,
            description: "Major number (0: dynamic)",
        },
        scull_minor: i32 {
            default: 0,
            description: "First minor number",
        },
        scull_nr_devs: i32 {
            default: 4,
            description: "Number of scull devices",
        },
        scull_quantum: i32 {
            default: 4000,
            description: "Bytes per block (1..=1048576)",
        },
        scull_qset: i32 {
            default: 1000,
            description: "Blocks per list item (1..=65536)",
        },
        scull_p_nr_devs: i32 {
            default: 4,
            description: "Number of scullpipe devices",
        },
        scull_p_buffer: i32 {
            default: 4000,
            description: "scullpipe buffer size in bytes (2..=1048576)",
        },
        scull_max_size: i64 {
            default: 64 << 20,
            description: "Bytes a device can hold; writes past it fail with EFBIG",
        },
        scull_priv_max: i32 {
            default: 64,
            description: "scullpriv devices at most, one per controlling terminal (1..=4096)",
        },
        scull_mode: u16 {
            default: 0o666,
            description: "Permission bits of the /dev nodes (default 0666: any user)",
        },
    },
}

/// Bounds of the quantum; larger blocks would make single allocations unreasonably big.
const QUANTUM_RANGE: (i32, i32) = (1, 1 << 20);
/// Bounds of the qset.
const QSET_RANGE: (i32, i32) = (1, 1 << 16);
/// Bounds of the scullpipe buffer size (its capacity is one byte less).
const PIPE_BUFFER_RANGE: (i32, i32) = (2, 1 << 20);

static QUANTUM: Setting = Setting::new(QUANTUM_RANGE.0, QUANTUM_RANGE.1);
/// S, T, G, Q, X and H of the quantum.
const QUANTUM_IOCTLS: SettingIoctls = [
    SCULL_IOCSQUANTUM,
    SCULL_IOCTQUANTUM,
    SCULL_IOCGQUANTUM,
    SCULL_IOCQQUANTUM,
    SCULL_IOCXQUANTUM,
    SCULL_IOCHQUANTUM,
];
/// S, T, G, Q, X and H of the qset.
const QSET_IOCTLS: SettingIoctls = [
    SCULL_IOCSQSET,
    SCULL_IOCTQSET,
    SCULL_IOCGQSET,
    SCULL_IOCQQSET,
    SCULL_IOCXQSET,
    SCULL_IOCHQSET,
];
static QSET: Setting = Setting::new(QSET_RANGE.0, QSET_RANGE.1);
static PIPE_BUFFER: Setting = Setting::new(PIPE_BUFFER_RANGE.0, PIPE_BUFFER_RANGE.1);

/// The current geometry, for a device being truncated.
fn geometry() -> Result<Geometry> {
    // Both settings are always within their (positive) ranges: never `EINVAL`.
    Geometry::new(QUANTUM.get() as usize, QSET.get() as usize)
}

/// The buffer size a scullpipe takes when opened empty.
fn pipe_buffer_size() -> usize {
    // Always within its (positive) range.
    PIPE_BUFFER.get() as usize
}

/// One scull device.
#[pin_data]
struct ScullDev {
    #[pin]
    storage: Mutex<Storage>,
}

impl ScullDev {
    fn new(max_size: usize) -> Result<Arc<Self>> {
        let geometry = geometry()?;
        Arc::pin_init(
            pin_init!(Self {
                storage <- new_mutex!(Storage::new(geometry, max_size)),
            }),
            GFP_KERNEL,
        )
    }

    /// Opening write-only truncates the device, as for a regular file, and gives it the
    /// current geometry.
    fn truncate_if_write_only(&self, file: &File) -> Result {
        if file.flags() & flags::O_ACCMODE == flags::O_WRONLY {
            let geometry = geometry()?;
            lock_interruptible(&self.storage)?.trim(geometry);
        }
        Ok(())
    }

    /// C: `scull_read`. The device is locked only to find each quantum, not while user
    /// memory is touched (see `common::usercopy`).
    fn read(&self, buf: &mut UserWriter, pos: &mut Offset) -> Result<usize> {
        let start = usize::try_from(*pos).map_err(|_| EINVAL)?;
        let done = usercopy::read_pieces(buf, start, || lock_interruptible(&self.storage))?;
        *pos += done as Offset;
        Ok(done)
    }

    /// C: `scull_write`: each quantum is found under the lock and filled there when the
    /// user's bytes are at hand, else with the lock dropped (see `usercopy::write_pieces`).
    fn write(&self, buf: &mut UserReader, pos: &mut Offset) -> Result<usize> {
        let start = usize::try_from(*pos).map_err(|_| EINVAL)?;
        let done = usercopy::write_pieces(
            buf,
            start,
            || lock_interruptible(&self.storage),
            || self.storage.lock(),
        )?;
        *pos += done as Offset;
        Ok(done)
    }

    /// C: `scull_llseek`.
    fn seek(&self, whence: SeekFrom, current: Offset) -> Result<Offset> {
        let size = lock_interruptible(&self.storage)?.size() as Offset;
        whence.resolve(current, size)
    }
}

/// The file operations of scull0..3.
struct ScullFile;

#[vtable]
impl FileOperations for ScullFile {
    type Data = Arc<ScullDev>;
    type Ptr = Arc<ScullDev>;

    /// C: `scull_open`: a write-only open truncates.
    fn open(dev: &Arc<ScullDev>, file: &File) -> Result<Arc<ScullDev>> {
        dev.truncate_if_write_only(file)?;
        Ok(dev.clone())
    }

    /// C: `scull_read` (see [`ScullDev::read`]).
    fn read(
        dev: ArcBorrow<'_, ScullDev>,
        _file: &LocalFile,
        buf: &mut UserWriter,
        pos: &mut Offset,
    ) -> Result<usize> {
        dev.read(buf, pos)
    }

    /// C: `scull_write` (see [`ScullDev::write`]).
    fn write(
        dev: ArcBorrow<'_, ScullDev>,
        _file: &LocalFile,
        buf: &mut UserReader,
        pos: &mut Offset,
    ) -> Result<usize> {
        dev.write(buf, pos)
    }

    /// C: `scull_llseek`.
    fn llseek(
        dev: ArcBorrow<'_, ScullDev>,
        _file: &LocalFile,
        whence: SeekFrom,
        current: Offset,
    ) -> Result<Offset> {
        dev.seek(whence, current)
    }

    /// C: `scull_ioctl`.
    fn ioctl(_dev: ArcBorrow<'_, ScullDev>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        scull_ioctl(cmd, arg)
    }
}

/// The `'k'` ioctls of `<ldd3/scull.h>`, shared by every scull device: they read and change the module-wide
/// settings.
fn scull_ioctl(cmd: u32, arg: usize) -> Result<isize> {
    if _IOC_TYPE(cmd) != u32::from(SCULL_IOC_MAGIC) || _IOC_NR(cmd) > SCULL_IOC_MAXNR {
        return Err(ENOTTY);
    }
    match cmd {
        SCULL_IOCRESET => {
            require_admin()?;
            QUANTUM.replace(module_parameters::scull_quantum.value().into())?;
            QSET.replace(module_parameters::scull_qset.value().into())?;
            Ok(0)
        }
        SCULL_P_IOCTSIZE => PIPE_BUFFER.ioctl(SettingOp::Tell, arg),
        SCULL_P_IOCQSIZE => PIPE_BUFFER.ioctl(SettingOp::Query, arg),
        _ => settings_ioctl(
            cmd,
            arg,
            &[(&QUANTUM, QUANTUM_IOCTLS), (&QSET, QSET_IOCTLS)],
        ),
    }
}

/// The loaded module: the device class, the devices and their /proc files.
struct ScullModule {
    // The /proc files go first: they refer to the devices.
    _scullmem: ProcEntry<DeviceList>,
    _scullseq: ProcEntry<DeviceList>,
    _scullpipe: ProcEntry<PipeList>,
    devices: DeviceFamily<ScullFile>,
    pipes: DeviceFamily<PipeFile>,
    access: DeviceFamily<AccessFile>,
    _class: Arc<DeviceClass>,
}

/// The data of every device of `family`, for the /proc files.
fn collect<T: FileOperations<Data = Arc<D>>, D>(family: &DeviceFamily<T>) -> Result<KVec<Arc<D>>> {
    let mut all = KVec::with_capacity(family.region().count() as usize, GFP_KERNEL)?;
    for device in family.devices() {
        all.push(device.data().clone(), GFP_KERNEL)?;
    }
    Ok(all)
}

impl kernel::Module for ScullModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let major = param_count(
            "scull_major",
            module_parameters::scull_major.value(),
            0..=4095,
        )?;
        let minor = param_count(
            "scull_minor",
            module_parameters::scull_minor.value(),
            0..=(1 << 20) - 1,
        )?;
        let nr_devs = param_count(
            "scull_nr_devs",
            module_parameters::scull_nr_devs.value(),
            1..=256,
        )?;
        let nr_pipes = param_count(
            "scull_p_nr_devs",
            module_parameters::scull_p_nr_devs.value(),
            1..=256,
        )?;
        let priv_max = param_count(
            "scull_priv_max",
            module_parameters::scull_priv_max.value(),
            1..=4096,
        )?;
        let max_size = param_size("scull_max_size", module_parameters::scull_max_size.value())?;
        QUANTUM.replace(module_parameters::scull_quantum.value().into())?;
        QSET.replace(module_parameters::scull_qset.value().into())?;
        PIPE_BUFFER.replace(module_parameters::scull_p_buffer.value().into())?;

        let class = DeviceClass::new(c"scull", module_parameters::scull_mode.value())?;
        let region = ChrdevRegion::new(c"scull", major, minor, nr_devs)?;
        let devices = DeviceFamily::new(
            region,
            &class,
            |i| CString::try_from_fmt(fmt!("scull{i}")),
            |_| ScullDev::new(max_size),
        )?;
        // The pipes take the minors after scull0..N, under the same major.
        let major = devices.region().major();
        let region = ChrdevRegion::new(c"scullp", major, minor + nr_devs, nr_pipes)?;
        let pipes = DeviceFamily::new(
            region,
            &class,
            |i| CString::try_from_fmt(fmt!("scullpipe{i}")),
            |_| ScullPipe::new(),
        )?;
        // Then scullsingle, sculluid, scullwuid and scullpriv.
        const ACCESS: [(&CStr, Policy); 4] = [
            (c"scullsingle", Policy::Single),
            (c"sculluid", Policy::Uid),
            (c"scullwuid", Policy::WaitUid),
            (c"scullpriv", Policy::Private),
        ];
        let region = ChrdevRegion::new(c"sculla", major, minor + nr_devs + nr_pipes, 4)?;
        let access = DeviceFamily::new(
            region,
            &class,
            |i| CString::try_from_fmt(fmt!("{}", ACCESS[i as usize].0)),
            |i| AccessDev::new(ACCESS[i as usize].1, max_size, priv_max as usize),
        )?;
        let scullmem = ProcEntry::new(
            c"scullmem",
            Arc::new(DeviceList::single_record(collect(&devices)?), GFP_KERNEL)?,
        )?;
        let scullseq = ProcEntry::new(
            c"scullseq",
            Arc::new(
                DeviceList::record_per_device(collect(&devices)?),
                GFP_KERNEL,
            )?,
        )?;
        let scullpipe = ProcEntry::new(
            c"scullpipe",
            Arc::new(PipeList::new(collect(&pipes)?), GFP_KERNEL)?,
        )?;

        pr_info!("major {major}, {nr_devs} devices, {nr_pipes} pipes\n");
        Ok(Self {
            _scullmem: scullmem,
            _scullseq: scullseq,
            _scullpipe: scullpipe,
            devices,
            pipes,
            access,
            _class: class,
        })
    }
}

impl Drop for ScullModule {
    /// C: `scull_cleanup_module`. The three families go away together: each removes its
    /// devices at once, and the field drops then wait for their release in one stretch.
    fn drop(&mut self) {
        self.devices.remove();
        self.pipes.remove();
        self.access.remove();
    }
}
