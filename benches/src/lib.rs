//! Shared helpers for the criterion benches in `benches/benches/`.
//!
//! Each bench mirrors a case of `../shared/peers/` (same shapes, same work) so that the
//! two can be run one after the other and their ratio quoted. See `docs/PERFORMANCE.md`.

/// GFLOP/s of a square GEMM of size `n` that took `seconds`: `2 n^3 / t`.
pub fn gemm_gflops(n: usize, seconds: f64) -> f64 {
    2.0 * (n as f64).powi(3) / seconds / 1e9
}
