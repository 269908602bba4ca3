//! The 8x8 handwritten digits (UCI "Optical Recognition of Handwritten Digits", test
//! set, as shipped in scikit-learn; CC BY 4.0, Alpaydin and Kaynak 1998): 1797 images,
//! 64 pixels each with values 0..16, 10 classes of about 180 images.
//!
//! [`load_digits`] reads the copy embedded in this crate (checksum verified on every
//! load) and returns features of shape (1797, 64) scaled to [0, 1] (pixel / 16) with their
//! labels; [`digits_split`] gives a deterministic stratified train/test split.

use std::path::Path;

use dl_tensor::{Element, Tensor, seeded_rng};

use super::csv::{CsvTable, text_of};
use super::dataset::{Dataset, Split};
use super::embedded::{Checksum, DIGITS_CSV_GZ, gunzip, read_from_dir};
use super::error::{DataError, Result};

/// Number of images in the vendored file.
pub const DIGITS_LEN: usize = 1797;
/// Pixels per image (8 x 8).
pub const DIGITS_PIXELS: usize = 64;
/// Number of classes (digits 0..9).
pub const DIGITS_CLASSES: usize = 10;

/// Loads the embedded digits: features (1797, 64) in [0, 1] (pixel / 16, row by row of
/// the 8x8 image), labels 0..9.
///
/// Errors: a checksum mismatch of the embedded file (a corrupted build).
pub fn load_digits<T: Element>() -> Result<Dataset<T>> {
    let bytes = DIGITS_CSV_GZ.verified_bytes()?;
    parse_digits(&DIGITS_CSV_GZ.display_name(), bytes)
}

/// Loads `dir/digits.csv.gz` in the vendored format (rows of 64 pixels 0..16 and a label
/// 0..9, gzip-compressed); with [`Checksum::Verify`] it must be the vendored file.
///
/// Errors name the path, and for content errors the line and column.
pub fn load_digits_from_dir<T: Element>(dir: impl AsRef<Path>, checksum: Checksum) -> Result<Dataset<T>> {
    let (name, bytes) = read_from_dir(dir.as_ref(), &DIGITS_CSV_GZ, checksum)?;
    parse_digits(&name, &bytes)
}

/// The embedded digits split into train and test sets, stratified by class: for each
/// class the indices of that class are shuffled by a ChaCha8 generator seeded with `seed`
/// (one generator, used class by class) and the first `round(n_c * test_fraction)` go to
/// the test set (see [`Dataset::stratified_split`]). The same seed gives the same split.
///
/// Errors: `test_fraction` outside [0, 1].
pub fn digits_split<T: Element>(test_fraction: f64, seed: u64) -> Result<Split<T>> {
    load_digits::<T>()?.stratified_split(test_fraction, &mut seeded_rng(seed))
}

