// SPDX-License-Identifier: GPL-2.0

//! The access-controlled scull devices of LDD3 chapter 6 (region `sculla`): each is a scull
//! device whose `open` enforces a policy.
//!
//! - `scullsingle`: one open file at a time; a second open is `EBUSY`.
//! - `sculluid`: open by one user at a time; others get `EBUSY` (unless `CAP_DAC_OVERRIDE`).
//! - `scullwuid`: the same, but others wait for the last close (`EAGAIN` with `O_NONBLOCK`).
//! - `scullpriv`: one private device per controlling terminal; none is `EINVAL`.
//!
//! Unlike the book, `scullpriv` allocates its devices under a mutex, never under a spinlock.

use super::{
    common::{
        capable,
        current_tty,
        fops::FileOperations,
        fops::SeekFrom,
        sync::lock_interruptible,
        usercopy::{
            UserReader,
            UserWriter, //
        }, //
    },
    scull_ioctl,
    ScullDev, //
};
use kernel::{
    bindings,
    fs::{
        file::{
            flags,
            Offset, //
        },
        File,
        LocalFile, //
    },
    new_condvar, new_mutex, new_spinlock,
    prelude::*,
    sync::{
        Arc,
        CondVar,
        Mutex,
        SpinLock, //
    },
    task::Kuid,
};

/// Which policy a device enforces.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    Single,
    Uid,
    WaitUid,
    Private,
}

/// Who holds a single/uid/wuid device.
struct Holder {
    count: u32,
    uid: Option<Kuid>,
}

/// One access-controlled device.
#[pin_data]
pub(crate) struct AccessDev {
    policy: Policy,
    /// The data of single/uid/wuid (scullpriv's live in `private`).
    dev: Arc<ScullDev>,
    #[pin]
    holder: SpinLock<Holder>,
    /// scullwuid openers wait here for the device to be free.
    #[pin]
    freed: CondVar,
    /// scullpriv: the device of each controlling terminal, by its device number.
    #[pin]
    private: Mutex<KVec<(u32, Arc<ScullDev>)>>,
    max_size: usize,
    /// How many private devices there may be (`scull_priv_max`): each can hold `max_size`
    /// bytes, and a user can open many terminals.
    private_max: usize,
}

impl AccessDev {
    pub(crate) fn new(policy: Policy, max_size: usize, private_max: usize) -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                policy,
                dev: ScullDev::new(max_size)?,
                holder <- new_spinlock!(Holder { count: 0, uid: None }),
                freed <- new_condvar!("sculla::freed"),
                private <- new_mutex!(KVec::new()),
                max_size,
                private_max,
            }),
            GFP_KERNEL,
        )
    }

    /// Takes the device for the current user, per the policy.
    fn acquire(&self, file: &File) -> Result {
        // Who we are, worked out before taking the spinlock (`capable` may audit).
        let uid = kernel::current!().uid();
        let euid = Kuid::current_euid();
        let overrides = self.policy != Policy::Single && capable(bindings::CAP_DAC_OVERRIDE);
        // The holder's uid or euid is ours, or we may override file permissions.
        let may_share = |owner: Kuid| owner == uid || owner == euid || overrides;

        let mut holder = self.holder.lock();
        loop {
            let busy = match self.policy {
                Policy::Single => holder.count > 0,
                _ => holder.count > 0 && !holder.uid.is_some_and(may_share),
            };
            if !busy {
                break;
            }
            if self.policy != Policy::WaitUid {
                return Err(EBUSY);
            }
            if file.flags() & flags::O_NONBLOCK != 0 {
                return Err(EAGAIN);
            }
            // Sleeps with the spinlock released.
            if self.freed.wait_interruptible(&mut holder) {
                return Err(ERESTARTSYS);
            }
        }
        if holder.count == 0 {
            holder.uid = Some(uid);
        }
        holder.count += 1;
        Ok(())
    }

    fn release(&self) {
        let mut holder = self.holder.lock();
        holder.count -= 1;
        let free = holder.count == 0;
        drop(holder);
        if free && self.policy == Policy::WaitUid {
            self.freed.notify_all();
        }
    }

    /// The private device of the current controlling terminal, created on first use
    /// (`ENOSPC` once there are `private_max`).
    fn private_dev(&self) -> Result<Arc<ScullDev>> {
        let tty = current_tty().ok_or(EINVAL)?;
        let mut devices = lock_interruptible(&self.private)?;
        if let Some((_, dev)) = devices.iter().find(|(key, _)| *key == tty) {
            return Ok(dev.clone());
        }
        if devices.len() >= self.private_max {
            return Err(ENOSPC);
        }
        let dev = ScullDev::new(self.max_size)?;
        devices.push((tty, dev.clone()), GFP_KERNEL)?;
        Ok(dev)
    }
}

/// An open access-controlled device.
pub(crate) struct AccessFile {
    access: Arc<AccessDev>,
    dev: Arc<ScullDev>,
}

#[vtable]
impl FileOperations for AccessFile {
    type Data = Arc<AccessDev>;
    type Ptr = KBox<AccessFile>;

    /// C: `scull_s_open`, `scull_u_open`, `scull_w_open` and `scull_c_open`, by policy.
    fn open(access: &Arc<AccessDev>, file: &File) -> Result<KBox<AccessFile>> {
        let dev = if access.policy == Policy::Private {
            access.private_dev()?
        } else {
            access.acquire(file)?;
            access.dev.clone()
        };
        let this = KBox::new(
            AccessFile {
                access: access.clone(),
                dev,
            },
            GFP_KERNEL,
        )
        .map_err(Error::from)
        .and_then(|this| this.dev.truncate_if_write_only(file).map(|()| this))
        .inspect_err(|_| {
            // `release` will not run for this file.
            if access.policy != Policy::Private {
                access.release();
            }
        })?;
        Ok(this)
    }

    /// C: `scull_s_release`, `scull_u_release`, `scull_w_release` and `scull_c_release`.
    fn release(this: KBox<AccessFile>, _file: &File) {
        if this.access.policy != Policy::Private {
            this.access.release();
        }
    }

    /// C: `scull_read`.
    fn read(
        this: &AccessFile,
        _file: &LocalFile,
        buf: &mut UserWriter,
        pos: &mut Offset,
    ) -> Result<usize> {
        this.dev.read(buf, pos)
    }

    /// C: `scull_write`.
    fn write(
        this: &AccessFile,
        _file: &LocalFile,
        buf: &mut UserReader,
        pos: &mut Offset,
    ) -> Result<usize> {
        this.dev.write(buf, pos)
    }

    /// C: `scull_llseek`.
    fn llseek(
        this: &AccessFile,
        _file: &LocalFile,
        whence: SeekFrom,
        current: Offset,
    ) -> Result<Offset> {
        this.dev.seek(whence, current)
    }

    /// C: `scull_ioctl`.
    fn ioctl(_this: &AccessFile, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        scull_ioctl(cmd, arg)
    }
}
