// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of `common/vm.rs` and scullp's storage: page blocks, the fault-around window,
//! and the offset -> block/page arithmetic behind scullp's fault handler. The suite runs when
//! this module is inserted and reports KTAP in the kernel log.

#![deny(unsafe_code)]

use kernel::prelude::*;

#[allow(unsafe_code)]
#[path = "../../common/lib.rs"]
pub mod common;

// scullp's storage, compiled here again (as common/ is) to test it without user space.
#[allow(dead_code)]
#[path = "../../scullp/storage.rs"]
mod storage;

module! {
    type: ScullpTest,
    name: "scullp_test",
    authors: ["The ldd3-rust authors"],
    description: "KUnit tests of the ldd3-rust mm wrappers and scullp storage",
    license: "GPL",
}

struct ScullpTest;

impl kernel::Module for ScullpTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

#[kunit_tests(ldd3_scullp)]
mod tests {
    use super::common::{
        qset::Vacancy,
        usercopy::{
            BlockReads,
            BlockWrites,
            ReadPiece,
            WriteTarget,
            Written, //
        },
        vm::{
            fault_window,
            PageBlock,
            MAX_ORDER, //
        }, //
    };
    use super::storage::{
        geometry,
        page_at,
        Storage, //
    };
    use kernel::{
        page::PAGE_SIZE,
        prelude::*,
        sync::Arc, //
    };

    /// What scullp's `write` does, with a kernel buffer: piece by piece, into the block found
    /// or a new one, the size updated after each. Returns the bytes stored; an error after
    /// some progress ends it early.
    fn write_at(s: &mut Storage, pos: usize, data: &[u8]) -> Result<usize> {
        let mut done = 0;
        while done < data.len() {
            let piece = match s.write_piece(pos + done, data.len() - done) {
                Ok(piece) => piece,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            let bytes = &data[done..done + piece.len];
            let written = match piece.target {
                WriteTarget::Block(block) => {
                    block.copy_in(piece.offset, bytes)?;
                    Written::Into(block)
                }
                WriteTarget::Vacant(vacancy) => {
                    let block = new_block(&vacancy)?;
                    block.copy_in(piece.offset, bytes)?;
                    Written::New(block, vacancy)
                }
            };
            done += piece.len;
            assert!(s.stored(written, pos + done));
        }
        Ok(done)
    }

    /// A zeroed block for `vacancy`.
    fn new_block(vacancy: &Vacancy) -> Result<Arc<PageBlock>> {
        let order = (vacancy.block_size() / PAGE_SIZE).trailing_zeros();
        Ok(Arc::new(PageBlock::new(order)?, GFP_KERNEL)?)
    }

    /// What scullp's `read` does, with a kernel buffer.
    fn read_at(s: &Storage, pos: usize, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match s.read_piece(pos + done, buf.len() - done) {
                ReadPiece::Data { block, offset, len } => {
                    block.copy_out(offset, &mut buf[done..done + len])?;
                    done += len;
                }
                ReadPiece::Hole(len) => {
                    buf[done..done + len].fill(0);
                    done += len;
                }
                ReadPiece::End => break,
            }
        }
        Ok(done)
    }

    #[test]
    fn window_inside_and_clipped() {
        // A mapping of virtual pages 100..200 starting at file page 10 (vpage 100 = pgoff 10).
        let vma = 100..200;
        // Fault at vpage 120 (pgoff 30): the aligned group 112..128 -> pgoffs 22..38.
        assert_eq!(fault_window(30, 120, vma.clone(), 16), 22..38);
        // At the start: 96..112 clipped to 100..112 -> pgoffs 10..22.
        assert_eq!(fault_window(10, 100, vma.clone(), 16), 10..22);
        // At the end: 192..208 clipped to 192..200 -> pgoffs 102..110.
        assert_eq!(fault_window(109, 199, vma.clone(), 16), 102..110);
        // No fault-around, or nonsense: the faulting page alone.
        assert_eq!(fault_window(30, 120, vma.clone(), 1), 30..31);
        assert_eq!(fault_window(30, 120, vma.clone(), 12), 30..31);
        assert_eq!(fault_window(30, 250, vma, 16), 30..31);
        // A one-page mapping.
        assert_eq!(fault_window(7, 5, 5..6, 16), 7..8);
    }

    #[test]
    fn window_always_holds_the_fault() {
        for vpage in 40..72 {
            let w = fault_window(vpage + 1000, vpage, 40..72, 16);
            assert!(w.contains(&(vpage + 1000)));
            assert!(w.len() <= 16);
            assert!(w.start >= 1000 + 40 && w.end <= 1000 + 72);
        }
    }

    #[test]
    fn block_copies_at_every_alignment() -> Result {
        // The copies go word by word where the block side is 8-byte aligned and byte by byte
        // elsewhere: every start and length round-trips, wherever the kernel buffer is.
        let block = PageBlock::new(0)?;
        for offset in 0..17 {
            for len in 0..41 {
                let mut pattern = [0u8; 48];
                for (i, b) in pattern.iter_mut().enumerate() {
                    *b = (offset * 7 + len * 3 + i) as u8 | 1;
                }
                block.copy_in(offset, &pattern[1..len + 1])?;
                let mut back = [0u8; 48];
                block.copy_out(offset, &mut back[3..len + 3])?;
                assert!(back[3..len + 3] == pattern[1..len + 1]);
                assert!(back[..3] == [0; 3] && back[len + 3..].iter().all(|&b| b == 0));
            }
        }
        Ok(())
    }

