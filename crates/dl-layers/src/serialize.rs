//! Parameters to and from safetensors files, readable by PyTorch (`safetensors.torch.load_file`)
//! and NumPy (`safetensors.numpy.load_file`).
//!
//! The format (<https://github.com/huggingface/safetensors>), written here by hand:
//!
//! ```text
//! [8 bytes]  N, the header length, unsigned little-endian
//! [N bytes]  a UTF-8 JSON object: for each tensor
//!              "name": {"dtype": "F32" | "F64", "shape": [..], "data_offsets": [begin, end]}
//!            and optionally "__metadata__": {string: string}; padded with spaces
//! [rest]     the byte buffer: each tensor's values, row-major, little-endian, at
//!            [begin, end) relative to the start of the buffer
//! ```
//!
//! Writing sorts tensors by name, packs them without gaps, pads the header to a multiple
//! of 8 bytes and writes through a temporary file renamed into place. Reading checks what
//! the specification requires (offsets inside the buffer, sizes equal to the shape times
//! the element size, a buffer covered without holes or overlaps) and converts F32 or F64
//! to the requested type; every error names the file.

use std::collections::BTreeMap;
use std::path::Path;

use dl_tensor::{Element, Tensor};
use serde_json::{Map, Value};

use crate::error::{LayerError, Result};
use crate::module::Module;

/// The bytes of a safetensors file holding `tensors` and `metadata`.
pub fn to_safetensors_bytes<T: Element>(
    tensors: &BTreeMap<String, Tensor<T>>,
    metadata: &BTreeMap<String, String>,
) -> Vec<u8> {
    let dtype = if T::DTYPE == "f32" { "F32" } else { "F64" };
    let size = std::mem::size_of::<T>();
    let mut header = Map::new();
    if !metadata.is_empty() {
        let m: Map<String, Value> = metadata.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        header.insert("__metadata__".into(), Value::Object(m));
    }
    let mut data = Vec::new();
    for (name, t) in tensors {
        let begin = data.len();
        for v in t.to_vec() {
            v.push_le_bytes(&mut data);
        }
        debug_assert_eq!(data.len() - begin, t.numel() * size);
        let entry = serde_json::json!({ "dtype": dtype, "shape": t.shape(), "data_offsets": [begin, data.len()] });
        header.insert(name.clone(), entry);
    }
    let mut json = serde_json::to_string(&Value::Object(header)).expect("a JSON map serialises");
    while !json.len().is_multiple_of(8) {
        json.push(' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + data.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(&data);
    out
}

/// Writes `tensors` to `path` as safetensors, atomically.
pub fn save_safetensors<T: Element>(
    path: impl AsRef<Path>,
    tensors: &BTreeMap<String, Tensor<T>>,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let bytes = to_safetensors_bytes(tensors, metadata);
    Ok(dl_tensor::npy::write_atomic("save_safetensors", path.as_ref(), &bytes)?)
}

/// The contents of a safetensors file: tensors and metadata.
pub type SafetensorsContents<T> = (BTreeMap<String, Tensor<T>>, BTreeMap<String, String>);

/// Parses safetensors bytes; `name` (a path or any label) appears in errors.
pub fn from_safetensors_bytes<T: Element>(name: &Path, bytes: &[u8]) -> Result<SafetensorsContents<T>> {
    let err = |detail: String| LayerError::File { path: name.to_path_buf(), detail };
    if bytes.len() < 8 {
        return Err(err("not a safetensors file: shorter than the 8-byte header length".into()));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if n > (bytes.len() - 8) as u64 {
        return Err(err(format!("the header length {n} exceeds the file's {} remaining bytes", bytes.len() - 8)));
    }
    let header_end = 8 + n as usize;
    let text = std::str::from_utf8(&bytes[8..header_end]).map_err(|_| err("the header is not UTF-8".into()))?;
    let header: Value = serde_json::from_str(text).map_err(|e| err(format!("the header is not JSON: {e}")))?;
    let Value::Object(header) = header else { return Err(err("the header is not a JSON object".into())) };
    let buffer = &bytes[header_end..];
    let mut tensors = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    let mut spans = Vec::new();
    for (key, entry) in &header {
        if key == "__metadata__" {
            let Value::Object(m) = entry else { return Err(err("__metadata__ is not an object".into())) };
            for (k, v) in m {
                let Value::String(s) = v else { return Err(err(format!("__metadata__.{k} is not a string"))) };
                metadata.insert(k.clone(), s.clone());
            }
            continue;
        }
        let field = |f: &str| entry.get(f).ok_or_else(|| err(format!("tensor '{key}' has no '{f}'")));
        let dtype = field("dtype")?.as_str().ok_or_else(|| err(format!("tensor '{key}': dtype is not a string")))?;
        let shape: Vec<usize> = field("shape")?
            .as_array()
            .and_then(|a| {
                a.iter().map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok())).collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| err(format!("tensor '{key}': shape is not a list of sizes")))?;
        let offs: Vec<usize> = field("data_offsets")?
            .as_array()
            .and_then(|a| {
                a.iter().map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok())).collect::<Option<Vec<_>>>()
            })
            .filter(|v| v.len() == 2)
            .ok_or_else(|| err(format!("tensor '{key}': data_offsets is not [begin, end]")))?;
        let (begin, end) = (offs[0], offs[1]);
        let numel = dl_tensor::shape::checked_numel(&shape)
            .ok_or_else(|| err(format!("tensor '{key}': shape {shape:?} overflows")))?;
        let values: Vec<T> = match dtype {
            "F32" | "F64" => {
                let size = if dtype == "F32" { 4 } else { 8 };
                if begin > end || end > buffer.len() {
                    return Err(err(format!(
                        "tensor '{key}': data_offsets [{begin}, {end}] fall outside the {}-byte buffer",
                        buffer.len()
                    )));
                }
                let expected = numel.checked_mul(size);
                if Some(end - begin) != expected {
                    let expected = expected.map_or_else(|| "more than usize::MAX".to_string(), |b| b.to_string());
                    return Err(err(format!(
                        "tensor '{key}': {} bytes for shape {shape:?} of {dtype} ({expected} expected)",
                        end - begin
                    )));
                }
                let raw = &buffer[begin..end];
                if size == 4 {
                    raw.chunks_exact(4)
                        .map(|c| T::from_f64_lossy(f32::from_le_bytes(c.try_into().expect("4")) as f64))
                        .collect()
                } else {
                    raw.chunks_exact(8)
                        .map(|c| T::from_f64_lossy(f64::from_le_bytes(c.try_into().expect("8"))))
                        .collect()
                }
            }
            other => return Err(err(format!("tensor '{key}': dtype {other} is not supported (F32 and F64 are)"))),
        };
        spans.push((begin, end, key.clone()));
        tensors.insert(key.clone(), Tensor::from_vec(values, &shape)?);
    }
    spans.sort();
    let mut at = 0;
    for (begin, end, key) in &spans {
        if *begin != at {
            return Err(err(format!(
                "tensor '{key}' starts at byte {begin} of the buffer, expected {at} (a hole or an overlap)"
            )));
        }
        at = *end;
    }
    if at != buffer.len() {
        return Err(err(format!("the tensors cover {at} bytes of a {}-byte buffer", buffer.len())));
    }
    Ok((tensors, metadata))
}

