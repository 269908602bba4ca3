//! [`RngState`]: the exact position of a ChaCha8 generator, for checkpoints.
//!
//! A ChaCha generator is a pure function of its 256-bit seed, its 64-bit stream and its
//! 128-bit word position (rand_chacha's `get_seed`, `get_stream`, `get_word_pos`); a
//! generator rebuilt from the three continues the original stream exactly.

use dl_tensor::TensorRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// The state of a ChaCha8 generator: seed, stream and word position (hex strings in JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte seed, hex.
    pub seed: String,
    /// The stream number.
    pub stream: u64,
    /// The word position (a u128, decimal in a string so JSON keeps every bit).
    pub word_pos: String,
}

impl RngState {
    /// The state of `rng`.
    pub fn of(rng: &TensorRng) -> Self {
        let seed = rng.get_seed().iter().map(|b| format!("{b:02x}")).collect();
        RngState { seed, stream: rng.get_stream(), word_pos: rng.get_word_pos().to_string() }
    }

    /// A generator at this state; `None` if the strings are malformed.
    pub fn try_restore(&self) -> Option<TensorRng> {
        if self.seed.len() != 64 || !self.seed.is_ascii() {
            return None;
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&self.seed[2 * i..2 * i + 2], 16).ok()?;
        }
        let word_pos: u128 = self.word_pos.parse().ok()?;
        let mut rng = TensorRng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(word_pos);
        Some(rng)
    }

    /// A generator at this state (the state came from [`RngState::of`] or was validated
    /// with [`RngState::try_restore`]).
    pub fn restore(&self) -> TensorRng {
        self.try_restore().expect("an RngState validated when its checkpoint was read")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;
    use rand::Rng;

    #[test]
    fn a_restored_generator_continues_the_stream() {
        let mut a = seeded_rng(11);
        a.set_stream(3);
        let _: Vec<u32> = (0..37).map(|_| a.next_u32()).collect();
        let state = RngState::of(&a);
        let json = serde_json::to_string(&state).unwrap();
        let mut b = serde_json::from_str::<RngState>(&json).unwrap().restore();
        let next_a: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let next_b: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        assert_eq!(next_a, next_b);
        let bad = RngState { seed: "zz".into(), stream: 0, word_pos: "0".into() };
        assert!(bad.try_restore().is_none());
    }
}
