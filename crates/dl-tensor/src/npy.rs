//! NumPy `.npy` files: save a tensor, load a float tensor or an integer index array.
//!
//! Format (NumPy's `format.py`, versions 1.0 to 3.0): the magic string `\x93NUMPY`, a
//! version, a little-endian header length (2 bytes in v1, 4 in v2/v3), then an ASCII
//! Python dict `{'descr': '<f8', 'fortran_order': False, 'shape': (4000, 40), }` padded
//! to a multiple of 64 bytes, then the raw data. Saving writes v1.0 in C order, through a
//! temporary file renamed into place, so a crash never leaves a half-written file. Loading
//! accepts little-endian floats and integers (`<f4 <f8 <i1..<i8 <u1..<u8`, `|u1 |i1`,
//! `|b1`) in either order, and every error names the path. [`load_from_bytes`] and
//! [`load_indices_from_bytes`] parse bytes already in memory (an embedded file) the same way.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn, ShapeBuilder};

use crate::element::Element;
use crate::error::{Result, TensorError};
use crate::tensor::Tensor;
use crate::views::IndexArray;

const MAGIC: &[u8] = b"\x93NUMPY";

fn io_err(op: &'static str, path: &Path, detail: impl Into<String>) -> TensorError {
    TensorError::Io { op, path: path.to_path_buf(), detail: detail.into() }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed,
/// then renamed over the target.
pub fn write_atomic(op: &'static str, path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| io_err(op, path, "not a file path"))?;
    let tmp: PathBuf = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_err(op, path, e.to_string())
    })
}

/// Saves `t` as a `.npy` file (v1.0, C order, `<f4` or `<f8`).
pub fn save<T: Element>(path: impl AsRef<Path>, t: &Tensor<T>) -> Result<()> {
    let path = path.as_ref();
    let shape = match t.shape() {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}", T::NPY_DESCR);
    // magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + t.numel() * size_of::<T>());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in t.to_vec() {
        v.push_le_bytes(&mut bytes);
    }
    write_atomic("npy::save", path, &bytes)
}

/// The parsed header and payload of a `.npy` file.
struct RawNpy {
    descr: String,
    fortran: bool,
    shape: Vec<usize>,
    data: Vec<u8>,
}

fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with('(') {
        return rest.find(')').map(|e| &rest[..=e]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

fn parse(path: &Path, op: &'static str) -> Result<RawNpy> {
    let bytes = fs::read(path).map_err(|e| io_err(op, path, e.to_string()))?;
    parse_bytes(&bytes, path, op)
}

/// Parses the bytes of a `.npy` file; `path` (a file path or any name) appears in errors.
fn parse_bytes(bytes: &[u8], path: &Path, op: &'static str) -> Result<RawNpy> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(io_err(op, path, "not a .npy file (missing \\x93NUMPY magic)"));
    }
    let (hlen, hstart): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(io_err(op, path, format!("unsupported .npy version {v}"))),
    };
    let header = bytes.get(hstart..hstart.saturating_add(hlen)).ok_or_else(|| io_err(op, path, "truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| io_err(op, path, "header is not text"))?;
    let descr = dict_value(header, "descr")
        .ok_or_else(|| io_err(op, path, "header has no 'descr'"))?
        .trim_matches(['\'', '"'])
        .to_string();
    let fortran = match dict_value(header, "fortran_order") {
        Some("True") => true,
        Some("False") => false,
        _ => return Err(io_err(op, path, "header has no valid 'fortran_order'")),
    };
    let shape_txt = dict_value(header, "shape").ok_or_else(|| io_err(op, path, "header has no 'shape'"))?;
    let shape = shape_txt
        .trim_matches(['(', ')'])
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| io_err(op, path, format!("bad shape entry '{s}' in {shape_txt}"))))
        .collect::<Result<Vec<_>>>()?;
    let data = bytes[hstart + hlen..].to_vec();
    Ok(RawNpy { descr, fortran, shape, data })
}

