//! Property tests: broadcasting, reductions and view ops against naive loop
//! implementations on random shapes, in f32 and f64.
//!
//! The oracles below index a row-major buffer by explicit multi-indices, with no ndarray
//! machinery, so they are independent of the code under test. Arithmetic in the oracle
//! is done in f64 and compared with [`Tolerance::default_for`], except where the
//! operation is exact (moves, max), where equality is required.

use dl_tensor::compare::{Tolerance, compare};
use dl_tensor::{Element, IndexArray, Tensor, seeded_rng};
use proptest::prelude::*;

/// Row-major strides of a shape.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// All multi-indices of a shape in row-major order.
fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let n: usize = shape.iter().product();
    let st = strides(shape);
    (0..n).map(|f| (0..shape.len()).map(|d| (f / st[d]) % shape[d]).collect()).collect()
}

fn flat(shape: &[usize], ix: &[usize]) -> usize {
    strides(shape).iter().zip(ix).map(|(s, i)| s * i).sum()
}

fn to_f64<T: Element>(t: &Tensor<T>) -> Vec<f64> {
    t.to_vec().into_iter().map(T::to_f64_exact).collect()
}

fn random<T: Element>(shape: &[usize], seed: u64) -> Tensor<T> {
    Tensor::randn(shape, &mut seeded_rng(seed))
}

/// A shape of rank 0..=4 with sizes 1..=4, and a second shape that broadcasts with it:
/// each trailing dimension either equal or 1, some leading dimensions dropped.
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec(1usize..=4, 0..=4).prop_flat_map(|a| {
        let n = a.len();
        (Just(a), prop::collection::vec(any::<bool>(), n), 0..=n).prop_map(|(a, ones, drop)| {
            let b: Vec<usize> = a.iter().zip(&ones).map(|(&s, &one)| if one { 1 } else { s }).skip(drop).collect();
            (a, b)
        })
    })
}

fn check_broadcast<T: Element>(a_shape: &[usize], b_shape: &[usize], seed: u64) -> Result<(), TestCaseError> {
    let a = random::<T>(a_shape, seed);
    let b = random::<T>(b_shape, seed + 1);
    let (av, bv) = (to_f64(&a), to_f64(&b));
    // oracle: out[ix] = a[ix aligned] op b[ix aligned], with size-1 dims pinned to 0
    let out_shape = a_shape.to_vec();
    let pick = |shape: &[usize], ix: &[usize]| {
        let off = ix.len() - shape.len();
        let j: Vec<usize> = shape.iter().enumerate().map(|(d, &s)| if s == 1 { 0 } else { ix[off + d] }).collect();
        flat(shape, &j)
    };
    for (name, got, f) in [
        ("add", a.add(&b), (|x, y| x + y) as fn(f64, f64) -> f64),
        ("mul", a.mul(&b), |x, y| x * y),
        ("sub", b.sub(&a), |x, y| y - x),
        ("maximum", a.maximum(&b), f64::max),
    ] {
        let got = got.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got.shape(), &out_shape[..], "{}", name);
        let expect: Vec<f64> =
            indices(&out_shape).iter().map(|ix| f(av[pick(a_shape, ix)], bv[pick(b_shape, ix)])).collect();
        let res = compare(&to_f64(&got), &expect, Tolerance::default_for::<T>());
        prop_assert!(res.is_ok(), "{} {:?} {:?}: {}", name, a_shape, b_shape, res.unwrap_err());
    }
    Ok(())
}

fn shape_and_axes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, bool)> {
    prop::collection::vec(1usize..=4, 1..=4).prop_flat_map(|s| {
        let n = s.len();
        (Just(s), prop::sample::subsequence((0..n).collect::<Vec<_>>(), 1..=n), any::<bool>())
    })
}

/// An f64 reference reduction over one output position's group of input elements.
type GroupReference = Box<dyn Fn(&Vec<f64>) -> f64>;

