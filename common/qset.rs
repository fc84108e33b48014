// SPDX-License-Identifier: GPL-2.0

//! The storage layout of scull and scullp (LDD3 chapters 3 and 15): a list of "qsets", each an
//! array of `qset` slots for blocks of `block` bytes, allocated on first write.
//!
//! The book walks the list by hand in each driver (`scull_follow`) and computes the block of a
//! position with divisions it repeats at every use. Here the geometry is a type that is valid
//! by construction ([`Geometry`]), and the list ([`Qsets`]) keeps what it spends on its own
//! bookkeeping under a bound: with a tiny geometry (1-byte blocks, one per item) the list would
//! cost tens of bytes per byte stored, and one write far into the device would ask for more
//! than kmalloc can give.

use super::usercopy::{
    BlockReads,
    BlockWrites,
    Faults,
    ReadPiece,
    UserCopy,
    UserReader,
    UserWriter,
    WritePiece,
    WriteTarget,
    Written, //
};
use core::{
    mem::size_of,
    num::NonZeroUsize,
    ops::Range, //
};
use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    }, //
};

/// Block size and blocks per list item, both non-zero, with a list item's size
/// (`block * qset`) representable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    block: NonZeroUsize,
    qset: NonZeroUsize,
    item: NonZeroUsize,
}

/// Where a byte position falls: list item, slot in the item, offset in the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    /// Index of the list item.
    pub item: usize,
    /// Slot in the item.
    pub slot: usize,
    /// Byte offset in the block.
    pub offset: usize,
}

impl Geometry {
    /// Blocks of `block` bytes, `qset` per list item; `EINVAL` if either is zero or a list
    /// item's size overflows.
    pub fn new(block: usize, qset: usize) -> Result<Self> {
        let block = NonZeroUsize::new(block).ok_or(EINVAL)?;
        let qset = NonZeroUsize::new(qset).ok_or(EINVAL)?;
        let item = block.checked_mul(qset).ok_or(EINVAL)?;
        Ok(Self { block, qset, item })
    }

    /// Bytes per block.
    pub fn block(&self) -> usize {
        self.block.get()
    }

    /// Blocks per list item.
    pub fn qset(&self) -> usize {
        self.qset.get()
    }

    /// The place of byte `pos`.
    pub fn place(&self, pos: usize) -> Place {
        let rest = pos % self.item;
        Place {
            item: pos / self.item,
            slot: rest / self.block,
            offset: rest % self.block,
        }
    }

    /// The bytes `pos..pos + len` cut at block boundaries: for each piece, its place and its
    /// range within `0..len` (the caller's buffer).
    pub fn pieces(&self, pos: usize, len: usize) -> impl Iterator<Item = (Place, Range<usize>)> {
        let geometry = *self;
        let mut done = 0;
        core::iter::from_fn(move || {
            if done >= len {
                return None;
            }
            let place = geometry.place(pos.checked_add(done)?);
            let n = (geometry.block() - place.offset).min(len - done);
            done += n;
            Some((place, done - n..done))
        })
    }
}

/// One list item: `qset` slots, or nothing before the first write into it.
type Item<B> = KVVec<Option<B>>;

/// The list of qsets, holding blocks of type `B`.
///
/// # Invariants
///
/// `index_bytes` is the size of the list's array (its capacity) plus that of every allocated
/// item's slot array, and is at most `max_index_bytes`. `generation` is this list's own: no
/// other list made since the module was loaded has it. Items and slots, once allocated, stay
/// for the list's life.
pub struct Qsets<B> {
    geometry: Geometry,
    items: KVVec<Item<B>>,
    index_bytes: usize,
    max_index_bytes: usize,
    generation: u64,
}

/// The generation of the next [`Qsets`]: a device truncated (a new list) between a write's
/// lookup and its insertion is told apart from one that was not.
static NEXT_GENERATION: Atomic<u64> = Atomic::new(0);

/// A place where a write found no block, in the list as it was then ([`WriteTarget::Vacant`]):
/// its slot exists, and [`Qsets::store`] fills it with the block the write made, unless
/// another write did first or the list was replaced (the device truncated).
pub struct Vacancy {
    place: Place,
    generation: u64,
    block_size: usize,
}

impl Vacancy {
    /// Bytes of the block to make.
    pub fn block_size(&self) -> usize {
        self.block_size
    }
}

