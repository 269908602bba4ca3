//! [`TiledKernel`]: one kernel of a [`TileStore`] as a linear operator, applied by streaming
//! its tiles from disk, one at a time, in a fixed order.
//!
//! `Q = K P` for `P` of shape `(N, k)`: for each stored tile `(i, j)`, `i <= j`, in row-major
//! order, `Q_i += K_ij P_j` and, off the diagonal, `Q_j += K_ij^T P_i`. Within a tile, rows
//! are cut into chunks of [`ROW_CHUNK`] rows handled in parallel; each chunk's contribution
//! to `Q_j` is a separate partial sum, and the partial sums are added in chunk order, so the
//! result has the same bits whatever the number of threads. The next tile is read and its
//! checksum verified while the current one is multiplied. Memory: two tile files
//! ([`TileStore::max_tile_file_bytes`] each, used in place: the values are decoded from
//! the file's bytes as they are multiplied) and the partial sums, `ceil(b / ROW_CHUNK) b k` f64.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use super::store::{KernelKind, NPY_HEADER, TileStore};
use crate::error::{NtkError, Result};

/// Rows of a tile per parallel work item (fixed, so results do not depend on thread count).
pub const ROW_CHUNK: usize = 128;

/// One kernel of a complete tile store as an operator.
#[derive(Clone, Copy, Debug)]
pub struct TiledKernel<'a> {
    store: &'a TileStore,
    kind: KernelKind,
}

fn value(b: &[u8]) -> f64 {
    f64::from_le_bytes(b.try_into().expect("8 bytes"))
}

impl<'a> TiledKernel<'a> {
    /// The kernel `kind` of `store`.
    pub fn new(store: &'a TileStore, kind: KernelKind) -> Self {
        TiledKernel { store, kind }
    }

    /// The number of points `N`.
    pub fn n(&self) -> usize {
        self.store.layout().n()
    }

    /// Which kernel of the store.
    pub fn kind(&self) -> KernelKind {
        self.kind
    }

