// SPDX-License-Identifier: GPL-2.0

//! The memory behind a scull device, laid out as in LDD3 chapter 3: a list of "qsets", each an
//! array of `qset` pointers to `quantum`-byte blocks, all allocated on first write (the list
//! itself is `common::qset`).
//!
//! Unlike the book, blocks are zeroed (a hole reads as zeros, never as old heap bytes), the data
//! is bounded (`EFBIG` past `max_size`), and so is the list: a write that needs more than
//! `max_size` bytes of bookkeeping (a tiny geometry, far into the device) is `ENOSPC`. Nothing
//! here touches user memory: the file operations copy through a bounce buffer.

use crate::common::qset::{
    Geometry,
    Qsets, //
};
use kernel::prelude::*;

/// The data of one device and the geometry it was last truncated with.
pub(crate) struct Storage {
    blocks: Qsets<KVVec<u8>>,
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

    /// Copies bytes from `pos` into `out`, up to the size; holes read as zeros. Returns the
    /// bytes copied (0 at or past the end).
    pub(crate) fn read_at(&self, pos: usize, out: &mut [u8]) -> usize {
        let len = out.len().min(self.size.saturating_sub(pos));
        for (place, range) in self.geometry().pieces(pos, len) {
            let dst = &mut out[range];
            match self.blocks.get(&place) {
                Some(block) => dst.copy_from_slice(&block[place.offset..][..dst.len()]),
                None => dst.fill(0),
            }
        }
        len
    }

    /// Copies `input` into the device at `pos`, growing it as needed. A write that starts at
    /// or past the bound is `EFBIG`; one that crosses it is cut short. Returns the bytes
    /// stored; a failure after some progress (`ENOMEM`, `ENOSPC`) ends the write early.
    pub(crate) fn write_at(&mut self, pos: usize, input: &[u8]) -> Result<usize> {
        if pos >= self.max_size {
            return Err(EFBIG);
        }
        let len = input.len().min(self.max_size - pos);
        let quantum = self.geometry().block();
        let mut done = 0;
        for (place, range) in self.geometry().pieces(pos, len) {
            let new_block = || KVVec::from_elem(0u8, quantum, GFP_KERNEL).map_err(Error::from);
            match self.blocks.get_or_insert(&place, new_block) {
                Ok(block) => {
                    block[place.offset..][..range.len()].copy_from_slice(&input[range.clone()])
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
            done = range.end;
            self.size = self.size.max(pos + done);
        }
        Ok(done)
    }
}
