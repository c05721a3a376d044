//! The global allocator: mimalloc, called the way it is fastest.
//!
//! The `mimalloc` crate's `GlobalAlloc` asks for every block with `mi_malloc_aligned`,
//! whose fast path only serves a block that happens to sit at the asked alignment in a
//! page that has a free block; whenever the page has none, a size that is not a power of
//! two (a 96-byte struct, a 40-byte object) goes to the over-allocating path and takes the
//! next size class up. Every block mimalloc hands out is word-aligned, so a layout asking
//! for no more than that is served by plain `mi_malloc`, as C's `malloc` would be; only
//! larger alignments go to the aligned entry points.
//!
//! *Large blocks* (at least [`LARGE_BLOCK`] bytes: an array of a quarter million elements,
//! a long string) are mappings of their own on Linux, as glibc's malloc makes them: growing
//! one is `mremap`, which moves page tables instead of copying and never holds the old and
//! the new buffer at once, and freeing one gives its memory back at once. In mimalloc's
//! arenas a freed large block stays resident for a second (its purge delay) and a doubling
//! buffer copies into fresh memory beside the old one, so a program that builds and drops
//! big arrays peaked at more than twice what it held (array_sum: 81 MiB). Large mappings
//! ask for transparent huge pages, as mimalloc does for its arenas, so that touching them
//! costs a fault per 2 MiB, not per 4 KiB.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc, mi_zalloc_aligned,
};

/// The alignment every mimalloc block has: its size classes are multiples of the word.
const WORD_ALIGN: usize = std::mem::size_of::<usize>();

pub struct Allocator;

/// Blocks of at least this many bytes are mappings of their own (see the module header).
pub const LARGE_BLOCK: usize = 4 << 20;

/// Whether a block of `layout` is a large one: decided by the layout alone, which Rust hands
/// back unchanged at `dealloc` and `realloc`, so both find the block where it was made.
#[inline]
fn is_large(layout: Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= LARGE_BLOCK && layout.align() <= large::PAGE
}

// SAFETY: every method forwards to mimalloc, whose blocks satisfy the layout: word-aligned
// always (small alignments), or aligned as asked by the `_aligned` calls.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if is_large(layout) {
                large::map(layout.size())
            } else if layout.align() <= WORD_ALIGN {
                mi_malloc(layout.size()).cast()
            } else {
                mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if is_large(layout) {
                large::map(layout.size())
            } else if layout.align() <= WORD_ALIGN {
                mi_zalloc(layout.size()).cast()
            } else {
                mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with `layout` (the `GlobalAlloc` contract),
        // so `is_large` says where.
        unsafe {
            if is_large(layout) {
                large::unmap(ptr, layout.size())
            } else {
                mi_free(ptr.cast::<c_void>())
            }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout` (the `GlobalAlloc` contract).
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            if is_large(layout) || is_large(new_layout) {
                if is_large(layout) && is_large(new_layout) {
                    return large::remap(ptr, layout.size(), new_size);
                }
                let fresh = self.alloc(new_layout);
                if !fresh.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                fresh
            } else if layout.align() <= WORD_ALIGN {
                mi_realloc(ptr.cast(), new_size).cast()
            } else {
                mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}

/// Large blocks: anonymous private mappings, a whole number of pages each.
#[cfg(target_os = "linux")]
mod large {
    pub const PAGE: usize = 4096;

    fn pages(size: usize) -> usize {
        size.div_ceil(PAGE) * PAGE
    }

    /// A fresh zeroed mapping of `size` bytes, or null.
    ///
    /// # Safety
    /// Only through `Allocator` (the block is freed by `unmap` with the same size).
    pub unsafe fn map(size: usize) -> *mut u8 {
        // SAFETY: an anonymous private mapping at an address the kernel chooses touches no
        // existing memory.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                pages(size),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        // SAFETY: `p` is the mapping just made; the advice only changes its page size.
        unsafe { libc::madvise(p, pages(size), libc::MADV_HUGEPAGE) };
        p.cast()
    }

    /// # Safety
    /// `ptr` must be a block `map` or `remap` made with `size` bytes, used no more.
    pub unsafe fn unmap(ptr: *mut u8, size: usize) {
        // SAFETY: the caller's contract: the mapping is ours and dead.
        unsafe { libc::munmap(ptr.cast(), pages(size)) };
    }

    /// The block `ptr` of `old` bytes grown or shrunk to `new` bytes, its contents kept,
    /// possibly at another address; null (and `ptr` untouched) if that fails.
    ///
    /// # Safety
    /// As for `unmap`; on success `ptr` is used no more.
    pub unsafe fn remap(ptr: *mut u8, old: usize, new: usize) -> *mut u8 {
        // SAFETY: the caller's contract: the mapping is ours; `MREMAP_MAYMOVE` moves its
        // pages, so no other memory is touched.
        let p = unsafe { libc::mremap(ptr.cast(), pages(old), pages(new), libc::MREMAP_MAYMOVE) };
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        p.cast()
    }
}

/// Elsewhere large blocks are mimalloc's like any other (`is_large` is always false).
#[cfg(not(target_os = "linux"))]
mod large {
    pub const PAGE: usize = 0;
    pub unsafe fn map(_: usize) -> *mut u8 {
        unreachable!()
    }
    pub unsafe fn unmap(_: *mut u8, _: usize) {
        unreachable!()
    }
    pub unsafe fn remap(_: *mut u8, _: usize, _: usize) -> *mut u8 {
        unreachable!()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_contents_across_the_large_threshold() {
        let allocator = Allocator;
        let small = Layout::from_size_align(1000, 8).unwrap();
        // SAFETY: each block is used within its size and freed once, with its layout.
        unsafe {
            let p = allocator.alloc_zeroed(small);
            assert!(!p.is_null() && (0..1000).all(|i| *p.add(i) == 0));
            p.write_bytes(7, 1000);
            let large = Layout::from_size_align(3 * LARGE_BLOCK, 8).unwrap();
            let p = allocator.realloc(p, small, large.size());
            assert!((0..1000).all(|i| *p.add(i) == 7), "small to large copies");
            p.add(large.size() - 1).write(9);
            let p = allocator.realloc(p, large, 5 * LARGE_BLOCK);
            assert_eq!(*p.add(large.size() - 1), 9, "large to large keeps the pages");
            assert!((0..1000).all(|i| *p.add(i) == 7));
            let p = allocator.realloc(p, Layout::from_size_align(5 * LARGE_BLOCK, 8).unwrap(), 64);
            assert!((0..64).all(|i| *p.add(i) == 7), "large to small copies");
            allocator.dealloc(p, Layout::from_size_align(64, 8).unwrap());
            let z = allocator.alloc_zeroed(large);
            assert!(*z == 0 && *z.add(large.size() - 1) == 0, "a fresh large block is zeroed");
            allocator.dealloc(z, large);
        }
    }
}
