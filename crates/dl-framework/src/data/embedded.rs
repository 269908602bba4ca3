//! The vendored data files, embedded in the binary with `include_bytes!` from the
//! repository's `data/` directory, their SHA-256 checksums, and the checks and decoders
//! shared by the dataset loaders.
//!
//! Provenance and licences are in `data/README.md` (digits: CC BY 4.0, Alpaydin and
//! Kaynak 1998; MNIST-1D: Apache-2.0, Greydanus 2020).

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::error::{DataError, Result};

/// One vendored file: its path relative to the repository's `data/`, its bytes and its
/// expected SHA-256 (lower-case hex).
#[derive(Clone, Copy, Debug)]
pub struct EmbeddedFile {
    /// Path relative to `data/`, e.g. `digits/digits.csv.gz`.
    pub name: &'static str,
    /// The file's bytes.
    pub bytes: &'static [u8],
    /// The expected SHA-256, lower-case hex.
    pub sha256: &'static str,
}

macro_rules! embed {
    ($name:literal, $sha:literal) => {
        EmbeddedFile {
            name: $name,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/", $name)),
            sha256: $sha,
        }
    };
}

/// `digits/digits.csv.gz`: 1797 rows of 64 pixels (0..16) and a label (0..9).
pub const DIGITS_CSV_GZ: EmbeddedFile =
    embed!("digits/digits.csv.gz", "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22");
/// `mnist1d/t.npy`: float64 (40,), the sample positions.
pub const MNIST1D_T: EmbeddedFile =
    embed!("mnist1d/t.npy", "487aa1be630dd93f1cd503f04d22d05dcaec44b16e98e3b0afcfa64e5ffcf466");
/// `mnist1d/x_test.npy`: float64 (1000, 40).
pub const MNIST1D_X_TEST: EmbeddedFile =
    embed!("mnist1d/x_test.npy", "3a9e807f859b0c981260e3599ac0089d7c308f08a6c07d020a9d7db7131192e1");
/// `mnist1d/x_train.npy`: float64 (4000, 40).
pub const MNIST1D_X_TRAIN: EmbeddedFile =
    embed!("mnist1d/x_train.npy", "f48127906888c1a94110dbe68138d8e76fb549c587ce8f24b8d9af999d5f6478");
/// `mnist1d/y_test.npy`: int64 (1000,).
pub const MNIST1D_Y_TEST: EmbeddedFile =
    embed!("mnist1d/y_test.npy", "4134144e011c5abc45fc2a1f8fcad9556a4addd3bab819f191c3245d7018c243");
/// `mnist1d/y_train.npy`: int64 (4000,).
pub const MNIST1D_Y_TRAIN: EmbeddedFile =
    embed!("mnist1d/y_train.npy", "c718026182802e01693cbbad83b2af62a4e717da302e71815ac77fdbed4c5dde");

/// Every embedded file.
pub const ALL_FILES: [EmbeddedFile; 6] =
    [DIGITS_CSV_GZ, MNIST1D_T, MNIST1D_X_TEST, MNIST1D_X_TRAIN, MNIST1D_Y_TEST, MNIST1D_Y_TRAIN];

impl EmbeddedFile {
    /// The name used in error messages: `data/<name> (embedded)`.
    pub fn display_name(&self) -> String {
        format!("data/{} (embedded)", self.name)
    }

    /// The bytes, after checking their SHA-256.
    ///
    /// Errors: [`DataError::Checksum`] naming the file.
    pub fn verified_bytes(&self) -> Result<&'static [u8]> {
        verify_sha256(&self.display_name(), self.bytes, self.sha256)?;
        Ok(self.bytes)
    }
}

/// The SHA-256 of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks that `bytes` have SHA-256 `expected` (hex, either case); `path` names the file.
pub fn verify_sha256(path: &str, bytes: &[u8], expected: &str) -> Result<()> {
    let found = sha256_hex(bytes);
    if !found.eq_ignore_ascii_case(expected) {
        return Err(DataError::Checksum { path: path.into(), expected: expected.to_lowercase(), found });
    }
    Ok(())
}

/// Whether loading from a directory checks each file against the vendored SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// The files must be byte-identical to the vendored ones.
    Verify,
    /// Any files in the same format are accepted (their content is still validated).
    Skip,
}

/// Reads `dir/<file name>` (the last component of `file.name`), checking its checksum if
/// asked. Errors name the path.
pub(crate) fn read_from_dir(dir: &Path, file: &EmbeddedFile, checksum: Checksum) -> Result<(String, Vec<u8>)> {
    let base = file.name.rsplit('/').next().unwrap_or(file.name);
    let path = dir.join(base);
    let name = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| DataError::Io { path: name.clone(), detail: e.to_string() })?;
    if checksum == Checksum::Verify {
        verify_sha256(&name, &bytes, file.sha256)?;
    }
    Ok((name, bytes))
}

/// Decompresses a gzip stream; `path` names the file in errors. A truncated or corrupt
/// stream is an error (the gzip trailer's CRC-32 and length are checked).
pub fn gunzip(path: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| DataError::format(path, format!("not a valid gzip stream: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_checksums_match_and_sha256_is_right() {
        // FIPS 180-2 test vector for "abc".
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        for f in ALL_FILES {
            f.verified_bytes().unwrap();
        }
        // The sums agree with data/SHA256SUMS, line by line.
        let sums = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/SHA256SUMS")).unwrap();
        for f in ALL_FILES {
            assert!(
                sums.lines().any(|l| l == format!("{}  {}", f.sha256, f.name)),
                "{} missing from SHA256SUMS",
                f.name
            );
        }
        let e = verify_sha256("x.bin", b"abd", DIGITS_CSV_GZ.sha256).unwrap_err().to_string();
        assert!(e.contains("x.bin") && e.contains("SHA-256 mismatch"), "{e}");
    }

    #[test]
    fn gunzip_rejects_truncated_and_garbage() {
        let full = gunzip("d.gz", DIGITS_CSV_GZ.bytes).unwrap();
        assert!(full.starts_with(b"0,0,5,13,9,1"));
        let cut = &DIGITS_CSV_GZ.bytes[..DIGITS_CSV_GZ.bytes.len() / 2];
        let e = gunzip("cut.gz", cut).unwrap_err().to_string();
        assert!(e.contains("cut.gz") && e.contains("gzip"), "{e}");
        assert!(gunzip("junk.gz", b"definitely not gzip").is_err());
        // Missing only the 8-byte trailer (CRC-32 and size) is still an error.
        let no_trailer = &DIGITS_CSV_GZ.bytes[..DIGITS_CSV_GZ.bytes.len() - 8];
        assert!(gunzip("t.gz", no_trailer).is_err());
    }
}
