// SPDX-License-Identifier: GPL-2.0

//! Mapping driver memory into user space: blocks of zeroed pages ([`PageBlock`]), the
//! [`VmOperations`] trait and the C `vm_operations_struct` built from it ([`VmOpsVTable`]), the
//! view of one page fault ([`VmFault`]), and [`VmMapping`], what
//! [`FileOperations::mmap`](super::fops::FileOperations::mmap) returns to install them.
//!
//! Page lifetimes: a [`PageBlock`] owns one reference on its (compound) page; every PTE that
//! [`VmFault::insert`] creates takes a reference of its own (`vm_insert_pages` does
//! `folio_get`) that the unmap drops. So a block may be dropped while mapped without freeing
//! memory a mapping can still reach; drivers that want mappings and contents to agree refuse
//! truncation while mapped on top of that.
//!
//! C headers: [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/gfp.h`](srctree/include/linux/gfp.h).

use core::{
    cell::Cell,
    ffi::c_void,
    marker::PhantomData,
    ops::Range,
    ptr,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    mm::virt::{
        VmaMixedMap,
        VmaNew,
        VmaRef, //
    },
    page::{
        PAGE_SHIFT,
        PAGE_SIZE, //
    },
    prelude::*,
    sync::{
        Arc,
        ArcBorrow, //
    },
    types::ForeignOwnable, //
};

use super::usercopy::{
    copy_from_shared,
    copy_to_shared,
    partial,
    Faults,
    UserCopy,
    UserReader,
    UserWriter, //
};

/// The largest order the page allocator hands out (`MAX_PAGE_ORDER`).
pub const MAX_ORDER: u32 = bindings::MAX_PAGE_ORDER;

/// `__GFP_COMP` (a `__force` cast in `include/linux/gfp_types.h`, which clang evaluates for
/// the generated `common/bindings.rs`).
const GFP_COMP: bindings::gfp_t = super::bindings::__GFP_COMP;

/// A block of `1 << order` physically contiguous pages, zeroed where nothing was written: a
/// compound page when the order is above 0 (so that `vm_insert_page` may map its tail pages,
/// and every page of it shares one reference count).
///
/// # Invariants
///
/// `head` is the first page of an allocation of order `order` made by the page allocator
/// (with `__GFP_COMP` when `order > 0`), on which this value owns one reference, dropped
/// exactly once, on drop. The `struct page`s of the block are contiguous
/// (`folio_page(folio, n) == &folio->page + n`). Every byte of the block was written (zeroed,
/// or copied in) before anything but its maker could reach it.
pub struct PageBlock {
    head: NonNull<bindings::page>,
    order: u32,
}

// SAFETY: The block is plain memory owned through a page reference, which may be dropped from
// any thread.
unsafe impl Send for PageBlock {}
// SAFETY: `&self` methods access the memory only with user copies and relaxed atomics, which
// may run on several threads at once (the model of `super::usercopy`).
unsafe impl Sync for PageBlock {}

impl PageBlock {
    /// Allocates a zeroed block of `1 << order` pages; `EINVAL` above [`MAX_ORDER`], `ENOMEM`
    /// when there is no such contiguous memory.
    pub fn new(order: u32) -> Result<Self> {
        // SAFETY: `__GFP_ZERO`: every byte is zero before anyone can reach the block.
        unsafe { Self::alloc(order, bindings::__GFP_ZERO) }
    }

