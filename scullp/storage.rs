// SPDX-License-Identifier: GPL-2.0

//! The memory behind a scullp device: scull's list of qsets (LDD3 chapter 15, the list and its
//! bookkeeping are `common::qset`), but each block is a zeroed [`PageBlock`] of
//! `PAGE_SIZE << order` bytes, so that it can be mapped.
//!
//! A read or write looks up its block under the device lock and copies there while the user's
//! bytes are at hand, else with the lock dropped (`common::usercopy`); the fault handler maps
//! pages with the lock held.

use crate::common::{
    qset::{
        self,
        Geometry, //
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

/// The data of one device.
pub(crate) type Storage = qset::Storage<PageBlock>;

/// The geometry of blocks of order `order`, `qset` per list item.
pub(crate) fn geometry(order: u32, qset: usize) -> Result<Geometry> {
    Geometry::new(PAGE_SIZE.checked_shl(order).ok_or(EINVAL)?, qset)
}

/// The page at page offset `pgoff` of `storage`, if a mapping may show it: inside the size (a
/// last, partial page included) and in a block that was written. `None` is a `SIGBUS`.
pub(crate) fn page_at(storage: &Storage, pgoff: usize) -> Option<PageRef<'_>> {
    let (block, offset) = storage.block_at(pgoff.checked_mul(1 << PAGE_SHIFT)?)?;
    block.page(offset >> PAGE_SHIFT)
}
