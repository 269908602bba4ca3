//! Recurrent layers: the explicit BPTT (`rnn_backward`, the VJP of the sequence primitive)
//! against (a) reverse-mode autodiff of the unrolled graph of generic `Var` ops and (b)
//! central finite differences (the gradcheck harness, which also checks the JVP and the
//! dot-product identity); masks against unpadded runs; bidirectional layers against
//! per-sequence reversed runs; truncated BPTT against explicitly detached unrolled graphs.

use dl_autodiff::gradcheck::{GradcheckOptions, check_primitive, gradgradcheck};
use dl_autodiff::{Var, vjp};
use dl_layers::recurrent::{CellKind, SequencePrimitive, prefix_mask, sequence, unrolled_sequence};
use dl_layers::{LayerError, Module, NamedParam, Recurrent, RecurrentState, TbpttSchedule, truncated_bptt};
use dl_tensor::{Tensor, TensorRng, Tolerance, assert_close, seeded_rng};

const KINDS: [CellKind; 4] = [CellKind::RnnTanh, CellKind::RnnRelu, CellKind::Lstm, CellKind::Gru];

/// Two evaluations of the same f64 arithmetic in different orders (GEMM blocking, fused
/// loops vs per-op tensors) over O(10) terms per entry and T = 6 steps: errors of a few ulp,
/// far below 1e-12; a wrong gate derivative is off by O(1e-1).
const SAME_MATH: Tolerance = Tolerance::new(1e-12, 1e-13);

/// Random primitive inputs `[x, h0, (c0), w_ih, w_hh, b_ih, b_hh]` at scale 0.5.
fn inputs(kind: CellKind, t: usize, b: usize, i: usize, h: usize, rng: &mut TensorRng) -> Vec<Tensor<f64>> {
    let gh = kind.gates() * h;
    let mut shapes = vec![vec![t, b, i], vec![b, h]];
    if kind.has_cell_state() {
        shapes.push(vec![b, h]);
    }
    shapes.extend([vec![gh, i], vec![gh, h], vec![gh], vec![gh]]);
    shapes.iter().map(|s| Tensor::<f64>::randn(s, rng).mul_scalar(0.5)).collect()
}

fn leaves(ts: &[Tensor<f64>]) -> Vec<Var<f64>> {
    ts.iter().map(|t| Var::leaf(t.clone(), true)).collect()
}

/// All input gradients of `<u, y>` for a packed output built by `f`.
fn all_grads(
    ts: &[Tensor<f64>],
    u: &Tensor<f64>,
    f: impl Fn(&[&Var<f64>]) -> Var<f64>,
) -> (Tensor<f64>, Vec<Tensor<f64>>) {
    let xs = leaves(ts);
    let refs: Vec<&Var<f64>> = xs.iter().collect();
    let y = f(&refs);
    let g = vjp(&y, u).unwrap();
    (y.value().clone(), xs.iter().map(|x| g.get(x).unwrap().clone()).collect())
}

#[test]
fn explicit_bptt_equals_autodiff_of_the_unrolled_graph_for_every_cell_with_and_without_a_mask() {
    let mut rng = seeded_rng(11);
    let (t, b, i, h) = (6, 3, 4, 5);
    for kind in KINDS {
        for mask in [None, Some(prefix_mask(&[6, 2, 4], t))] {
            let ts = inputs(kind, t, b, i, h, &mut rng);
            let u = Tensor::<f64>::randn(&[t + kind.state_slots(), b, h], &mut rng);
            let (y_e, g_e) = all_grads(&ts, &u, |xs| sequence(kind, xs, mask.clone()).unwrap());
            let (y_u, g_u) = all_grads(&ts, &u, |xs| unrolled_sequence(kind, xs, mask.as_deref()).unwrap());
            assert_close(&y_e, &y_u, SAME_MATH);
            for (k, (ge, gu)) in g_e.iter().zip(&g_u).enumerate() {
                assert!(ge.to_vec().iter().any(|v| *v != 0.0), "{kind:?}: input {k} got a zero gradient");
                assert_close(ge, gu, SAME_MATH);
            }
        }
    }
}

