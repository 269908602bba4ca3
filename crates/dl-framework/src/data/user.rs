//! Loaders for users' own data: `.npy` feature and label files, and CSV files of numbers.
//! Every error names the path; CSV errors also name the line and column (from 1).
//!
//! Both formats follow the same rules ([`LoadOptions`]):
//!
//! - features (and regression targets) must be finite: a NaN or an infinity is refused
//!   where it is read, naming the file and the element (the line and column for CSV),
//!   unless `allow_non_finite` is set, for both formats alike;
//! - class labels are non-negative integers, read exactly (not through a float);
//! - the number of classes is `num_classes` when given (every label must be below it),
//!   else the largest label plus one, which must not exceed `max_classes` (default
//!   [`DEFAULT_MAX_CLASSES`]; [`LoadOptions::for_network`] sets it to the network's output
//!   width), so a stray label of 10^12 is an error, not a dataset of 10^12 classes.

use std::path::Path;

use dl_tensor::{Element, Tensor, npy};

use super::csv::CsvTable;
use super::dataset::Dataset;
use super::error::{DataError, Result};

/// The most classes the labels of a file may imply when `num_classes` is not given.
pub const DEFAULT_MAX_CLASSES: usize = 1 << 16;

/// The rules the loaders of users' files apply, the same for `.npy` and CSV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// The number of classes; every label must be below it. `None`: the largest label
    /// plus one.
    pub num_classes: Option<usize>,
    /// The most classes the labels may imply when `num_classes` is `None`.
    pub max_classes: usize,
    /// Accept NaN and infinite features and targets (refused by default).
    pub allow_non_finite: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { num_classes: None, max_classes: DEFAULT_MAX_CLASSES, allow_non_finite: false }
    }
}

impl LoadOptions {
    /// The defaults with `num_classes` given.
    pub fn with_classes(num_classes: usize) -> Self {
        LoadOptions { num_classes: Some(num_classes), ..Self::default() }
    }