    #[test]
    fn block_copies_across_pages() -> Result {
        let block = PageBlock::new(2)?;
        assert_eq!(block.size(), 4 * PAGE_SIZE);
        assert_eq!(block.pages(), 4);
        let mut buf = KVec::from_elem(0xffu8, 3 * PAGE_SIZE, GFP_KERNEL)?;
        // Zeroed at allocation.
        block.copy_out(PAGE_SIZE / 2, &mut buf)?;
        assert!(buf.iter().all(|&b| b == 0));
        // A write spanning three pages comes back intact, and its neighbours stay zero.
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        block.copy_in(PAGE_SIZE - 100, &buf[..2 * PAGE_SIZE + 200])?;
        let mut back = KVec::from_elem(0u8, 2 * PAGE_SIZE + 202, GFP_KERNEL)?;
        block.copy_out(PAGE_SIZE - 101, &mut back)?;
        assert_eq!(back[0], 0);
        assert_eq!(back[back.len() - 1], 0);
        assert!(back[1..back.len() - 1] == buf[..2 * PAGE_SIZE + 200]);
        // Out of range.
        assert_eq!(
            block.copy_out(4 * PAGE_SIZE - 1, &mut back[..2]),
            Err(EINVAL)
        );
        assert_eq!(block.copy_in(usize::MAX, &buf[..1]), Err(EINVAL));
        assert!(block.page(3).is_some());
        assert!(block.page(4).is_none());
        Ok(())
    }

    #[test]
    fn block_orders() {
        assert_eq!(PageBlock::new(MAX_ORDER + 1).err(), Some(EINVAL));
        for order in [0, 1, 3] {
            let b = PageBlock::new(order).expect("allocation");
            assert_eq!(b.order(), order);
        }
    }

    #[test]
    fn storage_pages_and_holes() -> Result {
        // Order 1 (8 KiB blocks), 2 per list item, at most 1 MiB.
        let mut s = Storage::new(geometry(1, 2)?, 1 << 20);
        assert!(page_at(&s, 0).is_none());
        let data = KVec::from_elem(7u8, 100, GFP_KERNEL)?;
        assert_eq!(write_at(&mut s, 0, &data)?, 100);
        assert_eq!(write_at(&mut s, 5 * PAGE_SIZE, &data)?, 100);
        assert_eq!(s.size(), 5 * PAGE_SIZE + 100);
        // Block 0 (pages 0, 1) and block 2 (pages 4, 5) exist; block 1 is a hole.
        assert!(page_at(&s, 0).is_some());
        assert!(page_at(&s, 1).is_some());
        assert!(page_at(&s, 2).is_none());
        assert!(page_at(&s, 3).is_none());
        assert!(page_at(&s, 4).is_some());
        assert!(page_at(&s, 5).is_some());
        assert!(page_at(&s, 6).is_none()); // past the end
        assert!(page_at(&s, usize::MAX).is_none());
        // Holes read as zeros, the end stops reads, the bound stops writes.
        let mut buf = KVec::from_elem(1u8, 3 * PAGE_SIZE, GFP_KERNEL)?;
        assert_eq!(read_at(&s, PAGE_SIZE, &mut buf)?, 3 * PAGE_SIZE);
        assert!(buf.iter().all(|&b| b == 0));
        assert_eq!(read_at(&s, 5 * PAGE_SIZE + 50, &mut buf)?, 50);
        assert!(buf[..50].iter().all(|&b| b == 7));
        assert_eq!(write_at(&mut s, 1 << 20, &data), Err(EFBIG));
        assert_eq!(write_at(&mut s, (1 << 20) - 10, &data)?, 10);
        s.trim(geometry(0, 4)?);
        assert_eq!(s.size(), 0);
        assert!(page_at(&s, 0).is_none());
        Ok(())
    }

    #[test]
    fn write_into_a_truncated_block_is_not_counted() -> Result {
        // A write finds its block, then the device is truncated before the copy is recorded:
        // the bytes went into a block the device no longer has, and the size stays 0.
        let mut s = Storage::new(geometry(0, 4)?, 1 << 20);
        let piece = s.write_piece(100, 10)?;
        assert_eq!((piece.offset, piece.len), (100, 10));
        let WriteTarget::Vacant(vacancy) = piece.target else {
            panic!("a block in a new device");
        };
        let block = new_block(&vacancy)?;
        block.copy_in(100, &[9u8; 10])?;
        s.trim(geometry(0, 4)?);
        assert!(s.stored(Written::New(block, vacancy), 110));
        assert_eq!(s.size(), 0);
        assert!(page_at(&s, 0).is_none());
        // The same for bytes copied into a block found there.
        assert_eq!(write_at(&mut s, 0, &[1u8; 3])?, 3);
        let WriteTarget::Block(block) = s.write_piece(3, 10)?.target else {
            panic!("no block where one was written");
        };
        s.trim(geometry(0, 4)?);
        assert!(s.stored(Written::Into(block), 13));
        assert_eq!(s.size(), 0);
        // Recorded before the truncation, it counts.
        assert_eq!(write_at(&mut s, 0, &[2u8; 5])?, 5);
        assert_eq!(s.size(), 5);
        Ok(())
    }
}
