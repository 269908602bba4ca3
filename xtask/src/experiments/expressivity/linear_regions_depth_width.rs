//! `linear-regions-depth-width`: the exact number of linear regions of ReLU networks at
//! initialisation against depth and width, beside the bounds on the maximum.
//!
//! Networks on `R^2` (so the input square is itself the 2-D slice), weights
//! `N(0, 2 / fan_in)` (He), biases `N(0, 0.1)`; regions counted exactly by dl-theory:
//! cells of the square `[-1, 1]^2` (cell enumeration) and region boundaries per unit length
//! along random segments in it (the line counter).
//!
//! - **Depth at a fixed number of neurons** `N`: widths `N / L` for depths `L`. Montúfar
//!   et al. (2014) show that the *maximal* number of regions grows exponentially with depth
//!   (their lower bound on the maximum is drawn) and Serra et al. (2018) bound it from above;
//!   Hanin & Rolnick (2019a, b) show that at initialisation the density of regions along a
//!   line is about proportional to `N` whatever the depth, and the number in a 2-D section
//!   about `N^2`, not exponential in depth.
//! - **Width at a fixed depth** (3): the boundary density against `N` (slope 1 on log axes).
//! - **The grid cross-check**: the grid estimate of one network's square at increasing
//!   resolution, below and converging to the exact count.
//!
//! Full size: `N = 48`, depths 1, 2, 3, 4, 6, 8; widths 4, 8, 16, 32 at depth 3; 3 seeds,
//! 40 segments per network, grids up to 1024 points a side; quick: the same networks, 1 seed,
//! 16 segments, grids up to 512.

use dl_layers::{Act, Linear, Sequential};
use dl_tensor::{Tensor, TensorRng, seeded_rng};
use dl_theory::regions::{
    PiecewiseLinearNetwork, PlaneSlice, grid_plane_regions, line_regions, montufar_lower_bound, plane_regions,
    serra_upper_bound,
};
use serde_json::json;

use super::training::{mean_sd, slope};
use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};
use crate::replicates::par_map;

/// The bias variance at initialisation.
const SIGMA_B2: f64 = 0.1;
/// The input square is `[-HALF_WIDTH, HALF_WIDTH]^2`.
const HALF_WIDTH: f64 = 1.0;

/// Linear regions against depth and width.
pub struct LinearRegionsDepthWidth;

/// A He-initialised ReLU network `2 -> widths -> 1` with biases `N(0, SIGMA_B2)`.
fn he_network(widths: &[usize], rng: &mut TensorRng) -> Result<Sequential<f64>, ExperimentError> {
    let mut dense = |fan_in: usize, w: usize| -> Result<Linear<f64>, ExperimentError> {
        let weight = Tensor::<f64>::randn(&[w, fan_in], rng).mul_scalar((2.0 / fan_in as f64).sqrt());
        let bias = Tensor::<f64>::randn(&[w], rng).mul_scalar(SIGMA_B2.sqrt());
        Ok(Linear::from_tensors(weight, Some(bias))?)
    };
    let mut net = Sequential::new();
    let mut fan_in = 2;
    for &w in widths {
        net = net.with(dense(fan_in, w)?).with(Act::relu());
        fan_in = w;
    }
    Ok(net.with(dense(fan_in, 1)?))
}

/// What one network measures.
struct Counted {
    plane: usize,
    density: f64,
}

fn count(widths: &[usize], segments: usize, seed: u64) -> Result<Counted, ExperimentError> {
    let mut rng = seeded_rng(seed);
    let net = he_network(widths, &mut rng)?;
    let pl = PiecewiseLinearNetwork::from_sequential(&net, &[2])?;
    let plane = plane_regions(&pl, &PlaneSlice::input_square(HALF_WIDTH), 2_000_000)?.regions;
    let mut density = 0.0;
    for _ in 0..segments {
        let p = Tensor::<f64>::rand_uniform(&[4], -HALF_WIDTH, HALF_WIDTH, &mut rng)?.to_vec();
        let r = line_regions(&pl, &p[..2], &p[2..], 10_000_000)?;
        density += r.boundary_density() / segments as f64;
    }
    Ok(Counted { plane, density })
}

