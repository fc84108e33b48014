// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of `common/`: what can be checked without user space. The suite runs when this
//! module is inserted and reports KTAP in the kernel log.

#![deny(unsafe_code)]

use kernel::prelude::*;

#[allow(unsafe_code)]
#[path = "../../common/lib.rs"]
pub mod common;

module! {
    type: CommonTest,
    name: "common_test",
    authors: ["The ldd3-rust authors"],
    description: "KUnit tests of the ldd3-rust common wrappers",
    license: "GPL",
}

struct CommonTest;

impl kernel::Module for CommonTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

#[kunit_tests(ldd3_common)]
mod tests {
    use super::common::{
        chrdev::{
            self,
            CharDevice,
            ChrdevRegion,
            DeviceClass,
            DeviceFamily, //
        },
        fops::{
            self,
            FasyncQueue,
            FileOperations,
            FopsVTable,
            SeekFrom, //
        },
        procfs::{
            ProcEntry,
            SeqShow, //
        },
        qset::{
            Geometry,
            Place,
            Qsets, //
        },
        settings::{
            settings_ioctl,
            Setting,
            SettingOp, //
        },
        usercopy::{
            ReadPiece,
            SharedBlock,
            UserReader,
            UserWriter,
            WritePiece,
            WriteTarget,
            Written, //
        }, //
    };
    use kernel::{
        bindings,
        fs::{
            file::Offset,
            File,
            LocalFile, //
        },
        prelude::*,
        seq_file::SeqFile,
        str::CString,
        sync::Arc,
        uaccess::UserPtr, //
    };

    /// Three records, for the procfs test.
    struct Three;

    impl SeqShow for Three {
        fn has(&self, pos: usize) -> bool {
            pos < 3
        }

        fn show(&self, m: &SeqFile, pos: usize) -> Result {
            kernel::seq_print!(m, "record {}\n", pos);
            Ok(())
        }
    }

    /// Operations with only `open` and `read`, to check the generated table.
    struct ReadOnly;

    #[vtable]
    impl FileOperations for ReadOnly {
        type Data = u32;
        type Ptr = KBox<u32>;

        fn open(data: &u32, _file: &File) -> Result<KBox<u32>> {
            KBox::new(*data, GFP_KERNEL).map_err(Into::into)
        }

        fn read(
            _this: &u32,
            _file: &LocalFile,
            _buf: &mut UserWriter,
            _pos: &mut Offset,
        ) -> Result<usize> {
            Ok(0)
        }
    }

    /// Operations with `ioctl` and a fasync queue (the device data itself).
    struct Controls;

    #[vtable]
    impl FileOperations for Controls {
        type Data = FasyncQueue;
        type Ptr = ();

        fn open(_queue: &FasyncQueue, _file: &File) -> Result {
            Ok(())
        }

        fn ioctl(_this: (), _file: &File, _cmd: u32, _arg: usize) -> Result<isize> {
            Err(ENOTTY)
        }

        fn fasync_queue(queue: &FasyncQueue) -> &FasyncQueue {
            queue
        }
    }

    #[test]
    fn dev_t_round_trip() {
        let dev = chrdev::mkdev(240, 17);
        assert_eq!(chrdev::major(dev), 240);
        assert_eq!(chrdev::minor(dev), 17);
        assert_eq!(
            chrdev::minor(chrdev::mkdev(1, (1 << 20) - 1)),
            (1 << 20) - 1
        );
    }

    #[test]
    fn seek_decoding() {
        assert_eq!(SeekFrom::from_raw(5, 0), Ok(SeekFrom::Start(5)));
        assert_eq!(SeekFrom::from_raw(-5, 1), Ok(SeekFrom::Current(-5)));
        assert_eq!(SeekFrom::from_raw(0, 2), Ok(SeekFrom::End(0)));
        assert_eq!(SeekFrom::from_raw(0, bindings::SEEK_DATA), Err(EINVAL));
        assert_eq!(SeekFrom::from_raw(0, bindings::SEEK_HOLE), Err(EINVAL));
        assert_eq!(SeekFrom::from_raw(0, 99), Err(EINVAL));
    }

