//! The exact region counters against independent computations: the activation pattern of
//! a direct forward pass at each cell's centroid, the cells tiling the slice (areas),
//! dense grids and dense sampling, the exact count along segments, and the bounds.

use dl_layers::{Act, Activation, Linear, Module, Sequential};
use dl_tensor::{Tensor, TensorRng, seeded_rng};
use dl_theory::regions::{
    PiecewiseLinearNetwork, PlaneRegions, PlaneSlice, activation_patterns, arrangement_regions, grid_plane_regions,
    line_regions, plane_regions, sampled_line_regions, serra_upper_bound,
};
use proptest::prelude::*;

/// A random network `2 -> widths... -> 1` with the given activation, weights drawn from
/// `N(0, 2 / fan_in)` and biases from `N(0, 0.25)` (so that boundaries fall inside the
/// slices used below).
fn random_net(seed: u64, widths: &[usize], act: Activation) -> Sequential<f64> {
    let mut rng = seeded_rng(seed);
    let mut dense = |fan_in: usize, w: usize| {
        let weight = Tensor::randn(&[w, fan_in], &mut rng).mul_scalar((2.0 / fan_in as f64).sqrt());
        let bias = Tensor::randn(&[w], &mut rng).mul_scalar(0.5);
        Linear::from_tensors(weight, Some(bias)).unwrap()
    };
    let mut net = Sequential::new();
    let mut fan_in = 2;
    for &w in widths {
        net.push(Box::new(dense(fan_in, w)));
        net.push(Box::new(Act::new(act)));
        fan_in = w;
    }
    net.with(dense(fan_in, 1))
}

fn centroid(c: &[(f64, f64)]) -> (f64, f64) {
    let n = c.len() as f64;
    (c.iter().map(|p| p.0).sum::<f64>() / n, c.iter().map(|p| p.1).sum::<f64>() / n)
}

/// Every cell is a region: the pattern a direct forward pass computes at its centroid is
/// the cell's; the cells have distinct patterns and their areas add up to the slice's.
fn check_cells(pl: &PiecewiseLinearNetwork<'_, f64>, slice: &PlaneSlice, r: &PlaneRegions) {
    assert_eq!(r.distinct_patterns, r.regions);
    let total: f64 = r.cells.iter().map(|c| c.area).sum();
    // the area is a sum of ~regions shoelace terms of size ~1: rounding ~1e-15 each
    assert!((total - slice.area()).abs() <= 1e-10 * slice.area(), "areas {total} vs {}", slice.area());
    let pts: Vec<f64> = r
        .cells
        .iter()
        .flat_map(|c| {
            let (u, v) = centroid(&c.vertices);
            slice.point(u, v)
        })
        .collect();
    let direct = activation_patterns(pl, &pts, r.cells.len()).unwrap();
    for (c, p) in r.cells.iter().zip(&direct) {
        assert_eq!(&c.pattern, p, "cell at {:?} (area {})", centroid(&c.vertices), c.area);
    }
}

fn inside(c: &[(f64, f64)], p: (f64, f64)) -> bool {
    (0..c.len()).all(|i| {
        let (a, b) = (c[i], c[(i + 1) % c.len()]);
        (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0) >= -1e-12
    })
}

#[test]
fn one_layer_cells_are_the_arrangement_of_its_lines() {
    // n lines in general position through a large square: every cell of the
    // arrangement meets it, so the count is Zaslavsky's 1 + n + C(n, 2)
    let mut rng = seeded_rng(3);
    let n = 7;
    let w = Tensor::<f64>::randn(&[n, 2], &mut rng);
    let b = Tensor::<f64>::randn(&[n], &mut rng);
    let (wv, bv) = (w.to_vec(), b.to_vec());
    for i in 0..n {
        for j in 0..i {
            // w_i . x + b_i = 0 and w_j . x + b_j = 0 by Cramer's rule
            let det = wv[2 * i] * wv[2 * j + 1] - wv[2 * i + 1] * wv[2 * j];
            let x = (-bv[i] * wv[2 * j + 1] + bv[j] * wv[2 * i + 1]) / det;
            let y = (-wv[2 * i] * bv[j] + wv[2 * j] * bv[i]) / det;
            assert!(x.abs().max(y.abs()) < 1e3, "lines {i} and {j} meet at ({x}, {y})");
        }
    }
    let net = Sequential::new().with(Linear::from_tensors(w, Some(b)).unwrap()).with(Act::relu());
    let pl = PiecewiseLinearNetwork::from_sequential(&net, &[2]).unwrap();
    // every pairwise intersection lies within |x| < 1e3 (checked above)
    let slice = PlaneSlice::input_square(1e4);
    let r = plane_regions(&pl, &slice, 10_000).unwrap();
    assert_eq!(r.regions as f64, arrangement_regions(n, 2));
    check_cells(&pl, &slice, &r);
}

