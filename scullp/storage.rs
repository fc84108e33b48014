// SPDX-License-Identifier: GPL-2.0

//! The memory behind a scullp device: scull's list of qsets (LDD3 chapter 15, the list itself
//! is `common::qset`), but each block is a zeroed [`PageBlock`] of `PAGE_SIZE << order` bytes,
//! so that it can be mapped.
//!
//! Nothing here touches user memory: the file operations copy through a bounce buffer with the
//! device lock dropped (see `main.rs`), and the fault handler maps pages with it held.

use crate::common::{
    qset::{
        Geometry,
        Qsets, //
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
    prelude::*, //
};

/// The data of one device and the geometry it was last truncated with.
pub(crate) struct Storage {
    order: u32,
    blocks: Qsets<PageBlock>,
    size: usize,
    max_size: usize,
}

impl Storage {
    /// An empty device with blocks of order `order`, `qset` per list item, and room for
    /// `max_size` bytes (and as much again for the list).
    pub(crate) fn new(order: u32, qset: usize, max_size: usize) -> Result<Self> {
        let block = PAGE_SIZE.checked_shl(order).ok_or(EINVAL)?;
        Ok(Self {
            order,
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

    /// Copies bytes from `pos` into `out`, up to the size; holes read as zeros. Returns the
    /// number of bytes copied (0 at or past the end).
    pub(crate) fn read_at(&self, pos: usize, out: &mut [u8]) -> Result<usize> {
        let len = out.len().min(self.size.saturating_sub(pos));
        for (place, range) in self.geometry().pieces(pos, len) {
            let dst = &mut out[range];
            match self.blocks.get(&place) {
                Some(block) => block.copy_out(place.offset, dst)?,
                None => dst.fill(0),
            }
        }
        Ok(len)
    }

    /// Copies `input` into the device at `pos`, growing it as needed. A write that starts at
    /// or past the bound is `EFBIG`; one that crosses it is cut short. Returns the bytes
    /// stored; a failure after some progress (`ENOMEM`, `ENOSPC`) ends the write early.
    pub(crate) fn write_at(&mut self, pos: usize, input: &[u8]) -> Result<usize> {
        if pos >= self.max_size {
            return Err(EFBIG);
        }
        let len = input.len().min(self.max_size - pos);
        let order = self.order;
        let mut done = 0;
        for (place, range) in self.geometry().pieces(pos, len) {
            let stored = self
                .blocks
                .get_or_insert(&place, || PageBlock::new(order))
                .and_then(|block| block.copy_in(place.offset, &input[range.clone()]));
            match stored {
                Ok(()) => {}
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
            done = range.end;
            self.size = self.size.max(pos + done);
        }
        Ok(done)
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