impl<B> Qsets<B> {
    /// An empty list for `geometry`, which may spend up to `max_index_bytes` on its list and
    /// slot arrays (the blocks are not counted).
    pub fn new(geometry: Geometry, max_index_bytes: usize) -> Self {
        Self {
            geometry,
            items: KVVec::new(),
            index_bytes: 0,
            max_index_bytes,
            // INVARIANT: each list takes the next value; a u64 does not wrap.
            generation: NEXT_GENERATION.fetch_add(1, Relaxed),
        }
    }

    /// The geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Bytes spent on the list and slot arrays.
    pub fn index_bytes(&self) -> usize {
        self.index_bytes
    }

    /// For each list item, how many of its blocks are allocated.
    pub fn blocks_per_item(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        self.items
            .iter()
            .map(|item| item.iter().filter(|b| b.is_some()).count())
    }

    /// The place of byte `pos` and the bytes from it to the end of its block or to `end`,
    /// whichever comes first; `None` at or past `end`.
    fn span(&self, pos: usize, end: usize) -> Option<(Place, usize)> {
        let room = end.checked_sub(pos).filter(|&room| room > 0)?;
        let place = self.geometry.place(pos);
        Some((place, (self.geometry.block() - place.offset).min(room)))
    }

    /// The block at `place`, if it was ever written.
    pub fn get(&self, place: &Place) -> Option<&B> {
        self.items.get(place.item)?.get(place.slot)?.as_ref()
    }

    /// The block at `place`, made by `new_block` (and the list items and slots on the way) if
    /// there is none yet (C `scull_follow`). `ENOSPC` if the index would grow past its bound,
    /// before anything is allocated.
    pub fn get_or_insert(
        &mut self,
        place: &Place,
        new_block: impl FnOnce() -> Result<B>,
    ) -> Result<&mut B> {
        let slot = self.slot(place)?;
        if slot.is_none() {
            *slot = Some(new_block()?);
        }
        slot.as_mut().ok_or(ENOMEM)
    }

    /// The slot of `place`, with the list items and slot arrays on the way allocated if need
    /// be. `ENOSPC` if the index would grow past its bound, before anything is allocated;
    /// `EINVAL` for a slot past `qset`.
    #[inline]
    fn slot(&mut self, place: &Place) -> Result<&mut Option<B>> {
        // Every write but the first into a qset finds its slot array there: that look-up is
        // inline in the write path, the growing is not.
        if self
            .items
            .get(place.item)
            .is_some_and(|item| !item.is_empty())
        {
            return self.items[place.item].get_mut(place.slot).ok_or(EINVAL);
        }
        self.grow_to(place)
    }

    /// [`Self::slot`] for a place whose list item or slot array is not there yet.
    #[cold]
    fn grow_to(&mut self, place: &Place) -> Result<&mut Option<B>> {
        let qset = self.geometry.qset();
        // The list grows as `Vec::reserve` grows it: to twice its capacity at least.
        let cap = self.items.capacity();
        let new_list = if place.item < cap {
            0
        } else {
            place.item.checked_add(1).ok_or(ENOSPC)?.max(cap * 2) - cap
        };
        let new_slots = match self.items.get(place.item) {
            Some(item) if !item.is_empty() => 0,
            _ => qset,
        };
        let more = new_list
            .saturating_mul(size_of::<Item<B>>())
            .saturating_add(new_slots.saturating_mul(size_of::<Option<B>>()));
        if self.index_bytes.saturating_add(more) > self.max_index_bytes {
            return Err(ENOSPC);
        }
        if new_list > 0 {
            self.items
                .reserve(place.item + 1 - self.items.len(), GFP_KERNEL)?;
            self.index_bytes += (self.items.capacity() - cap) * size_of::<Item<B>>();
        }
        while self.items.len() <= place.item {
            self.items.push(KVVec::new(), GFP_KERNEL)?;
        }
        let item = &mut self.items[place.item];
        if item.is_empty() {
            let mut slots = KVVec::with_capacity(qset, GFP_KERNEL)?;
            for _ in 0..qset {
                slots.push(None, GFP_KERNEL)?;
            }
            *item = slots;
            self.index_bytes += qset * size_of::<Option<B>>();
        }
        item.get_mut(place.slot).ok_or(EINVAL)
    }
}

