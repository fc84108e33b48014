// SPDX-License-Identifier: GPL-2.0

//! The memory behind a scullp device: scull's list of qsets (LDD3 chapter 15), but each block
//! is a zeroed [`PageBlock`] of `PAGE_SIZE << order` bytes, so that it can be mapped.
//!
//! Nothing here touches user memory: the file operations copy through a bounce buffer with the
//! device lock dropped (see `scullp.rs`), and the fault handler maps pages with it held.

use crate::common::vm::{PageBlock, PageRef};
use core::num::NonZeroUsize;
use kernel::{page::PAGE_SHIFT, prelude::*};

/// One list item: `qset` slots for blocks, or nothing before the first write into it.
type Qset = KVVec<Option<PageBlock>>;

/// Where a byte position falls: list item, slot in the item, offset in the block.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Place {
    pub(crate) item: usize,
    pub(crate) slot: usize,
    pub(crate) offset: usize,
}

/// The place of byte `pos` with blocks of `block` bytes, `qset` per list item.
pub(crate) fn place(pos: usize, block: usize, qset: usize) -> Place {
    // Both are at least 1 (validated settings): dividing by `NonZeroUsize` cannot panic.
    let block = NonZeroUsize::new(block).unwrap_or(NonZeroUsize::MIN);
    let item_size = block.saturating_mul(NonZeroUsize::new(qset).unwrap_or(NonZeroUsize::MIN));
    let rest = pos % item_size;
    Place {
        item: pos / item_size,
        slot: rest / block,
        offset: rest % block,
    }
}

/// The data of one device and the geometry it was last truncated with.
pub(crate) struct Storage {
    order: u32,
    qset: usize,
    size: usize,
    max_size: usize,
    items: KVec<Qset>,
}

impl Storage {
    /// An empty device with blocks of order `order`, `qset` per list item, and room for
    /// `max_size` bytes.
    pub(crate) fn new(order: u32, qset: usize, max_size: usize) -> Self {
        Self {
            order,
            qset,
            size: 0,
            max_size,
            items: KVec::new(),
        }
    }

    /// Bytes held (the end of the last write).
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Bytes per block.
    fn block_size(&self) -> usize {
        kernel::page::PAGE_SIZE << self.order
    }

    /// Frees every block (scullp_trim) and takes a new geometry. Pages still mapped somewhere
    /// stay alive through the mappings' own references; the driver refuses to trim while
    /// mapped anyway.
    pub(crate) fn trim(&mut self, order: u32, qset: usize) {
        self.items = KVec::new();
        self.size = 0;
        self.order = order;
        self.qset = qset;
    }

    fn block_at(&self, place: &Place) -> Option<&PageBlock> {
        self.items.get(place.item)?.get(place.slot)?.as_ref()
    }

    /// The block holding `place`, allocating the list items, slots and zeroed block on the way.
    fn block_for_write(&mut self, place: &Place) -> Result<&mut PageBlock> {
        while self.items.len() <= place.item {
            self.items.push(KVVec::new(), GFP_KERNEL)?;
        }
        let (qset, order) = (self.qset, self.order);
        let item = &mut self.items[place.item];
        if item.is_empty() {
            let mut slots = KVVec::with_capacity(qset, GFP_KERNEL)?;
            for _ in 0..qset {
                slots.push(None, GFP_KERNEL)?;
            }
            *item = slots;
        }
        let slot = &mut item[place.slot];
        if slot.is_none() {
            *slot = Some(PageBlock::new(order)?);
        }
        slot.as_mut().ok_or(ENOMEM)
    }

    /// Copies bytes from `pos` into `out`, up to the size; holes read as zeros. Returns the
    /// number of bytes copied (0 at or past the end).
    pub(crate) fn read_at(&self, pos: usize, out: &mut [u8]) -> Result<usize> {
        if pos >= self.size {
            return Ok(0);
        }
        let total = out.len().min(self.size - pos);
        let block = self.block_size();
        let mut done = 0;
        while done < total {
            let place = place(pos + done, block, self.qset);
            let n = (block - place.offset).min(total - done);
            let dst = &mut out[done..done + n];
            match self.block_at(&place) {
                Some(b) => b.copy_out(place.offset, dst)?,
                None => dst.fill(0),
            }
            done += n;
        }
        Ok(done)
    }

    /// Copies `input` into the device at `pos`, growing it as needed. A write that starts at
    /// or past the bound is `EFBIG`; one that crosses it is cut short. Returns the bytes
    /// stored; an allocation failure after some progress ends the write early.
    pub(crate) fn write_at(&mut self, pos: usize, input: &[u8]) -> Result<usize> {
        if pos >= self.max_size {
            return Err(EFBIG);
        }
        let total = input.len().min(self.max_size - pos);
        let block = self.block_size();
        let mut done = 0;
        while done < total {
            let place = place(pos + done, block, self.qset);
            let n = (block - place.offset).min(total - done);
            let stored = self
                .block_for_write(&place)
                .and_then(|b| b.copy_in(place.offset, &input[done..done + n]));
            if let Err(e) = stored {
                if done == 0 {
                    return Err(e);
                }
                break;
            }
            done += n;
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
        let place = place(pos, self.block_size(), self.qset);
        self.block_at(&place)?.page(place.offset >> PAGE_SHIFT)
    }
}