/// Parses the gzip-compressed digits CSV; `name` is used in errors.
fn parse_digits<T: Element>(name: &str, gz: &[u8]) -> Result<Dataset<T>> {
    let raw = gunzip(name, gz)?;
    let table = CsvTable::parse(name, text_of(name, &raw)?, false)?;
    let cols = DIGITS_PIXELS + 1;
    if table.cols != cols {
        return Err(DataError::Format {
            path: name.into(),
            detail: format!("rows have {} columns, expected {cols} (64 pixels and a label)", table.cols),
        });
    }
    let mut pixels = Vec::with_capacity(table.rows() * DIGITS_PIXELS);
    let mut labels = Vec::with_capacity(table.rows());
    for r in 0..table.rows() {
        for c in 0..DIGITS_PIXELS {
            let v = table.at(r, c);
            if !(0.0..=16.0).contains(&v) || v.fract() != 0.0 {
                return Err(DataError::Cell {
                    path: name.into(),
                    line: table.lines[r],
                    column: c + 1,
                    detail: format!("pixel {v} is not an integer in 0..=16"),
                });
            }
            pixels.push(T::from_f64_lossy(v / 16.0));
        }
        let label = table.label(r, DIGITS_PIXELS)?;
        if label >= DIGITS_CLASSES {
            return Err(DataError::Cell {
                path: name.into(),
                line: table.lines[r],
                column: cols,
                detail: format!("label {label} is not a digit 0..9"),
            });
        }
        labels.push(label);
    }
    let features = Tensor::from_vec(pixels, &[labels.len(), DIGITS_PIXELS])?;
    Dataset::classification(features, labels, DIGITS_CLASSES)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// The decompressed CSV, read independently of the loader (flate2 + str::split only).
    fn raw_rows() -> Vec<Vec<u32>> {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(DIGITS_CSV_GZ.bytes), &mut text).unwrap();
        text.lines().filter(|l| !l.is_empty()).map(|l| l.split(',').map(|c| c.parse().unwrap()).collect()).collect()
    }

    #[test]
    fn loads_1797_images_with_independent_class_counts() {
        let rows = raw_rows();
        assert_eq!(rows.len(), 1797);
        let mut counts = [0usize; 10];
        for r in &rows {
            assert_eq!(r.len(), 65);
            counts[r[64] as usize] += 1;
        }
        assert_eq!(counts.iter().sum::<usize>(), 1797);
        assert!(counts.iter().all(|&c| (170..=190).contains(&c)), "{counts:?}");

        let d = load_digits::<f64>().unwrap();
        assert_eq!(d.features().shape(), &[1797, 64]);
        assert_eq!(d.num_classes(), Some(10));
        assert_eq!(d.class_counts().unwrap(), counts.to_vec());
        let x = d.features().to_vec();
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
        // Row 0, pixel 2 is 5 in the file: 5 / 16.
        assert_eq!(x[2], 5.0 / 16.0);
        for (i, r) in rows.iter().enumerate().step_by(97) {
            assert_eq!(d.labels().unwrap()[i], r[64] as usize);
            for p in 0..64 {
                assert_eq!(x[i * 64 + p], r[p] as f64 / 16.0);
            }
        }
        let f = load_digits::<f32>().unwrap();
        assert_eq!(f.features().to_vec()[2], 5.0f32 / 16.0);
    }

    #[test]
    fn stratified_split_preserves_proportions_and_is_seeded() {
        let full = load_digits::<f64>().unwrap();
        let counts = full.class_counts().unwrap();
        let s = digits_split::<f64>(0.25, 3).unwrap();
        let test_counts = s.test.class_counts().unwrap();
        for c in 0..10 {
            assert_eq!(test_counts[c], (counts[c] as f64 * 0.25).round() as usize, "class {c}");
            assert_eq!(s.train.class_counts().unwrap()[c] + test_counts[c], counts[c]);
        }
        // Disjoint and covering: every image (features + label) appears exactly once.
        let key = |d: &Dataset<f64>, i: usize| -> Vec<u64> {
            let mut k: Vec<u64> =
                d.features().to_vec()[i * 64..(i + 1) * 64].iter().map(|v| (v * 16.0) as u64).collect();
            k.push(d.labels().unwrap()[i] as u64);
            k
        };
        let mut all: Vec<Vec<u64>> = (0..s.train.len()).map(|i| key(&s.train, i)).collect();
        all.extend((0..s.test.len()).map(|i| key(&s.test, i)));
        let mut expect: Vec<Vec<u64>> = (0..full.len()).map(|i| key(&full, i)).collect();
        all.sort();
        expect.sort();
        assert_eq!(all, expect);
        assert_eq!(s, digits_split::<f64>(0.25, 3).unwrap());
        assert_ne!(s.test, digits_split::<f64>(0.25, 4).unwrap().test);
        assert!(digits_split::<f64>(-0.1, 0).is_err());
    }

    #[test]
    fn directory_loading_checks_and_names_the_path() {
        let dir = std::env::temp_dir().join(format!("dl-framework-digits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = load_digits_from_dir::<f64>(&dir.join("nowhere"), Checksum::Skip).unwrap_err().to_string();
        assert!(e.contains("nowhere") && e.contains("digits.csv.gz"), "{e}");
        std::fs::write(dir.join("digits.csv.gz"), DIGITS_CSV_GZ.bytes).unwrap();
        let d = load_digits_from_dir::<f64>(&dir, Checksum::Verify).unwrap();
        assert_eq!(d, load_digits::<f64>().unwrap());

        // A well-formed gzip file whose content has a bad pixel on line 2.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let good = vec!["0"; 64].join(",") + ",3";
        let bad = vec!["0"; 63].join(",") + ",17,3";
        write!(enc, "{good}\n{bad}\n").unwrap();
        std::fs::write(dir.join("digits.csv.gz"), enc.finish().unwrap()).unwrap();
        let e = load_digits_from_dir::<f64>(&dir, Checksum::Verify).unwrap_err();
        assert!(matches!(e, DataError::Checksum { .. }), "{e}");
        let e = load_digits_from_dir::<f64>(&dir, Checksum::Skip).unwrap_err().to_string();
        assert!(e.contains("digits.csv.gz:2: column 64") && e.contains("17"), "{e}");

        // Truncated gzip and a label out of range.
        std::fs::write(dir.join("digits.csv.gz"), &DIGITS_CSV_GZ.bytes[..1000]).unwrap();
        let e = load_digits_from_dir::<f64>(&dir, Checksum::Skip).unwrap_err().to_string();
        assert!(e.contains("gzip"), "{e}");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        writeln!(enc, "{}", vec!["1"; 64].join(",") + ",10").unwrap();
        std::fs::write(dir.join("digits.csv.gz"), enc.finish().unwrap()).unwrap();
        let e = load_digits_from_dir::<f64>(&dir, Checksum::Skip).unwrap_err().to_string();
        assert!(e.contains(":1: column 65") && e.contains("label 10"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