    #[test]
    fn seek_resolution() {
        assert_eq!(SeekFrom::Start(7).resolve(100, 10), Ok(7));
        assert_eq!(SeekFrom::Start(-1).resolve(0, 10), Err(EINVAL));
        assert_eq!(SeekFrom::Current(-3).resolve(5, 10), Ok(2));
        assert_eq!(SeekFrom::Current(-6).resolve(5, 10), Err(EINVAL));
        assert_eq!(SeekFrom::End(-10).resolve(5, 10), Ok(0));
        assert_eq!(SeekFrom::End(-11).resolve(5, 10), Err(EINVAL));
        // Past the end is allowed; overflow is not.
        assert_eq!(SeekFrom::End(1 << 40).resolve(0, 10), Ok((1 << 40) + 10));
        assert_eq!(SeekFrom::Current(Offset::MAX).resolve(1, 0), Err(EINVAL));
    }

    #[test]
    fn region_dynamic_and_fixed() -> Result {
        let region = ChrdevRegion::new(c"ldd3_kunit", 0, 3, 4)?;
        let major = region.major();
        assert!(major != 0);
        assert_eq!(region.first_minor(), 3);
        assert_eq!(region.count(), 4);
        assert_eq!(region.devt(3), Some(chrdev::mkdev(major, 6)));
        assert_eq!(region.devt(4), None);

        // The same numbers cannot be taken twice ...
        assert!(ChrdevRegion::new(c"ldd3_kunit", major, 3, 1).err() == Some(EBUSY));
        // ... but the rest of the major's minors can, and dropping gives them back.
        let after = ChrdevRegion::new(c"ldd3_kunit", major, 7, 1)?;
        drop(region);
        let again = ChrdevRegion::new(c"ldd3_kunit", major, 3, 4)?;
        drop((after, again));
        Ok(())
    }

    #[test]
    fn region_rejects_bad_ranges() {
        assert!(ChrdevRegion::new(c"ldd3_kunit", 0, 0, 0).err() == Some(EINVAL));
        assert!(ChrdevRegion::new(c"ldd3_kunit", 0, (1 << 20) - 1, 2).err() == Some(EINVAL));
        assert!(ChrdevRegion::new(c"ldd3_kunit", 4096, 0, 1).err() == Some(EINVAL));
    }

    #[test]
    fn vtable_has_only_the_given_operations() {
        let table = FopsVTable::<ReadOnly>::build();
        assert!(table.open.is_some());
        assert!(table.release.is_some());
        assert!(table.read.is_some());
        assert!(table.write.is_none());
        assert!(table.llseek.is_none());
        assert!(table.unlocked_ioctl.is_none());
        assert!(table.compat_ioctl.is_none());
        assert!(table.fasync.is_none());
        assert!(!table.owner.is_null());
        assert_eq!(table.owner, FopsVTable::<ReadOnly>::owner());

        // With ioctl, 32-bit programs get it too (compat_ptr_ioctl); a queue brings fasync.
        let table = FopsVTable::<Controls>::build();
        assert!(table.unlocked_ioctl.is_some());
        assert!(table.compat_ioctl.is_some());
        assert!(table.fasync.is_some());
        assert!(table.read.is_none());
    }