#[test]
fn sequence_primitive_passes_gradcheck_vjp_jvp_and_dot_product_for_every_cell() {
    let mut rng = seeded_rng(12);
    for kind in KINDS {
        for mask in [None, Some(prefix_mask(&[4, 2], 4))] {
            let ts = inputs(kind, 4, 2, 3, 2, &mut rng);
            // Defaults: step 1e-6, rtol 1e-5 (central differences, O(h^2) ~ 1e-12 truncation
            // and ~1e-10 rounding on O(1) values).
            let report =
                check_primitive(SequencePrimitive::new(kind, mask.clone()), &ts, &GradcheckOptions::default()).unwrap();
            assert!(report.passed(), "{kind:?} mask {mask:?}: {report}");
        }
    }
}

#[test]
fn second_derivatives_through_the_recorded_backward_pass_gradgradcheck() {
    let mut rng = seeded_rng(13);
    for kind in [CellKind::RnnTanh, CellKind::Lstm, CellKind::Gru] {
        let ts = inputs(kind, 3, 2, 2, 2, &mut rng);
        let mask = Some(prefix_mask(&[3, 2], 3));
        let report = gradgradcheck(
            |xs| {
                let refs: Vec<&Var<f64>> = xs.iter().collect();
                sequence(kind, &refs, mask.clone())
            },
            &ts,
            &GradcheckOptions::default(),
        )
        .unwrap();
        assert!(report.passed(), "{kind:?}: {report}");
    }
}

