// SPDX-License-Identifier: GPL-2.0

//! The memory behind a scullp device: scull's list of qsets (LDD3 chapter 15, the list itself
//! is `common::qset`), but each block is a zeroed [`PageBlock`] of `PAGE_SIZE << order` bytes,
//! so that it can be mapped.
//!
//! Nothing here touches user memory: a read or write looks up its block here under the device
//! lock, and copies with the lock dropped (or, for a write whose bytes are at hand, without
//! waiting for a page fault: `common::usercopy`); the fault handler maps pages with the
//! lock held.

use crate::common::{
    qset::{
        Geometry,
        Qsets, //
    },
    usercopy::{
        BlockReads,
        BlockWrites,
        ReadPiece,
        UserReader,
        UserWriter,
        WritePiece,
        Written, //
    },
    vm::{
        PageBlock,
        PageRef, //
    }, //
};
use kernel::{
    page::{
        PAGE_SHIFT,
        PAGE_SIZE, //
    },
    prelude::*,
    sync::Arc, //
};

/// A block of pages: shared, so that a copy can go on after the lock is dropped.
pub(crate) type Block = Arc<PageBlock>;

/// The data of one device and the geometry it was last truncated with.
pub(crate) struct Storage {
    blocks: Qsets<Block>,
    size: usize,
    max_size: usize,
}

impl Storage {
    /// An empty device with blocks of order `order`, `qset` per list item, and room for
    /// `max_size` bytes (and as much again for the list).
    pub(crate) fn new(order: u32, qset: usize, max_size: usize) -> Result<Self> {
        let block = PAGE_SIZE.checked_shl(order).ok_or(EINVAL)?;
        Ok(Self {
            blocks: Qsets::new(Geometry::new(block, qset)?, max_size),
            size: 0,
            max_size,
        })
    }

    /// Bytes held (the end of the last write).
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    fn geometry(&self) -> Geometry {
        self.blocks.geometry()
    }

    /// Frees every block (scullp_trim) and takes a new geometry. Pages still mapped somewhere
    /// stay alive through the mappings' own references; the driver refuses to trim while
    /// mapped anyway.
    pub(crate) fn trim(&mut self, order: u32, qset: usize) -> Result {
        *self = Self::new(order, qset, self.max_size)?;
        Ok(())
    }

    /// The page at page offset `pgoff`, if a mapping may show it: inside the size (a last,
    /// partial page included) and in a block that was written. `None` is a `SIGBUS`.
    pub(crate) fn page_at(&self, pgoff: usize) -> Option<PageRef<'_>> {
        let pos = pgoff.checked_mul(1 << PAGE_SHIFT)?;
        if pos >= self.size {
            return None;
        }
        let place = self.geometry().place(pos);
        self.blocks.get(&place)?.page(place.offset >> PAGE_SHIFT)
    }
}

/// C `scullp_write`'s bookkeeping, for `usercopy::write_pieces`.
impl BlockWrites for Storage {
    type Block = Block;

    fn write_at_hand(&mut self, pos: usize, input: &mut UserReader) -> Result<usize> {
        self.blocks
            .write_at_hand(&mut self.size, pos, self.max_size, input)
    }

    fn write_piece(&mut self, pos: usize, max: usize) -> Result<WritePiece<Block>> {
        self.blocks.write_piece(pos, self.max_size, max)
    }

    fn stored(&mut self, written: Written<Block>, end: usize) -> bool {
        self.blocks.store(&mut self.size, written, end)
    }
}

/// C `scullp_read`'s lookups, for `usercopy::read_pieces`.
impl BlockReads for Storage {
    type Block = Block;

    fn read_at_hand(&self, pos: usize, out: &mut UserWriter) -> Result<usize> {
        self.blocks.read_at_hand(pos, self.size, out)
    }

    fn read_piece(&self, pos: usize, max: usize) -> ReadPiece<Block> {
        self.blocks.read_piece(pos, self.size, max)
    }
}
