//! The batched empirical NTK stays within its memory budget, measured independently of the
//! path's own `peak_bytes` report: a counting global allocator records the largest number
//! of live heap bytes during the call.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use dl_init::Activation;
use dl_ntk::{Architecture, OutputKernel, Parameterisation, empirical_ntk_batched};
use dl_tensor::{Tensor, seeded_rng};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(live, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_batched_path_never_holds_more_than_its_budget_plus_one_backward_pass() {
    // 2 hidden layers of width 128 on 32 inputs: P = 32*128 + 128*128 + 128 + 2*128 + 1 = 21 001
    let arch = Architecture::mlp(2, 128, Activation::Relu, 2.0, 0.1, 1, Parameterisation::Ntk).unwrap();
    let net = arch.sample(32, &mut seeded_rng(0)).unwrap();
    let x = Tensor::<f64>::randn(&[60, 32], &mut seeded_rng(1));
    let p = dl_layers::Module::num_parameters(&net);
    let row = p * 8;
    let budget = 8 * row; // 4 examples of each set per block
    let full_jacobian = 60 * row;
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let k = empirical_ntk_batched(&net, &x, None, OutputKernel::Trace, budget).unwrap();
    let peak = PEAK.load(Ordering::SeqCst) - before;
    // Besides the Jacobian blocks, one backward pass holds the gradient of every parameter
    // and of every intermediate (at most ~3 P numbers for this network: the parameter
    // gradients, the scaled weights and their gradients), plus the 60 x 60 kernel and the
    // block products: allow 4 rows and 4 kernels.
    let allowance = 4 * row + 4 * 60 * 60 * 8;
    assert!(k.peak_bytes <= budget, "reported {} > budget {budget}", k.peak_bytes);
    assert!(peak <= budget + allowance, "measured peak {peak} bytes > budget {budget} + allowance {allowance}");
    assert!(peak < full_jacobian / 2, "measured peak {peak} is not far below the full Jacobian ({full_jacobian})");
}
