//! CSV files of numbers, read with the `csv` crate (RFC 4180: quoted cells, `""` inside
//! quotes, quoted line breaks, `\r\n` line endings), plus what a table of numbers needs on
//! top: surrounding whitespace and a UTF-8 byte-order mark tolerated, blank lines skipped,
//! an optional header line, every row as long as the first, every cell a number. Every
//! error names the file, the line and the column (both counted from 1):
//! `data/mine.csv:17: column 3: 'abc' is not a number`.
//!
//! Non-finite cells (`nan`, `inf`) are refused unless the table is read with
//! `allow_non_finite` ([`CsvTable::parse_with`]), the same rule and the same switch as
//! for `.npy` features ([`LoadOptions`](super::LoadOptions)).

use super::error::{DataError, Result};

/// A parsed table of finite numbers, row-major, with the line each row came from.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvTable {
    /// The file name used in error messages.
    pub path: String,
    /// The header's cells, if the file has a header line.
    pub header: Option<Vec<String>>,
    /// Number of columns.
    pub cols: usize,
    /// The values, `rows() * cols` of them, row-major.
    pub values: Vec<f64>,
    /// For each row, the line of the file it came from (counting from 1).
    pub lines: Vec<usize>,
}

impl CsvTable {
    /// Number of data rows.
    pub fn rows(&self) -> usize {
        self.lines.len()
    }

    /// The value at `(row, col)`, or `None` outside the table.
    pub fn get(&self, row: usize, col: usize) -> Option<f64> {
        if row < self.rows() && col < self.cols { self.values.get(row * self.cols + col).copied() } else { None }
    }

    /// The value at `(row, col)`; the caller has checked the bounds.
    pub(crate) fn at(&self, row: usize, col: usize) -> f64 {
        self.values[row * self.cols + col]
    }

    /// Parses CSV text, refusing non-finite cells. `path` names the source in error messages.
    ///
    /// Errors: a cell that is empty, not a number, or not finite ([`DataError::Cell`]);
    /// a row with a different number of cells than the first line ([`DataError::RaggedRow`]);
    /// a file with no data rows ([`DataError::Format`]).
    pub fn parse(path: &str, text: &str, has_header: bool) -> Result<Self> {
        Self::parse_with(path, text, has_header, false)
    }

    /// Parses CSV text; `allow_non_finite` accepts `nan` and `inf` cells.
    pub fn parse_with(path: &str, text: &str, has_header: bool, allow_non_finite: bool) -> Result<Self> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(text.as_bytes());
        // The line a record starts on, from its byte offset (the csv crate's own line count
        // skips blank lines, and a record's offset can sit on the end of the line before).
        let bytes = text.as_bytes();
        let newlines: Vec<usize> = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect();
        let line_at = |byte: u64| {
            let mut at = usize::try_from(byte).unwrap_or(bytes.len()).min(bytes.len());
            while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
                at += 1;
            }
            newlines.partition_point(|&i| i < at) + 1
        };
        let mut header: Option<Vec<String>> = None;
        let mut cols: Option<(usize, usize)> = None; // (count, line)
        let mut values = Vec::new();
        let mut lines = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                DataError::format(path, format!("line {line}: not valid CSV: {e}"))
            })?;
            let line_no = record.position().map_or(0, |p| line_at(p.byte()));
            // a line holding only whitespace is blank
            if record.iter().all(str::is_empty) && record.len() <= 1 {
                continue;
            }
            match cols {
                None => cols = Some((record.len(), line_no)),
                Some((expected, first_line)) if expected != record.len() => {
                    return Err(DataError::RaggedRow {
                        path: path.into(),
                        line: line_no,
                        found: record.len(),
                        expected,
                        first_line,
                    });
                }
                Some(_) => {}
            }
            if has_header && header.is_none() {
                header = Some(record.iter().map(str::to_string).collect());
                continue;
            }
            for (j, cell) in record.iter().enumerate() {
                values.push(parse_cell(path, line_no, j + 1, cell, allow_non_finite)?);
            }
            lines.push(line_no);
        }
        let Some((cols, _)) = cols.filter(|_| !lines.is_empty()) else {
            return Err(DataError::format(path, "no data rows"));
        };
        Ok(CsvTable { path: path.into(), header, cols, values, lines })
    }

    /// Reads and parses a CSV file, refusing non-finite cells; invalid UTF-8 is reported
    /// with its line.
    pub fn read(path: &std::path::Path, has_header: bool) -> Result<Self> {
        Self::read_with(path, has_header, false)
    }

    /// Reads and parses a CSV file; `allow_non_finite` accepts `nan` and `inf` cells.
    pub fn read_with(path: &std::path::Path, has_header: bool, allow_non_finite: bool) -> Result<Self> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| DataError::Io { path: name.clone(), detail: e.to_string() })?;
        let text = text_of(&name, &bytes)?;
        Self::parse_with(&name, text, has_header, allow_non_finite)
    }

    /// The integer in `(row, col)` as a class label: it must be a non-negative integer.
    ///
    /// Errors: a cell outside the table, or one that is not a non-negative integer
    /// (naming the path, line and column).
    pub fn label(&self, row: usize, col: usize) -> Result<usize> {
        let Some(v) = self.get(row, col) else {
            return Err(DataError::invalid(
                "CsvTable::label",
                format!("cell ({row}, {col}) is outside the {} x {} table of {}", self.rows(), self.cols, self.path),
            ));
        };
        if v < 0.0 || v.fract() != 0.0 || v > 9.007_199_254_740_992e15 {
            return Err(DataError::Cell {
                path: self.path.clone(),
                line: self.lines[row],
                column: col + 1,
                detail: format!("label {v} is not a non-negative integer"),
            });
        }
        Ok(v as usize)
    }
}

