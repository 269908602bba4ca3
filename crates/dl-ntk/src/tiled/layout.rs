//! The tiling of an `N x N` kernel into blocks of `b` points, the upper-triangle tiles a
//! store keeps, how they are dealt to shards, and the checksum every file carries.
//!
//! Points are cut in dataset order into `T = ceil(N / b)` blocks; block `i` holds points
//! `i b .. min((i + 1) b, N)` (the last block is shorter when `b` does not divide `N`). Tile
//! `(i, j)` is the kernel between blocks `i` and `j`; since `K(X_j, X_i) = K(X_i, X_j)^T`,
//! only the `T (T + 1) / 2` tiles with `i <= j` are stored. They are numbered in row-major
//! order over `i <= j` (`(0,0), (0,1), ..., (0,T-1), (1,1), ...`), and tile number `t` belongs
//! to shard `t mod n` of `n`: round robin, so every shard gets about the same mix of diagonal
//! and off-diagonal tiles, and the union of the shards `0..n` is every tile exactly once.

use crate::error::{NtkError, Result};

/// The tiling of `n` points into blocks of `tile` points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileLayout {
    n: usize,
    tile: usize,
}

impl TileLayout {
    /// `n` points in blocks of `tile` (both must be positive).
    pub fn new(n: usize, tile: usize) -> Result<Self> {
        let op = "TileLayout::new";
        if n == 0 {
            return Err(NtkError::InvalidArgument { op, name: "n", value: 0.0, requirement: "at least one point" });
        }
        if tile == 0 {
            return Err(NtkError::InvalidArgument {
                op,
                name: "tile",
                value: 0.0,
                requirement: "a tile holds at least one point",
            });
        }
        Ok(TileLayout { n, tile })
    }

    /// The number of points `N`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The block size `b` (the last block may be shorter).
    pub fn tile(&self) -> usize {
        self.tile
    }

    /// The number of blocks `T = ceil(N / b)`.
    pub fn blocks(&self) -> usize {
        self.n.div_ceil(self.tile)
    }

    /// The points of block `i`.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        let start = (i * self.tile).min(self.n);
        start..(start + self.tile).min(self.n)
    }

    /// Every stored tile `(i, j)`, `i <= j`, in row-major order (tile number `t` is the
    /// `t`-th item).
    pub fn upper_tiles(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let t = self.blocks();
        (0..t).flat_map(move |i| (i..t).map(move |j| (i, j)))
    }

    /// The tiles of one shard (see the module documentation).
    pub fn shard_tiles(&self, shard: Shard) -> Vec<(usize, usize)> {
        self.upper_tiles().enumerate().filter(|(t, _)| t % shard.count == shard.index).map(|(_, ij)| ij).collect()
    }
}

/// Share `index` of `count`, **0-based**: `index` runs over `0..count` (the convention of a
/// Kubernetes Indexed Job's `JOB_COMPLETION_INDEX`, and of a Slurm array declared `0-(n-1)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which share, `0 <= index < count`.
    pub index: usize,
    /// How many shares.
    pub count: usize,
}

impl Shard {
    /// The whole job as one share, `0/1`.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Share `index` of `count`; an error unless `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        if count == 0 || index >= count {
            return Err(NtkError::InvalidArgument {
                op: "Shard::new",
                name: "shard index",
                value: index as f64,
                requirement: "shards are 0-based: the index k of k/n must satisfy 0 <= k < n (and n >= 1)",
            });
        }
        Ok(Shard { index, count })
    }

    /// Parses `"k/n"` (0-based `k`).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || NtkError::InvalidArgument {
            op: "Shard::parse",
            name: "shard",
            value: f64::NAN,
            requirement: "must read k/n with integers 0 <= k < n",
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k = k.trim().parse::<usize>().map_err(|_| bad())?;
        let n = n.trim().parse::<usize>().map_err(|_| bad())?;
        Shard::new(k, n)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// FNV-1a's 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a's 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The store's checksum: 64-bit FNV-1a (offset basis `0xcbf29ce484222325`, prime
/// `0x100000001b3`) taking the bytes **eight at a time** as little-endian words (`h ^= w;
/// h *= prime`), the last `len mod 8` bytes one at a time. It is FNV-1a's step with a word as
/// the symbol: one multiplication per 8 bytes, so hashing a tile costs less than reading it.
/// It catches truncation and accidental corruption, not deliberate tampering.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h ^= u64::from_le_bytes(w.try_into().expect("chunks of 8"));
        h = h.wrapping_mul(FNV_PRIME);
    }
    for &b in words.remainder() {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// A checksum as it is written in a manifest: 16 lowercase hex digits.
pub fn checksum_hex(h: u64) -> String {
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_points_once_and_the_last_is_short() {
        let l = TileLayout::new(10, 4).unwrap();
        assert_eq!(l.blocks(), 3);
        assert_eq!((l.range(0), l.range(1), l.range(2)), (0..4, 4..8, 8..10));
        assert_eq!(l.upper_tiles().collect::<Vec<_>>(), vec![(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]);
        let exact = TileLayout::new(8, 4).unwrap();
        assert_eq!((exact.blocks(), exact.range(1)), (2, 4..8));
        assert!(TileLayout::new(0, 4).is_err() && TileLayout::new(4, 0).is_err());
    }

    #[test]
    fn shards_partition_the_tiles() {
        let l = TileLayout::new(23, 4).unwrap(); // 6 blocks, 21 tiles
        let mut all: Vec<_> = (0..4).flat_map(|k| l.shard_tiles(Shard::new(k, 4).unwrap())).collect();
        all.sort();
        assert_eq!(all, l.upper_tiles().collect::<Vec<_>>());
        assert_eq!(l.shard_tiles(Shard::WHOLE).len(), 21);
    }

    #[test]
    fn shard_indices_are_zero_based() {
        assert_eq!(Shard::parse("0/3").unwrap(), Shard { index: 0, count: 3 });
        assert_eq!(Shard::parse("2/3").unwrap().to_string(), "2/3");
        for bad in ["3/3", "4/3", "0/0", "1", "a/3", "-1/3"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_checksum_is_fnv1a_on_words() {
        // empty input: the offset basis; one byte: FNV-1a's published value for "a"
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        // a word is one step: (basis ^ w) * prime
        let w = 0x0807_0605_0403_0201_u64;
        assert_eq!(fnv1a64(&w.to_le_bytes()), (FNV_OFFSET ^ w).wrapping_mul(FNV_PRIME));
        // a flipped bit or a truncation changes it
        let data: Vec<u8> = (0..100u8).collect();
        let mut flipped = data.clone();
        flipped[57] ^= 4;
        assert_ne!(fnv1a64(&data), fnv1a64(&flipped));
        assert_ne!(fnv1a64(&data), fnv1a64(&data[..99]));
    }
}