impl RawNpy {
    /// The dtype's kind and size, after checking that the payload holds exactly the
    /// elements the shape declares (computed with checked arithmetic).
    fn checked_layout(&self, path: &Path, op: &'static str) -> Result<(char, usize)> {
        let (kind, size) = parse_descr(&self.descr).ok_or_else(|| {
            io_err(op, path, format!("unsupported dtype '{}' (expected little-endian float, int or bool)", self.descr))
        })?;
        // A corrupt header can declare a shape whose byte count overflows usize.
        let needed = crate::shape::checked_numel(&self.shape).and_then(|n| n.checked_mul(size));
        if needed != Some(self.data.len()) {
            let needed = needed.map_or_else(|| "more than usize::MAX".to_string(), |b| b.to_string());
            return Err(io_err(
                op,
                path,
                format!(
                    "payload has {} bytes, shape {:?} of {} needs {needed}",
                    self.data.len(),
                    self.shape,
                    self.descr
                ),
            ));
        }
        Ok((kind, size))
    }

    fn values_f64(&self, path: &Path, op: &'static str) -> Result<Vec<f64>> {
        let (kind, size) = self.checked_layout(path, op)?;
        let chunks = self.data.chunks_exact(size);
        Ok(match (kind, size) {
            ('f', 4) => chunks.map(|c| f32::from_le_bytes(c.try_into().expect("4")) as f64).collect(),
            ('f', 8) => chunks.map(|c| f64::from_le_bytes(c.try_into().expect("8"))).collect(),
            ('i', _) => chunks.map(|c| read_int(c, true) as f64).collect(),
            ('u' | 'b', _) => chunks.map(|c| read_int(c, false) as f64).collect(),
            _ => return Err(io_err(op, path, format!("unsupported dtype '{}'", self.descr))),
        })
    }

    fn into_array<V: Clone>(self, values: Vec<V>, path: &Path, op: &'static str) -> Result<ArrayD<V>> {
        let shape = IxDyn(&self.shape);
        let arr = if self.fortran {
            ArrayD::from_shape_vec(shape.f(), values)
        } else {
            ArrayD::from_shape_vec(shape, values)
        };
        arr.map_err(|e| io_err(op, path, e.to_string()))
    }
}

fn parse_descr(descr: &str) -> Option<(char, usize)> {
    let mut chars = descr.chars();
    let order = chars.next()?;
    if order == '>' {
        return None;
    }
    let kind = chars.next()?;
    let size: usize = chars.as_str().parse().ok()?;
    match (kind, size) {
        ('f', 4 | 8) | ('i' | 'u', 1 | 2 | 4 | 8) | ('b', 1) => Some((kind, size)),
        _ => None,
    }
}

fn read_int(c: &[u8], signed: bool) -> i128 {
    let mut buf = [0u8; 16];
    buf[..c.len()].copy_from_slice(c);
    if signed && c[c.len() - 1] & 0x80 != 0 {
        buf[c.len()..].fill(0xff);
    }
    i128::from_le_bytes(buf)
}

/// Loads a `.npy` file as a float tensor, converting from its stored dtype.
pub fn load<T: Element>(path: impl AsRef<Path>) -> Result<Tensor<T>> {
    let path = path.as_ref();
    let raw = parse(path, "npy::load")?;
    raw_to_tensor(raw, path, "npy::load")
}

/// Parses the bytes of a `.npy` file (for example one embedded with `include_bytes!`) as
/// a float tensor, converting from its stored dtype; `name` is used in error messages.
///
/// ```
/// let t = dl_tensor::Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
/// let path = std::env::temp_dir().join(format!("npy-doc-{}.npy", std::process::id()));
/// dl_tensor::npy::save(&path, &t).unwrap();
/// let bytes = std::fs::read(&path).unwrap();
/// assert_eq!(dl_tensor::npy::load_from_bytes::<f64>("t.npy", &bytes).unwrap(), t);
/// let err = dl_tensor::npy::load_from_bytes::<f64>("junk.npy", b"junk").unwrap_err();
/// assert!(err.to_string().contains("junk.npy"));
/// # std::fs::remove_file(&path).ok();
/// ```
pub fn load_from_bytes<T: Element>(name: &str, bytes: &[u8]) -> Result<Tensor<T>> {
    let path = Path::new(name);
    let raw = parse_bytes(bytes, path, "npy::load_from_bytes")?;
    raw_to_tensor(raw, path, "npy::load_from_bytes")
}