#[test]
fn grids_see_a_subset_of_the_cells_and_converge_to_the_exact_count() {
    for seed in 0..4 {
        let net = random_net(seed, &[6, 6, 4], Activation::Relu);
        let pl = PiecewiseLinearNetwork::from_sequential(&net, &[2]).unwrap();
        let slice = PlaneSlice::input_square(2.0);
        let exact = plane_regions(&pl, &slice, 100_000).unwrap();
        check_cells(&pl, &slice, &exact);
        let mut last = 0;
        for res in [16, 64, 256, 1024] {
            let grid = grid_plane_regions(&pl, &slice, res).unwrap();
            // the grid's patterns are exactly those of the cells that contain a grid point
            let at = |k: usize| -2.0 + 4.0 * k as f64 / (res - 1) as f64;
            let hit = exact
                .cells
                .iter()
                .filter(|c| {
                    let (umin, umax) =
                        c.vertices.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
                    let (vmin, vmax) =
                        c.vertices.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
                    let ks = |lo: f64, hi: f64| {
                        let k0 = (((lo + 2.0) / 4.0 * (res - 1) as f64).floor().max(0.0)) as usize;
                        let k1 = ((((hi + 2.0) / 4.0) * (res - 1) as f64).ceil() as usize).min(res - 1);
                        k0..=k1
                    };
                    ks(umin, umax).any(|i| ks(vmin, vmax).any(|j| inside(&c.vertices, (at(i), at(j)))))
                })
                .count();
            assert_eq!(grid.distinct_patterns, hit, "seed {seed}, resolution {res}");
            assert!(grid.distinct_patterns <= exact.regions);
            assert!(grid.distinct_patterns >= last, "seed {seed}: {} < {last} at {res}", grid.distinct_patterns);
            last = grid.distinct_patterns;
        }
        // the cells still missed at 1024^2 are the smallest ones
        assert!(exact.regions - last <= exact.regions / 10, "seed {seed}: {last} of {}", exact.regions);
    }
}

#[test]
fn bad_inputs_name_the_argument() {
    let net = random_net(0, &[4], Activation::Relu);
    let pl = PiecewiseLinearNetwork::from_sequential(&net, &[2]).unwrap();
    let mut slice = PlaneSlice::input_square(1.0);
    slice.u_range = (1.0, -1.0);
    let e = plane_regions(&pl, &slice, 10).unwrap_err().to_string();
    assert!(e.contains("u_range"), "{e}");
    let e = plane_regions(&pl, &PlaneSlice::through(&[0.0; 3], &[1.0, 0.0], &[0.0, 1.0], 0.0), 10).unwrap_err();
    assert!(e.to_string().contains("x0 has 3 entries"), "{e}");
    let big = random_net(1, &[16, 16], Activation::Relu);
    let pl = PiecewiseLinearNetwork::from_sequential(&big, &[2]).unwrap();
    let e = plane_regions(&pl, &PlaneSlice::input_square(3.0), 5).unwrap_err().to_string();
    assert!(e.contains("max_cells = 5"), "{e}");
    let e = grid_plane_regions(&pl, &PlaneSlice::input_square(3.0), 1).unwrap_err().to_string();
    assert!(e.contains("resolution"), "{e}");
    // layers that are not piecewise linear: index and description
    let mut rng = seeded_rng(0);
    let tanh = Sequential::<f64>::new().with(Linear::new(2, 3, true, &mut rng)).with(Act::tanh());
    let e = PiecewiseLinearNetwork::from_sequential(&tanh, &[2]).err().unwrap().to_string();
    assert!(e.contains("layer 1 (Tanh)") && e.contains("smooth"), "{e}");
    let pool = Sequential::<f64>::new().with(dl_layers::MaxPool1d::new(dl_layers::PoolOptions::new(2)));
    let e = PiecewiseLinearNetwork::from_sequential(&pool, &[1, 4]).err().unwrap().to_string();
    assert!(e.contains("layer 0 (MaxPool1d") && e.contains("not elementwise"), "{e}");
    let mut drop = Sequential::<f64>::new().with(dl_layers::Dropout::new(0.5, 0).unwrap());
    let e = PiecewiseLinearNetwork::from_sequential(&drop, &[2]).err().unwrap().to_string();
    assert!(e.contains("training mode"), "{e}");
    drop.eval();
    assert!(PiecewiseLinearNetwork::from_sequential(&drop, &[2]).is_ok());
    let norm = Sequential::<f64>::new().with(user::Opaque);
    let e = PiecewiseLinearNetwork::from_sequential(&norm, &[2]).err().unwrap().to_string();
    assert!(e.contains("layer 0 (Opaque)") && e.contains("Other"), "{e}");
}

/// A user's module without a kind.
mod user {
    use dl_autodiff::Var;
    use dl_layers::{Module, Result};
    use dl_tensor::Element;
    pub struct Opaque;
    impl<T: Element> Module<T> for Opaque {
        fn describe(&self) -> String {
            "Opaque".into()
        }
        fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
            Ok(x.clone())
        }
    }
}

