// SPDX-License-Identifier: GPL-2.0

//! The memory behind a scull device, laid out as in LDD3 chapter 3: a list of "qsets", each an
//! array of `qset` pointers to `quantum`-byte blocks, all allocated on first write (the list
//! and its bookkeeping are `common::qset`).
//!
//! Unlike the book, blocks are zeroed where no write filled them (a hole reads as zeros, never
//! as old heap bytes), the data is bounded (`EFBIG` past `max_size`), and so is the list: a
//! write that needs more than `max_size` bytes of bookkeeping (a tiny geometry, far into the
//! device) is `ENOSPC`. A read or write looks up its block under the device lock and copies
//! there while the user's bytes are at hand, else with the lock dropped (`common::usercopy`).

use crate::common::{
    qset,
    usercopy::SharedBlock, //
};

/// The data of one device: quanta of bytes, shared so that a copy can go on after the lock
/// is dropped.
pub(crate) type Storage = qset::Storage<SharedBlock>;
