// SPDX-License-Identifier: GPL-2.0

//! The memory behind a scull device, laid out as in LDD3 chapter 3: a list of "qsets", each an
//! array of `qset` pointers to `quantum`-byte blocks, all allocated on first write (the list
//! itself is `common::qset`).
//!
//! Unlike the book, blocks are zeroed (a hole reads as zeros, never as old heap bytes), the data
//! is bounded (`EFBIG` past `max_size`), and so is the list: a write that needs more than
//! `max_size` bytes of bookkeeping (a tiny geometry, far into the device) is `ENOSPC`. Nothing
//! here touches user memory: a read or write looks up its block here under the device lock,
//! and copies with the lock dropped (or, for a write whose bytes are at hand, without
//! waiting for a page fault: `common::usercopy`).

use crate::common::{
    qset::{
        Geometry,
        Qsets, //
    },
    usercopy::{
        BlockReads,
        BlockWrites,
        ReadPiece,
        SharedBlock,
        UserReader,
        UserWriter,
        WritePiece,
        Written, //
    }, //
};
use kernel::{
    prelude::*,
    sync::Arc, //
};

/// A quantum: shared, so that a copy can go on after the lock is dropped.
pub(crate) type Block = Arc<SharedBlock>;

/// The data of one device and the geometry it was last truncated with.
pub(crate) struct Storage {
    blocks: Qsets<Block>,
    size: usize,
    max_size: usize,
}

impl Storage {
    /// An empty device with the given geometry and room for `max_size` bytes.
    pub(crate) fn new(geometry: Geometry, max_size: usize) -> Self {
        Self {
            blocks: Qsets::new(geometry, max_size),
            size: 0,
            max_size,
        }
    }

    /// Bytes held (the end of the last write).
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The geometry.
    pub(crate) fn geometry(&self) -> Geometry {
        self.blocks.geometry()
    }

    /// For each list item, how many of its quanta are allocated.
    pub(crate) fn items(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        self.blocks.blocks_per_item()
    }

    /// Frees everything (scull_trim) and takes a new geometry.
    pub(crate) fn trim(&mut self, geometry: Geometry) {
        *self = Self::new(geometry, self.max_size);
    }
}

/// C `scull_write`'s bookkeeping, for `usercopy::write_pieces`.
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

/// C `scull_read`'s lookups, for `usercopy::read_pieces`.
impl BlockReads for Storage {
    type Block = Block;

    fn read_at_hand(&self, pos: usize, out: &mut UserWriter) -> Result<usize> {
        self.blocks.read_at_hand(pos, self.size, out)
    }

    fn read_piece(&self, pos: usize, max: usize) -> ReadPiece<Block> {
        self.blocks.read_piece(pos, self.size, max)
    }
}
