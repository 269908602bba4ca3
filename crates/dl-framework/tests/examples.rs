//! The examples run as tests: each file of `examples/` is compiled into this test and its
//! `run` checked (`cargo test --examples` would only build them).

#[allow(dead_code)]
#[path = "../examples/train_from_config.rs"]
mod train_from_config;

use std::path::Path;

#[test]
fn train_from_config_example_resumes_bit_for_bit() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/configs");
    let out = std::env::temp_dir().join(format!("dlfw-example-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let s = train_from_config::run(&configs.join("digits_mlp.json"), &configs.join("digits_train.json"), &out).unwrap();
    // 1347 training digits in batches of 32: 43 steps per epoch, 4 epochs
    assert_eq!((s.steps_before_resume, s.steps), (86, 172));
    assert_eq!(s.parameters, 64 * 64 + 64 + 64 * 10 + 10);
    assert!(s.resumed_bits == s.uninterrupted_bits, "the resumed run differs from the uninterrupted one");
    assert!(s.test_accuracy > 0.9, "{}", s.test_accuracy);
    for file in ["checkpoint.ckpt", "history.json", "history.csv"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    std::fs::remove_dir_all(&out).unwrap();
}
