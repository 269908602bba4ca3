//! Shared helpers for the criterion benches in `benches/benches/`.
//!
//! Each bench mirrors a case of `../shared/peers/` (same shapes, same work) so that the
//! two can be run one after the other and their ratio quoted. See `docs/PERFORMANCE.md`.

/// GFLOP/s of a square GEMM of size `n` that took `seconds`: `2 n^3 / t`.
pub fn gemm_gflops(n: usize, seconds: f64) -> f64 {
    2.0 * (n as f64).powi(3) / seconds / 1e9
}

/// The JSON configuration of an MLP `sizes[0] -> ... -> sizes[last]` (ReLU between dense
/// layers, none after the last): the MLPs of `../shared/peers/peer_mlp.py`.
pub fn mlp_config(sizes: &[usize]) -> String {
    let mut layers = Vec::new();
    for (i, w) in sizes[1..].iter().enumerate() {
        let act = if i + 2 < sizes.len() { r#", "activation": "relu""# } else { "" };
        layers.push(format!(r#"{{"type": "dense", "units": {w}{act}}}"#));
    }
    format!(r#"{{"input_shape": [{}], "layers": [{}]}}"#, sizes[0], layers.join(", "))
}

/// The small CNN of `../shared/peers/peer_conv.py` (conv 3->32 3x3 pad 1, ReLU, max-pool 2,
/// conv 32->64 3x3 pad 1, ReLU, max-pool 2, linear 4096->10) on 3x32x32 inputs.
pub const SMALL_CNN: &str = r#"{"input_shape": [3, 32, 32], "layers": [
    {"type": "conv2d", "channels": 32, "kernel_size": 3, "padding": 1, "activation": "relu"},
    {"type": "max_pool2d", "kernel_size": 2},
    {"type": "conv2d", "channels": 64, "kernel_size": 3, "padding": 1, "activation": "relu"},
    {"type": "max_pool2d", "kernel_size": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 10}]}"#;
