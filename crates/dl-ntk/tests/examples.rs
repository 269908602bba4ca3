//! The examples run as tests: `examples/kernel_regression.rs` is compiled into this test
//! and its `run` checked (`cargo test --examples` would only build it).

#[allow(dead_code)]
#[path = "../examples/kernel_regression.rs"]
mod kernel_regression;

#[test]
fn kernel_regression_example_interpolates_and_predicts() {
    let s = kernel_regression::run().unwrap();
    // kernel regression with a 1e-10 relative ridge interpolates the training points
    // (Theta(X, X) Theta(X, X)^{-1} Y = Y up to the ridge and the solve's rounding)
    assert!(s.train_max_error < 1e-6, "{s:?}");
    // a smooth target sampled densely on an arc: the NTK predictor must beat the constant
    // predictor by far (a factor of 100 in MSE; a broken kernel or solve does not)
    assert!(s.test_mse < s.mean_predictor_mse / 100.0, "{s:?}");
}