#[test]
fn a_wrong_derivative_is_caught_by_the_reference() {
    // The unrolled graph of a tanh RNN and of a relu RNN on the same inputs give different
    // gradients: the comparison above can tell a wrong activation derivative apart.
    let mut rng = seeded_rng(14);
    let ts = inputs(CellKind::RnnTanh, 4, 2, 3, 3, &mut rng);
    let u = Tensor::<f64>::randn(&[5, 2, 3], &mut rng);
    let (_, g_tanh) = all_grads(&ts, &u, |xs| sequence(CellKind::RnnTanh, xs, None).unwrap());
    let (_, g_relu) = all_grads(&ts, &u, |xs| unrolled_sequence(CellKind::RnnRelu, xs, None).unwrap());
    let diff: f64 = g_tanh[3].to_vec().iter().zip(g_relu[3].to_vec()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(diff > 1e-3, "the reference must be able to fail (difference {diff})");
}

/// The layer's loss `<u, output> + <v, h_n>` and every parameter's gradient.
fn layer_loss_grads(
    layer: &Recurrent<f64>,
    x: &Tensor<f64>,
    mask: Option<&Tensor<f64>>,
    u: &Tensor<f64>,
    v: &Tensor<f64>,
) -> (Tensor<f64>, Tensor<f64>, Vec<Tensor<f64>>) {
    let out = layer.forward_sequence(&Var::constant(x.clone()), None, mask).unwrap();
    let loss = out
        .output
        .mul(&Var::constant(u.clone()))
        .unwrap()
        .sum_all()
        .unwrap()
        .add(&out.h_n.mul(&Var::constant(v.clone())).unwrap().sum_all().unwrap())
        .unwrap();
    let g = loss.backward().unwrap();
    let grads = layer.parameters().iter().map(|p| p.param.grad(&g).unwrap().clone()).collect();
    (out.output.value().clone(), out.h_n.value().clone(), grads)
}

#[test]
fn padded_steps_change_neither_loss_nor_gradients_and_the_final_state_is_the_last_real_step() {
    // Each sequence alone at its true length (no mask) against the padded batch with large
    // garbage after the real steps: outputs, h_n and the summed parameter gradients agree.
    let lengths = [5, 2, 7, 1];
    let (t, b, i, h) = (7, lengths.len(), 3, 4);
    for kind in KINDS {
        for bidirectional in [false, true] {
            let mut rng = seeded_rng(15);
            let layer = Recurrent::<f64>::new(kind, i, h, bidirectional, &mut rng);
            let d = layer.num_directions();
            let mut x = Tensor::<f64>::randn(&[t, b, i], &mut rng).to_vec();
            let u = Tensor::<f64>::randn(&[t, b, d * h], &mut rng);
            let v = Tensor::<f64>::randn(&[d, b, h], &mut rng);
            for s in 0..t {
                for (j, &len) in lengths.iter().enumerate() {
                    if s >= len {
                        x[(s * b + j) * i..(s * b + j + 1) * i].iter_mut().for_each(|e| *e = 1e3 * (1.0 + s as f64));
                    }
                }
            }
            let x = Tensor::from_vec(x, &[t, b, i]).unwrap();
            let mask = dl_layers::mask_from_lengths::<f64>(&lengths, t).unwrap();
            let (y, h_n, grads) = layer_loss_grads(&layer, &x, Some(&mask), &u, &v);
            let mut sum: Vec<Tensor<f64>> = grads.iter().map(|g| Tensor::zeros(g.shape())).collect();
            for (j, &len) in lengths.iter().enumerate() {
                let xj = x.narrow(0, 0, len).unwrap().narrow(1, j, 1).unwrap().contiguous();
                let uj = u.narrow(0, 0, len).unwrap().narrow(1, j, 1).unwrap().contiguous();
                let vj = v.narrow(1, j, 1).unwrap().contiguous();
                let (yj, hj, gj) = layer_loss_grads(&layer, &xj, None, &uj, &vj);
                assert_close(&y.narrow(0, 0, len).unwrap().narrow(1, j, 1).unwrap().contiguous(), &yj, SAME_MATH);
                assert!(
                    y.narrow(0, len, t - len).unwrap().narrow(1, j, 1).unwrap().to_vec().iter().all(|&e| e == 0.0),
                    "padded outputs are zero"
                );
                assert_close(&h_n.narrow(1, j, 1).unwrap().contiguous(), &hj, SAME_MATH);
                for (s, g) in sum.iter_mut().zip(gj) {
                    *s = s.add(&g).unwrap();
                }
            }
            // sums of 4 per-sequence gradients against one GEMM over all rows: a few ulp
            for (g, s) in grads.iter().zip(&sum) {
                assert_close(g, s, Tolerance::new(1e-12, 1e-13));
            }
        }
    }
}

#[test]
fn bidirectional_output_is_forward_then_reversed_backward_direction() {
    let mut rng = seeded_rng(16);
    let (t, b, i, h) = (5, 2, 3, 4);
    let layer = Recurrent::<f64>::new(CellKind::Gru, i, h, true, &mut rng);
    let x = Tensor::<f64>::randn(&[t, b, i], &mut rng);
    let out = layer.forward_sequence(&Var::constant(x.clone()), None, None).unwrap();
    assert_eq!(out.output.shape(), &[t, b, 2 * h]);
    // the backward direction by hand: its parameters on x reversed in time, reversed back
    let p = &layer.directions[1];
    let rev: Vec<usize> = (0..t).rev().collect();
    let xr = Var::constant(x.index_select(0, &rev).unwrap());
    let h0 = Var::constant(Tensor::zeros(&[b, h]));
    let packed = unrolled_sequence(
        CellKind::Gru,
        &[&xr, &h0, &p.weight_ih.var(), &p.weight_hh.var(), &p.bias_ih.var(), &p.bias_hh.var()],
        None,
    )
    .unwrap();
    let back = packed.value().narrow(0, 0, t).unwrap().index_select(0, &rev).unwrap();
    assert_close(&out.output.value().narrow(2, h, h).unwrap().contiguous(), &back.contiguous(), SAME_MATH);
    assert_close(
        &out.h_n.value().narrow(0, 1, 1).unwrap().reshape(&[b, h]).unwrap(),
        &packed.value().narrow(0, t, 1).unwrap().reshape(&[b, h]).unwrap(),
        SAME_MATH,
    );
    let names: Vec<String> = layer.parameters().into_iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "weight_ih_l0",
            "weight_hh_l0",
            "bias_ih_l0",
            "bias_hh_l0",
            "weight_ih_l0_reverse",
            "weight_hh_l0_reverse",
            "bias_ih_l0_reverse",
            "bias_hh_l0_reverse"
        ]
    );
    assert_eq!(layer.state_dict()["weight_ih_l0"].shape(), &[3 * h, i]);
}

