//! Thread-local modes of the engine: whether ops are recorded (`no_grad`), and the count of
//! bytes held by recorded activations (what gradient checkpointing saves).
//!
//! Both are per thread: a graph of [`Var`](crate::Var)s lives on the thread that built it.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
    static LIVE_BYTES: Cell<usize> = const { Cell::new(0) };
    static PEAK_BYTES: Cell<usize> = const { Cell::new(0) };
    /// While a checkpointed segment runs its forward pass, the outside variables it reads.
    static COLLECTOR: RefCell<Option<Vec<Rc<dyn Any>>>> = const { RefCell::new(None) };
}

/// True when new ops are recorded on the tape (the default).
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Restores the previous mode when dropped, so a panic inside `f` cannot leave it changed.
struct ModeGuard(bool);
impl Drop for ModeGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.0));
    }
}

/// Runs `f` with recording set to `enabled`, restoring the previous mode afterwards.
pub fn with_grad_mode<R>(enabled: bool, f: impl FnOnce() -> R) -> R {
    let _guard = ModeGuard(GRAD_ENABLED.with(|g| g.replace(enabled)));
    f()
}

/// Runs `f` without recording: every `Var` it creates is a constant. Like PyTorch's
/// `torch.no_grad()`; use it for evaluation and parameter updates.
///
/// ```
/// use dl_autodiff::{Var, no_grad};
/// use dl_tensor::Tensor;
/// let w = Var::leaf(Tensor::<f64>::ones(&[2]), true);
/// let y = no_grad(|| w.mul_scalar(3.0))?;
/// assert!(!y.requires_grad());
/// # Ok::<(), dl_autodiff::AutodiffError>(())
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    with_grad_mode(false, f)
}

/// Runs `f` with recording on, even inside `no_grad`.
pub fn enable_grad<R>(f: impl FnOnce() -> R) -> R {
    with_grad_mode(true, f)
}

// ---- activation memory --------------------------------------------------------------------

/// Bytes held right now by the values of recorded (non-leaf) variables on this thread:
/// the activations a backward pass will read. Views that share a buffer with their input
/// are counted at their full logical size, so this is an upper bound on the memory.
pub fn live_activation_bytes() -> usize {
    LIVE_BYTES.with(|b| b.get())
}

/// The largest value [`live_activation_bytes`] has reached since the last
/// [`reset_peak_activation_bytes`].
pub fn peak_activation_bytes() -> usize {
    PEAK_BYTES.with(|b| b.get())
}

/// Sets the peak to the current live count.
pub fn reset_peak_activation_bytes() {
    PEAK_BYTES.with(|p| p.set(live_activation_bytes()));
}

pub(crate) fn track_alloc(bytes: usize) {
    let now = LIVE_BYTES.with(|b| {
        let v = b.get() + bytes;
        b.set(v);
        v
    });
    PEAK_BYTES.with(|p| p.set(p.get().max(now)));
}

pub(crate) fn track_free(bytes: usize) {
    LIVE_BYTES.with(|b| b.set(b.get().saturating_sub(bytes)));
}

// ---- collecting a segment's outside inputs (for checkpointing) ----------------------------

/// Runs `f` and returns, besides its result, every variable requiring gradients that an op
/// inside `f` read (in first-use order, possibly repeated).
pub(crate) fn collect_inputs<R>(f: impl FnOnce() -> R) -> (R, Vec<Rc<dyn Any>>) {
    struct Restore(Option<Vec<Rc<dyn Any>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            COLLECTOR.with(|c| *c.borrow_mut() = prev);
        }
    }
    let outer = COLLECTOR.with(|c| c.borrow_mut().replace(Vec::new()));
    let mut restore = Restore(outer);
    let out = f();
    let seen = COLLECTOR.with(|c| c.borrow_mut().take()).unwrap_or_default();
    // An enclosing collection also sees what this one saw.
    if let Some(outer) = restore.0.as_mut() {
        outer.extend(seen.iter().cloned());
    }
    (out, seen)
}

pub(crate) fn collecting() -> bool {
    COLLECTOR.with(|c| c.borrow().is_some())
}

pub(crate) fn collect(var: Rc<dyn Any>) {
    COLLECTOR.with(|c| {
        if let Some(v) = c.borrow_mut().as_mut() {
            v.push(var);
        }
    });
}