    /// Allocates `1 << order` pages with `GFP_KERNEL` and `zero` (`__GFP_ZERO` or nothing).
    ///
    /// # Safety
    ///
    /// Unless `zero` is `__GFP_ZERO`, the memory holds stale bytes: the caller writes every
    /// byte of the block before anything else can reach it (the type invariant).
    unsafe fn alloc(order: u32, zero: bindings::gfp_t) -> Result<Self> {
        if order > MAX_ORDER {
            return Err(EINVAL);
        }
        let mut gfp = bindings::GFP_KERNEL | zero;
        if order > 0 {
            gfp |= GFP_COMP | bindings::__GFP_NOWARN;
        }
        // SAFETY: Any flags and an order up to `MAX_PAGE_ORDER` are valid. This is the kernel
        // crate's helper for the C `alloc_pages` macro, so the allocation is accounted to this
        // call site by allocation profiling like any C caller's.
        let page = unsafe { bindings::alloc_pages(gfp, order) };
        // INVARIANT: a non-NULL result is a new allocation with one reference, ours.
        NonNull::new(page)
            .map(|head| Self { head, order })
            .ok_or(ENOMEM)
    }

    /// The order of the block.
    pub fn order(&self) -> u32 {
        self.order
    }

    /// Pages in the block.
    pub fn pages(&self) -> usize {
        1 << self.order
    }

    /// Bytes in the block.
    pub fn size(&self) -> usize {
        PAGE_SIZE << self.order
    }

    /// The `index`-th page of the block, to be mapped with [`VmFault::insert`].
    pub fn page(&self, index: usize) -> Option<PageRef<'_>> {
        (index < self.pages()).then_some(PageRef { block: self, index })
    }

    /// The `struct page` of page `index`.
    ///
    /// # Safety
    ///
    /// `index < self.pages()`.
    unsafe fn page_ptr(&self, index: usize) -> *mut bindings::page {
        // SAFETY: By the type invariant the block's `struct page`s are contiguous, and `index`
        // is in the block.
        unsafe { self.head.as_ptr().add(index) }
    }

    /// Calls `f(page_offset, chunk_offset, len)` for the pieces of `offset .. offset + len`
    /// that fall in each page, after checking the range is inside the block.
    fn for_each_page(
        &self,
        offset: usize,
        len: usize,
        mut f: impl FnMut(usize, usize, usize, usize),
    ) -> Result {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > self.size() {
            return Err(EINVAL);
        }
        let mut done = 0;
        while done < len {
            let at = offset + done;
            let (index, in_page) = (at >> PAGE_SHIFT, at & (PAGE_SIZE - 1));
            let n = (PAGE_SIZE - in_page).min(len - done);
            f(index, in_page, done, n);
            done += n;
        }
        Ok(())
    }

    /// Copies `dst.len()` bytes from the block, starting at `offset`; `EINVAL` if that goes
    /// past the end of the block.
    ///
    /// Other calls, and user space through a mapping, may write the block at the same time;
    /// the copy then sees, for each aligned 8-byte word of the block (each byte at the ends
    /// of the range), its value from before or after that write (see
    /// [`super::usercopy`]).
    pub fn copy_out(&self, offset: usize, dst: &mut [u8]) -> Result {
        self.for_each_page(offset, dst.len(), |index, in_page, at, n| {
            // SAFETY: `index` is in the block (checked by `for_each_page`); the page is ours
            // (type invariant), `kmap_local_page` gives its address until `kunmap_local`, and
            // `in_page + n <= PAGE_SIZE`, `at + n <= dst.len()`. The block's memory is
            // accessed only by user copies and relaxed atomics (the usercopy model), which is
            // what `copy_from_shared` allows to race with it. `dst` is ours alone.
            unsafe {
                let addr = bindings::kmap_local_page(self.page_ptr(index)).cast::<u8>();
                copy_from_shared(dst.as_mut_ptr().add(at), addr.add(in_page), n);
                bindings::kunmap_local(addr.cast::<c_void>());
            }
        })
    }

    /// Copies `src` into the block at `offset`; `EINVAL` if that goes past the end of the
    /// block. Other calls and user space may copy the same bytes at once, as for
    /// [`Self::copy_out`].
    pub fn copy_in(&self, offset: usize, src: &[u8]) -> Result {
        self.for_each_page(offset, src.len(), |index, in_page, at, n| {
            // SAFETY: As in `copy_out`, with `src` the source.
            unsafe {
                let addr = bindings::kmap_local_page(self.page_ptr(index)).cast::<u8>();
                copy_to_shared(addr.add(in_page), src.as_ptr().add(at), n);
                bindings::kunmap_local(addr.cast::<c_void>());
            }
        })
    }

    /// Zeroes `len` bytes from `offset` on (plain writes: only for a block nobody else can
    /// reach yet, in [`UserCopy::new_from_user`]); `EINVAL` past the end.
    fn zero(&self, offset: usize, len: usize) -> Result {
        self.for_each_page(offset, len, |index, in_page, _, n| {
            // SAFETY: As in `copy_out`; the block is not shared yet (this function's
            // contract), so plain writes race with nothing.
            unsafe {
                let addr = bindings::kmap_local_page(self.page_ptr(index)).cast::<u8>();
                ptr::write_bytes(addr.add(in_page), 0, n);
                bindings::kunmap_local(addr.cast::<c_void>());
            }
        })
    }

    /// Calls `copy(address, len)` on each page's piece of `offset .. offset + n`, the page
    /// mapped (`kmap_local_page`) during the call, until one copies less than its piece;
    /// returns the bytes copied. `EINVAL` if the range goes past the end of the block.
    fn copy_user(
        &self,
        offset: usize,
        n: usize,
        mut copy: impl FnMut(*mut u8, usize) -> Result<usize>,
    ) -> Result<usize> {
        match offset.checked_add(n) {
            Some(end) if end <= self.size() => {}
            _ => return Err(EINVAL),
        }
        let mut done = 0;
        while done < n {
            let at = offset + done;
            let (index, in_page) = (at >> PAGE_SHIFT, at & (PAGE_SIZE - 1));
            let len = (PAGE_SIZE - in_page).min(n - done);
            // SAFETY: `index` is in the block (`at < size`) and the page is ours (type
            // invariant); `kmap_local_page` gives its address until `kunmap_local`, in this
            // thread, and faults may be taken meanwhile (Documentation/mm/highmem.rst).
            let addr = unsafe { bindings::kmap_local_page(self.page_ptr(index)).cast::<u8>() };
            // SAFETY: `in_page + len <= PAGE_SIZE`: inside the mapped page.
            let copied = copy(unsafe { addr.add(in_page) }, len);
            // SAFETY: Mapped just above, in this thread.
            unsafe { bindings::kunmap_local(addr.cast::<c_void>()) };
            match copied {
                Ok(c) if c < len => return Ok(done + c),
                Ok(c) => done += c,
                Err(e) => return partial(done, e),
            }
        }
        Ok(done)
    }
}

