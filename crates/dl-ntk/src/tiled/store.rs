//! [`TileStore`]: the analytic NNGP and NTK of `N` points as `.npy` tiles on disk, computed
//! by shards, resumable, every file checked against its manifest checksum when read.
//!
//! Layout of a store directory:
//!
//! ```text
//! DIR/manifest-k-of-n.json     one per shard that has run (see crate::tiled::manifest)
//! DIR/nngp-i-j.npy             tile (i, j), i <= j, of the NNGP: (|block i|, |block j|) <f8, C order
//! DIR/ntk-i-j.npy              the same tile of the NTK
//! ```
//!
//! Tile `(i, j)` is computed by [`Architecture::kernels`] on the two blocks of points
//! (`x2 = None` on the diagonal, so a diagonal tile is the symmetric computation itself).
//! Every entry goes through the same arithmetic as in the in-memory `N x N` computation (the
//! input Gram entry by the same GEMM kernel, then the same per-entry layer maps), so a tile
//! equals the corresponding block of the full matrices bit for bit; the tests check that.
//! The one exception: two *different* indices holding bitwise-equal inputs get their
//! variance `|x|^2 / d` in an off-diagonal tile and the GEMM's `x . x / d` in the full matrix,
//! which can differ in the last bit.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use dl_tensor::Tensor;
use ndarray::{Axis, Slice};

use super::layout::{Shard, TileLayout, checksum_hex, fnv1a64};
use super::manifest::{Manifest, StoreConfig, TileEntry, manifest_path};
use crate::analytic::Architecture;
use crate::error::{NtkError, Result};

/// Which kernel of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelKind {
    /// The NNGP kernel `K`.
    Nngp,
    /// The neural tangent kernel `Theta`.
    Ntk,
}

impl KernelKind {
    fn prefix(self) -> &'static str {
        match self {
            KernelKind::Nngp => "nngp",
            KernelKind::Ntk => "ntk",
        }
    }
}

/// The size in bytes of the `.npy` header this store writes (padded to 128 bytes).
pub const NPY_HEADER: usize = 128;

/// What [`TileStore::compute`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComputeReport {
    /// Tiles of the shard computed and written by this run.
    pub computed: usize,
    /// Tiles of the shard already on disk with checksums matching a manifest (not recomputed).
    pub reused: usize,
    /// Of `computed`, the tiles that were on disk in some manifest but missing or corrupt.
    pub repaired: usize,
}

/// A complete tile store opened for reading (see the module documentation).
#[derive(Clone, Debug)]
pub struct TileStore {
    dir: PathBuf,
    config: StoreConfig,
    layout: TileLayout,
    checksums: HashMap<(usize, usize), (u64, u64)>,
}

fn store_err(op: &'static str, path: &Path, field: impl Into<String>, detail: impl Into<String>) -> NtkError {
    NtkError::Store { op, path: path.to_path_buf(), field: field.into(), detail: detail.into() }
}

/// The path of tile `(i, j)` of `kind` in `dir`.
pub fn tile_path(dir: &Path, kind: KernelKind, i: usize, j: usize) -> PathBuf {
    dir.join(format!("{}-{i}-{j}.npy", kind.prefix()))
}

