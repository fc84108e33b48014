// SPDX-License-Identifier: GPL-2.0

//! The memory behind a scull device, laid out as in LDD3 chapter 3: a list of "qsets", each an
//! array of `qset` pointers to `quantum`-byte blocks, all allocated on first write.
//!
//! Unlike the book, blocks are zeroed (a hole reads as zeros, never as old heap bytes), the size
//! is bounded (`EFBIG` past the bound), and one call moves as many bytes as asked, not just up
//! to the end of the current quantum.

use crate::common::signal_pending;
use core::num::NonZeroUsize;
use kernel::{
    fs::file::Offset,
    prelude::*,
    uaccess::{UserSliceReader, UserSliceWriter},
};

/// One `quantum`-byte block.
type Quantum = KVVec<u8>;

/// One list item: `qset` slots for quanta, or nothing before the first write into it.
type Qset = KVVec<Option<Quantum>>;

/// Zeros for reading holes.
static ZEROS: [u8; 512] = [0; 512];

/// The data of one device and the geometry it was last truncated with.
pub(crate) struct Storage {
    quantum: usize,
    qset: usize,
    size: usize,
    max_size: usize,
    items: KVec<Qset>,
}

/// Where a byte position falls: list item, slot in the item, offset in the quantum.
struct Place {
    item: usize,
    slot: usize,
    offset: usize,
}

impl Storage {
    /// An empty device with blocks of `quantum` bytes, `qset` per list item, and room for
    /// `max_size` bytes.
    pub(crate) fn new(quantum: usize, qset: usize, max_size: usize) -> Self {
        Self {
            quantum,
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

    /// The quantum size in bytes.
    pub(crate) fn quantum(&self) -> usize {
        self.quantum
    }

    /// Quanta per list item.
    pub(crate) fn qset(&self) -> usize {
        self.qset
    }

    /// For each list item, how many of its quanta are allocated.
    pub(crate) fn items(&self) -> impl Iterator<Item = usize> + '_ {
        self.items
            .iter()
            .map(|item| item.iter().filter(|q| q.is_some()).count())
    }

    /// Frees everything (scull_trim) and takes a new geometry.
    pub(crate) fn trim(&mut self, quantum: usize, qset: usize) {
        self.items = KVec::new();
        self.size = 0;
        self.quantum = quantum;
        self.qset = qset;
    }

    fn place(&self, pos: usize) -> Place {
        // Both are at least 1 (validated settings): dividing by `NonZeroUsize` cannot panic.
        let quantum = NonZeroUsize::new(self.quantum).unwrap_or(NonZeroUsize::MIN);
        let item_size =
            quantum.saturating_mul(NonZeroUsize::new(self.qset).unwrap_or(NonZeroUsize::MIN));
        let rest = pos % item_size;
        Place {
            item: pos / item_size,
            slot: rest / quantum,
            offset: rest % quantum,
        }
    }

    /// The quantum holding `place`, if it was ever written.
    fn quantum_at(&self, place: &Place) -> Option<&Quantum> {
        self.items.get(place.item)?.get(place.slot)?.as_ref()
    }

    /// The quantum holding `place`, allocating the list items, slots and zeroed block on the
    /// way (scull_follow).
    fn quantum_for_write(&mut self, place: &Place) -> Result<&mut Quantum> {
        while self.items.len() <= place.item {
            self.items.push(KVVec::new(), GFP_KERNEL)?;
        }
        let item = &mut self.items[place.item];
        if item.is_empty() {
            let mut slots = KVVec::with_capacity(self.qset, GFP_KERNEL)?;
            for _ in 0..self.qset {
                slots.push(None, GFP_KERNEL)?;
            }
            *item = slots;
        }
        let slot = &mut item[place.slot];
        if slot.is_none() {
            *slot = Some(KVVec::from_elem(0u8, self.quantum, GFP_KERNEL)?);
        }
        slot.as_mut().ok_or(ENOMEM)
    }

    /// Copies bytes from `*pos` into `out`, up to the size; holes read as zeros. Returns the
    /// bytes copied, and moves `*pos` past them.
    pub(crate) fn read(&self, out: &mut UserSliceWriter, pos: &mut Offset) -> Result<usize> {
        let Ok(start) = usize::try_from(*pos) else {
            return Err(EINVAL);
        };
        if start >= self.size {
            return Ok(0);
        }
        let total = out.len().min(self.size - start);
        let mut done = 0;
        while done < total {
            // One quantum at least, then a pending signal ends the call (the count so far):
            // with tiny quanta a large read is millions of steps.
            if done > 0 && signal_pending() {
                break;
            }
            let place = self.place(start + done);
            let n = (self.quantum - place.offset).min(total - done);
            let copied = match self.quantum_at(&place) {
                Some(block) => out.write_slice(&block[place.offset..place.offset + n]),
                None => write_zeros(out, n),
            };
            if let Err(e) = copied {
                if done == 0 {
                    return Err(e);
                }
                break;
            }
            done += n;
        }
        *pos += done as Offset;
        Ok(done)
    }

    /// Copies `input` into the device at `*pos`, growing it as needed. A write that starts at
    /// or past the bound is `EFBIG`; one that crosses it is cut short.
    pub(crate) fn write(&mut self, input: &mut UserSliceReader, pos: &mut Offset) -> Result<usize> {
        let start = usize::try_from(*pos).map_err(|_| EINVAL)?;
        if start >= self.max_size {
            return Err(EFBIG);
        }
        let total = input.len().min(self.max_size - start);
        let mut done = 0;
        while done < total {
            // As in `read`: a write with tiny quanta allocates a block per step, and `kill`
            // must not wait for millions of them.
            if done > 0 && signal_pending() {
                break;
            }
            let place = self.place(start + done);
            let n = (self.quantum - place.offset).min(total - done);
            let copied = self
                .quantum_for_write(&place)
                .and_then(|block| input.read_slice(&mut block[place.offset..place.offset + n]));
            if let Err(e) = copied {
                if done == 0 {
                    return Err(e);
                }
                break;
            }
            done += n;
            self.size = self.size.max(start + done);
        }
        *pos += done as Offset;
        Ok(done)
    }
}

/// Writes `n` zero bytes to `out`.
fn write_zeros(out: &mut UserSliceWriter, mut n: usize) -> Result {
    while n > 0 {
        let chunk = n.min(ZEROS.len());
        out.write_slice(&ZEROS[..chunk])?;
        n -= chunk;
    }
    Ok(())
}
