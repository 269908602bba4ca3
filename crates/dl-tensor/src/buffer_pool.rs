//! A per-thread pool of freed tensor buffers, so that a training loop, which frees and
//! allocates the same few large buffers at every step, stops returning them to the
//! operating system and faulting them in again.
//!
//! Why it is needed: glibc's `malloc` serves large blocks from the top of the heap (or
//! from `mmap`) and gives the top back to the kernel (`sbrk`/`munmap`) once more than its
//! trim threshold is free there. One step of a 784-512-512-10 MLP at batch 128 frees about
//! 5 MB of activations and gradients at once, above the threshold, so the next step finds
//! fresh pages and takes ~800 page faults (about 0.9 ms, a quarter of the step). Keeping
//! the buffers in the process removes the faults without touching the allocator's global
//! settings, which a library has no business changing.
//!
//! How it works:
//! - When a [`Tensor`](crate::Tensor) holding the only reference to a buffer of at least
//!   [`MIN_POOLED_BYTES`] is dropped, its `Vec` goes into the dropping thread's pool
//!   instead of back to `malloc` (see `Drop for Tensor`).
//! - Ops that produce a fresh tensor of at least that size ask [`take`] (contents
//!   arbitrary, for outputs the op overwrites entirely) or [`take_zeroed`] for a buffer;
//!   the pool returns the smallest buffer that fits (a best fit among buffers at most
//!   twice the request, so a small request does not pin a large block) or allocates.
//! - Each thread's pool holds at most [`MAX_POOLED_BUFFERS`] buffers and
//!   [`MAX_POOLED_BYTES`] bytes; beyond that the oldest buffer is freed.
//!
//! Values never depend on the pool: every byte an op reads has been written by that op
//! (or zeroed), so results are the same bits with and without it, whatever the thread
//! count.

use std::any::{Any, TypeId};
use std::cell::RefCell;

use crate::element::Element;

/// Buffers smaller than this go straight back to `malloc`, whose bins serve small blocks
/// without system calls.
pub const MIN_POOLED_BYTES: usize = 64 * 1024;
/// Most buffers one thread keeps.
pub const MAX_POOLED_BUFFERS: usize = 64;
/// Most bytes one thread keeps (by capacity).
pub const MAX_POOLED_BYTES: usize = 256 << 20;

/// Freed buffers of one element type, oldest first.
struct Pool<T> {
    buffers: Vec<Vec<T>>,
    bytes: usize,
}

impl<T> Pool<T> {
    const fn new() -> Self {
        Pool { buffers: Vec::new(), bytes: 0 }
    }

    fn capacity_bytes(v: &Vec<T>) -> usize {
        v.capacity() * std::mem::size_of::<T>()
    }

    /// The smallest buffer of length at least `len` and at most `2 len`, removed.
    fn best_fit(&mut self, len: usize) -> Option<Vec<T>> {
        let mut best: Option<(usize, usize)> = None;
        for (i, v) in self.buffers.iter().enumerate() {
            let l = v.len();
            if l >= len && l <= 2 * len && best.is_none_or(|(_, bl)| l < bl) {
                best = Some((i, l));
            }
        }
        let (i, _) = best?;
        let v = self.buffers.remove(i);
        self.bytes -= Self::capacity_bytes(&v);
        Some(v)
    }

    fn put(&mut self, v: Vec<T>) {
        let bytes = Self::capacity_bytes(&v);
        if bytes > MAX_POOLED_BYTES {
            return;
        }
        while !self.buffers.is_empty()
            && (self.buffers.len() >= MAX_POOLED_BUFFERS || self.bytes + bytes > MAX_POOLED_BYTES)
        {
            let old = self.buffers.remove(0);
            self.bytes -= Self::capacity_bytes(&old);
        }
        self.bytes += bytes;
        self.buffers.push(v);
    }
}

thread_local! {
    static POOL_F32: RefCell<Pool<f32>> = const { RefCell::new(Pool::new()) };
    static POOL_F64: RefCell<Pool<f64>> = const { RefCell::new(Pool::new()) };
}