/// Page by page, with no lock needed: the memory model is [`super::usercopy`]'s.
impl UserCopy for PageBlock {
    fn copy_to_user(
        &self,
        offset: usize,
        n: usize,
        out: &mut UserWriter,
        faults: Faults,
    ) -> Result<usize> {
        self.copy_user(offset, n.min(out.len()), |addr, len| {
            // SAFETY: `addr` is valid for `len` bytes of the block while mapped (below); its
            // bytes are accessed only by user copies and atomics (the usercopy model).
            unsafe { out.write_raw(addr, len, faults) }
        })
    }

    fn copy_from_user(
        &self,
        offset: usize,
        n: usize,
        input: &mut UserReader,
        faults: Faults,
    ) -> Result<usize> {
        self.copy_user(offset, n.min(input.len()), |addr, len| {
            // SAFETY: As in `copy_to_user`, for writes.
            unsafe { input.read_raw(addr, len, faults) }
        })
    }

    /// New pages holding the bytes copied in and zeros everywhere else (as C scullp's
    /// `memset`, but only where the copy did not write: a write of whole pages zeroes
    /// nothing); `size` must be `PAGE_SIZE << order` for an order up to [`MAX_ORDER`].
    fn new_from_user(
        size: usize,
        offset: usize,
        n: usize,
        input: &mut UserReader,
        faults: Faults,
    ) -> Result<(Self, usize)> {
        let pages = size / PAGE_SIZE;
        if !pages.is_power_of_two() || pages * PAGE_SIZE != size {
            return Err(EINVAL);
        }
        let n = n.min(input.len());
        if offset.checked_add(n).is_none_or(|end| end > size) {
            return Err(EINVAL);
        }
        // SAFETY: Nothing else can reach the block until it is returned, and by then every
        // byte has been written: `copied` bytes at `offset` by the copy (which writes them in
        // order from the start, `UserReader::read_raw`), and zeros before and after them.
        let block = unsafe { Self::alloc(pages.trailing_zeros(), 0)? };
        let copied = block.copy_from_user(offset, n, input, faults)?;
        block.zero(0, offset)?;
        block.zero(offset + copied, size - offset - copied)?;
        Ok((block, copied))
    }
}

