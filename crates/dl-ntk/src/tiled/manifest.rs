//! The manifest of a tile store: what was computed (N, the tile size, the architecture, the
//! dataset's checksum) and the checksum of every tile file, one JSON file per shard.
//!
//! Shard `k` of `n` writes `manifest-k-of-n.json` (atomically, after every tile), so shards
//! running at once on a shared directory never write the same file. Every manifest repeats
//! the [`StoreConfig`]; opening a store reads all of them, requires their configurations to
//! be equal field by field, and unions their tiles. Example:
//!
//! ```text
//! {
//!   "format": "dl-ntk tile store",
//!   "version": 1,
//!   "config": {
//!     "n": 30000, "tile": 2000, "input_shape": [30000, 16],
//!     "layers": ["Dense { width: 1, sigma_w2: 2.0, sigma_b2: 0.1 }", "Activation(Relu)", ...],
//!     "parameterisation": "Ntk", "output_scale": "1.0",
//!     "data_checksum": "9f1c0e6b2d3a4f58",
//!     "checksum": "fnv1a64-words"
//!   },
//!   "shard": { "index": 0, "count": 1 },
//!   "tiles": [ { "i": 0, "j": 0, "rows": 2000, "cols": 2000,
//!                "nngp": "0b6f...", "ntk": "77c2..." }, ... ]
//! }
//! ```

use std::path::{Path, PathBuf};

use dl_tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::layout::{Shard, TileLayout, checksum_hex, fnv1a64};
use crate::analytic::Architecture;
use crate::error::{NtkError, Result};

/// The `format` string of every manifest.
pub const FORMAT: &str = "dl-ntk tile store";
/// The manifest version this crate writes and reads.
pub const VERSION: u32 = 1;
/// The name of the checksum (see [`fnv1a64`]).
pub const CHECKSUM: &str = "fnv1a64-words";

/// What a store holds: two stores with equal configurations hold the same kernel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreConfig {
    /// The number of points `N`.
    pub n: usize,
    /// The tile size `b` (points per block).
    pub tile: usize,
    /// The shape of the input tensor (`(N, d)`, or images `(N, C, ...)`).
    pub input_shape: Vec<usize>,
    /// Each layer of the architecture, as its exact `Debug` form (floats round-trip).
    pub layers: Vec<String>,
    /// The parameterisation (`"Ntk"` or `"Standard"`).
    pub parameterisation: String,
    /// The output multiplier `alpha`, as its exact `Debug` form.
    pub output_scale: String,
    /// [`fnv1a64`] of the inputs: their shape (each dimension as a little-endian `u64`)
    /// followed by their values' little-endian bits, in C order.
    pub data_checksum: String,
    /// The name of the checksum used for the data and the tiles ([`CHECKSUM`]).
    pub checksum: String,
}

impl StoreConfig {
    /// The configuration of the kernels of `arch` on `x` in tiles of `tile` points.
    pub fn new(arch: &Architecture, x: &Tensor<f64>, tile: usize) -> Result<Self> {
        let n = x.shape().first().copied().unwrap_or(0);
        TileLayout::new(n, tile)?;
        Ok(StoreConfig {
            n,
            tile,
            input_shape: x.shape().to_vec(),
            layers: arch.layers().iter().map(|l| format!("{l:?}")).collect(),
            parameterisation: format!("{:?}", arch.parameterisation()),
            output_scale: format!("{:?}", arch.output_scale()),
            data_checksum: checksum_hex(data_checksum(x)),
            checksum: CHECKSUM.into(),
        })
    }

    /// The tiling.
    pub fn layout(&self) -> Result<TileLayout> {
        TileLayout::new(self.n, self.tile)
    }

    /// The first field in which `other` differs from `self`, with both values.
    pub fn first_difference(&self, other: &StoreConfig) -> Option<(&'static str, String, String)> {
        let fields: [(&'static str, String, String); 8] = [
            ("n", self.n.to_string(), other.n.to_string()),
            ("tile", self.tile.to_string(), other.tile.to_string()),
            ("input_shape", format!("{:?}", self.input_shape), format!("{:?}", other.input_shape)),
            ("layers", format!("{:?}", self.layers), format!("{:?}", other.layers)),
            ("parameterisation", self.parameterisation.clone(), other.parameterisation.clone()),
            ("output_scale", self.output_scale.clone(), other.output_scale.clone()),
            ("data_checksum", self.data_checksum.clone(), other.data_checksum.clone()),
            ("checksum", self.checksum.clone(), other.checksum.clone()),
        ];
        fields.into_iter().find(|(_, a, b)| a != b)
    }
}

/// [`fnv1a64`] of a tensor's shape and values (see [`StoreConfig::data_checksum`]).
pub fn data_checksum(x: &Tensor<f64>) -> u64 {
    let mut bytes = Vec::with_capacity(8 * (x.shape().len() + x.numel()));
    for &d in x.shape() {
        bytes.extend_from_slice(&(d as u64).to_le_bytes());
    }
    for v in x.view().iter() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    fnv1a64(&bytes)
}

/// One stored tile and the checksums of its two files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TileEntry {
    /// The row block.
    pub i: usize,
    /// The column block (`i <= j`).
    pub j: usize,
    /// The tile's rows (the size of block `i`).
    pub rows: usize,
    /// The tile's columns (the size of block `j`).
    pub cols: usize,
    /// The checksum of the NNGP tile's `.npy` file (all its bytes).
    pub nngp: String,
    /// The checksum of the NTK tile's `.npy` file (all its bytes).
    pub ntk: String,
}

