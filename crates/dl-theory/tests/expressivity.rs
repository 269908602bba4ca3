//! The expressivity constructions against independent checks: the exact region counter and
//! closed forms for the sawtooth, every Boolean input for parity and the DNF networks, a
//! fine midpoint rule for the exact L1 distance, and Telgarsky's bound on random networks.

use dl_layers::{Act, Linear, Sequential};
use dl_tensor::{Tensor, seeded_rng};
use dl_theory::expressivity::{
    BooleanFunction, check_on_all_inputs, dnf_network, parity, parity_relu_network, parity_threshold_network, sawtooth,
    sawtooth_l1_distance, sawtooth_l1_lower_bound, sawtooth_network, sawtooth_pieces, tree_network, xor_tree_network,
};
use dl_theory::regions::{PiecewiseLinearNetwork, line_regions, piece_count_bound};
use proptest::prelude::*;

#[test]
fn the_sawtooth_has_exactly_two_to_the_k_pieces_at_the_dyadic_points() {
    for k in 1..=16 {
        let net = sawtooth_network(k).unwrap();
        let pl = PiecewiseLinearNetwork::from_sequential(&net, &[1]).unwrap();
        let r = line_regions(&pl, &[0.0], &[1.0], 1 << 20).unwrap();
        assert_eq!(r.regions as u64, sawtooth_pieces(k).unwrap(), "k = {k}");
        assert_eq!(r.linear_pieces, r.regions, "k = {k}");
        for (j, t) in r.boundaries.iter().enumerate() {
            // dyadic rationals are exact in f64, and so is every step of the tent map
            assert_eq!(*t, (j + 1) as f64 / (1u64 << k) as f64, "k = {k}, boundary {j}");
        }
        // the network is f_k at the breakpoints and at points between them
        let xs: Vec<f64> = (0..=64).map(|i| i as f64 / 64.0 + 1e-3).filter(|x| *x <= 1.0).collect();
        let y = pl.outputs(&xs, xs.len()).unwrap();
        for (x, v) in xs.iter().zip(&y) {
            // f_k has slope 2^k: the arithmetic's rounding is ~2^k eps
            assert!((v - sawtooth(k, *x)).abs() <= 1e-15 * (1u64 << k) as f64, "k = {k}, x = {x}: {v}");
        }
    }
}

/// `int_0^1 |N - f_k|` by the midpoint rule on `m` intervals.
fn midpoint_l1(pl: &PiecewiseLinearNetwork<'_, f64>, k: usize, m: usize) -> f64 {
    let xs: Vec<f64> = (0..m).map(|i| (i as f64 + 0.5) / m as f64).collect();
    let y = pl.outputs(&xs, m).unwrap();
    xs.iter().zip(&y).map(|(x, v)| (v - sawtooth(k, *x)).abs()).sum::<f64>() / m as f64
}

/// A network on one input with random hidden widths and weights `N(0, 4)`, biases
/// `N(0, 1)`: kinks spread over [0, 1] and beyond.
fn random_1d(seed: u64, widths: &[usize]) -> Sequential<f64> {
    let mut rng = seeded_rng(seed);
    let mut dense = |fan_in: usize, w: usize| {
        let weight = Tensor::<f64>::randn(&[w, fan_in], &mut rng).mul_scalar(2.0 / (fan_in as f64).sqrt());
        let bias = Tensor::<f64>::randn(&[w], &mut rng);
        Linear::from_tensors(weight, Some(bias)).unwrap()
    };
    let mut net = Sequential::new();
    let mut fan_in = 1;
    for &w in widths {
        net = net.with(dense(fan_in, w)).with(Act::relu());
        fan_in = w;
    }
    net.with(dense(fan_in, 1))
}