impl Drop for PageBlock {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own one reference on an allocation of this order.
        // Mappings hold references of their own, so this frees the memory only if none is
        // left (for a compound page `__free_pages` is a reference drop on the whole folio).
        unsafe { bindings::__free_pages(self.head.as_ptr(), self.order) };
    }
}

/// One page of a [`PageBlock`], borrowed: the block outlives any use of it.
#[derive(Clone, Copy)]
pub struct PageRef<'a> {
    block: &'a PageBlock,
    index: usize,
}

impl PageRef<'_> {
    fn as_ptr(&self) -> *mut bindings::page {
        // SAFETY: `PageBlock::page` only makes `PageRef`s with an index inside the block.
        unsafe { self.block.page_ptr(self.index) }
    }
}

/// Why a fault could not be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// Nothing may be mapped there (beyond the end, in a hole): the access gets `SIGBUS`.
    SigBus,
    /// Out of memory (`VM_FAULT_OOM`).
    Oom,
}

/// The fault-around window for a fault at page offset `pgoff` (virtual page number
/// `vpage`) in a mapping covering virtual pages `vma_pages`: the page offsets of the up to
/// `max` pages of the naturally aligned group of `max` virtual pages holding `vpage`, clipped
/// to the mapping, as `do_fault_around` does. `max` must be a power of two up to
/// `PTRS_PER_PTE`, so the window never spans two page tables. The result always contains
/// `pgoff`.
pub fn fault_window(
    pgoff: usize,
    vpage: usize,
    vma_pages: Range<usize>,
    max: usize,
) -> Range<usize> {
    if max <= 1 || !max.is_power_of_two() || !vma_pages.contains(&vpage) {
        return pgoff..pgoff + 1;
    }
    let first = (vpage & !(max - 1)).max(vma_pages.start);
    let end = (vpage & !(max - 1)).saturating_add(max).min(vma_pages.end);
    // `first <= vpage < end`, and `pgoff >= vpage - vma_pages.start >= vpage - first`.
    pgoff - (vpage - first)..pgoff + (end - vpage)
}

/// Largest batch [`VmFault::insert`] maps with one `vm_insert_pages` call.
const BATCH: usize = 16;

/// One page fault in a mapping installed through [`VmMapping`].
///
/// # Invariants
///
/// `vmf` is the `struct vm_fault` of a fault being handled by [`VmOpsVTable::fault`], valid
/// for `'a` and written by no one else meanwhile (it lives on the faulting task's stack);
/// `vma` is its VMA, which has `VM_MIXEDMAP` and is read-locked for `'a`: by the mmap lock, or
/// by its own per-VMA lock alone (`FAULT_FLAG_VMA_LOCK`), which the mm lets `fault` run under
/// because the table has a `map_pages` (`vmf_can_call_fault` in `mm/memory.c`). Either excludes
/// every change of the VMA's fields (they are made with the VMA write-locked,
/// `vma_start_write`, which waits for its readers).
pub struct VmFault<'a> {
    vmf: NonNull<bindings::vm_fault>,
    vma: &'a VmaMixedMap,
    /// Whether the faulting page is mapped now (by us or by a racing fault).
    mapped: Cell<bool>,
    /// The error of the last failed insertion, if any.
    error: Cell<Option<Error>>,
    _p: PhantomData<&'a bindings::vm_fault>,
}

