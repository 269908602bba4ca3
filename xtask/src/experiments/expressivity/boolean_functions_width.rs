//! `boolean-functions-width`: every Boolean function of `n` inputs is a network with one
//! hidden layer, and most need that layer exponentially wide.
//!
//! - **Every function**: random functions (each truth-table entry a fair coin) of
//!   `n = 2..10` inputs, and parity, as dl-theory's DNF networks (one ReLU unit per point of
//!   the smaller of `f^-1(1)`, `f^-1(0)`), checked on all `2^n` inputs.
//! - **Most need exponential width** (the counting argument of Shannon 1949, with Cover's
//!   1965 function-counting theorem): one hidden layer of `w` threshold units computes at
//!   most `2^(w log2 T(n) + log2 D(n, w))` of the `2^(2^n)` functions, so half of them need
//!   `w >= width_needed(n, 1/2)`, of order `2^n / n^2`. The exact number `T(n)` of
//!   threshold functions (one unit) is enumerated for `n <= 5` against the published
//!   values (Muroga 1971).
//!
//! Quick: `n <= 8`, `T(n)` for `n <= 4`, 1 seed; full: `n <= 10`, `T(n)` for `n <= 5`,
//! 3 seeds of 4 random functions per `n`.

use std::collections::BTreeMap;

use dl_tensor::seeded_rng;
use dl_theory::expressivity::{
    BooleanFunction, check_on_all_inputs, dnf_network, log2_threshold_functions_bound, parity,
    threshold_function_count, width_needed,
};
use serde_json::json;

use super::training::{mean_sd, slope};
use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Published numbers of threshold functions of n = 1..5 inputs (Muroga 1971; OEIS A000609).
const PUBLISHED_THRESHOLD_COUNTS: [u64; 5] = [4, 14, 104, 1882, 94572];

/// Boolean functions: the DNF construction and the counting argument.
pub struct BooleanFunctionsWidth;