fn check_reductions<T: Element>(
    shape: &[usize],
    axes: &[usize],
    keepdim: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    let x = random::<T>(shape, seed);
    let xv = to_f64(&x);
    let out_shape: Vec<usize> = shape
        .iter()
        .enumerate()
        .filter_map(|(d, &s)| if axes.contains(&d) { keepdim.then_some(1) } else { Some(s) })
        .collect();
    // Group every input element by its output position (reduced axes dropped).
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    let kept_shape: Vec<usize> = kept.iter().map(|&d| shape[d]).collect();
    let mut groups = vec![Vec::new(); kept_shape.iter().product()];
    for ix in indices(shape) {
        let k: Vec<usize> = kept.iter().map(|&d| ix[d]).collect();
        groups[flat(&kept_shape, &k)].push(xv[flat(shape, &ix)]);
    }
    let ax: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
    let tol = Tolerance::default_for::<T>();
    let mean = |g: &Vec<f64>| g.iter().sum::<f64>() / g.len() as f64;
    let cases: [(&str, dl_tensor::Result<Tensor<T>>, GroupReference); 5] = [
        ("sum", x.sum_axes(&ax, keepdim), Box::new(|g| g.iter().sum())),
        ("mean", x.mean_axes(&ax, keepdim), Box::new(mean)),
        ("max", x.max_axes(&ax, keepdim), Box::new(|g| g.iter().copied().fold(f64::NEG_INFINITY, f64::max))),
        (
            "var",
            x.var_axes(&ax, 0, keepdim),
            Box::new(move |g| {
                let m = mean(g);
                g.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / g.len() as f64
            }),
        ),
        (
            "logsumexp",
            x.logsumexp(&ax, keepdim),
            Box::new(|g| {
                let m = g.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                m + g.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
            }),
        ),
    ];
    for (name, got, f) in cases {
        let got = got.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got.shape(), &out_shape[..], "{}", name);
        let expect: Vec<f64> = groups.iter().map(f).collect();
        // f32 sums of up to 256 terms: allow sqrt(n) * eps-level growth on top of the default.
        let tol = if T::DTYPE == "f32" { Tolerance::new(tol.rtol * 16.0, 1e-5) } else { tol };
        let res = compare(&to_f64(&got), &expect, tol);
        prop_assert!(res.is_ok(), "{} {:?} axes {:?}: {}", name, shape, axes, res.unwrap_err());
    }
    Ok(())
}