impl Experiment for LinearRegionsDepthWidth {
    fn id(&self) -> &'static str {
        "linear-regions-depth-width"
    }
    fn title(&self) -> &'static str {
        "Exact linear regions at initialisation against depth and width, beside the bounds on the maximum"
    }
    fn section(&self) -> &'static str {
        "01 expressivity"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        // the full design costs seconds: quick keeps it and drops the replicates and the
        // finest grids
        let neurons = 48;
        let depths: Vec<usize> = vec![1, 2, 3, 4, 6, 8];
        let widths: Vec<usize> = vec![4, 8, 16, 32];
        let sweep_depth = 3;
        let segments = size.pick(16, 40);
        let seeds = ctx.replicate_seeds(size.pick(1, 3));
        let mut m = Metrics::new();
        m.config("input", json!({"dimension": 2, "square": [-HALF_WIDTH, HALF_WIDTH]}));
        m.config("init", json!({"weights": "N(0, 2 / fan_in)", "bias_variance": SIGMA_B2}));
        m.config("neurons_for_depth_sweep", neurons);
        m.config("depths", json!(depths));
        m.config("widths_at_depth_3", json!(widths));
        m.config("segments_per_network", segments);
        m.config("seeds", seeds.len());

        // depth at fixed N
        m.table(
            "depth_sweep",
            &[
                "depth",
                "width",
                "seed",
                "plane_regions",
                "boundaries_per_unit_length",
                "serra_bound",
                "montufar_lower_bound",
            ],
        );
        let mut per_seed_density: Vec<Vec<f64>> = vec![Vec::new(); seeds.len()];
        let mut per_seed_plane: Vec<Vec<f64>> = vec![Vec::new(); seeds.len()];
        let (mut plane_band, mut density_band, mut serra, mut montufar) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut within_bound = true;
        // every network is independent: counted on all cores, results in order
        let depth_items: Vec<(usize, usize)> =
            depths.iter().flat_map(|&d| (0..seeds.len()).map(move |r| (d, r))).collect();
        let depth_counts = {
            let ctx = &*ctx;
            par_map(ctx, &depth_items, |&(depth, r)| {
                count(&vec![neurons / depth; depth], segments, ctx.point_seed(&format!("depth{depth}"), r as u64))
            })?
        };
        for &depth in &depths {
            let arch = vec![neurons / depth; depth];
            let (s_bound, m_bound) = (serra_upper_bound(2, &arch), montufar_lower_bound(2, &arch));
            let (mut planes, mut densities) = (Vec::new(), Vec::new());
            for (r, &seed) in seeds.iter().enumerate() {
                let c = &depth_counts[depth_items.iter().position(|&it| it == (depth, r)).expect("counted")];
                within_bound &= c.plane as f64 <= s_bound;
                m.push_row(
                    "depth_sweep",
                    vec![
                        json!(depth),
                        json!(arch[0]),
                        json!(seed),
                        json!(c.plane),
                        num(c.density),
                        num(s_bound),
                        num(m_bound),
                    ],
                )?;
                planes.push(c.plane as f64);
                densities.push(c.density);
                per_seed_density[r].push(c.density);
                per_seed_plane[r].push(c.plane as f64);
            }
            let (pm, ps) = mean_sd(&planes);
            let (dm, ds) = mean_sd(&densities);
            plane_band.push((depth as f64, pm, ps));
            density_band.push((depth as f64, dm, ds));
            serra.push((depth as f64, s_bound));
            montufar.push((depth as f64, m_bound));
        }
        let spread: Vec<f64> = per_seed_density
            .iter()
            .map(|d| d.iter().copied().fold(0.0, f64::max) / d.iter().copied().fold(f64::INFINITY, f64::min))
            .collect();
        let growth: Vec<f64> = per_seed_plane.iter().map(|p| p[p.len() - 1] / p[0]).collect();
        let bound_growth = serra.last().expect("a depth").1 / serra[0].1;
        m.scalar("serra_bound_ratio_deepest_to_depth_1", bound_growth);
        m.claim(
            Claim::new(
                "line-density-independent-of-depth",
                "at initialisation, the number of region boundaries per unit length along a line depends on the number of neurons, not on how they are arranged in depth",
                "Hanin & Rolnick 2019a (Complexity of linear regions in deep networks), Theorem 1 and Fig. 2",
            )
            .measured(
                &format!("largest over smallest mean boundary density across depths {depths:?} at N = {neurons}"),
                Measured::over_seeds(&spread),
            )
            .criterion(Criterion::at_most(2.0))
            .note("Hanin & Rolnick's theorem bounds the density by C_grad C_bias N, and C_grad grows with depth over width (their gradient-norm constant); at N = 48 the deepest networks are narrow (width 6 at depth 8, 8 at depth 6) and lose boundaries to dead units, so their density falls below the shallower ones' (depths 1-3 agree within about 20%)"),
        )?;
        m.claim(
            Claim::new(
                "plane-regions-not-exponential-in-depth",
                "at initialisation, the number of regions in a 2-D section grows like the number of neurons squared, not exponentially with depth, far below the maximum",
                "Hanin & Rolnick 2019b (Deep ReLU networks have surprisingly few activation patterns), Theorem 5 and Fig. 1",
            )
            .measured(
                &format!("exact regions in the square at depth {} over depth 1 (N = {neurons}); the Serra et al. bound grows by {bound_growth:.3e}", depths[depths.len() - 1]),
                Measured::over_seeds(&growth),
            )
            .criterion(Criterion::at_most(2.0)),
        )?;

        // width at fixed depth
        m.table(
            "width_sweep",
            &["width", "neurons", "seed", "plane_regions", "boundaries_per_unit_length", "serra_bound"],
        );
        let mut slopes = Vec::new();
        let mut width_band = Vec::new();
        let mut width_plane = Vec::new();
        let mut per_seed: Vec<Vec<(f64, f64)>> = vec![Vec::new(); seeds.len()];
        let width_items: Vec<(usize, usize)> =
            widths.iter().flat_map(|&w| (0..seeds.len()).map(move |r| (w, r))).collect();
        let width_counts = {
            let ctx = &*ctx;
            par_map(ctx, &width_items, |&(w, r)| {
                count(&vec![w; sweep_depth], segments, ctx.point_seed(&format!("width{w}"), r as u64))
            })?
        };
        for &w in &widths {
            let arch = vec![w; sweep_depth];
            let s_bound = serra_upper_bound(2, &arch);
            let (mut ds, mut ps) = (Vec::new(), Vec::new());
            for (r, &seed) in seeds.iter().enumerate() {
                let c = &width_counts[width_items.iter().position(|&it| it == (w, r)).expect("counted")];
                within_bound &= c.plane as f64 <= s_bound;
                m.push_row(
                    "width_sweep",
                    vec![json!(w), json!(w * sweep_depth), json!(seed), json!(c.plane), num(c.density), num(s_bound)],
                )?;
                per_seed[r].push(((w * sweep_depth) as f64, c.density));
                ds.push(c.density);
                ps.push(c.plane as f64);
            }
            let (dm, dsd) = mean_sd(&ds);
            let (pm, psd) = mean_sd(&ps);
            width_band.push(((w * sweep_depth) as f64, dm, dsd));
            width_plane.push(((w * sweep_depth) as f64, pm, psd));
        }
        for curve in &per_seed {
            slopes.push(slope(
                &curve.iter().map(|p| p.0.ln()).collect::<Vec<_>>(),
                &curve.iter().map(|p| p.1.ln()).collect::<Vec<_>>(),
            ));
        }
        m.claim(
            Claim::new(
                "line-density-proportional-to-neurons",
                "at initialisation, the density of region boundaries along a line grows in proportion to the number of neurons",
                "Hanin & Rolnick 2019a, Theorem 1",
            )
            .measured(
                &format!("slope of log boundary density against log N, depth {sweep_depth}, widths {widths:?}"),
                Measured::over_seeds(&slopes),
            )
            .criterion(Criterion::between(0.7, 1.3)),
        )?;
        m.claim(
            Claim::new(
                "counts-within-the-bound",
                "no ReLU network has more regions than sum over J of prod_l C(n_l, j_l)",
                "Serra, Tjandraatmadja & Ramalingam 2018, Theorem 1",
            )
            .measured(
                "fraction of networks whose exact count is within the bound",
                Measured::exact(within_bound as u8 as f64),
            )
            .criterion(Criterion::at_least(1.0)),
        )?;

        // the grid cross-check on one network of the depth sweep
        let arch = vec![neurons / 2; 2];
        let net = he_network(&arch, &mut seeded_rng(ctx.point_seed("grid", 0)))?;
        let pl = PiecewiseLinearNetwork::from_sequential(&net, &[2])?;
        let slice = PlaneSlice::input_square(HALF_WIDTH);
        let exact = plane_regions(&pl, &slice, 2_000_000)?.regions;
        m.table("grid", &["resolution", "distinct_patterns", "connected_regions", "exact"]);
        let mut grid_curve = Vec::new();
        let resolutions: Vec<usize> = size.pick(vec![16, 64, 256, 512], vec![16, 32, 64, 128, 256, 512, 1024]);
        let mut finest = 0.0;
        for &res in &resolutions {
            let g = grid_plane_regions(&pl, &slice, res)?;
            m.push_row("grid", vec![json!(res), json!(g.distinct_patterns), json!(g.connected_regions), json!(exact)])?;
            grid_curve.push((res as f64, g.distinct_patterns as f64));
            finest = g.distinct_patterns as f64 / exact as f64;
        }
        m.claim(
            Claim::new(
                "grid-undercounts-and-converges",
                "a grid sees only the cells that contain a grid point: its count is at most the exact one and approaches it as the grid is refined",
                "docs/expressivity.md (the region-enumeration algorithm and its cross-check)",
            )
            .measured(
                &format!("grid distinct patterns / exact cells at resolution {}", resolutions[resolutions.len() - 1]),
                Measured::exact(finest),
            )
            .criterion(Criterion::between(0.9, 1.0)),
        )?;

        let mut depth_chart = LineChart::new(
            &format!("regions in [-1, 1]^2 at initialisation, N = {neurons} neurons"),
            "depth L (width N / L)",
            "regions",
        )
        .scales(Scale::Linear, Scale::Log10);
        depth_chart.add_with_band("exact count (cell enumeration)", 0, &plane_band);
        depth_chart.add("upper bound on the maximum (Serra et al. 2018)", SeriesKind::Line, 1, serra);
        depth_chart.add("lower bound on the maximum (Montufar et al. 2014)", SeriesKind::Line, 2, montufar);
        ctx.figure("plane_regions_against_depth", &depth_chart)?;

        let mut density_chart = LineChart::new(
            &format!("boundaries per unit length along lines, N = {neurons}"),
            "depth L (width N / L)",
            "boundaries per unit length",
        );
        density_chart.add_with_band("exact (line counter)", 0, &density_band);
        ctx.figure("line_density_against_depth", &density_chart)?;

        let mut width_chart = LineChart::new(
            &format!("boundaries per unit length against neurons, depth {sweep_depth}"),
            "neurons N",
            "boundaries per unit length / regions in the square",
        )
        .scales(Scale::Log10, Scale::Log10);
        width_chart.add_with_band("boundary density (line counter)", 0, &width_band);
        width_chart.add_with_band("regions in the square (cell enumeration)", 1, &width_plane);
        let first = width_band[0];
        width_chart.add(
            "slope 1 (proportional to N)",
            SeriesKind::Line,
            2,
            width_band.iter().map(|p| (p.0, first.1 * p.0 / first.0)).collect(),
        );
        ctx.figure("density_against_neurons", &width_chart)?;

        let mut grid_chart =
            LineChart::new("the grid estimate against the exact count", "grid points per side", "regions")
                .scales(Scale::Log2, Scale::Linear);
        grid_chart.add("grid: distinct patterns", SeriesKind::Line, 0, grid_curve);
        grid_chart.add(
            "exact (cell enumeration)",
            SeriesKind::Line,
            1,
            vec![(resolutions[0] as f64, exact as f64), (resolutions[resolutions.len() - 1] as f64, exact as f64)],
        );
        ctx.figure("grid_against_exact", &grid_chart)?;
        Ok(m)
    }
}