fn raw_to_tensor<T: Element>(raw: RawNpy, path: &Path, op: &'static str) -> Result<Tensor<T>> {
    let vals: Vec<T> = raw.values_f64(path, op)?.into_iter().map(T::from_f64_lossy).collect();
    let arr = raw.into_array(vals, path, op)?;
    Ok(Tensor::from_ndarray(arr.as_standard_layout().into_owned()))
}

/// Loads a `.npy` file of non-negative integers (class labels, indices).
pub fn load_indices(path: impl AsRef<Path>) -> Result<IndexArray> {
    let path = path.as_ref();
    let op = "npy::load_indices";
    let raw = parse(path, op)?;
    raw_to_indices(raw, path, op)
}

/// Parses the bytes of a `.npy` file of non-negative integers (class labels, indices);
/// `name` is used in error messages.
pub fn load_indices_from_bytes(name: &str, bytes: &[u8]) -> Result<IndexArray> {
    let path = Path::new(name);
    let op = "npy::load_indices_from_bytes";
    let raw = parse_bytes(bytes, path, op)?;
    raw_to_indices(raw, path, op)
}

fn raw_to_indices(raw: RawNpy, path: &Path, op: &'static str) -> Result<IndexArray> {
    let (kind, size) = match parse_descr(&raw.descr) {
        Some((k @ ('i' | 'u' | 'b'), _)) => (k, raw.checked_layout(path, op)?.1),
        _ => return Err(io_err(op, path, format!("dtype '{}' is not an integer type", raw.descr))),
    };
    // Read exactly (not through f64, which rounds integers above 2^53).
    let mut vals = Vec::with_capacity(raw.data.len() / size);
    for (i, c) in raw.data.chunks_exact(size).enumerate() {
        let v = read_int(c, kind == 'i');
        if v < 0 {
            return Err(io_err(op, path, format!("element {i} is negative ({v}), not an index")));
        }
        let v = usize::try_from(v)
            .map_err(|_| io_err(op, path, format!("element {i} ({v}) does not fit an index on this machine")))?;
        vals.push(v);
    }
    let arr = raw.into_array(vals, path, op)?;
    Ok(arr.as_standard_layout().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dl-tensor-npy-{name}-{}", std::process::id()));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trip_f32_and_f64() {
        let d = tmpdir("rt");
        let t = Tensor::<f64>::from_vec((0..12).map(|v| v as f64 * 0.5 - 1.0).collect(), &[3, 4]).unwrap();
        save(d.join("a.npy"), &t).unwrap();
        assert_eq!(load::<f64>(d.join("a.npy")).unwrap(), t);
        let tf = t.cast::<f32>();
        save(d.join("b.npy"), &tf).unwrap();
        assert_eq!(load::<f32>(d.join("b.npy")).unwrap(), tf);
        let s = Tensor::<f64>::scalar(3.0);
        save(d.join("s.npy"), &s).unwrap();
        assert_eq!(load::<f64>(d.join("s.npy")).unwrap(), s);
        let bytes = fs::read(d.join("a.npy")).unwrap();
        assert_eq!((10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize) % 64, 0);
    }

    /// A file written byte by byte as NumPy writes `np.arange(6, dtype='<i8').reshape(2,3).T`
    /// with `fortran_order: True`, independent of `save`.
    #[test]
    fn reads_fortran_order_integers() {
        let d = tmpdir("f");
        let mut header = "{'descr': '<i8', 'fortran_order': True, 'shape': (3, 2), }".to_string();
        let unpadded = 10 + header.len() + 1;
        header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
        header.push('\n');
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        for v in 0i64..6 {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        fs::write(d.join("i.npy"), &bytes).unwrap();
        let idx = load_indices(d.join("i.npy")).unwrap();
        // Fortran order: element (r, c) is stored at c*3 + r, so row 0 is [0, 3].
        assert_eq!(idx.iter().copied().collect::<Vec<_>>(), vec![0, 3, 1, 4, 2, 5]);
        let f = load::<f64>(d.join("i.npy")).unwrap();
        assert_eq!(f.to_vec(), vec![0., 3., 1., 4., 2., 5.]);
    }

    #[test]
    fn malformed_files_give_errors_naming_the_path() {
        let d = tmpdir("bad");
        let p = d.join("junk.npy");
        fs::write(&p, b"hello world").unwrap();
        let e = load::<f64>(&p).unwrap_err().to_string();
        assert!(e.contains("junk.npy") && e.contains("magic"), "{e}");
        let t = Tensor::<f64>::zeros(&[4, 4]);
        save(&p, &t).unwrap();
        let bytes = fs::read(&p).unwrap();
        fs::write(&p, &bytes[..bytes.len() - 8]).unwrap();
        let e = load::<f64>(&p).unwrap_err().to_string();
        assert!(e.contains("payload"), "{e}");
        assert!(load::<f64>(d.join("missing.npy")).unwrap_err().to_string().contains("missing.npy"));
        assert!(load_indices(d.join("junk.npy")).is_err());
    }

    /// The byte-slice loaders agree with the path loaders and name the given file name.
    #[test]
    fn bytes_api_matches_path_api() {
        let d = tmpdir("bytes");
        let t = Tensor::<f64>::from_vec((0..6).map(|v| v as f64 - 2.5).collect(), &[2, 3]).unwrap();
        save(d.join("x.npy"), &t).unwrap();
        let bytes = fs::read(d.join("x.npy")).unwrap();
        assert_eq!(load_from_bytes::<f64>("x.npy", &bytes).unwrap(), load::<f64>(d.join("x.npy")).unwrap());
        let e = load_indices_from_bytes("x.npy", &bytes).unwrap_err().to_string();
        assert!(e.contains("x.npy") && e.contains("not an integer"), "{e}");
        let e = load_from_bytes::<f32>("cut.npy", &bytes[..bytes.len() - 3]).unwrap_err().to_string();
        assert!(e.contains("cut.npy") && e.contains("payload"), "{e}");
        // A header declaring an absurd shape is an error, not an overflow.
        let mut header = "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 3), }".to_string();
        let unpadded = 10 + header.len() + 1;
        header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
        header.push('\n');
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&[1, 0]);
        huge.extend_from_slice(&(header.len() as u16).to_le_bytes());
        huge.extend_from_slice(header.as_bytes());
        let e = load_from_bytes::<f64>("huge.npy", &huge).unwrap_err().to_string();
        assert!(e.contains("huge.npy") && e.contains("usize::MAX"), "{e}");
    }

    fn npy_bytes(descr: &str, shape: &str, payload: &[u8]) -> Vec<u8> {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let unpadded = 10 + header.len() + 1;
        header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
        header.push('\n');
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(payload);
        b
    }

    /// Indices are read as integers, exactly: 2^53 + 1 stays itself (through f64 it would
    /// round to 2^53), and u64::MAX is an index on a 64-bit machine, not a wrapped value.
    #[test]
    fn indices_are_read_exactly() {
        let vals: [u64; 3] = [(1 << 53) + 1, u64::MAX, 0];
        let payload: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let idx = load_indices_from_bytes("u.npy", &npy_bytes("<u8", "(3,)", &payload)).unwrap();
        assert_eq!(idx.iter().map(|&v| v as u64).collect::<Vec<_>>(), vals.to_vec());
        let neg: Vec<u8> = [-5i64, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let e = load_indices_from_bytes("n.npy", &npy_bytes("<i8", "(2,)", &neg)).unwrap_err().to_string();
        assert!(e.contains("n.npy") && e.contains("element 0 is negative (-5)"), "{e}");
    }
}