/// Blocks shared with the calls copying them: a read or write takes a reference on its block
/// under the device lock and copies after dropping it (`super::usercopy`).
impl<T> Qsets<Arc<T>> {
    /// Where byte `pos` of a device of `size` bytes is, for a read of up to `max` bytes: the
    /// block there (a reference to it) and its bytes up to the end of the block or the
    /// device; a hole reads as zeros.
    pub fn read_piece(&self, pos: usize, size: usize, max: usize) -> ReadPiece<Arc<T>> {
        let Some((place, len)) = self.span(pos, size) else {
            return ReadPiece::End;
        };
        let len = len.min(max);
        match self.get(&place) {
            Some(block) => ReadPiece::Data {
                block: block.clone(),
                offset: place.offset,
                len,
            },
            None => ReadPiece::Hole(len),
        }
    }

    /// Copies the bytes from `pos` on of a device of `size` bytes that the block there holds
    /// to `out`, as far as they need no page fault (`Faults::Fail`: the caller holds the
    /// device lock). Returns how many were copied: 0 if the first one needs a fault, at the
    /// end of the device, and in a hole (which [`Self::read_piece`] gives as such).
    pub fn read_at_hand(&self, pos: usize, size: usize, out: &mut UserWriter) -> Result<usize>
    where
        T: UserCopy,
    {
        let Some((place, len)) = self.span(pos, size) else {
            return Ok(0);
        };
        let Some(block) = self.get(&place) else {
            return Ok(0);
        };
        match block.copy_to_user(place.offset, len, out, Faults::Fail) {
            Err(e) if e == EFAULT => Ok(0),
            copied => copied,
        }
    }

    /// Where byte `pos` of a write of up to `max` bytes goes, in a device bounded by `bound`
    /// bytes: the block there (a reference to it), or the vacancy for a new one, with room up
    /// to the end of the block or the bound. The list items and slots on the way are
    /// allocated here, so that inserting the new block cannot fail. `EFBIG` at or past the
    /// bound, `ENOSPC` at the list's own bound, `ENOMEM`.
    pub fn write_piece(
        &mut self,
        pos: usize,
        bound: usize,
        max: usize,
    ) -> Result<WritePiece<Arc<T>>> {
        let (place, len) = self.span(pos, bound).ok_or(EFBIG)?;
        let len = len.min(max);
        let (block_size, generation) = (self.geometry.block(), self.generation);
        let target = match self.slot(&place)? {
            Some(block) => WriteTarget::Block(block.clone()),
            None => WriteTarget::Vacant(Vacancy {
                place,
                generation,
                block_size,
            }),
        };
        Ok(WritePiece {
            target,
            offset: place.offset,
            len,
        })
    }