impl Experiment for BooleanFunctionsWidth {
    fn id(&self) -> &'static str {
        "boolean-functions-width"
    }
    fn title(&self) -> &'static str {
        "Boolean functions: every one is a one-hidden-layer network (DNF), and counting shows most need width exponential in n"
    }
    fn section(&self) -> &'static str {
        "01 expressivity"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let max_n = size.pick(8, 10);
        let max_t = size.pick(4, 5);
        let per_seed = size.pick(2, 4);
        let seeds = ctx.replicate_seeds(size.pick(1, 3));
        let mut m = Metrics::new();
        m.config("n", json!((2..=max_n).collect::<Vec<_>>()));
        m.config("random_functions_per_seed_and_n", per_seed);
        m.config("seeds", seeds.len());
        m.config("threshold_counts_up_to_n", max_t);

        // every function: DNF networks checked on all inputs
        m.table("dnf", &["n", "seed", "function", "ones", "width", "exact", "max_error"]);
        let mut exact_fraction = Vec::new();
        let mut width_band = Vec::new();
        let mut widths_by_n: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        let total = (seeds.len() * (max_n - 1)) as u64;
        let mut done = 0;
        for (r, &seed) in seeds.iter().enumerate() {
            let (mut ok, mut count) = (0, 0);
            for n in 2..=max_n {
                ctx.message(format!("DNF networks, n = {n}, seed {seed}"));
                let mut rng = seeded_rng(ctx.point_seed(&format!("n{n}"), r as u64));
                for j in 0..per_seed {
                    let f = BooleanFunction::random(n, &mut rng)?;
                    let check = check_on_all_inputs(&dnf_network(&f)?, n, |i| f.evaluate(i))?;
                    let width = f.ones().min((1 << n) - f.ones()).max(1);
                    ok += check.all_correct() as usize;
                    count += 1;
                    widths_by_n.entry(n).or_default().push(width as f64);
                    m.push_row(
                        "dnf",
                        vec![
                            json!(n),
                            json!(seed),
                            json!(j),
                            json!(f.ones()),
                            json!(width),
                            json!(check.all_correct()),
                            num(check.max_error),
                        ],
                    )?;
                }
                if r == 0 {
                    let f = BooleanFunction::from_fn(n, parity)?;
                    let check = check_on_all_inputs(&dnf_network(&f)?, n, parity)?;
                    ok += check.all_correct() as usize;
                    count += 1;
                    m.push_row(
                        "dnf",
                        vec![
                            json!(n),
                            json!(seed),
                            json!("parity"),
                            json!(f.ones()),
                            json!(1 << (n - 1)),
                            json!(check.all_correct()),
                            num(check.max_error),
                        ],
                    )?;
                }
                done += 1;
                ctx.progress(done, total);
            }
            exact_fraction.push(ok as f64 / count as f64);
        }
        for (&n, w) in &widths_by_n {
            let (mean, sd) = mean_sd(w);
            width_band.push((n as f64, mean, sd));
        }
        m.claim(
            Claim::new(
                "dnf-computes-every-function",
                "every Boolean function of n inputs is computed exactly by one hidden layer (one unit per point of its smaller level set)",
                "the disjunctive normal form, one unit per minterm (textbook construction; docs/expressivity.md)",
            )
            .measured(
                &format!("fraction of random functions (and parity) of n = 2..{max_n} inputs right on all 2^n inputs"),
                Measured::over_seeds(&exact_fraction),
            )
            .criterion(Criterion::at_least(1.0)),
        )?;

        // threshold functions: exact counts against the published ones and Cover's bound
        m.table(
            "threshold_functions",
            &["n", "exact_count", "published", "cover_bound", "all_functions_log2", "fraction_threshold"],
        );
        let mut t_exact = Vec::new();
        let mut last_count = 0;
        for n in 1..=max_t {
            ctx.message(format!("enumerating the threshold functions of {n} inputs"));
            let t = threshold_function_count(n)?;
            last_count = t;
            let all = (n as f64).exp2().exp2();
            m.push_row(
                "threshold_functions",
                vec![
                    json!(n),
                    json!(t),
                    json!(PUBLISHED_THRESHOLD_COUNTS[n - 1]),
                    num(log2_threshold_functions_bound(n).exp2()),
                    num((n as f64).exp2()),
                    num(t as f64 / all),
                ],
            )?;
            t_exact.push((n as f64, (t as f64).log2()));
        }
        m.claim(
            Claim::new(
                "threshold-count-matches-published",
                &format!("there are {} threshold functions of {max_t} inputs", PUBLISHED_THRESHOLD_COUNTS[max_t - 1]),
                "Muroga 1971 (OEIS A000609)",
            )
            .measured(&format!("T({max_t}) by enumeration of integer weights"), Measured::exact(last_count as f64))
            .criterion(Criterion::within(PUBLISHED_THRESHOLD_COUNTS[max_t - 1] as f64, 0.0)),
        )?;

        // the counting argument: width needed for half of all functions
        m.table("width_needed", &["n", "width_needed_for_half", "dnf_width_bound", "two_to_n_over_n2_n_1"]);
        let counting_ns: Vec<usize> = (2..=30).collect();
        let mut needed = Vec::new();
        for &n in &counting_ns {
            let w = width_needed(n, 0.5)?;
            let reference = (n as f64).exp2() / ((n * n + n + 1) as f64);
            m.push_row("width_needed", vec![json!(n), json!(w), num((n as f64 - 1.0).exp2()), num(reference)])?;
            needed.push((n as f64, w as f64));
        }
        let fit: Vec<&(f64, f64)> = needed.iter().filter(|p| p.0 >= 10.0).collect();
        let growth =
            slope(&fit.iter().map(|p| p.0).collect::<Vec<_>>(), &fit.iter().map(|p| p.1.log2()).collect::<Vec<_>>());
        m.scalar("log2_width_needed_slope_n10_to_30", growth);
        m.claim(
            Claim::new(
                "most-functions-need-exponential-width",
                "most Boolean functions of n inputs need a hidden layer of width exponential in n",
                "Shannon 1949 (counting argument); Cover 1965 (function-counting theorem)",
            )
            .measured(
                "slope of log2(width at which half of all functions can be represented) against n, n = 10..30",
                Measured::exact(growth),
            )
            .criterion(Criterion::between(0.7, 1.0))
            .note("an upper bound on the number of representable functions, so the width is a lower bound; the slope tends to 1 (2^n / n^2)"),
        )?;

        let mut w_chart = LineChart::new("hidden units for Boolean functions of n inputs", "n", "hidden units")
            .scales(Scale::Linear, Scale::Log2);
        w_chart.add_with_band("DNF width of random functions (used)", 0, &width_band);
        w_chart.add(
            "DNF width of parity: 2^(n-1)",
            SeriesKind::Line,
            1,
            (2..=max_n).map(|n| (n as f64, (n as f64 - 1.0).exp2())).collect(),
        );
        let shown: Vec<(f64, f64)> = needed.iter().copied().filter(|p| p.0 <= max_n as f64).collect();
        w_chart.add("counting bound: needed by half of all functions", SeriesKind::Line, 2, shown);
        ctx.figure("width_against_n", &w_chart)?;

        let mut c_chart = LineChart::new("how many functions: log2 of the count", "n", "log2 count")
            .scales(Scale::Linear, Scale::Log2);
        c_chart.add(
            "all Boolean functions: 2^n",
            SeriesKind::Line,
            0,
            (1..=10).map(|n| (n as f64, (n as f64).exp2())).collect(),
        );
        c_chart.add(
            "threshold functions, Cover's bound",
            SeriesKind::Line,
            1,
            (1..=10).map(|n| (n as f64, log2_threshold_functions_bound(n))).collect(),
        );
        c_chart.add("threshold functions, exact (enumerated)", SeriesKind::Crosses, 2, t_exact);
        ctx.figure("function_counts", &c_chart)?;
        Ok(m)
    }
}