    #[test]
    fn char_devices_register_and_unregister() -> Result {
        // Only permission bits are accepted for the nodes.
        assert!(DeviceClass::new(c"ldd3_kunit", 0o4755).err() == Some(EINVAL));
        let class = DeviceClass::new(c"ldd3_kunit", 0o600)?;
        assert_eq!(class.mode(), 0o600);
        let region = ChrdevRegion::new(c"ldd3_kunit", 0, 0, 2)?;
        let major = region.major();
        let devices = DeviceFamily::<ReadOnly>::new(
            region,
            &class,
            |i| CString::try_from_fmt(fmt!("ldd3_kunit{i}")),
            |i| Ok(100 + i),
        )?;
        assert_eq!(devices.devices().count(), 2);
        for (i, device) in (0u32..).zip(devices.devices()) {
            assert_eq!(*device.data(), 100 + i);
            assert_eq!(device.devt(), chrdev::mkdev(major, i));
        }
        drop(devices);

        // Everything was given back: the same numbers and node names can be used again.
        let region = ChrdevRegion::new(c"ldd3_kunit", major, 0, 1)?;
        let single = CharDevice::<ReadOnly>::new(&region, 0, &class, c"ldd3_kunit0", 7)?;
        assert_eq!(*single.data(), 7);
        assert_eq!(single.devt(), chrdev::mkdev(major, 0));
        // A device takes a number of its region, and only one device has it at a time.
        let past_end = CharDevice::<ReadOnly>::new(&region, 1, &class, c"ldd3_kunit1", 8);
        assert!(past_end.err() == Some(EINVAL));
        let twice = CharDevice::<ReadOnly>::new(&region, 0, &class, c"ldd3_kunit1", 8);
        assert!(twice.err() == Some(EBUSY));
        // Dropping the device gives its number back (the region lives on in `region`).
        drop(single);
        let again = CharDevice::<ReadOnly>::new(&region, 0, &class, c"ldd3_kunit0", 9)?;
        assert_eq!(*again.data(), 9);
        Ok(())
    }

    #[test]
    fn settings_keep_their_range() {
        let setting = Setting::new(1, 10);
        assert_eq!(setting.get(), 0);
        assert_eq!(setting.replace(5), Ok(0));
        assert_eq!(setting.replace(11), Err(EINVAL));
        assert_eq!(setting.replace(0), Err(EINVAL));
        assert_eq!(setting.replace(1 << 40), Err(EINVAL));
        assert_eq!(setting.get(), 5);
        assert_eq!(setting.check(10), Ok(10));
        // Query returns the value; Tell and Shift take `arg` itself (KUnit runs as root).
        assert_eq!(setting.ioctl(SettingOp::Query, 0), Ok(5));
        assert_eq!(setting.ioctl(SettingOp::Tell, 7), Ok(0));
        assert_eq!(setting.ioctl(SettingOp::Shift, 3), Ok(7));
        assert_eq!(setting.ioctl(SettingOp::Shift, 30), Err(EINVAL));
        assert_eq!(setting.get(), 3);
    }

    #[test]
    fn settings_ioctl_finds_the_setting_and_its_op() {
        let a = Setting::new(1, 10);
        let b = Setting::new(1, 10);
        let _ = a.replace(4);
        let _ = b.replace(6);
        let table = [
            (&a, [10, 11, 12, 13, 14, 15]),
            (&b, [20, 21, 22, 23, 24, 25]),
        ];
        // 13 is a's Q, 23 is b's Q, 21 is b's T, 25 b's H.
        assert_eq!(settings_ioctl(13, 0, &table), Ok(4));
        assert_eq!(settings_ioctl(23, 0, &table), Ok(6));
        assert_eq!(settings_ioctl(21, 9, &table), Ok(0));
        assert_eq!(settings_ioctl(25, 2, &table), Ok(9));
        assert_eq!((a.get(), b.get()), (4, 2));
        assert_eq!(settings_ioctl(99, 0, &table), Err(ENOTTY));
    }

    #[test]
    fn empty_fasync_queue() {
        // Notifying nobody is fine, and an empty queue may be dropped.
        let queue = FasyncQueue::new();
        assert!(queue.is_empty());
        queue.notify_readable();
        drop(queue);
    }