    /// Copies the bytes of `input` that a write at `pos` puts in one block, in a device of
    /// `*size` bytes bounded by `bound`, as far as they need no page fault (`Faults::Fail`: the
    /// caller holds the device lock): into the block there, or into a new one made and put in
    /// now. `*size` grows past them. Returns how many were copied, 0 if the first one needs a
    /// fault; `EFBIG` at or past the bound, `ENOSPC` at the list's own bound, `ENOMEM`.
    pub fn write_at_hand(
        &mut self,
        size: &mut usize,
        pos: usize,
        bound: usize,
        input: &mut UserReader,
    ) -> Result<usize>
    where
        T: UserCopy,
    {
        let (place, len) = self.span(pos, bound).ok_or(EFBIG)?;
        if input.is_empty() {
            return Ok(0);
        }
        let block_size = self.geometry.block();
        let slot = self.slot(&place)?;
        let copied = match slot {
            Some(block) => block.copy_from_user(place.offset, len, input, Faults::Fail),
            None => Arc::<T>::new_from_user(block_size, place.offset, len, input, Faults::Fail)
                .map(|(block, n)| {
                    *slot = Some(block);
                    n
                }),
        };
        match copied {
            Ok(n) => {
                *size = (*size).max(pos + n);
                Ok(n)
            }
            Err(e) if e == EFAULT => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Records, in a device of `*size` bytes, that a write's bytes are in place up to `end`
    /// through `written`: a new block goes into its vacancy, and the size grows to `end` if
    /// that is further, unless the device was truncated since the piece was looked up (the
    /// bytes went with the old contents). False if another write filled the vacancy first:
    /// nothing changes, and the bytes must be copied again, into that block.
    pub fn store(&mut self, size: &mut usize, written: Written<Arc<T>>, end: usize) -> bool {
        match self.size_after(*size, written, end) {
            Some(new) => {
                *size = new;
                true
            }
            None => false,
        }
    }

    /// The size [`Self::store`] leaves, inserting a new block; `None` for a vacancy taken.
    fn size_after(&mut self, size: usize, written: Written<Arc<T>>, end: usize) -> Option<usize> {
        // Nothing in place: nothing to record.
        let Some(last) = end.checked_sub(1) else {
            return Some(size);
        };
        match written {
            Written::Into(block) if self.holds(last, &block) => Some(size.max(end)),
            Written::Into(_) => Some(size),
            Written::New(_, vacancy) if vacancy.generation != self.generation => Some(size),
            Written::New(block, vacancy) => {
                let place = vacancy.place;
                // The slot exists: the vacancy is of this list, which keeps its slots.
                match self.items.get_mut(place.item)?.get_mut(place.slot)? {
                    slot @ None => {
                        *slot = Some(block);
                        Some(size.max(end))
                    }
                    Some(_) => None,
                }
            }
        }
    }

    /// Whether `block` still holds byte `pos`: it was not truncated away since it was
    /// looked up (a new block would be another allocation, and ours is alive).
    pub fn holds(&self, pos: usize, block: &Arc<T>) -> bool {
        self.get(&self.geometry.place(pos))
            .is_some_and(|held| Arc::ptr_eq(held, block))
    }
}

/// The data of one scull or scullp device (the `data` and `size` of C `struct scull_dev`): its
/// blocks, the bytes held, and the bound past which a write is `EFBIG`, which also bounds the
/// list's own bookkeeping (a write that needs more than `max_size` bytes of it is `ENOSPC`).
///
/// Nothing here touches user memory but through the copies `super::usercopy` asks for with the
/// device lock held; that lock is the driver's (`read_pieces`, `write_pieces`).
pub struct Storage<T> {
    blocks: Qsets<Arc<T>>,
    size: usize,
    max_size: usize,
}

impl<T> Storage<T> {
    /// An empty device with the given geometry and room for `max_size` bytes.
    pub fn new(geometry: Geometry, max_size: usize) -> Self {
        Self {
            blocks: Qsets::new(geometry, max_size),
            size: 0,
            max_size,
        }
    }

    /// Bytes held (the end of the last write).
    pub fn size(&self) -> usize {
        self.size
    }

    /// The geometry.
    pub fn geometry(&self) -> Geometry {
        self.blocks.geometry()
    }

    /// For each list item, how many of its blocks are allocated.
    pub fn items(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        self.blocks.blocks_per_item()
    }

    /// The block holding byte `pos` and the offset of `pos` in it, if `pos` is inside the size
    /// and its block was written.
    pub fn block_at(&self, pos: usize) -> Option<(&Arc<T>, usize)> {
        let (place, _) = self.blocks.span(pos, self.size)?;
        Some((self.blocks.get(&place)?, place.offset))
    }

    /// Frees every block (C `scull_trim`) and takes a new geometry. Blocks still referenced
    /// elsewhere (a copy in progress, a mapping) stay alive through those references.
    pub fn trim(&mut self, geometry: Geometry) {
        *self = Self::new(geometry, self.max_size);
    }
}

/// C `scull_write`'s bookkeeping, for `super::usercopy::write_pieces`.
impl<T: UserCopy> BlockWrites for Storage<T> {
    type Block = Arc<T>;

    fn write_at_hand(&mut self, pos: usize, input: &mut UserReader) -> Result<usize> {
        self.blocks
            .write_at_hand(&mut self.size, pos, self.max_size, input)
    }

    fn write_piece(&mut self, pos: usize, max: usize) -> Result<WritePiece<Arc<T>>> {
        self.blocks.write_piece(pos, self.max_size, max)
    }

    fn stored(&mut self, written: Written<Arc<T>>, end: usize) -> bool {
        self.blocks.store(&mut self.size, written, end)
    }
}

/// C `scull_read`'s lookups, for `super::usercopy::read_pieces`.
impl<T: UserCopy> BlockReads for Storage<T> {
    type Block = Arc<T>;

    fn read_at_hand(&self, pos: usize, out: &mut UserWriter) -> Result<usize> {
        self.blocks.read_at_hand(pos, self.size, out)
    }

    fn read_piece(&self, pos: usize, max: usize) -> ReadPiece<Arc<T>> {
        self.blocks.read_piece(pos, self.size, max)
    }
}