/// The bytes as UTF-8 text, or an error naming the line of the first invalid byte.
pub(crate) fn text_of<'a>(path: &str, bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let ok = e.valid_up_to();
        let line = bytes[..ok].iter().filter(|&&b| b == b'\n').count() + 1;
        DataError::Io {
            path: path.into(),
            detail: format!("line {line}: not UTF-8 text (invalid byte at offset {ok})"),
        }
    })
}

fn parse_cell(path: &str, line: usize, column: usize, cell: &str, allow_non_finite: bool) -> Result<f64> {
    let err = |detail: String| DataError::Cell { path: path.into(), line, column, detail };
    if cell.is_empty() {
        return Err(err("empty cell".into()));
    }
    let v: f64 = cell.parse().map_err(|_| err(format!("'{cell}' is not a number")))?;
    if !v.is_finite() && !allow_non_finite {
        return Err(err(format!(
            "'{cell}' is not a finite number (non-finite features are refused unless LoadOptions::allow_non_finite is set)"
        )));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_header_whitespace_and_crlf() {
        let t = CsvTable::parse("a.csv", "x, y ,label\r\n1,2.5, 0 \r\n\n-3e2,4,1\n\n", true).unwrap();
        assert_eq!(t.header.as_deref().unwrap(), &["x", "y", "label"]);
        assert_eq!((t.rows(), t.cols), (2, 3));
        assert_eq!(t.values, vec![1.0, 2.5, 0.0, -300.0, 4.0, 1.0]);
        assert_eq!(t.lines, vec![2, 4]);
        assert_eq!(t.label(1, 2).unwrap(), 1);
    }

    /// RFC 4180: quoted cells, doubled quotes inside them, a quoted line break (the row
    /// keeps the line it starts on), CRLF endings.
    #[test]
    fn reads_standard_quoting() {
        let text = "\"x, first\",\"say \"\"hi\"\"\",label\r\n\"1.5\", 2 ,\"0\"\r\n\"-3\",\"4\",1\r\n";
        let t = CsvTable::parse("q.csv", text, true).unwrap();
        assert_eq!(t.header.as_deref().unwrap(), &["x, first", "say \"hi\"", "label"]);
        assert_eq!(t.values, vec![1.5, 2.0, 0.0, -3.0, 4.0, 1.0]);
        assert_eq!(t.lines, vec![2, 3]);
        let multi = "\"a\nb\",c\n1,2\n";
        let t = CsvTable::parse("m.csv", multi, true).unwrap();
        assert_eq!(t.header.as_deref().unwrap(), &["a\nb", "c"]);
        assert_eq!(t.lines, vec![3]);
        let e = CsvTable::parse("m.csv", "1,2\n\"3\",\"x\"\n", false).unwrap_err();
        assert_eq!(e.to_string(), "m.csv:2: column 2: 'x' is not a number");
    }

    #[test]
    fn non_finite_cells_are_refused_unless_allowed() {
        let e = CsvTable::parse("n.csv", "1,nan\n", false).unwrap_err().to_string();
        assert!(e.starts_with("n.csv:1: column 2: 'nan' is not a finite number"), "{e}");
        let t = CsvTable::parse_with("n.csv", "1,nan\n-inf,2\n", false, true).unwrap();
        assert!(t.values[1].is_nan() && t.values[2] == f64::NEG_INFINITY);
    }

    #[test]
    fn errors_name_path_line_and_column() {
        let e = CsvTable::parse("data/mine.csv", "1,2,3\n4,5,abc\n", false).unwrap_err();
        assert_eq!(e.to_string(), "data/mine.csv:2: column 3: 'abc' is not a number");
        let e = CsvTable::parse("m.csv", "1,2,3\n4,5\n", false).unwrap_err();
        assert_eq!(e.to_string(), "m.csv:2: 2 columns, but line 1 has 3");
        let e = CsvTable::parse("m.csv", "1,,3\n", false).unwrap_err();
        assert_eq!(e.to_string(), "m.csv:1: column 2: empty cell");
        let e = CsvTable::parse("m.csv", "1,inf\n", false).unwrap_err();
        assert!(e.to_string().contains("not a finite number"));
        assert!(CsvTable::parse("m.csv", "a,b\n", true).unwrap_err().to_string().contains("no data rows"));
        assert!(CsvTable::parse("m.csv", "", false).is_err());
        let t = CsvTable::parse("m.csv", "1,-2\n3,2.5\n", false).unwrap();
        assert_eq!(t.label(0, 1).unwrap_err().to_string(), "m.csv:1: column 2: label -2 is not a non-negative integer");
        assert!(t.label(1, 1).is_err());
        assert!(t.label(2, 0).is_err() && t.get(0, 2).is_none());
        assert_eq!(t.get(1, 1), Some(2.5));
        let e = text_of("b.csv", b"1,2\n3,\xff\n").unwrap_err().to_string();
        assert!(e.contains("b.csv") && e.contains("line 2"), "{e}");
    }
}