#[test]
fn the_exact_l1_distance_agrees_with_a_fine_midpoint_rule() {
    // f_j against f_k: both piecewise linear with slopes up to 2^k; the midpoint rule on
    // m intervals errs only on the intervals holding a kink of |N - f_k|, by at most
    // slope * h^2 each: (2^k + 2^j + 2^k) 2^(k+1) / m^2 < 1e-7 for k <= 8, m = 2^20
    for (j, k) in [(2, 5), (3, 8), (5, 6), (1, 8)] {
        let net = sawtooth_network(j).unwrap();
        let pl = PiecewiseLinearNetwork::from_sequential(&net, &[1]).unwrap();
        let exact = sawtooth_l1_distance(&pl, k).unwrap();
        let mid = midpoint_l1(&pl, k, 1 << 20);
        assert!((exact - mid).abs() < 1e-7, "f_{j} vs f_{k}: {exact} vs {mid}");
        // and the bound holds for f_j's 2^j pieces
        assert!(exact >= sawtooth_l1_lower_bound(k, 1 << j).unwrap(), "f_{j} vs f_{k}");
    }
    // N = f_k itself is at distance 0 exactly
    let pl_net = sawtooth_network(7).unwrap();
    let pl = PiecewiseLinearNetwork::from_sequential(&pl_net, &[1]).unwrap();
    assert_eq!(sawtooth_l1_distance(&pl, 7).unwrap(), 0.0);
    assert!(sawtooth_l1_distance(&pl, 25).unwrap_err().to_string().contains("k = 25"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Telgarsky's bound on random networks: the exact L1 distance to f_k is at least
    /// 1/8 - (p + 1) 2^-(k+2) for the network's own piece count p, which is at most
    /// prod (n_l + 1); and the exact distance matches the midpoint rule.
    #[test]
    fn random_networks_respect_the_sawtooth_bound(
        seed in 0u64..100_000,
        widths in proptest::collection::vec(1usize..6, 1..3),
        k in 3usize..9,
    ) {
        let net = random_1d(seed, &widths);
        let pl = PiecewiseLinearNetwork::from_sequential(&net, &[1]).unwrap();
        let pieces = line_regions(&pl, &[-1e3], &[1e3], 1 << 20).unwrap().linear_pieces;
        prop_assert!(pieces as f64 <= piece_count_bound(&widths));
        let on_unit = line_regions(&pl, &[0.0], &[1.0], 1 << 20).unwrap().linear_pieces as u64;
        let exact = sawtooth_l1_distance(&pl, k).unwrap();
        prop_assert!(exact >= sawtooth_l1_lower_bound(k, on_unit).unwrap(), "{} < bound for {} pieces", exact, on_unit);
        // the network's slopes are O(10): the midpoint error stays below 1e-7 (see above)
        let mid = midpoint_l1(&pl, k, 1 << 18);
        prop_assert!((exact - mid).abs() < 1e-6 * (1.0 + exact), "{} vs {}", exact, mid);
    }

    /// The DNF network computes a random Boolean function of up to 10 inputs exactly.
    #[test]
    fn dnf_networks_compute_random_functions_exactly(seed in 0u64..100_000, n in 1usize..=10) {
        let f = BooleanFunction::random(n, &mut seeded_rng(seed)).unwrap();
        let check = check_on_all_inputs(&dnf_network(&f).unwrap(), n, |i| f.evaluate(i)).unwrap();
        prop_assert!(check.all_correct());
        prop_assert_eq!(check.max_error, 0.0);
    }
}

#[test]
fn parity_constructions_are_exact_on_every_input_up_to_16_bits() {
    for n in 1..=16 {
        let relu = check_on_all_inputs(&parity_relu_network(n).unwrap(), n, parity).unwrap();
        assert!(relu.all_correct() && relu.max_error == 0.0, "ReLU, n = {n}: {relu:?}");
        let tree = check_on_all_inputs(&xor_tree_network(n).unwrap(), n, parity).unwrap();
        assert!(tree.all_correct() && tree.max_error == 0.0, "tree, n = {n}: {tree:?}");
        let t = parity_threshold_network(n).unwrap();
        assert!((0..1u64 << n).all(|i| t.evaluate_index(i) == parity(i)), "threshold, n = {n}");
        assert_eq!(t.width(), n);
        // the tree's depth is ceil(log2 n) (one hidden layer for n = 1)
        let net = xor_tree_network(n).unwrap();
        let depth = PiecewiseLinearNetwork::from_sequential(&net, &[n]).unwrap().activation_layers();
        assert_eq!(depth, (n as f64).log2().ceil().max(1.0) as usize, "n = {n}");
    }
}

#[test]
fn a_wrong_network_is_caught_and_bad_sizes_are_named() {
    // the 8-bit parity network asked for 8-bit AND: wrong on most inputs
    let check = check_on_all_inputs(&parity_relu_network(8).unwrap(), 8, |i| i == 255).unwrap();
    assert!(!check.all_correct() && check.first_wrong == Some(1));
    let e = check_on_all_inputs(&parity_relu_network(4).unwrap(), 21, parity).unwrap_err().to_string();
    assert!(e.contains("n = 21") && e.contains("exhaustive"), "{e}");
    // a network of the wrong input width
    let e = check_on_all_inputs(&parity_relu_network(4).unwrap(), 5, parity).unwrap_err().to_string();
    assert!(e.contains("Linear(4 -> 4)"), "{e}");
    assert!(BooleanFunction::from_table(3, vec![true; 7]).unwrap_err().to_string().contains("2^3 = 8"));
    assert!(xor_tree_network(0).err().unwrap().to_string().contains("n = 0"));
}

#[test]
fn the_tree_network_is_piecewise_linear_for_the_counter() {
    // grouped 1x1 convolutions are affine layers: the counter reads the tree network
    let net = tree_network(3, 4, &mut seeded_rng(2)).unwrap();
    let pl = PiecewiseLinearNetwork::from_sequential(&net, &[8, 1]).unwrap();
    assert_eq!(pl.hidden_widths().unwrap(), vec![16, 8, 4]);
    let r = line_regions(&pl, &[-1.0; 8], &[1.0; 8], 10_000).unwrap();
    assert!(r.regions >= 1 && r.regions <= 29);
}