    #[test]
    fn fasync_queue_dropped_with_a_file() -> Result {
        // A queue dropped while a file is on it takes the file off (and warns): the file's
        // `FASYNC` is clear again, so its last close will not look for the queue.
        let (held, cleared) = fops::fasync_queue_dropped_with_a_file()?;
        assert_eq!(held, 1);
        assert!(cleared);
        Ok(())
    }

    #[test]
    fn proc_entry_comes_and_goes() -> Result {
        let entry = ProcEntry::new(c"ldd3_kunit", Arc::new(Three, GFP_KERNEL)?)?;
        assert!(entry.data().has(2));
        assert!(!entry.data().has(3));
        drop(entry);
        // The name is free again.
        drop(ProcEntry::new(c"ldd3_kunit", Arc::new(Three, GFP_KERNEL)?)?);
        Ok(())
    }

    #[test]
    fn geometry_valid_by_construction() {
        assert_eq!(Geometry::new(0, 1), Err(EINVAL));
        assert_eq!(Geometry::new(1, 0), Err(EINVAL));
        assert_eq!(Geometry::new(usize::MAX, 2), Err(EINVAL));
        let g = Geometry::new(4000, 3).expect("a valid geometry");
        assert_eq!((g.block(), g.qset()), (4000, 3));
        let at = |item, slot, offset| Place { item, slot, offset };
        assert_eq!(g.place(0), at(0, 0, 0));
        assert_eq!(g.place(4005), at(0, 1, 5));
        assert_eq!(g.place(12000 + 3999), at(1, 0, 3999));
        assert_eq!(g.place(usize::MAX), at(usize::MAX / 12000, 0, 3615));
    }

    #[test]
    fn geometry_pieces() {
        let g = Geometry::new(16, 2).expect("a valid geometry");
        // 40 bytes from 10: 6 to the end of block 0, 16 of block 1, 16 of item 1's block 0,
        // then 2.
        let mut pieces = g.pieces(10, 40);
        let next = pieces.next();
        assert_eq!(
            next,
            Some((
                Place {
                    item: 0,
                    slot: 0,
                    offset: 10
                },
                0..6
            ))
        );
        assert_eq!(pieces.next().map(|(_, r)| r), Some(6..22));
        let next = pieces.next();
        assert_eq!(
            next,
            Some((
                Place {
                    item: 1,
                    slot: 0,
                    offset: 0
                },
                22..38
            ))
        );
        assert_eq!(pieces.next().map(|(_, r)| r), Some(38..40));
        assert_eq!(pieces.next(), None);
        assert_eq!(g.pieces(5, 0).count(), 0);
        // Never past the end of the address space.
        assert_eq!(g.pieces(usize::MAX, 10).count(), 1);
    }

    #[test]
    fn qsets_bound_their_index() -> Result {
        // One-byte blocks, one per item: 24 bytes of list and 16 of slots per block.
        let g = Geometry::new(1, 1)?;
        let mut q: Qsets<u8> = Qsets::new(g, 1000);
        *q.get_or_insert(&g.place(3), || Ok(7))? += 1;
        assert_eq!(q.get(&g.place(3)), Some(&8));
        assert_eq!(q.get(&g.place(2)), None);
        let spent = q.index_bytes();
        assert!(spent > 0 && spent <= 1000);
        // Far in: more list than the bound, refused before anything is allocated.
        assert_eq!(
            q.get_or_insert(&g.place(1 << 20), || Ok(1)).err(),
            Some(ENOSPC)
        );
        assert_eq!(q.index_bytes(), spent);
        assert_eq!(q.blocks_per_item().len(), 4);
        assert_eq!(q.blocks_per_item().sum::<usize>(), 1);
        // A block that cannot be made leaves no block behind.
        assert_eq!(
            q.get_or_insert(&g.place(1), || Err(ENOMEM)).err(),
            Some(ENOMEM)
        );
        assert_eq!(q.get(&g.place(1)), None);
        // A place no geometry makes (slot past qset) is refused, not a panic.
        let bad = Place {
            item: 0,
            slot: 5,
            offset: 0,
        };
        assert_eq!(q.get_or_insert(&bad, || Ok(1)).err(), Some(EINVAL));
        Ok(())
    }