impl VmFault<'_> {
    /// The page offset (in the file, `vm_pgoff` included) of the faulting page.
    pub fn pgoff(&self) -> usize {
        // SAFETY: By the type invariant `vmf` is valid and not written meanwhile; the C helper
        // reads the field, no Rust reference to the struct is formed.
        unsafe { super::bindings::ldd3_vmf_pgoff(self.vmf.as_ptr()) }
    }

    /// Whether the fault is a write access.
    pub fn is_write(&self) -> bool {
        // SAFETY: As for `pgoff`.
        let flags = unsafe { (*self.vmf.as_ptr()).flags };
        flags & bindings::fault_flag_FAULT_FLAG_WRITE != 0
    }

    /// The first page offset the VMA maps (`vm_pgoff`).
    fn vma_pgoff(&self) -> usize {
        // SAFETY: By the type invariant the VMA is valid and read-locked, under which
        // `vm_pgoff` does not change (it is written only with the VMA write-locked).
        unsafe { (*self.vma.as_ptr()).vm_pgoff }
    }

    /// The virtual page number of the faulting address, and the virtual pages of the VMA.
    fn vpages(&self) -> (usize, Range<usize>) {
        // SAFETY: As for `pgoff`.
        let address = unsafe { super::bindings::ldd3_vmf_address(self.vmf.as_ptr()) };
        (
            address >> PAGE_SHIFT,
            self.vma.start() >> PAGE_SHIFT..self.vma.end() >> PAGE_SHIFT,
        )
    }

    /// The page offsets worth mapping together with the faulting one: the aligned group of up
    /// to `max` (a power of two, at most 16 are used) neighbouring pages inside the mapping.
    pub fn window(&self, max: usize) -> Range<usize> {
        let (vpage, vma_pages) = self.vpages();
        fault_window(self.pgoff(), vpage, vma_pages, max.min(BATCH))
    }

    /// Maps the faulting page and the present pages around it in the [`Self::window`] of `max`
    /// pages, as the page cache's fault-around does: `page_at(pgoff)` is the page at `pgoff`,
    /// or `None` for a hole (which splits the window into runs, each mapped with one
    /// [`Self::insert`]). Returns how many pages were mapped.
    pub fn insert_around<'p>(
        &self,
        max: usize,
        page_at: impl Fn(usize) -> Option<PageRef<'p>>,
    ) -> usize {
        let window = self.window(max);
        let mut done = 0;
        let mut pgoff = window.start;
        while pgoff < window.end {
            let Some(first) = page_at(pgoff) else {
                pgoff += 1;
                continue;
            };
            let mut run = [first; BATCH];
            let mut len = 1;
            while len < BATCH && pgoff + len < window.end {
                match page_at(pgoff + len) {
                    Some(page) => run[len] = page,
                    None => break,
                }
                len += 1;
            }
            done += self.insert(pgoff, &run[..len]);
            pgoff += len;
        }
        done
    }

    /// Maps `pages` at the consecutive page offsets from `first_pgoff` on, with the mapping's
    /// protection (`vm_insert_pages`: each PTE takes its own page reference). Offsets outside
    /// the mapping and already mapped ones are skipped. Returns how many pages were mapped.
    /// The fault succeeds if the faulting page is mapped when the handler returns.
    pub fn insert(&self, first_pgoff: usize, pages: &[PageRef<'_>]) -> usize {
        let (_, vma_pages) = self.vpages();
        let vm_pgoff = self.vma_pgoff();
        let fault = self.pgoff();
        let mut done = 0;
        let mut i = 0;
        while i < pages.len() {
            let pgoff = first_pgoff.saturating_add(i);
            // The virtual page of `pgoff`, if it is inside the VMA.
            let Some(vpage) = pgoff
                .checked_sub(vm_pgoff)
                .and_then(|rel| rel.checked_add(vma_pages.start))
                .filter(|v| vma_pages.contains(v))
            else {
                i += 1;
                continue;
            };
            let n = (pages.len() - i).min(BATCH).min(vma_pages.end - vpage);
            let mut batch = [core::ptr::null_mut::<bindings::page>(); BATCH];
            for (slot, page) in batch.iter_mut().zip(&pages[i..i + n]) {
                *slot = page.as_ptr();
            }
            let mut left = n;
            // SAFETY: The VMA is read-locked for the fault (the mmap lock or its per-VMA lock)
            // and has `VM_MIXEDMAP` (type invariant), so `vm_insert_pages` may run here without
            // the mmap write lock (it only sets the flag, which needs that lock, when it is
            // missing); the fault may sleep, as the page table allocation of
            // `vm_insert_pages` may (`pte_alloc`, as `do_anonymous_page` does under the
            // per-VMA lock); the `n` pages are live pages of `PageBlock`s borrowed for the
            // call, and the range `vpage .. vpage + n` is inside the VMA.
            let ret = unsafe {
                bindings::vm_insert_pages(
                    self.vma.as_ptr(),
                    vpage << PAGE_SHIFT,
                    batch.as_mut_ptr(),
                    &mut left,
                )
            };
            let mapped = n - left;
            if (pgoff..pgoff + mapped).contains(&fault) {
                self.mapped.set(true);
            }
            done += mapped;
            i += mapped;
            if ret != 0 {
                // Page `i` was not mapped: already present (another fault got there first,
                // which is as good) or a real error; skip it either way.
                let err = Error::from_errno(ret);
                if err == EBUSY {
                    if first_pgoff.saturating_add(i) == fault {
                        self.mapped.set(true);
                    }
                } else {
                    self.error.set(Some(err));
                }
                i += 1;
            }
        }
        done
    }
}

