//! Test-only references computed by direct loops, independent of the SVD.

/// Solves the square system `m x = r` by Gaussian elimination with partial pivoting.
pub(crate) fn gauss_solve(mut m: Vec<Vec<f64>>, mut r: Vec<f64>) -> Vec<f64> {
    let n = r.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs())).expect("non-empty");
        m.swap(col, piv);
        r.swap(col, piv);
        for row in col + 1..n {
            let f = m[row][col] / m[col][col];
            let (top, rest) = m.split_at_mut(row);
            for (t, p) in rest[0][col..].iter_mut().zip(&top[col][col..]) {
                *t -= f * p;
            }
            r[row] -= f * r[col];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| m[i][k] * x[k]).sum();
        x[i] = (r[i] - s) / m[i][i];
    }
    x
}