    #[test]
    fn shared_block_bounds() -> Result {
        assert_eq!(SharedBlock::new(0).err(), Some(EINVAL));
        // Past what kvmalloc takes (it would WARN): refused first.
        assert_eq!(
            SharedBlock::new(SharedBlock::MAX_SIZE + 1).err(),
            Some(EINVAL)
        );
        let b = SharedBlock::new(13)?;
        assert_eq!(b.size(), 13);
        let mut back = [1u8; 13];
        b.read(0, &mut back)?;
        assert_eq!(back, [0u8; 13]);
        b.write(3, b"abcdefghij")?;
        b.read(2, &mut back[..4])?;
        assert_eq!(&back[..4], b"\0abc");
        assert_eq!(b.write(4, b"abcdefghij"), Err(EINVAL));
        assert_eq!(b.read(usize::MAX, &mut back[..1]), Err(EINVAL));
        assert_eq!(b.read(13, &mut back[..0]), Ok(()));
        Ok(())
    }

    #[test]
    fn qsets_pieces() -> Result {
        // 10-byte blocks, 2 per item; a device of 25 bytes bounded at 40.
        let g = Geometry::new(10, 2)?;
        let mut q: Qsets<Arc<SharedBlock>> = Qsets::new(g, 1000);
        // Nothing written: a hole up to the block's end, or the device's, or the read's.
        assert!(matches!(q.read_piece(3, 25, 100), ReadPiece::Hole(7)));
        assert!(matches!(q.read_piece(23, 25, 100), ReadPiece::Hole(2)));
        assert!(matches!(q.read_piece(3, 25, 4), ReadPiece::Hole(4)));
        assert!(matches!(q.read_piece(25, 25, 100), ReadPiece::End));
        // Where no block is, a write finds a vacancy, with room up to the block's end or the
        // bound's; the block it fills goes in and the device grows to the end of the write.
        let w = q.write_piece(13, 40, 100)?;
        assert_eq!((w.offset, w.len), (3, 7));
        let v = vacancy(w);
        assert_eq!(v.block_size(), 10);
        let block = Arc::new(SharedBlock::new(10)?, GFP_KERNEL)?;
        assert_eq!(
            stored(&mut q, 5, Written::New(block.clone(), v), 20),
            Some(20)
        );
        assert!(q.holds(19, &block) && !q.holds(20, &block) && !q.holds(9, &block));
        // A later write finds it. Storing through it grows a smaller device, not a larger
        // one, nor one whose last byte is not in that block, nor with nothing in place.
        let found = existing(q.write_piece(15, 40, 100)?);
        assert!(Arc::ptr_eq(&found, &block));
        assert_eq!(
            stored(&mut q, 5, Written::Into(found.clone()), 20),
            Some(20)
        );
        assert_eq!(
            stored(&mut q, 25, Written::Into(found.clone()), 20),
            Some(25)
        );
        assert_eq!(stored(&mut q, 5, Written::Into(found.clone()), 0), Some(5));
        assert_eq!(stored(&mut q, 5, Written::Into(found), 30), Some(5));
        // Two writes at one vacancy: the first stored wins, the second must write again (into
        // the winner's block), and the device keeps the first one's block.
        let (first, second) = (
            vacancy(q.write_piece(0, 40, 4)?),
            vacancy(q.write_piece(2, 40, 4)?),
        );
        let (a, b) = (
            Arc::new(SharedBlock::new(10)?, GFP_KERNEL)?,
            Arc::new(SharedBlock::new(10)?, GFP_KERNEL)?,
        );
        assert_eq!(
            stored(&mut q, 20, Written::New(a.clone(), first), 4),
            Some(20)
        );
        assert_eq!(stored(&mut q, 20, Written::New(b.clone(), second), 6), None);
        assert!(q.holds(0, &a) && !q.holds(0, &b));
        // At the bound a write gets EFBIG, and with nothing to copy nothing happens, whether a
        // block is there or not (no user memory is touched either way).
        let mut size = 25;
        let mut empty = UserReader::new(UserPtr::from_addr(0), 0);
        assert_eq!(q.write_at_hand(&mut size, 40, 40, &mut empty), Err(EFBIG));
        assert_eq!(q.write_at_hand(&mut size, 15, 40, &mut empty), Ok(0));
        assert_eq!(q.write_at_hand(&mut size, 35, 40, &mut empty), Ok(0));
        assert!(matches!(q.read_piece(35, 40, 1), ReadPiece::Hole(1)));
        assert_eq!(size, 25);
        // A read at hand: nothing at the end, in a hole, or with no room (no user memory is
        // touched).
        let mut full = UserWriter::new(UserPtr::from_addr(0), 0);
        assert_eq!(q.read_at_hand(25, 25, &mut full), Ok(0));
        assert_eq!(q.read_at_hand(35, 40, &mut full), Ok(0));
        assert_eq!(q.read_at_hand(15, 25, &mut full), Ok(0));
        // The bound.
        assert_eq!(q.write_piece(38, 40, 100)?.len, 2);
        assert_eq!(q.write_piece(40, 40, 100).err(), Some(EFBIG));
        // A vacancy of a list that was replaced since (the device truncated) takes nothing.
        let stale = vacancy(q.write_piece(30, 40, 100)?);
        let mut q: Qsets<Arc<SharedBlock>> = Qsets::new(g, 1000);
        assert_eq!(stored(&mut q, 0, Written::New(b, stale), 31), Some(0));
        assert!(matches!(q.read_piece(30, 31, 1), ReadPiece::Hole(1)));
        assert_eq!(q.blocks_per_item().sum::<usize>(), 0);
        Ok(())
    }