    /// The store.
    pub fn store(&self) -> &'a TileStore {
        self.store
    }

    /// The bytes one streaming pass holds besides its vectors, for `outputs` columns: two
    /// tile files (the one in use and the next, read meanwhile) and the chunks' partial sums.
    pub fn pass_bytes(&self, outputs: usize) -> usize {
        let b = self.store.layout().tile().min(self.n());
        2 * self.store.max_tile_file_bytes() + 8 * b.div_ceil(ROW_CHUNK) * b * outputs
    }

    /// Errors unless `budget` bytes hold one pass, `vectors` vectors of shape `(N, outputs)`
    /// and `extra` bytes (a preconditioner); returns the working set in bytes.
    pub fn check_budget(
        &self,
        op: &'static str,
        budget: usize,
        vectors: usize,
        outputs: usize,
        extra: usize,
    ) -> Result<usize> {
        let need = self.pass_bytes(outputs) + 8 * vectors * self.n() * outputs + extra;
        if budget < need {
            let b = self.store.layout().tile().min(self.n());
            return Err(NtkError::Budget {
                op,
                budget,
                detail: format!(
                    "the working set needs at least {need} bytes: two {b}x{b} tile files ({} bytes each), the partial sums, {vectors} vectors of {}x{outputs} f64 and {extra} bytes of preconditioner (use smaller tiles, or a larger budget)",
                    self.store.max_tile_file_bytes(),
                    self.n()
                ),
            });
        }
        Ok(need)
    }

    /// `K P` for `p` of shape `(N, k)` (one streaming pass; see the module documentation).
    pub fn apply(&self, p: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let n = self.n();
        if p.nrows() != n {
            return Err(NtkError::Shape {
                op: "TiledKernel::apply",
                what: "the vector must have one row per point".into(),
                left: vec![n, n],
                right: p.shape().to_vec(),
            });
        }
        let k = p.ncols();
        let p = p.as_standard_layout();
        let p = p.as_slice().expect("standard layout");
        let mut q = vec![0.0; n * k];
        let layout = self.store.layout();
        let tiles: Vec<(usize, usize)> = layout.upper_tiles().collect();
        // two tile buffers: the next tile is read (and its checksum verified) while the
        // current one is multiplied
        let (mut current, mut next) = (Vec::new(), Vec::new());
        self.store.read_tile(self.kind, tiles[0].0, tiles[0].1, &mut current)?;
        for (t, &(i, j)) in tiles.iter().enumerate() {
            let upcoming = tiles.get(t + 1).copied();
            let (_, read) = rayon::join(
                || self.accumulate(i, j, &current[NPY_HEADER..], p, k, &mut q),
                || match upcoming {
                    Some((a, b)) => self.store.read_tile(self.kind, a, b, &mut next).map(|_| ()),
                    None => Ok(()),
                },
            );
            read?;
            std::mem::swap(&mut current, &mut next);
        }
        Ok(Array2::from_shape_vec((n, k), q).expect("n * k values"))
    }

    /// `Q_i += K_ij P_j` and, for `i != j`, `Q_j += K_ij^T P_i`, from a verified payload.
    fn accumulate(&self, i: usize, j: usize, payload: &[u8], p: &[f64], k: usize, q: &mut [f64]) {
        let layout = self.store.layout();
        let (ri, rj) = (layout.range(i), layout.range(j));
        let cols = rj.len();
        let pj = &p[rj.start * k..rj.end * k];
        let pi = &p[ri.start * k..ri.end * k];
        let off_diagonal = i != j;
        // per chunk of rows: (K_ij P_j) for those rows, and their part of K_ij^T P_i
        let parts: Vec<(Vec<f64>, Vec<f64>)> = payload
            .par_chunks(8 * cols * ROW_CHUNK)
            .enumerate()
            .map(|(c, chunk)| {
                let r0 = c * ROW_CHUNK;
                let rows_here = chunk.len() / (8 * cols);
                let mut out = vec![0.0; rows_here * k];
                let mut partial = if off_diagonal { vec![0.0; cols * k] } else { Vec::new() };
                for r in 0..rows_here {
                    let row = &chunk[8 * cols * r..8 * cols * (r + 1)];
                    let o = &mut out[r * k..(r + 1) * k];
                    let pir = &pi[(r0 + r) * k..(r0 + r + 1) * k];
                    if k == 1 {
                        let mut s = 0.0;
                        for (c, w) in row.chunks_exact(8).enumerate() {
                            let v = value(w);
                            s += v * pj[c];
                            if off_diagonal {
                                partial[c] += v * pir[0];
                            }
                        }
                        o[0] = s;
                    } else {
                        for (c, w) in row.chunks_exact(8).enumerate() {
                            let v = value(w);
                            for m in 0..k {
                                o[m] += v * pj[c * k + m];
                                if off_diagonal {
                                    partial[c * k + m] += v * pir[m];
                                }
                            }
                        }
                    }
                }
                (out, partial)
            })
            .collect();
        for (c, (out, partial)) in parts.iter().enumerate() {
            let start = (ri.start + c * ROW_CHUNK) * k;
            for (q, o) in q[start..start + out.len()].iter_mut().zip(out) {
                *q += o;
            }
            if off_diagonal {
                for (q, v) in q[rj.start * k..rj.end * k].iter_mut().zip(partial) {
                    *q += v;
                }
            }
        }
    }

    /// The diagonal `K_ii` (reads the diagonal tiles only).
    pub fn diagonal(&self) -> Result<Vec<f64>> {
        let layout = self.store.layout();
        let mut d = Vec::with_capacity(self.n());
        let mut buf = Vec::new();
        for i in 0..layout.blocks() {
            let len = layout.range(i).len();
            let payload = self.store.read_tile(self.kind, i, i, &mut buf)?;
            d.extend((0..len).map(|r| value(&payload[8 * (r * len + r)..8 * (r * len + r + 1)])));
        }
        Ok(d)
    }

    /// `max_i sum_j |K_ij|`: Gershgorin's bound on the largest eigenvalue (one pass).
    pub fn gershgorin_bound(&self) -> Result<f64> {
        let layout = self.store.layout();
        let mut sums = vec![0.0_f64; self.n()];
        let mut buf = Vec::new();
        for (i, j) in layout.upper_tiles() {
            let (ri, rj) = (layout.range(i), layout.range(j));
            let cols = rj.len();
            let payload = self.store.read_tile(self.kind, i, j, &mut buf)?;
            for (r, row) in payload.chunks_exact(8 * cols).enumerate() {
                let mut s = 0.0;
                for (c, w) in row.chunks_exact(8).enumerate() {
                    let v = value(w).abs();
                    s += v;
                    if i != j {
                        sums[rj.start + c] += v;
                    }
                }
                sums[ri.start + r] += s;
            }
        }
        Ok(sums.into_iter().fold(0.0, f64::max))
    }
}