/// The shard a manifest was written by.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// 0-based share index.
    pub index: usize,
    /// Number of shares.
    pub count: usize,
}

/// One shard's manifest (see the module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// What the store holds.
    pub config: StoreConfig,
    /// The shard that wrote this manifest.
    pub shard: ShardRecord,
    /// The tiles this shard has written or verified, in the order it did so.
    pub tiles: Vec<TileEntry>,
}

/// `DIR/manifest-k-of-n.json`.
pub fn manifest_path(dir: &Path, shard: Shard) -> PathBuf {
    dir.join(format!("manifest-{}-of-{}.json", shard.index, shard.count))
}

fn store_err(op: &'static str, path: &Path, field: impl Into<String>, detail: impl Into<String>) -> NtkError {
    NtkError::Store { op, path: path.to_path_buf(), field: field.into(), detail: detail.into() }
}

impl Manifest {
    /// An empty manifest for `shard`.
    pub fn new(config: StoreConfig, shard: Shard) -> Self {
        Manifest {
            format: FORMAT.into(),
            version: VERSION,
            config,
            shard: ShardRecord { index: shard.index, count: shard.count },
            tiles: Vec::new(),
        }
    }

    /// Writes the manifest atomically (a temporary file renamed into place).
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| store_err("Manifest::write", path, "(manifest)", e.to_string()))?;
        dl_tensor::npy::write_atomic("Manifest::write", path, text.as_bytes())?;
        Ok(())
    }

    /// Reads and checks a manifest: its format, version, and that every tile entry lies in
    /// the layout with the right shape. Errors name the path and the field.
    pub fn read(path: &Path) -> Result<Self> {
        let op = "Manifest::read";
        let text = std::fs::read_to_string(path).map_err(|e| store_err(op, path, "file", e.to_string()))?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| {
            // serde names the missing or mistyped field in its message
            store_err(op, path, "(json)", e.to_string())
        })?;
        if m.format != FORMAT {
            return Err(store_err(op, path, "format", format!("{:?}, expected {FORMAT:?}", m.format)));
        }
        if m.version != VERSION {
            return Err(store_err(op, path, "version", format!("{}, this crate reads version {VERSION}", m.version)));
        }
        if m.config.checksum != CHECKSUM {
            return Err(store_err(
                op,
                path,
                "config.checksum",
                format!("{:?}, expected {CHECKSUM:?}", m.config.checksum),
            ));
        }
        if m.config.input_shape.first() != Some(&m.config.n) {
            return Err(store_err(
                op,
                path,
                "config.input_shape",
                format!("{:?} does not start with n = {}", m.config.input_shape, m.config.n),
            ));
        }
        let layout = m.config.layout().map_err(|e| store_err(op, path, "config.n / config.tile", e.to_string()))?;
        Shard::new(m.shard.index, m.shard.count).map_err(|e| store_err(op, path, "shard", e.to_string()))?;
        let t = layout.blocks();
        for (k, e) in m.tiles.iter().enumerate() {
            let field = format!("tiles[{k}]");
            if e.i > e.j || e.j >= t {
                return Err(store_err(
                    op,
                    path,
                    field,
                    format!("tile ({}, {}) is not an upper tile of {t} blocks", e.i, e.j),
                ));
            }
            let (r, c) = (layout.range(e.i).len(), layout.range(e.j).len());
            if (e.rows, e.cols) != (r, c) {
                return Err(store_err(
                    op,
                    path,
                    format!("{field}.rows/cols"),
                    format!("({}, {}), the layout gives ({r}, {c})", e.rows, e.cols),
                ));
            }
            for (name, h) in [("nngp", &e.nngp), ("ntk", &e.ntk)] {
                if u64::from_str_radix(h, 16).is_err() || h.len() != 16 {
                    return Err(store_err(op, path, format!("{field}.{name}"), format!("{h:?} is not 16 hex digits")));
                }
            }
        }
        Ok(m)
    }
}