/// Operations of a mapping: its `vm_operations_struct`, built by [`VmOpsVTable`].
///
/// Each VMA holds its own `Arc<Self>` in `vm_private_data`: [`VmMapping::new`] gives one to
/// the VMA being created; `open` runs for that first VMA once it is installed (when the
/// driver's `mmap` succeeded) and for every copy the kernel makes of a VMA (fork, split,
/// mremap) after it got a clone; `close` runs for each VMA being removed, before its
/// reference is dropped. `open` and `close` therefore pair up exactly.
#[vtable]
pub trait VmOperations: Send + Sync + Sized + 'static {
    /// A mapping of `self` came into being (`vma`): the one `mmap` made, or a copy of one.
    fn open(&self, _vma: &VmaRef) {}

    /// A mapping of `self` is going away (its pages are already unmapped).
    fn close(&self, _vma: &VmaRef) {}

    /// Serves a fault at [`VmFault::pgoff`]: maps the page there (and possibly neighbours)
    /// with [`VmFault::insert`] or [`VmFault::insert_around`], or fails. Returning `Ok` without the faulting page mapped
    /// is a `SIGBUS` (never a retry loop). Runs in process context with the VMA read-locked
    /// (the mmap lock or, usually, only the VMA's own lock), so it may sleep and take the
    /// driver's locks; those locks must then never be held across an access to user memory.
    fn fault(&self, vmf: &VmFault<'_>) -> Result<(), FaultError>;
}

/// The C `vm_operations_struct` of a [`VmOperations`] implementation.
pub(crate) struct VmOpsVTable<T: VmOperations>(PhantomData<T>);