/// Reads a safetensors file.
pub fn load_safetensors<T: Element>(path: impl AsRef<Path>) -> Result<SafetensorsContents<T>> {
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).map_err(|e| LayerError::File { path: path.to_path_buf(), detail: e.to_string() })?;
    from_safetensors_bytes(path, &bytes)
}

/// Saves a module's state dict to a safetensors file.
pub fn save_module<T: Element>(module: &(impl Module<T> + ?Sized), path: impl AsRef<Path>) -> Result<()> {
    save_safetensors(path, &module.state_dict(), &BTreeMap::new())
}

/// Loads a module's parameters from a safetensors file; the error lists every missing,
/// unexpected and mis-shaped key, and nothing changes unless all fit.
pub fn load_module<T: Element>(module: &(impl Module<T> + ?Sized), path: impl AsRef<Path>) -> Result<()> {
    let (tensors, _) = load_safetensors(path)?;
    module.load_state_dict(&tensors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_header(header: &str, buffer: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(buffer);
        out
    }

    /// A shape whose byte count overflows is a clear error, also while the message is
    /// formatted (it once multiplied the element count by the size there).
    #[test]
    fn overflowing_shapes_are_errors_not_panics() {
        for shape in ["[4611686018427387904]", "[4294967296, 4294967296]", "[18446744073709551615]"] {
            let header = format!(r#"{{"w": {{"dtype": "F32", "shape": {shape}, "data_offsets": [0, 8]}}}}"#);
            let e = from_safetensors_bytes::<f32>(Path::new("big.safetensors"), &with_header(&header, &[0; 8]))
                .unwrap_err()
                .to_string();
            assert!(e.contains("big.safetensors") && e.contains("'w'"), "{e}");
        }
        let header = r#"{"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 8]}}"#;
        let e = from_safetensors_bytes::<f32>(Path::new("m"), &with_header(header, &[0; 8])).unwrap_err().to_string();
        assert!(e.contains("8 bytes for shape [4611686018427387904] of F32 (more than usize::MAX expected)"), "{e}");
        // and the round trip still holds
        let mut t = BTreeMap::new();
        t.insert("a".to_string(), Tensor::<f64>::from_vec(vec![1.0, -2.0], &[2]).unwrap());
        let (back, _) =
            from_safetensors_bytes::<f64>(Path::new("m"), &to_safetensors_bytes(&t, &BTreeMap::new())).unwrap();
        assert_eq!(back, t);
    }
}
