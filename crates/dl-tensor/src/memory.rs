//! Memory limits: a tensor or a network whose memory would exceed a limit is refused
//! *before* anything is allocated, with an error naming what would have been allocated and
//! the bytes it would need.
//!
//! Allocation failure in Rust aborts the process (`memory allocation of N bytes failed`),
//! and a size whose arithmetic overflows panics; neither can be caught. So every entry point
//! that takes a size from outside (a configuration, a file header, a user's argument)
//! computes the bytes it is about to allocate with checked arithmetic
//! ([`tensor_bytes`], [`checked_numel`](crate::shape::checked_numel())) and compares them with
//! a [`MemoryLimit`]:
//!
//! | limit | bytes |
//! | --- | --- |
//! | [`MemoryLimit::available`] (the default) | the machine's available memory: `MemAvailable` of `/proc/meminfo` on Linux; where that cannot be read (another OS, a sandbox), [`FALLBACK_LIMIT_BYTES`] = 8 GiB |
//! | [`MemoryLimit::bytes`] | any number of bytes the caller states |
//! | [`MemoryLimit::unlimited`] | `u64::MAX`: only overflowing sizes are refused |
//!
//! `MemAvailable` is the kernel's estimate of the memory a new allocation can get without
//! swapping (page cache that can be dropped included), the quantity `free -b` shows as
//! "available". It is read when the limit is made, so a limit made once reflects the
//! machine at that time.
//!
//! ```
//! use dl_tensor::memory::MemoryLimit;
//! let limit = MemoryLimit::bytes(1 << 20); // 1 MiB
//! assert!(limit.check_tensor::<f32>("weights", &[256, 256]).is_ok()); // 256 KiB
//! let err = limit.check_tensor::<f32>("weights", &[1 << 20, 1 << 20]).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "weights: needs 4398046511104 bytes (4.0 TiB), more than the memory limit of 1048576 bytes (1.0 MiB, set by the caller)"
//! );
//! // a size whose element count overflows is refused too, not wrapped
//! assert!(MemoryLimit::unlimited().check_tensor::<f64>("x", &[1 << 32, 1 << 32]).is_err());
//! ```

use std::fmt;

use crate::error::{Result, TensorError};
use crate::shape::checked_numel;

/// The limit used when the machine's available memory cannot be read: 8 GiB.
pub const FALLBACK_LIMIT_BYTES: u64 = 8 << 30;

/// Where a [`MemoryLimit`] came from (said in error messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitSource {
    /// `MemAvailable` of `/proc/meminfo`.
    Available,
    /// [`FALLBACK_LIMIT_BYTES`], because the available memory could not be read.
    Fallback,
    /// Stated by the caller (an API argument or a configuration field).
    Explicit,
    /// No limit: only sizes that overflow 64 bits are refused.
    Unlimited,
}

/// A number of bytes that an allocation must not exceed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLimit {
    bytes: u64,
    source: LimitSource,
}

impl MemoryLimit {
    /// The machine's available memory now (`MemAvailable`), or [`FALLBACK_LIMIT_BYTES`]
    /// where it cannot be read.
    pub fn available() -> Self {
        match std::fs::read_to_string("/proc/meminfo").ok().as_deref().and_then(parse_meminfo) {
            Some(bytes) => MemoryLimit { bytes, source: LimitSource::Available },
            None => MemoryLimit { bytes: FALLBACK_LIMIT_BYTES, source: LimitSource::Fallback },
        }
    }

    /// A limit of `bytes`, stated by the caller.
    pub fn bytes(bytes: u64) -> Self {
        MemoryLimit { bytes, source: LimitSource::Explicit }
    }

    /// No limit beyond 64-bit arithmetic: only sizes that overflow are refused.
    pub fn unlimited() -> Self {
        MemoryLimit { bytes: u64::MAX, source: LimitSource::Unlimited }
    }

    /// `Some(bytes)` as [`MemoryLimit::bytes`], `None` as [`MemoryLimit::available`]: the
    /// reading of an optional `memory_limit_bytes` configuration field.
    pub fn from_option(bytes: Option<u64>) -> Self {
        bytes.map_or_else(Self::available, Self::bytes)
    }