impl<T: VmOperations> VmOpsVTable<T> {
    /// Borrows the `Arc<T>` of `vma`.
    ///
    /// # Safety
    ///
    /// `vma` is a live VMA that uses this table, and `close` has not run for it.
    unsafe fn data<'a>(vma: *const bindings::vm_area_struct) -> ArcBorrow<'a, T> {
        // SAFETY: `VmMapping::install` (first VMA) and `open` (its copies) stored the result
        // of `Arc::into_foreign` there; only `close` takes it back.
        unsafe { <Arc<T> as ForeignOwnable>::borrow((*vma).vm_private_data.cast()) }
    }

    /// # Safety
    ///
    /// Called by the mm on a new copy of a VMA using this table (`vm_private_data` copied).
    unsafe extern "C" fn open(vma: *mut bindings::vm_area_struct) {
        // SAFETY: The copy carries the original's pointer, and the original (still alive, or
        // being replaced under the mmap write lock) holds its reference.
        let data: Arc<T> = unsafe { Self::data(vma) }.into();
        // SAFETY: `vma` is valid and write-locked; the new VMA now owns a reference of its
        // own (the same pointer: `Arc::into_foreign` is the address of the shared object).
        unsafe { (*vma).vm_private_data = data.into_foreign().cast() };
        // SAFETY: `vma` now uses the table with its own reference; it is valid for the call.
        unsafe { Self::data(vma).open(VmaRef::from_raw(vma)) };
    }

    /// # Safety
    ///
    /// Called by the mm on a VMA using this table that is being removed.
    unsafe extern "C" fn close(vma: *mut bindings::vm_area_struct) {
        // SAFETY: The VMA owns the reference stored in `vm_private_data`; `close` runs once.
        let data =
            unsafe { <Arc<T> as ForeignOwnable>::from_foreign((*vma).vm_private_data.cast()) };
        // SAFETY: `vma` is valid for the call.
        data.close(unsafe { VmaRef::from_raw(vma) });
    }

    /// # Safety
    ///
    /// Called by the mm for a fault in a VMA using this table.
    unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: `vmf` is valid for the call; its VMA uses this table and is read-locked, by
        // the mmap lock or by its per-VMA lock (`lock_vma_under_rcu`), either of which
        // `VmaRef` accepts.
        let (data, vma) = unsafe {
            let vma = super::bindings::ldd3_vmf_vma(vmf);
            (Self::data(vma), VmaRef::from_raw(vma))
        };
        // `VmMapping::install` set `VM_MIXEDMAP` and nothing clears it; checked all the same.
        let Some(vma) = vma.as_mixedmap_vma() else {
            return bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t;
        };
        let view = VmFault {
            // SAFETY: The mm never passes NULL.
            vmf: unsafe { NonNull::new_unchecked(vmf) },
            vma,
            mapped: Cell::new(false),
            error: Cell::new(None),
            _p: PhantomData,
        };
        let reason = match data.fault(&view) {
            Ok(()) if view.mapped.get() => bindings::vm_fault_reason_VM_FAULT_NOPAGE,
            Ok(()) if view.error.get() == Some(ENOMEM) => bindings::vm_fault_reason_VM_FAULT_OOM,
            Ok(()) | Err(FaultError::SigBus) => bindings::vm_fault_reason_VM_FAULT_SIGBUS,
            Err(FaultError::Oom) => bindings::vm_fault_reason_VM_FAULT_OOM,
        };
        reason as bindings::vm_fault_t
    }

    /// The page cache's fault-around hook, which maps what it can without sleeping; here
    /// nothing, so every fault goes on to [`Self::fault`], which maps the faulting page's
    /// present neighbours itself (see [`VmFault::window`]).
    ///
    /// `do_fault_around` calls it under `rcu_read_lock()`, where no page may be inserted:
    /// `vm_insert_pages` allocates a page table (`GFP_KERNEL`, may sleep) whenever the PMD
    /// has none, which an empty table freed by a concurrent `MADV_DONTNEED` (`PT_RECLAIM`)
    /// can make so at any moment, and `filemap_map_pages`'s way round that (installing
    /// `vmf->prealloc_pte` under the PMD lock) is internal to the mm. Its presence is what
    /// counts: without a `map_pages` the mm never runs `fault` under the per-VMA lock, but
    /// sends each such fault back to be taken again under the mmap lock
    /// (`vmf_can_call_fault`), a second walk of the whole fault path.
    ///
    /// # Safety
    ///
    /// Called by the mm for a read fault in a VMA using this table.
    unsafe extern "C" fn map_pages(
        _vmf: *mut bindings::vm_fault,
        _start_pgoff: usize,
        _end_pgoff: usize,
    ) -> bindings::vm_fault_t {
        // Nothing mapped: `do_read_fault` goes on to `fault`.
        0
    }

    const VTABLE: bindings::vm_operations_struct = bindings::vm_operations_struct {
        open: Some(Self::open),
        close: Some(Self::close),
        fault: Some(Self::fault),
        map_pages: Some(Self::map_pages),
        ..pin_init::zeroed()
    };
}

