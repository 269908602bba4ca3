//! Adding `(k, k')` output blocks of the kernel into the requested layout.

use ndarray::{Array2, Array3, ArrayView2, s};

use super::OutputKernel;
use crate::matrix::to_tensor;
use dl_tensor::Tensor;

/// The kernel being assembled.
pub(crate) struct Accumulator {
    output: OutputKernel,
    k: usize,
    full: Array2<f64>,
    blocks: Array3<f64>,
}

impl Accumulator {
    pub fn new(output: OutputKernel, k: usize, n1: usize, n2: usize) -> Self {
        let (full, blocks) = match output {
            OutputKernel::Full => (Array2::zeros((n1 * k, n2 * k)), Array3::zeros((0, 0, 0))),
            OutputKernel::Trace => (Array2::zeros((n1, n2)), Array3::zeros((0, 0, 0))),
            OutputKernel::DiagonalBlocks => (Array2::zeros((0, 0)), Array3::zeros((k, n1, n2))),
        };
        Accumulator { output, k, full, blocks }
    }

    /// Whether the output pair `(k, k2)` is needed.
    pub fn needs(&self, k: usize, k2: usize) -> bool {
        self.output == OutputKernel::Full || k == k2
    }

    /// Adds `block` (examples `r0..` of set 1 by `c0..` of set 2) at outputs `(k, k2)`.
    pub fn add(&mut self, k: usize, k2: usize, r0: usize, c0: usize, block: ArrayView2<'_, f64>) {
        let (r, c) = block.dim();
        match self.output {
            OutputKernel::Full => {
                let kk = self.k;
                let mut dst = self.full.slice_mut(s![r0 * kk + k..(r0 + r) * kk; kk, c0 * kk + k2..(c0 + c) * kk; kk]);
                dst += &block;
            }
            OutputKernel::Trace if k == k2 => {
                let mut dst = self.full.slice_mut(s![r0..r0 + r, c0..c0 + c]);
                dst += &block;
            }
            OutputKernel::DiagonalBlocks if k == k2 => {
                let mut dst = self.blocks.slice_mut(s![k, r0..r0 + r, c0..c0 + c]);
                dst += &block;
            }
            _ => {}
        }
    }

    pub fn finish(self) -> Tensor<f64> {
        match self.output {
            OutputKernel::DiagonalBlocks => Tensor::from_ndarray(self.blocks.into_dyn()),
            _ => to_tensor(self.full),
        }
    }
}