fn check_views<T: Element>(shape: &[usize], perm_seed: u64, seed: u64) -> Result<(), TestCaseError> {
    let x = random::<T>(shape, seed);
    let xv = x.to_vec();
    let n = shape.len();
    // permutation: rotate by perm_seed
    let perm: Vec<usize> = (0..n).map(|i| (i + perm_seed as usize) % n).collect();
    let p = x.permute(&perm).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let p_shape: Vec<usize> = perm.iter().map(|&d| shape[d]).collect();
    prop_assert_eq!(p.shape(), &p_shape[..]);
    let pv = p.to_vec();
    for (f, ix) in indices(&p_shape).iter().enumerate() {
        let mut src = vec![0; n];
        for (i, &d) in perm.iter().enumerate() {
            src[d] = ix[i];
        }
        prop_assert_eq!(pv[f], xv[flat(shape, &src)]);
    }
    // reshape of the permuted view: row-major order of the view is preserved
    let r = p.reshape(&[p.numel()]).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(r.to_vec(), pv.clone());
    // narrow the last axis to its tail, then concat back with the head
    let last = n - 1;
    let len = shape[last];
    let cut = (perm_seed as usize) % len;
    let head = x.narrow(last as isize, 0, cut).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let tail = x.narrow(last as isize, cut, len - cut).map_err(|e| TestCaseError::fail(e.to_string()))?;
    for ix in indices(tail.shape()) {
        let mut src = ix.clone();
        src[last] += cut;
        prop_assert_eq!(tail.to_vec()[flat(tail.shape(), &ix)], xv[flat(shape, &src)]);
    }
    let back = Tensor::concat(&[&head, &tail], last as isize).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(back.to_vec(), xv.clone());
    // index_select and gather along axis 0 with indices derived from the seed
    let rows: Vec<usize> = (0..shape[0] + 2).map(|i| (i * 7 + perm_seed as usize) % shape[0]).collect();
    let sel = x.index_select(0, &rows).map_err(|e| TestCaseError::fail(e.to_string()))?;
    for ix in indices(sel.shape()) {
        let mut src = ix.clone();
        src[0] = rows[ix[0]];
        prop_assert_eq!(sel.to_vec()[flat(sel.shape(), &ix)], xv[flat(shape, &src)]);
    }
    let idx_vals: Vec<usize> = (0..x.numel()).map(|i| (i * 5 + 3) % shape[last]).collect();
    let idx = IndexArray::from_shape_vec(ndarray::IxDyn(shape), idx_vals.clone()).unwrap();
    let g = x.gather(last as isize, &idx).map_err(|e| TestCaseError::fail(e.to_string()))?;
    for (f, ix) in indices(shape).iter().enumerate() {
        let mut src = ix.clone();
        src[last] = idx_vals[f];
        prop_assert_eq!(g.to_vec()[f], xv[flat(shape, &src)]);
    }
    // scatter_add is gather's adjoint: <gather(x), y> = <x, scatter_add(0, y)>
    let y = random::<T>(shape, seed + 9);
    let lhs: f64 = to_f64(&g).iter().zip(to_f64(&y)).map(|(a, b)| a * b).sum();
    let s = Tensor::<T>::zeros(shape)
        .scatter_add(last as isize, &idx, &y)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let rhs: f64 = to_f64(&x).iter().zip(to_f64(&s)).map(|(a, b)| a * b).sum();
    prop_assert!((lhs - rhs).abs() <= 1e-4 * (1.0 + lhs.abs()), "adjoint {} vs {}", lhs, rhs);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn broadcasting_matches_loops_f32((a, b) in broadcast_pair(), seed in 0u64..1000) {
        check_broadcast::<f32>(&a, &b, seed)?;
        check_broadcast::<f32>(&b, &b, seed)?;
    }

    #[test]
    fn broadcasting_matches_loops_f64((a, b) in broadcast_pair(), seed in 0u64..1000) {
        check_broadcast::<f64>(&a, &b, seed)?;
    }

    #[test]
    fn reductions_match_loops_f32((s, axes, keep) in shape_and_axes(), seed in 0u64..1000) {
        check_reductions::<f32>(&s, &axes, keep, seed)?;
    }

    #[test]
    fn reductions_match_loops_f64((s, axes, keep) in shape_and_axes(), seed in 0u64..1000) {
        check_reductions::<f64>(&s, &axes, keep, seed)?;
    }

    #[test]
    fn views_match_loops_f32(s in prop::collection::vec(1usize..=4, 1..=4), p in 0u64..8, seed in 0u64..1000) {
        check_views::<f32>(&s, p, seed)?;
    }

    #[test]
    fn views_match_loops_f64(s in prop::collection::vec(1usize..=4, 1..=4), p in 0u64..8, seed in 0u64..1000) {
        check_views::<f64>(&s, p, seed)?;
    }

    #[test]
    fn softmax_rows_match_loops_and_stay_finite(rows in 1usize..5, cols in 1usize..7, scale in prop::sample::select(vec![1.0f64, 1e2, 1e4]), seed in 0u64..1000) {
        let x = random::<f32>(&[rows, cols], seed).mul_scalar(scale as f32);
        let s = x.softmax(-1).unwrap();
        let ls = x.log_softmax(-1).unwrap();
        prop_assert!(s.all_finite() && ls.all_finite());
        let xv = to_f64(&x);
        for r in 0..rows {
            let row = &xv[r * cols..(r + 1) * cols];
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = row.iter().map(|v| (v - m).exp()).sum();
            for (c, &xc) in row.iter().enumerate() {
                let p = ((xc - m).exp() / z) as f32;
                let lp = (xc - m - z.ln()) as f32;
                prop_assert!((s.to_vec()[r * cols + c] - p).abs() <= 1e-6);
                // x - lse in f32 rounds at the scale of the inputs: a few ulp of |x| + |m|.
                let bound = 4.0 * f32::EPSILON * (xc.abs() + m.abs() + 1.0) as f32;
                prop_assert!((ls.to_vec()[r * cols + c] - lp).abs() <= bound);
            }
        }
    }
}