/// Runs `f` on this thread's pool for `T`; `None` if the pool is unavailable (the thread
/// is shutting down, or `T` is neither `f32` nor `f64`).
fn with_pool<T: Element, R>(f: impl FnOnce(&mut Pool<T>) -> R) -> Option<R> {
    fn on<U: 'static, T: 'static, R>(cell: &RefCell<Pool<U>>, f: impl FnOnce(&mut Pool<T>) -> R) -> Option<R> {
        let mut guard = cell.try_borrow_mut().ok()?;
        let pool: &mut dyn Any = &mut *guard;
        pool.downcast_mut::<Pool<T>>().map(f)
    }
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        POOL_F32.try_with(|cell| on(cell, f)).ok().flatten()
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        POOL_F64.try_with(|cell| on(cell, f)).ok().flatten()
    } else {
        None
    }
}

pub(crate) fn pooled_size<T>(len: usize) -> bool {
    len * std::mem::size_of::<T>() >= MIN_POOLED_BYTES
}

/// A buffer of exactly `len` elements whose contents are arbitrary (finite values left
/// by an earlier op, or zeros): for outputs the caller overwrites entirely.
pub fn take<T: Element>(len: usize) -> Vec<T> {
    if pooled_size::<T>(len)
        && let Some(mut v) = with_pool::<T, _>(|p| p.best_fit(len)).flatten()
    {
        v.truncate(len);
        return v;
    }
    vec![T::zero(); len]
}

/// A buffer of `len` zeros.
pub fn take_zeroed<T: Element>(len: usize) -> Vec<T> {
    if pooled_size::<T>(len)
        && let Some(mut v) = with_pool::<T, _>(|p| p.best_fit(len)).flatten()
    {
        v.truncate(len);
        v.fill(T::zero());
        return v;
    }
    vec![T::zero(); len]
}

/// Hands a buffer that is no longer referenced back to this thread's pool (or to
/// `malloc`, when it is small or the pool is unavailable).
pub fn give_back<T: Element>(v: Vec<T>) {
    if pooled_size::<T>(v.len()) {
        let _ = with_pool::<T, _>(move |p| p.put(v));
    }
}

/// How many buffers and bytes this thread's pool holds for `T` (for tests and reports).
pub fn pooled<T: Element>() -> (usize, usize) {
    with_pool::<T, _>(|p| (p.buffers.len(), p.bytes)).unwrap_or((0, 0))
}

/// Frees every buffer this thread's pool holds for `T`.
pub fn release<T: Element>() {
    let _ = with_pool::<T, _>(|p| {
        p.buffers.clear();
        p.bytes = 0;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    const BIG: usize = MIN_POOLED_BYTES / 4 * 2; // f32 elements, above the threshold

    #[test]
    fn a_dropped_unique_buffer_is_reused_by_the_next_take() {
        release::<f32>();
        let t = Tensor::<f32>::full(&[BIG], 3.0);
        let ptr = t.as_slice().unwrap().as_ptr();
        drop(t);
        assert_eq!(pooled::<f32>().0, 1);
        let v = take::<f32>(BIG - 10);
        assert_eq!(v.as_ptr(), ptr, "the freed buffer comes back");
        assert_eq!(v.len(), BIG - 10);
        assert_eq!(pooled::<f32>().0, 0);
    }

    #[test]
    fn shared_and_small_buffers_are_not_pooled() {
        release::<f64>();
        let t = Tensor::<f64>::full(&[BIG], 1.0);
        let shared = t.clone();
        drop(t);
        assert_eq!(pooled::<f64>().0, 0, "a clone still holds the buffer");
        drop(shared);
        assert_eq!(pooled::<f64>().0, 1);
        drop(Tensor::<f64>::full(&[16], 1.0));
        assert_eq!(pooled::<f64>().0, 1, "small buffers go back to malloc");
        release::<f64>();
    }

    #[test]
    fn take_zeroed_clears_a_reused_buffer_and_small_requests_skip_large_buffers() {
        release::<f32>();
        drop(Tensor::<f32>::full(&[4 * BIG], 7.0));
        assert!(take::<f32>(BIG).iter().all(|&v| v == 0.0), "a 4x larger buffer is not used for a small request");
        drop(Tensor::<f32>::full(&[BIG], 7.0));
        let z = take_zeroed::<f32>(BIG);
        assert!(z.iter().all(|&v| v == 0.0));
        release::<f32>();
    }

    #[test]
    fn the_pool_is_bounded() {
        release::<f32>();
        let tensors: Vec<_> = (0..MAX_POOLED_BUFFERS + 5).map(|_| Tensor::<f32>::zeros(&[BIG])).collect();
        drop(tensors);
        let (n, bytes) = pooled::<f32>();
        assert_eq!(n, MAX_POOLED_BUFFERS);
        assert!(bytes <= MAX_POOLED_BYTES);
        release::<f32>();
    }
}