    /// The limit in bytes.
    pub fn limit_bytes(&self) -> u64 {
        self.bytes
    }

    /// Where the limit came from.
    pub fn source(&self) -> LimitSource {
        self.source
    }

    /// `Ok` if `bytes` (`None`: a size that overflowed) fits under the limit; otherwise
    /// [`TensorError::TooLarge`] naming `what`.
    pub fn check(&self, what: impl fmt::Display, bytes: Option<u64>) -> Result<()> {
        match bytes {
            Some(b) if b <= self.bytes => Ok(()),
            _ => Err(TensorError::TooLarge { what: what.to_string(), bytes, limit: self.to_string() }),
        }
    }

    /// `Ok` if a tensor of `T` of `shape` fits under the limit; the element count and the
    /// bytes are computed with checked arithmetic.
    pub fn check_tensor<T>(&self, what: impl fmt::Display, shape: &[usize]) -> Result<()> {
        self.check(what, tensor_bytes::<T>(shape))
    }
}

impl Default for MemoryLimit {
    fn default() -> Self {
        Self::available()
    }
}

impl fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.source {
            LimitSource::Available => "the machine's available memory, MemAvailable in /proc/meminfo",
            LimitSource::Fallback => "the fallback where the available memory cannot be read",
            LimitSource::Explicit => "set by the caller",
            LimitSource::Unlimited => "unlimited",
        };
        write!(f, "{} bytes ({}, {why})", self.bytes, human_bytes(self.bytes))
    }
}

/// The bytes of a tensor of `T` of `shape`, or `None` if the count overflows `u64`.
pub fn tensor_bytes<T>(shape: &[usize]) -> Option<u64> {
    let n = checked_numel(shape)?;
    u64::try_from(n).ok()?.checked_mul(std::mem::size_of::<T>() as u64)
}

/// `MemAvailable` of a `/proc/meminfo` text, in bytes (the file gives kB = 1024 bytes).
pub fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut words = line["MemAvailable:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    let unit = match words.next() {
        Some("kB") => 1024,
        None => 1,
        Some(_) => return None,
    };
    value.checked_mul(unit)
}

/// `bytes` in binary units with one decimal: `512 B`, `1.5 KiB`, `238.4 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_is_read_in_kibibytes() {
        let text = "MemTotal:       16318480 kB\nMemFree:         1165452 kB\nMemAvailable:    9614800 kB\n";
        assert_eq!(parse_meminfo(text), Some(9_614_800 * 1024));
        assert_eq!(parse_meminfo("MemTotal: 1 kB\n"), None);
        assert_eq!(parse_meminfo("MemAvailable: x kB\n"), None);
        assert_eq!(parse_meminfo("MemAvailable: 18446744073709551615 kB\n"), None, "overflow is not wrapped");
    }

    #[test]
    fn the_available_limit_is_positive_and_says_where_it_came_from() {
        let l = MemoryLimit::available();
        assert!(l.limit_bytes() > 0);
        if cfg!(target_os = "linux") && std::path::Path::new("/proc/meminfo").exists() {
            assert_eq!(l.source(), LimitSource::Available);
            assert!(l.to_string().contains("MemAvailable"), "{l}");
        }
    }

    #[test]
    fn tensor_bytes_are_checked() {
        assert_eq!(tensor_bytes::<f32>(&[2, 3]), Some(24));
        assert_eq!(tensor_bytes::<f64>(&[]), Some(8));
        assert_eq!(tensor_bytes::<f64>(&[1 << 62]), None, "2^62 * 8 overflows u64");
        assert_eq!(tensor_bytes::<f32>(&[1 << 32, 1 << 32]), None);
        assert_eq!(tensor_bytes::<f32>(&[1 << 32, 1 << 32, 0]), Some(0), "an empty tensor needs nothing");
        let e = MemoryLimit::bytes(10).check_tensor::<f64>("x", &[1 << 62]).unwrap_err().to_string();
        assert_eq!(
            e,
            "x: needs more than 18446744073709551615 bytes (its size overflows), more than the memory limit of 10 bytes (10 B, set by the caller)"
        );
    }

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(256_000_000_000), "238.4 GiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }
}