/// The `.npy` v1.0 bytes of a `(rows, cols)` f64 matrix in C order, header padded to
/// [`NPY_HEADER`] bytes (NumPy reads it with `np.load`).
pub fn npy_bytes(rows: usize, cols: usize, values: &[f64]) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    header.push_str(&" ".repeat(NPY_HEADER - 10 - 1 - header.len()));
    header.push('\n');
    let mut bytes = Vec::with_capacity(NPY_HEADER + 8 * values.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

/// Checks that `bytes` are a tile written by [`npy_bytes`] of shape `(rows, cols)` and returns
/// its payload (the little-endian values, C order). Errors name the path and the field.
pub fn tile_payload<'a>(op: &'static str, path: &Path, bytes: &'a [u8], rows: usize, cols: usize) -> Result<&'a [u8]> {
    if bytes.len() < NPY_HEADER || &bytes[..8] != b"\x93NUMPY\x01\x00" {
        return Err(store_err(op, path, "magic", "not a .npy v1.0 file of this store (or truncated)"));
    }
    let hlen = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    if 10 + hlen != NPY_HEADER {
        return Err(store_err(op, path, "header length", format!("{hlen}, expected {}", NPY_HEADER - 10)));
    }
    let header = String::from_utf8_lossy(&bytes[10..NPY_HEADER]);
    if !header.contains("'descr': '<f8'") {
        return Err(store_err(op, path, "descr", format!("header {:?} is not little-endian f64", header.trim())));
    }
    if !header.contains("'fortran_order': False") {
        return Err(store_err(op, path, "fortran_order", "tiles are stored in C order"));
    }
    if !header.contains(&format!("'shape': ({rows}, {cols})")) {
        return Err(store_err(op, path, "shape", format!("header {:?}, expected ({rows}, {cols})", header.trim())));
    }
    let payload = &bytes[NPY_HEADER..];
    if payload.len() != 8 * rows * cols {
        return Err(store_err(
            op,
            path,
            "payload length",
            format!("{} bytes, a ({rows}, {cols}) f64 tile has {}", payload.len(), 8 * rows * cols),
        ));
    }
    Ok(payload)
}

/// Reads a whole file into `buf` (its allocation reused), with errors naming the path.
fn read_into(op: &'static str, path: &Path, buf: &mut Vec<u8>) -> Result<()> {
    buf.clear();
    File::open(path).and_then(|mut f| f.read_to_end(buf)).map_err(|e| store_err(op, path, "file", e.to_string()))?;
    Ok(())
}

/// Every `manifest-k-of-n.json` in `dir`, sorted by name.
fn manifest_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let op = "TileStore";
    let entries = std::fs::read_dir(dir).map_err(|e| store_err(op, dir, "directory", e.to_string()))?;
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|e| store_err(op, dir, "directory", e.to_string()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("manifest-") && name.ends_with(".json") {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

/// The manifests of `dir`, each checked against `expected` (when given) or against the first,
/// and the union of their tile checksums (a tile recorded twice must have equal checksums).
#[allow(clippy::type_complexity)]
fn read_manifests(
    op: &'static str,
    dir: &Path,
    expected: Option<&StoreConfig>,
) -> Result<(Option<StoreConfig>, HashMap<(usize, usize), (u64, u64)>)> {
    let mut config: Option<StoreConfig> = expected.cloned();
    let mut sums: HashMap<(usize, usize), (u64, u64, PathBuf)> = HashMap::new();
    for path in manifest_files(dir)? {
        let m = Manifest::read(&path)?;
        match &config {
            Some(c) => {
                if let Some((field, want, found)) = c.first_difference(&m.config) {
                    return Err(store_err(
                        op,
                        &path,
                        format!("config.{field}"),
                        format!("the manifest records {found}, this store is {want} (another kernel or other data)"),
                    ));
                }
            }
            None => config = Some(m.config.clone()),
        }
        for e in &m.tiles {
            let hex = |h: &str| u64::from_str_radix(h, 16).expect("checked by Manifest::read");
            let (a, b) = (hex(&e.nngp), hex(&e.ntk));
            if let Some((a0, b0, other)) = sums.get(&(e.i, e.j))
                && (*a0, *b0) != (a, b)
            {
                return Err(store_err(
                    op,
                    &path,
                    format!("tiles ({}, {})", e.i, e.j),
                    format!("checksums differ from those in {}", other.display()),
                ));
            }
            sums.insert((e.i, e.j), (a, b, path.clone()));
        }
    }
    Ok((config, sums.into_iter().map(|(k, (a, b, _))| (k, (a, b))).collect()))
}

/// The rows `range` of `x` (its first axis) as a tensor.
pub(crate) fn rows(x: &Tensor<f64>, range: std::ops::Range<usize>) -> Tensor<f64> {
    Tensor::from_ndarray(x.view().slice_axis(Axis(0), Slice::from(range)).to_owned())
}

impl TileStore {
    /// Computes shard `shard`'s tiles of the NNGP and NTK of `arch` on `x` (`(N, ...)`) in
    /// blocks of `tile` points into `dir` (created if absent), writing each tile atomically
    /// and `manifest-k-of-n.json` after each tile.
    ///
    /// Resumable: a tile whose two files exist and hash to the checksums a manifest in `dir`
    /// records is kept; a missing or corrupt one is recomputed. A manifest in `dir` of another
    /// configuration (architecture, data, N, tile size) is an error naming it and the field.
    /// Memory: the two blocks of inputs, plus about six `b x b` f64 matrices (the recursion's
    /// two kernels and temporaries, and the bytes of the file being written).
    pub fn compute(
        dir: impl AsRef<Path>,
        arch: &Architecture,
        x: &Tensor<f64>,
        tile: usize,
        shard: Shard,
    ) -> Result<ComputeReport> {
        let op = "TileStore::compute";
        let dir = dir.as_ref();
        Shard::new(shard.index, shard.count)?;
        let config = StoreConfig::new(arch, x, tile)?;
        let layout = config.layout()?;
        std::fs::create_dir_all(dir).map_err(|e| store_err(op, dir, "directory", e.to_string()))?;
        let (_, known) = read_manifests(op, dir, Some(&config))?;
        let own = manifest_path(dir, shard);
        let mut manifest = Manifest::new(config, shard);
        let mut report = ComputeReport::default();
        let mut buf = Vec::new();
        for (i, j) in layout.shard_tiles(shard) {
            let (ri, rj) = (layout.range(i), layout.range(j));
            let paths = [tile_path(dir, KernelKind::Nngp, i, j), tile_path(dir, KernelKind::Ntk, i, j)];
            if let Some(&(a, b)) = known.get(&(i, j)) {
                let mut intact = true;
                for (p, want) in paths.iter().zip([a, b]) {
                    intact &= read_into(op, p, &mut buf).is_ok() && fnv1a64(&buf) == want;
                }
                if intact {
                    manifest.tiles.push(TileEntry {
                        i,
                        j,
                        rows: ri.len(),
                        cols: rj.len(),
                        nngp: checksum_hex(a),
                        ntk: checksum_hex(b),
                    });
                    report.reused += 1;
                    continue;
                }
                report.repaired += 1;
            }
            let xi = rows(x, ri.clone());
            let kernels =
                if i == j { arch.kernels(&xi, None)? } else { arch.kernels(&xi, Some(&rows(x, rj.clone())))? };
            let mut sums = [0u64; 2];
            for ((p, k), s) in paths.iter().zip([&kernels.nngp, &kernels.ntk]).zip(&mut sums) {
                let bytes = npy_bytes(ri.len(), rj.len(), &k.to_vec());
                *s = fnv1a64(&bytes);
                dl_tensor::npy::write_atomic(op, p, &bytes)?;
            }
            manifest.tiles.push(TileEntry {
                i,
                j,
                rows: ri.len(),
                cols: rj.len(),
                nngp: checksum_hex(sums[0]),
                ntk: checksum_hex(sums[1]),
            });
            report.computed += 1;
            manifest.write(&own)?;
        }
        manifest.write(&own)?;
        Ok(report)
    }

    /// Opens a complete store: every manifest in `dir` agrees on the configuration and
    /// together they record every tile `i <= j`. Missing tiles are an error naming the first
    /// and the count (run the shards that hold them). Tiles are verified when read.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_checked(dir.as_ref(), None)
    }

    /// As [`TileStore::open`], and the store must hold the kernels of `arch` on `x` in tiles
    /// of `tile` points (an error names the manifest and the first field that differs).
    pub fn open_for(dir: impl AsRef<Path>, arch: &Architecture, x: &Tensor<f64>, tile: usize) -> Result<Self> {
        let config = StoreConfig::new(arch, x, tile)?;
        Self::open_checked(dir.as_ref(), Some(&config))
    }

    fn open_checked(dir: &Path, expected: Option<&StoreConfig>) -> Result<Self> {
        let op = "TileStore::open";
        if manifest_files(dir)?.is_empty() {
            return Err(store_err(
                op,
                dir,
                "manifest",
                "no manifest-k-of-n.json: not a tile store, or no shard has run",
            ));
        }
        let (config, checksums) = read_manifests(op, dir, expected)?;
        let Some(config) = config else {
            return Err(store_err(
                op,
                dir,
                "manifest",
                "no manifest-k-of-n.json: not a tile store, or no shard has run",
            ));
        };
        let layout = config.layout()?;
        let missing: Vec<(usize, usize)> = layout.upper_tiles().filter(|ij| !checksums.contains_key(ij)).collect();
        if let Some(first) = missing.first() {
            return Err(store_err(
                op,
                dir,
                "tiles",
                format!(
                    "{} of {} tiles are missing, the first ({}, {}); tile number t (row-major over i <= j) belongs to shard t mod n",
                    missing.len(),
                    layout.upper_tiles().count(),
                    first.0,
                    first.1
                ),
            ));
        }
        Ok(TileStore { dir: dir.to_path_buf(), config, layout, checksums })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the store holds.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The tiling.
    pub fn layout(&self) -> TileLayout {
        self.layout
    }

    /// The size in bytes of the largest tile file (the buffer a reader needs).
    pub fn max_tile_file_bytes(&self) -> usize {
        NPY_HEADER + 8 * self.layout.tile().min(self.layout.n()).pow(2)
    }

    /// Reads tile `(i, j)`, `i <= j`, of `kind` into `buf` (its allocation reused), checks its
    /// checksum and header, and returns its payload: `rows x cols` little-endian f64, C order.
    pub fn read_tile<'a>(&self, kind: KernelKind, i: usize, j: usize, buf: &'a mut Vec<u8>) -> Result<&'a [u8]> {
        let op = "TileStore::read_tile";
        let path = tile_path(&self.dir, kind, i, j);
        let Some(&(a, b)) = self.checksums.get(&(i, j)) else {
            return Err(store_err(op, &path, "tile", format!("({i}, {j}) is not a stored tile (i <= j < blocks)")));
        };
        let want = if kind == KernelKind::Nngp { a } else { b };
        read_into(op, &path, buf)?;
        let found = fnv1a64(buf);
        if found != want {
            return Err(store_err(
                op,
                &path,
                "checksum",
                format!(
                    "the file hashes to {}, the manifest records {} ({} bytes: truncated or corrupt; run TileStore::compute again to repair it)",
                    checksum_hex(found),
                    checksum_hex(want),
                    buf.len()
                ),
            ));
        }
        tile_payload(op, &path, buf, self.layout.range(i).len(), self.layout.range(j).len())
    }

    /// Tile `(i, j)` of `kind` as a tensor (checked like [`TileStore::read_tile`]); for
    /// `i > j` the transpose of tile `(j, i)`.
    pub fn load_tile(&self, kind: KernelKind, i: usize, j: usize) -> Result<Tensor<f64>> {
        let (a, b) = (i.min(j), i.max(j));
        let mut buf = Vec::new();
        let payload = self.read_tile(kind, a, b, &mut buf)?;
        let values: Vec<f64> = payload.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8"))).collect();
        let t = ndarray::Array2::from_shape_vec((self.layout.range(a).len(), self.layout.range(b).len()), values)
            .expect("the payload length was checked");
        let t = if i > j { t.reversed_axes().as_standard_layout().into_owned() } else { t };
        Ok(Tensor::from_ndarray(t.into_dyn()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiled::testing::{archs, fresh_dir, points};
    use ndarray::{Array2, Ix2, s};

    fn full(arch: &Architecture, x: &Tensor<f64>, kind: KernelKind) -> Array2<f64> {
        let k = arch.kernels(x, None).unwrap();
        let t = if kind == KernelKind::Nngp { k.nngp } else { k.ntk };
        t.view().into_dimensionality::<Ix2>().unwrap().to_owned()
    }

    /// Every tile (both triangles, through `load_tile`) equals its block of the in-memory
    /// matrix bit for bit.
    fn assert_tiles_are_blocks(store: &TileStore, arch: &Architecture, x: &Tensor<f64>) {
        let l = store.layout();
        for kind in [KernelKind::Nngp, KernelKind::Ntk] {
            let f = full(arch, x, kind);
            for i in 0..l.blocks() {
                for j in 0..l.blocks() {
                    let t = store.load_tile(kind, i, j).unwrap();
                    let t = t.view().into_dimensionality::<Ix2>().unwrap().to_owned();
                    let block = f.slice(s![l.range(i), l.range(j)]);
                    assert_eq!(t.dim(), block.dim());
                    for (a, b) in t.iter().zip(block) {
                        assert_eq!(a.to_bits(), b.to_bits(), "{kind:?} tile ({i}, {j}): {a} vs {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn tiles_are_the_in_memory_kernel_bit_for_bit() {
        let x = points(23, 3);
        for (a, arch) in archs().iter().enumerate() {
            for tile in [8, 23, 40] {
                let dir = fresh_dir(&format!("bits-{a}-{tile}"));
                let r = TileStore::compute(&dir, arch, &x, tile, Shard::WHOLE).unwrap();
                assert_eq!((r.computed, r.reused), (TileLayout::new(23, tile).unwrap().upper_tiles().count(), 0));
                let store = TileStore::open_for(&dir, arch, &x, tile).unwrap();
                assert_tiles_are_blocks(&store, arch, &x);
                std::fs::remove_dir_all(&dir).ok();
            }
        }
    }

    #[test]
    fn convolutional_tiles_are_the_in_memory_kernel_bit_for_bit() {
        let x = Tensor::<f64>::randn(&[7, 2, 5], &mut dl_tensor::seeded_rng(4));
        let arch = Architecture::cnn(1, 1, &[3], dl_init::Activation::Relu, 2.0, 0.1, 1, crate::Parameterisation::Ntk)
            .unwrap();
        let dir = fresh_dir("conv");
        TileStore::compute(&dir, &arch, &x, 3, Shard::WHOLE).unwrap();
        assert_tiles_are_blocks(&TileStore::open(&dir).unwrap(), &arch, &x);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_rerun_recomputes_only_deleted_corrupt_or_truncated_tiles() {
        let (arch, x) = (&archs()[0], points(20, 5));
        let dir = fresh_dir("resume");
        let first = TileStore::compute(&dir, arch, &x, 6, Shard::WHOLE).unwrap(); // 4 blocks, 10 tiles
        assert_eq!(first, ComputeReport { computed: 10, reused: 0, repaired: 0 });
        let again = TileStore::compute(&dir, arch, &x, 6, Shard::WHOLE).unwrap();
        assert_eq!(again, ComputeReport { computed: 0, reused: 10, repaired: 0 });

        std::fs::remove_file(tile_path(&dir, KernelKind::Ntk, 0, 1)).unwrap();
        let corrupt = tile_path(&dir, KernelKind::Nngp, 1, 3);
        let mut bytes = std::fs::read(&corrupt).unwrap();
        bytes[NPY_HEADER + 17] ^= 0x10;
        std::fs::write(&corrupt, &bytes).unwrap();
        let truncated = tile_path(&dir, KernelKind::Ntk, 2, 2);
        let bytes = std::fs::read(&truncated).unwrap();
        std::fs::write(&truncated, &bytes[..bytes.len() - 8]).unwrap();

        let store = TileStore::open(&dir).unwrap();
        let e = store.load_tile(KernelKind::Nngp, 1, 3).unwrap_err().to_string();
        assert!(e.contains("nngp-1-3.npy") && e.contains("checksum"), "{e}");
        let e = store.load_tile(KernelKind::Ntk, 0, 1).unwrap_err().to_string();
        assert!(e.contains("ntk-0-1.npy") && e.contains("file"), "{e}");

        let repair = TileStore::compute(&dir, arch, &x, 6, Shard::WHOLE).unwrap();
        assert_eq!(repair, ComputeReport { computed: 3, reused: 7, repaired: 3 });
        assert_tiles_are_blocks(&TileStore::open(&dir).unwrap(), arch, &x);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_union_of_the_shards_is_the_whole_store() {
        let (arch, x) = (&archs()[1], points(17, 6));
        let whole = fresh_dir("whole");
        TileStore::compute(&whole, arch, &x, 5, Shard::WHOLE).unwrap();
        let sharded = fresh_dir("sharded");
        let mut counts = Vec::new();
        for k in [2, 0] {
            counts.push(TileStore::compute(&sharded, arch, &x, 5, Shard::new(k, 3).unwrap()).unwrap().computed);
        }
        let e = TileStore::open(&sharded).unwrap_err().to_string();
        assert!(e.contains("tiles") && e.contains("missing") && e.contains("(0, 1)"), "{e}"); // tile 1 is shard 1's
        counts.push(TileStore::compute(&sharded, arch, &x, 5, Shard::new(1, 3).unwrap()).unwrap().computed);
        assert_eq!(counts.iter().sum::<usize>(), 10);
        let store = TileStore::open_for(&sharded, arch, &x, 5).unwrap();
        for (i, j) in store.layout().upper_tiles() {
            for kind in [KernelKind::Nngp, KernelKind::Ntk] {
                let a = std::fs::read(tile_path(&whole, kind, i, j)).unwrap();
                let b = std::fs::read(tile_path(&sharded, kind, i, j)).unwrap();
                assert_eq!(a, b, "{kind:?} ({i}, {j})");
            }
        }
        // a re-run in another number of shards reuses the tiles recorded by the first
        let r = TileStore::compute(&sharded, arch, &x, 5, Shard::new(0, 2).unwrap()).unwrap();
        assert_eq!((r.computed, r.reused), (0, 5));
        assert!(Shard::new(3, 3).is_err());
        std::fs::remove_dir_all(&whole).ok();
        std::fs::remove_dir_all(&sharded).ok();
    }

    #[test]
    fn a_store_of_other_data_or_another_kernel_is_an_error_naming_the_manifest_and_field() {
        let archs = archs();
        let (x, other) = (points(12, 7), points(12, 8));
        let dir = fresh_dir("mismatch");
        TileStore::compute(&dir, &archs[0], &x, 5, Shard::WHOLE).unwrap();
        let manifest = manifest_path(&dir, Shard::WHOLE);
        let cases = [
            (TileStore::compute(&dir, &archs[0], &other, 5, Shard::WHOLE).unwrap_err(), "config.data_checksum"),
            (TileStore::compute(&dir, &archs[0], &x, 4, Shard::new(0, 2).unwrap()).unwrap_err(), "config.tile"),
            (TileStore::open_for(&dir, &archs[1], &x, 5).unwrap_err(), "config.layers"),
            (TileStore::open_for(&dir, &archs[0], &points(13, 7), 5).unwrap_err(), "config.n"),
        ];
        for (e, field) in cases {
            match e {
                NtkError::Store { path, field: f, .. } => assert_eq!((path, f.as_str()), (manifest.clone(), field)),
                e => panic!("expected a store error, got {e}"),
            }
        }
        // malformed manifests: not JSON, a missing field, a tile of the wrong shape
        let text = std::fs::read_to_string(&manifest).unwrap();
        for (bad, field) in [
            (text[..text.len() / 2].to_string(), "(json)"),
            (text.replace("\"data_checksum\"", "\"data_sum\""), "(json)"),
            (text.replacen("\"rows\": 5", "\"rows\": 4", 1), "tiles[0].rows/cols"),
            (text.replacen("\"version\": 1", "\"version\": 9", 1), "version"),
        ] {
            std::fs::write(&manifest, &bad).unwrap();
            match TileStore::open(&dir).unwrap_err() {
                NtkError::Store { path, field: f, .. } => assert_eq!((path, f.as_str()), (manifest.clone(), field)),
                e => panic!("expected a store error, got {e}"),
            }
        }
        std::fs::remove_dir_all(&dir).ok();
        let e = TileStore::open(&dir).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
    }

    #[test]
    fn a_tile_of_the_wrong_shape_or_type_is_an_error_naming_the_field() {
        let p = Path::new("t.npy");
        let good = npy_bytes(2, 3, &[1.0; 6]);
        assert_eq!(tile_payload("t", p, &good, 2, 3).unwrap().len(), 48);
        let field = |r: Result<&[u8]>| match r {
            Err(NtkError::Store { field, .. }) => field,
            other => panic!("expected a store error, got {other:?}"),
        };
        assert_eq!(field(tile_payload("t", p, &good, 3, 2)), "shape");
        assert_eq!(field(tile_payload("t", p, &good[..good.len() - 1], 2, 3)), "payload length");
        assert_eq!(field(tile_payload("t", p, &good[..50], 2, 3)), "magic");
        let mut f4 = good.clone();
        let at = good.windows(3).position(|w| w == b"<f8").unwrap();
        f4[at + 2] = b'4';
        assert_eq!(field(tile_payload("t", p, &f4, 2, 3)), "descr");
        // NumPy's reader agrees with ours: dl-tensor's loader reads the bytes
        let t = dl_tensor::npy::load_from_bytes::<f64>("t.npy", &good).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
    }
}