    /// The size `Qsets::store` leaves a device of `size` bytes, `None` if it refused.
    fn stored(
        q: &mut Qsets<Arc<SharedBlock>>,
        mut size: usize,
        written: Written<Arc<SharedBlock>>,
        end: usize,
    ) -> Option<usize> {
        q.store(&mut size, written, end).then_some(size)
    }

    /// The vacancy a write found.
    fn vacancy(piece: WritePiece<Arc<SharedBlock>>) -> super::common::qset::Vacancy {
        match piece.target {
            WriteTarget::Vacant(vacancy) => vacancy,
            WriteTarget::Block(_) => panic!("a block where none was written"),
        }
    }

    /// The block a write found.
    fn existing(piece: WritePiece<Arc<SharedBlock>>) -> Arc<SharedBlock> {
        match piece.target {
            WriteTarget::Block(block) => block,
            WriteTarget::Vacant(_) => panic!("no block where one was written"),
        }
    }

    #[test]
    fn qsets_read_finds_the_written_block() -> Result {
        let g = Geometry::new(10, 2)?;
        let mut q: Qsets<Arc<SharedBlock>> = Qsets::new(g, 1000);
        let w = q.write_piece(13, 40, 100)?;
        assert_eq!(
            stored(
                &mut q,
                0,
                Written::New(Arc::new(SharedBlock::new(10)?, GFP_KERNEL)?, vacancy(w)),
                20
            ),
            Some(20)
        );
        let w = existing(q.write_piece(13, 40, 100)?);
        match q.read_piece(15, 25, 100) {
            ReadPiece::Data { block, offset, len } => {
                assert!(Arc::ptr_eq(&block, &w));
                assert_eq!((offset, len), (5, 5));
            }
            _ => panic!("no block where one was written"),
        }
        Ok(())
    }
}