/// The per-step loss of the truncated-BPTT tests: `0.5 |y_t - target_t|^2` through a fixed readout.
fn step_loss(targets: &Tensor<f64>) -> impl Fn(usize, &Var<f64>) -> dl_layers::Result<Option<Var<f64>>> + '_ {
    move |t, y| {
        let d = y.sub(&Var::constant(targets.narrow(0, t, 1).unwrap().squeeze(0).unwrap()))?;
        Ok(Some(d.square()?.sum_all()?.mul_scalar(0.5)?))
    }
}

#[test]
fn truncated_bptt_equals_the_unrolled_graph_detached_every_k_steps_and_full_bptt_when_k_covers_t() {
    let mut rng = seeded_rng(17);
    let (t, b, i, h) = (9, 2, 3, 4);
    let layer = Recurrent::<f64>::lstm(i, h, &mut rng);
    let x = Tensor::<f64>::randn(&[t, b, i], &mut rng);
    let targets = Tensor::<f64>::randn(&[t, b, h], &mut rng).mul_scalar(0.3);
    let params: Vec<NamedParam<f64>> = layer.parameters();
    let p = &layer.directions[0];
    // reference: one unrolled graph, state detached at every multiple of k
    let reference = |k: usize| -> Vec<Tensor<f64>> {
        let mut hs = Var::constant(Tensor::zeros(&[b, h]));
        let mut cs = Var::constant(Tensor::zeros(&[b, h]));
        let mut loss: Option<Var<f64>> = None;
        for s in 0..t {
            if s % k == 0 {
                hs = hs.detach();
                cs = cs.detach();
            }
            let xs = Var::constant(x.narrow(0, s, 1).unwrap().contiguous());
            let packed = unrolled_sequence(
                CellKind::Lstm,
                &[&xs, &hs, &cs, &p.weight_ih.var(), &p.weight_hh.var(), &p.bias_ih.var(), &p.bias_hh.var()],
                None,
            )
            .unwrap();
            hs = packed.narrow(0, 1, 1).unwrap().squeeze(0).unwrap();
            cs = packed.narrow(0, 2, 1).unwrap().squeeze(0).unwrap();
            let l = step_loss(&targets)(s, &hs).unwrap().unwrap();
            loss = Some(match loss {
                Some(a) => a.add(&l).unwrap(),
                None => l,
            });
        }
        let g = loss.unwrap().backward().unwrap();
        params.iter().map(|np| np.param.grad(&g).unwrap().clone()).collect()
    };
    for k in [1, 2, 4, 9] {
        let got =
            truncated_bptt(&layer, &x, None, TbpttSchedule::chunks(k).unwrap(), &params, step_loss(&targets)).unwrap();
        for ((name, g), r) in got.grads.iter().zip(reference(k)) {
            let _ = name;
            assert_close(g, &r, SAME_MATH);
        }
    }
    // k2 - k1 >= T: every window reaches back to the start, so BPTT(k1, k2) is the full gradient
    let full = truncated_bptt(&layer, &x, None, TbpttSchedule::full(t), &params, step_loss(&targets)).unwrap();
    let wide =
        truncated_bptt(&layer, &x, None, TbpttSchedule::new(2, t + 2).unwrap(), &params, step_loss(&targets)).unwrap();
    for ((_, a), (_, b)) in full.grads.iter().zip(&wide.grads) {
        assert_close(a, b, SAME_MATH);
    }
    assert!((full.loss - wide.loss).abs() < 1e-12);
    // and a short truncation really differs from it
    let short =
        truncated_bptt(&layer, &x, None, TbpttSchedule::chunks(1).unwrap(), &params, step_loss(&targets)).unwrap();
    let diff: f64 =
        full.grads[1].1.to_vec().iter().zip(short.grads[1].1.to_vec()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(diff > 1e-4, "truncation must change the recurrent weight's gradient ({diff})");
}

#[test]
fn f32_layers_agree_with_f64() {
    let mut rng = seeded_rng(18);
    for kind in KINDS {
        let l64 = Recurrent::<f64>::new(kind, 3, 4, true, &mut rng);
        let l32 = Recurrent::<f32>::new(kind, 3, 4, true, &mut seeded_rng(0));
        l32.load_state_dict(&l64.state_dict().into_iter().map(|(k, v)| (k, v.cast())).collect()).unwrap();
        let x = Tensor::<f64>::randn(&[5, 2, 3], &mut rng);
        let y64 = l64.forward(&Var::constant(x.clone())).unwrap();
        let y32 = l32.forward(&Var::constant(x.cast())).unwrap();
        // f32 rounding (6e-8) amplified by 5 steps of O(1) Jacobians
        assert_close(&y32.value().cast::<f64>(), y64.value(), Tolerance::new(1e-5, 1e-6));
    }
}

#[test]
fn bad_inputs_are_errors_naming_the_layer_and_the_shapes() {
    let mut rng = seeded_rng(19);
    let lstm = Recurrent::<f64>::new(CellKind::Lstm, 3, 4, true, &mut rng);
    let x = Var::constant(Tensor::zeros(&[5, 2, 3]));
    // a mask of the wrong shape is an error, not a broadcast
    for shape in [[5usize, 1], [2, 5], [5, 3]] {
        let err = lstm.forward_sequence(&x, None, Some(&Tensor::ones(&shape))).err().unwrap();
        let msg = err.to_string();
        assert!(
            matches!(err, LayerError::Layer { .. })
                && msg.contains("LSTM(3 -> 4, bidirectional)")
                && msg.contains("(5, 2)")
                && msg.contains(&format!("{shape:?}")),
            "{msg}"
        );
    }
    let msg = lstm.forward_sequence(&x, None, Some(&Tensor::full(&[5, 2], 0.5))).err().unwrap().to_string();
    assert!(msg.contains("0 or 1"), "{msg}");
    let holes = Tensor::from_vec(vec![1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], &[5, 2]).unwrap();
    let msg = lstm.forward_sequence(&x, None, Some(&holes)).err().unwrap().to_string();
    assert!(msg.contains("after padding"), "{msg}");
    let msg = lstm.forward(&Var::constant(Tensor::zeros(&[5, 2, 4]))).unwrap_err().to_string();
    assert!(msg.contains("(time, batch, 3)") && msg.contains("[5, 2, 4]"), "{msg}");
    let bad_h = RecurrentState { h: Var::constant(Tensor::zeros(&[1, 2, 4])), c: None };
    let msg = lstm.forward_sequence(&x, Some(&bad_h), None).err().unwrap().to_string();
    assert!(msg.contains("h0") && msg.contains("[2, 2, 4]") && msg.contains("[1, 2, 4]"), "{msg}");
    assert!(TbpttSchedule::new(3, 2).is_err() && TbpttSchedule::new(0, 2).is_err());
    let msg = truncated_bptt(&lstm, x.value(), None, TbpttSchedule::chunks(2).unwrap(), &[], |_, _| Ok(None))
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("bidirectional"), "{msg}");
    // the primitive's own shape errors name the op and both shapes
    let ts = inputs(CellKind::Gru, 3, 2, 2, 2, &mut rng);
    let mut bad = leaves(&ts);
    bad[2] = Var::constant(Tensor::zeros(&[6, 3]));
    let refs: Vec<&Var<f64>> = bad.iter().collect();
    let msg = sequence(CellKind::Gru, &refs, None).unwrap_err().to_string();
    assert!(
        msg.contains("gru_sequence") && msg.contains("w_ih") && msg.contains("[6, 3]") && msg.contains("[6, 2]"),
        "{msg}"
    );
}