/// What a driver's `mmap` returns: the operations and data to install on the new VMA.
///
/// The file-operations wrapper installs it only when `mmap` succeeds, which is exactly when
/// the mm guarantees a matching `close` (the VMA is inserted, and every way out of it runs
/// `close`); if `mmap` fails, the data is simply dropped.
pub struct VmMapping {
    ops: &'static bindings::vm_operations_struct,
    data: *mut c_void,
    /// Calls [`VmOperations::open`] for the first VMA.
    open_first: unsafe fn(*mut c_void, &VmaRef),
    drop_data: unsafe fn(*mut c_void),
}

impl VmMapping {
    /// Maps with the operations of `T`, the new VMA owning `data`.
    pub fn new<T: VmOperations>(data: Arc<T>) -> Self {
        /// # Safety
        ///
        /// `p` came from `Arc::<T>::into_foreign` and is not used afterwards.
        unsafe fn drop_arc<T: VmOperations>(p: *mut c_void) {
            // SAFETY: By the contract above.
            drop(unsafe { <Arc<T> as ForeignOwnable>::from_foreign(p.cast()) });
        }
        /// # Safety
        ///
        /// `p` came from `Arc::<T>::into_foreign` and is still owned by someone.
        unsafe fn open_first<T: VmOperations>(p: *mut c_void, vma: &VmaRef) {
            // SAFETY: By the contract above.
            unsafe { <Arc<T> as ForeignOwnable>::borrow(p.cast()) }.open(vma);
        }
        Self {
            ops: &VmOpsVTable::<T>::VTABLE,
            data: data.into_foreign().cast(),
            open_first: open_first::<T>,
            drop_data: drop_arc::<T>,
        }
    }

    /// Installs the operations on `vma`, sets `VM_MIXEDMAP` on it (which lets the fault
    /// handler insert pages under the mmap read lock) and tells the operations' `open`.
    ///
    /// # Safety
    ///
    /// `vma` is the VMA of the `f_op->mmap` call that is about to return success.
    pub(crate) unsafe fn install(self, vma: &VmaNew) {
        let _ = vma.set_mixedmap();
        let raw = vma.as_ptr();
        // SAFETY: The VMA is being set up under the mmap write lock and is ours to fill in;
        // from now on it owns `data`, given back by `VmOpsVTable::close`, which the mm runs
        // for every VMA whose `f_op->mmap` succeeded.
        unsafe {
            (*raw).vm_ops = self.ops;
            (*raw).vm_private_data = self.data;
        }
        // SAFETY: The VMA owns `data` now and keeps it at least until its `close`.
        unsafe { (self.open_first)(self.data, vma) };
        core::mem::forget(self);
    }
}

impl Drop for VmMapping {
    fn drop(&mut self) {
        // SAFETY: Not installed (`install` forgets `self`), so `data` is still ours.
        unsafe { (self.drop_data)(self.data) };
    }
}

// SAFETY: `data` is an `Arc<T>` with `T: Send + Sync`.
unsafe impl Send for VmMapping {}
