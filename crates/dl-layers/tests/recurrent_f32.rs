//! The f32 path of the explicit recurrence and BPTT, where the per-step products run on the
//! packed AVX-512 kernel (`recurrent::packed`, when the CPU has AVX-512F): every gradient
//! against the same computation in f64 (whose explicit BPTT `tests/recurrent.rs` checks
//! against autodiff of the unrolled graph and finite differences). The sizes are ragged for
//! the kernel: batch 11 is one block of 8 rows and a tail of 3; hidden 20 gives gate widths
//! 20, 60 and 80, panels of 32 columns with tails.

use dl_autodiff::{Var, vjp};
use dl_layers::recurrent::{CellKind, prefix_mask, sequence};
use dl_tensor::{Element, Tensor, Tolerance, assert_close, seeded_rng};

/// The packed output and the gradients of `<u, output>` for every input, in precision `T`.
fn output_and_grads<T: Element>(
    kind: CellKind,
    inputs: &[Tensor<f64>],
    u: &Tensor<f64>,
    mask: Option<Vec<bool>>,
) -> Vec<Tensor<f64>> {
    let xs: Vec<Var<T>> = inputs.iter().map(|t| Var::leaf(t.cast::<T>(), true)).collect();
    let refs: Vec<&Var<T>> = xs.iter().collect();
    let y = sequence(kind, &refs, mask).unwrap();
    let g = vjp(&y, &u.cast::<T>()).unwrap();
    let mut out = vec![y.value().cast::<f64>()];
    out.extend(xs.iter().map(|x| g.get(x).unwrap().cast::<f64>()));
    out
}

#[test]
fn f32_bptt_on_the_packed_kernel_agrees_with_f64_for_every_cell_with_and_without_a_mask() {
    let (t, b, i, h) = (6, 11, 5, 20);
    let mut rng = seeded_rng(41);
    for kind in [CellKind::RnnTanh, CellKind::RnnRelu, CellKind::Lstm, CellKind::Gru] {
        let gh = kind.gates() * h;
        let mut shapes = vec![vec![t, b, i], vec![b, h]];
        if kind.has_cell_state() {
            shapes.push(vec![b, h]);
        }
        shapes.extend([vec![gh, i], vec![gh, h], vec![gh], vec![gh]]);
        let inputs: Vec<Tensor<f64>> =
            shapes.iter().map(|s| Tensor::<f64>::randn(s, &mut rng).mul_scalar(0.5)).collect();
        let u = Tensor::<f64>::randn(&[t + 1 + usize::from(kind.has_cell_state()), b, h], &mut rng);
        let lengths = [6, 1, 4, 6, 2, 5, 6, 3, 6, 1, 5];
        for mask in [None, Some(prefix_mask(&lengths, t))] {
            let want = output_and_grads::<f64>(kind, &inputs, &u, mask.clone());
            let got = output_and_grads::<f32>(kind, &inputs, &u, mask);
            // f32 rounding (6e-8) in sums of up to T B = 66 terms of size O(1) through 6 steps
            // of O(1) Jacobians: errors ~1e-6 relative; a wrong row, column or tail of the
            // kernel changes entries by O(0.1).
            for (g, w) in got.iter().zip(&want) {
                assert_close(g, w, Tolerance::new(1e-4, 1e-5));
            }
        }
    }
}