#[test]
fn f32_networks_count_the_same_regions_as_their_f64_copy() {
    let net64 = random_net(9, &[8, 8], Activation::Relu);
    let net32 = Sequential::<f32>::new();
    let mut net32 = net32;
    for m in net64.layers() {
        let state = m.state_dict();
        if state.is_empty() {
            net32.push(Box::new(Act::relu()));
        } else {
            let w: Tensor<f32> = state["weight"].cast();
            let b: Tensor<f32> = state["bias"].cast();
            net32.push(Box::new(Linear::from_tensors(w, Some(b)).unwrap()));
        }
    }
    // the f64 copy of the f32 weights, so only the arithmetic differs
    let mut net64c = Sequential::<f64>::new();
    for m in net32.layers() {
        let state = m.state_dict();
        if state.is_empty() {
            net64c.push(Box::new(Act::relu()));
        } else {
            let w: Tensor<f64> = state["weight"].cast();
            let b: Tensor<f64> = state["bias"].cast();
            net64c.push(Box::new(Linear::from_tensors(w, Some(b)).unwrap()));
        }
    }
    let (p32, p64) = (
        PiecewiseLinearNetwork::from_sequential(&net32, &[2]).unwrap(),
        PiecewiseLinearNetwork::from_sequential(&net64c, &[2]).unwrap(),
    );
    let slice = PlaneSlice::input_square(2.0);
    let (r32, r64) = (plane_regions(&p32, &slice, 10_000).unwrap(), plane_regions(&p64, &slice, 10_000).unwrap());
    // f32 rounding moves lines by ~1e-7; a cell thinner than that could come or go, and
    // these draws have none
    assert_eq!(r32.regions, r64.regions);
    let (l32, l64) = (
        line_regions(&p32, &[-2.0, 0.3], &[2.0, -0.7], 1000).unwrap(),
        line_regions(&p64, &[-2.0, 0.3], &[2.0, -0.7], 1000).unwrap(),
    );
    assert_eq!(l32.regions, l64.regions);
    for (x, y) in l32.boundaries.iter().zip(&l64.boundaries) {
        assert!((x - y).abs() < 1e-5, "{x} vs {y}");
    }
}

fn rng_point(rng: &mut TensorRng, half: f64) -> (f64, f64) {
    let v = Tensor::<f64>::rand_uniform(&[2], -half, half, rng).unwrap().to_vec();
    (v[0], v[1])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random networks (1-3 hidden layers of 2-7 units, ReLU or leaky ReLU): the cells are
    /// the regions (forward passes at centroids, areas), within the bounds, and every
    /// segment inside the slice crosses exactly the regions the exact line counter finds,
    /// which dense sampling confirms from below.
    #[test]
    fn plane_cells_lines_and_sampling_agree(
        seed in 0u64..10_000,
        widths in proptest::collection::vec(2usize..8, 1..4),
        leaky in proptest::bool::ANY,
    ) {
        let act = if leaky { Activation::LeakyRelu(0.2) } else { Activation::Relu };
        let net = random_net(seed, &widths, act);
        let pl = PiecewiseLinearNetwork::from_sequential(&net, &[2]).unwrap();
        let slice = PlaneSlice::input_square(2.0);
        let r = plane_regions(&pl, &slice, 1_000_000).unwrap();
        check_cells(&pl, &slice, &r);
        prop_assert!(r.regions as f64 <= serra_upper_bound(2, &widths));
        let mut rng = seeded_rng(seed ^ 0x5eed);
        for _ in 0..4 {
            let (a, b) = (rng_point(&mut rng, 2.0), rng_point(&mut rng, 2.0));
            let line = line_regions(&pl, &[a.0, a.1], &[b.0, b.1], 1_000_000).unwrap();
            prop_assert_eq!(line.regions, r.regions_along(a, b), "segment {:?} -> {:?}", a, b);
            prop_assert!(line.linear_pieces <= line.regions);
            let sampled = sampled_line_regions(&pl, &[a.0, a.1], &[b.0, b.1], 20_001).unwrap();
            prop_assert!(sampled <= line.regions);
            let ends: Vec<f64> = std::iter::once(0.0).chain(line.boundaries.iter().copied()).chain([1.0]).collect();
            let narrowest = ends.windows(2).map(|w| w[1] - w[0]).fold(1.0, f64::min);
            if narrowest > 2.0 / 20_000.0 {
                prop_assert_eq!(sampled, line.regions);
            }
        }
    }
}

#[test]
fn the_counter_reads_any_module_list_including_framework_style_boxes() {
    // the same network as a list of &dyn Module: the counter needs no Sequential
    let net = random_net(4, &[5, 5], Activation::Relu);
    let list: Vec<&dyn Module<f64>> = net.layers().iter().map(|m| m.as_ref()).collect();
    let pl = PiecewiseLinearNetwork::new(&[2], list).unwrap();
    assert_eq!(pl.hidden_widths().unwrap(), vec![5, 5]);
    assert_eq!(pl.neurons().unwrap(), 10);
    assert_eq!(pl.activation_layers(), 2);
}
