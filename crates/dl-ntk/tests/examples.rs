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

#[allow(dead_code)]
#[path = "../examples/tiled_kernel.rs"]
mod tiled_kernel;

#[test]
fn tiled_kernel_example_matches_the_in_memory_solve_within_its_budget() {
    let dir = std::env::temp_dir().join(format!("dl-ntk-tiled-example-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let (n, budget) = (300, 300 * 300 * 8 / 2); // half the kernel
    let args = tiled_kernel::Args {
        n,
        m: 50,
        tile: 64,
        budget,
        dir: dir.clone(),
        shard: None,
        t: Some(100.0),
        check: true,
        diag_reg: 1e-3,
    };
    let s = tiled_kernel::run(&args).unwrap();
    assert!(s.working_set <= budget && s.computed == 15 && s.reused == 0, "{s:?}");
    // CG to a relative residual of 1e-10 on a ridge-regularised kernel
    assert!(s.in_memory_difference.unwrap() < 1e-8, "{s:?}");
    assert!(s.test_mse < s.zero_mse / 4.0, "{s:?}");
    // a second run reuses every tile
    let again = tiled_kernel::run(&tiled_kernel::Args { check: false, t: None, ..args }).unwrap();
    assert_eq!((again.computed, again.reused), (0, 15));
    std::fs::remove_dir_all(&dir).ok();
}