    /// The number of classes of `labels` (read from `context`) under these rules.
    fn classes(&self, context: &str, labels: &[usize], line_of: impl Fn(usize) -> Option<usize>) -> Result<usize> {
        let where_ = |index: usize| match line_of(index) {
            Some(line) => format!("line {line}"),
            None => format!("example {index}"),
        };
        match self.num_classes {
            Some(k) => {
                if let Some((index, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= k) {
                    return Err(DataError::LabelOutOfRange {
                        context: context.to_string(),
                        index,
                        label,
                        num_classes: k,
                    });
                }
                Ok(k)
            }
            None => {
                let Some((index, &max)) = labels.iter().enumerate().max_by_key(|(i, l)| (**l, std::cmp::Reverse(*i)))
                else {
                    return Ok(0);
                };
                if max >= self.max_classes {
                    return Err(DataError::shape(
                        context,
                        format!(
                            "label {max} ({}) implies {} classes, more than the {} allowed; give num_classes, or raise LoadOptions::max_classes",
                            where_(index),
                            max as u128 + 1,
                            self.max_classes
                        ),
                    ));
                }
                Ok(max + 1)
            }
        }
    }
}

/// `Ok` unless `allow` is off and `t` holds a NaN or an infinity (named by its flat index
/// and example).
fn check_finite<T: Element>(path: &Path, what: &str, t: &Tensor<T>, allow: bool) -> Result<()> {
    if allow || t.all_finite() {
        return Ok(());
    }
    let per_example = t.shape().iter().skip(1).product::<usize>().max(1);
    let (i, v) = t.to_vec().into_iter().enumerate().find(|(_, v)| !v.is_finite()).expect("all_finite found one");
    Err(DataError::format(
        path.display().to_string(),
        format!(
            "{what}: element {i} (example {}) is {v}; non-finite {what} are refused unless LoadOptions::allow_non_finite is set",
            i / per_example
        ),
    ))
}

/// A classification dataset from a features `.npy` (shape (N, ...), any float or integer
/// dtype) and a labels `.npy` (shape (N,), integer dtype, non-negative). The number of
/// classes is `num_classes` if given (every label must be below it), else the largest
/// label plus one (at most [`DEFAULT_MAX_CLASSES`]); see [`load_npy_dataset_with`].
///
/// Errors name the path: unreadable or malformed files, labels that are not integers or
/// not 1-D, N that differs between the files, a label out of range, a non-finite feature.
pub fn load_npy_dataset<T: Element>(
    features_path: impl AsRef<Path>,
    labels_path: impl AsRef<Path>,
    num_classes: Option<usize>,
) -> Result<Dataset<T>> {
    let options = LoadOptions { num_classes, ..LoadOptions::default() };
    load_npy_dataset_with(features_path, labels_path, &options)
}

/// [`load_npy_dataset`] under explicit [`LoadOptions`].
pub fn load_npy_dataset_with<T: Element>(
    features_path: impl AsRef<Path>,
    labels_path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<Dataset<T>> {
    let (fp, lp) = (features_path.as_ref(), labels_path.as_ref());
    let x = load_features::<T>(fp, options)?;
    let y = npy::load_indices(lp)?;
    let lname = lp.display().to_string();
    if y.ndim() != 1 || y.len() != x.shape()[0] {
        return Err(DataError::shape(
            lname,
            format!(
                "labels have shape {:?}, but the features in {} have shape {:?}: expected ({},)",
                y.shape(),
                fp.display(),
                x.shape(),
                x.shape()[0]
            ),
        ));
    }
    let labels: Vec<usize> = y.iter().copied().collect();
    let k = options.classes(&lname, &labels, |_| None)?;
    Dataset::classification(x, labels, k)
}

/// A regression dataset from a features `.npy` (shape (N, ...)) and a targets `.npy`
/// (shape (N, ...)), both finite. Errors name the path.
pub fn load_npy_regression<T: Element>(
    features_path: impl AsRef<Path>,
    targets_path: impl AsRef<Path>,
) -> Result<Dataset<T>> {
    load_npy_regression_with(features_path, targets_path, &LoadOptions::default())
}

/// [`load_npy_regression`] under explicit [`LoadOptions`].
pub fn load_npy_regression_with<T: Element>(
    features_path: impl AsRef<Path>,
    targets_path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<Dataset<T>> {
    let (fp, tp) = (features_path.as_ref(), targets_path.as_ref());
    let x = load_features::<T>(fp, options)?;
    let y = npy::load::<T>(tp)?;
    check_finite(tp, "targets", &y, options.allow_non_finite)?;
    if y.shape().first() != Some(&x.shape()[0]) {
        return Err(DataError::shape(
            tp.display().to_string(),
            format!(
                "targets have shape {:?}, but the features in {} have shape {:?}: N must agree",
                y.shape(),
                fp.display(),
                x.shape()
            ),
        ));
    }
    Dataset::regression(x, y)
}

fn load_features<T: Element>(path: &Path, options: &LoadOptions) -> Result<Tensor<T>> {
    let x = npy::load::<T>(path)?;
    if x.ndim() == 0 {
        return Err(DataError::shape(path.display().to_string(), "features must have shape (N, ...), got a 0-d array"));
    }
    check_finite(path, "features", &x, options.allow_non_finite)?;
    Ok(x)
}

/// Which column of a CSV file holds the target; the others are the features.
fn columns(table: &CsvTable, target_column: usize) -> Result<Vec<usize>> {
    if target_column >= table.cols {
        return Err(DataError::Format {
            path: table.path.clone(),
            detail: format!("target column {target_column} (0-based) does not exist: rows have {} columns", table.cols),
        });
    }
    Ok((0..table.cols).filter(|&c| c != target_column).collect())
}

fn feature_tensor<T: Element>(table: &CsvTable, feature_cols: &[usize]) -> Result<Tensor<T>> {
    let mut x = Vec::with_capacity(table.rows() * feature_cols.len());
    for r in 0..table.rows() {
        x.extend(feature_cols.iter().map(|&c| T::from_f64_lossy(table.at(r, c))));
    }
    Ok(Tensor::from_vec(x, &[table.rows(), feature_cols.len()])?)
}

/// A classification dataset from a CSV file of numbers (RFC 4180 quoting accepted):
/// `label_column` (0-based) holds the class labels (non-negative integers), every other
/// column is a feature, giving features of shape (rows, columns - 1). With `has_header`
/// the first non-blank line is a header. The number of classes is the largest label plus
/// one (at most [`DEFAULT_MAX_CLASSES`]); see [`load_csv_with`].
///
/// Errors name the path, line and column (counted from 1), e.g.
/// `data/mine.csv:17: column 3: 'abc' is not a number`: unreadable files, non-numeric,
/// non-finite or empty cells, ragged rows, labels that are negative or not integers.
pub fn load_csv<T: Element>(path: impl AsRef<Path>, label_column: usize, has_header: bool) -> Result<Dataset<T>> {
    load_csv_with(path, label_column, has_header, &LoadOptions::default())
}

/// [`load_csv`] under explicit [`LoadOptions`].
pub fn load_csv_with<T: Element>(
    path: impl AsRef<Path>,
    label_column: usize,
    has_header: bool,
    options: &LoadOptions,
) -> Result<Dataset<T>> {
    let table = CsvTable::read_with(path.as_ref(), has_header, options.allow_non_finite)?;
    let feature_cols = columns(&table, label_column)?;
    let labels = (0..table.rows()).map(|r| table.label(r, label_column)).collect::<Result<Vec<_>>>()?;
    let k = options.classes(&table.path, &labels, |row| table.lines.get(row).copied())?;
    Dataset::classification(feature_tensor(&table, &feature_cols)?, labels, k)
}

/// A regression dataset from a CSV file of numbers: `target_column` (0-based) holds the
/// target, every other column is a feature; features (rows, columns - 1), targets
/// (rows, 1). Errors as for [`load_csv`].
pub fn load_csv_regression<T: Element>(
    path: impl AsRef<Path>,
    target_column: usize,
    has_header: bool,
) -> Result<Dataset<T>> {
    load_csv_regression_with(path, target_column, has_header, &LoadOptions::default())
}

/// [`load_csv_regression`] under explicit [`LoadOptions`].
pub fn load_csv_regression_with<T: Element>(
    path: impl AsRef<Path>,
    target_column: usize,
    has_header: bool,
    options: &LoadOptions,
) -> Result<Dataset<T>> {
    let table = CsvTable::read_with(path.as_ref(), has_header, options.allow_non_finite)?;
    let feature_cols = columns(&table, target_column)?;
    let y = feature_tensor(&table, &[target_column])?;
    Dataset::regression(feature_tensor(&table, &feature_cols)?, y)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dl-framework-user-{name}-{}", std::process::id()));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn csv_classification_and_regression() {
        let d = dir("csv");
        let p = d.join("mine.csv");
        fs::write(&p, "a,label,b\n0.5,2,1\n-1,0,2e1\n  \n").unwrap();
        let ds = load_csv::<f64>(&p, 1, true).unwrap();
        assert_eq!(ds.features().shape(), &[2, 2]);
        assert_eq!(ds.features().to_vec(), vec![0.5, 1.0, -1.0, 20.0]);
        assert_eq!(ds.labels().unwrap(), &[2, 0]);
        assert_eq!(ds.num_classes(), Some(3));
        let r = load_csv_regression::<f32>(&p, 2, true).unwrap();
        assert_eq!(r.regression_targets().unwrap().to_vec(), vec![1.0, 20.0]);
        assert_eq!(r.regression_targets().unwrap().shape(), &[2, 1]);
        let e = load_csv::<f64>(&p, 3, true).unwrap_err().to_string();
        assert!(e.contains("mine.csv") && e.contains("3 columns"), "{e}");
    }

    #[test]
    fn csv_errors_name_path_line_column() {
        let d = dir("csvbad");
        let p = d.join("mine.csv");
        let mut text = String::from("x,y,label\n");
        for i in 0..15 {
            text.push_str(&format!("{i},{i},1\n"));
        }
        text.push_str("1,2,abc\n");
        fs::write(&p, &text).unwrap();
        let e = load_csv::<f64>(&p, 2, true).unwrap_err().to_string();
        assert_eq!(e, format!("{}:17: column 3: 'abc' is not a number", p.display()));
        fs::write(&p, "1,2,0\n3,4\n").unwrap();
        let e = load_csv::<f64>(&p, 2, false).unwrap_err().to_string();
        assert!(e.ends_with("mine.csv:2: 2 columns, but line 1 has 3"), "{e}");
        fs::write(&p, "1,2,0\n3,4,1.5\n").unwrap();
        let e = load_csv::<f64>(&p, 2, false).unwrap_err().to_string();
        assert!(e.ends_with("mine.csv:2: column 3: label 1.5 is not a non-negative integer"), "{e}");
        fs::write(&p, b"1,2,0\n\x00\xff\xfe garbage\n").unwrap();
        let e = load_csv::<f64>(&p, 2, false).unwrap_err().to_string();
        assert!(e.contains("mine.csv") && e.contains("line 2"), "{e}");
        let e = load_csv::<f64>(d.join("absent.csv"), 0, false).unwrap_err().to_string();
        assert!(e.contains("absent.csv"), "{e}");
    }

    #[test]
    fn npy_dataset_checks_shapes_and_labels() {
        let d = dir("npy");
        let x = Tensor::<f64>::from_vec((0..12).map(f64::from).collect(), &[4, 3]).unwrap();
        npy::save(d.join("x.npy"), &x).unwrap();
        // Labels written as <i8 by hand (npy::save writes floats only).
        let write_labels = |name: &str, labels: &[i64]| {
            let mut header = format!("{{'descr': '<i8', 'fortran_order': False, 'shape': ({},), }}", labels.len());
            let unpadded = 10 + header.len() + 1;
            header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
            header.push('\n');
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend_from_slice(&(header.len() as u16).to_le_bytes());
            b.extend_from_slice(header.as_bytes());
            labels.iter().for_each(|l| b.extend_from_slice(&l.to_le_bytes()));
            fs::write(d.join(name), b).unwrap();
        };
        write_labels("y.npy", &[0, 2, 1, 2]);
        let ds = load_npy_dataset::<f32>(d.join("x.npy"), d.join("y.npy"), None).unwrap();
        assert_eq!(ds.num_classes(), Some(3));
        assert_eq!(ds.features().to_vec()[11], 11.0);
        let e = load_npy_dataset::<f32>(d.join("x.npy"), d.join("y.npy"), Some(2)).unwrap_err();
        assert!(matches!(e, DataError::LabelOutOfRange { index: 1, label: 2, num_classes: 2, .. }), "{e}");
        assert!(e.to_string().contains("y.npy"));
        write_labels("y3.npy", &[0, 1, 1]);
        let e = load_npy_dataset::<f32>(d.join("x.npy"), d.join("y3.npy"), None).unwrap_err().to_string();
        assert!(e.contains("y3.npy") && e.contains("[4, 3]"), "{e}");
        write_labels("yneg.npy", &[0, -1, 1, 1]);
        let e = load_npy_dataset::<f32>(d.join("x.npy"), d.join("yneg.npy"), None).unwrap_err().to_string();
        assert!(e.contains("yneg.npy") && e.contains("negative"), "{e}");
        // Float labels are rejected; float targets are fine for regression.
        let e = load_npy_dataset::<f32>(d.join("x.npy"), d.join("x.npy"), None).unwrap_err().to_string();
        assert!(e.contains("not an integer"), "{e}");
        let r = load_npy_regression::<f64>(d.join("x.npy"), d.join("x.npy")).unwrap();
        assert_eq!(r.regression_targets().unwrap(), &x);
        npy::save(d.join("t5.npy"), &Tensor::<f64>::zeros(&[5])).unwrap();
        let e = load_npy_regression::<f64>(d.join("x.npy"), d.join("t5.npy")).unwrap_err().to_string();
        assert!(e.contains("t5.npy") && e.contains("[5]"), "{e}");
        fs::write(d.join("junk.npy"), b"\x93NUMPY\x01").unwrap();
        let e = load_npy_dataset::<f64>(d.join("junk.npy"), d.join("y.npy"), None).unwrap_err().to_string();
        assert!(e.contains("junk.npy"), "{e}");
    }
}
