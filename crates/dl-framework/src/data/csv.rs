//! A small parser for comma-separated numbers, written by hand: one record per line,
//! cells separated by commas, surrounding whitespace and `\r\n` line endings tolerated,
//! blank lines skipped, an optional header line. Every error names the file, the line
//! and the column (both counted from 1): `data/mine.csv:17: column 3: 'abc' is not a number`.

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
        if row < self.rows() && col < self.cols {
            self.values.get(row * self.cols + col).copied()
        } else {
            None
        }
    }

    /// The value at `(row, col)`; the caller has checked the bounds.
    pub(crate) fn at(&self, row: usize, col: usize) -> f64 {
        self.values[row * self.cols + col]
    }

    /// Parses CSV text. `path` names the source in error messages.
    ///
    /// Errors: a cell that is empty, not a number, or not finite ([`DataError::Cell`]);
    /// a row with a different number of cells than the first line ([`DataError::RaggedRow`]);
    /// a file with no data rows ([`DataError::Format`]).
    pub fn parse(path: &str, text: &str, has_header: bool) -> Result<Self> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut header: Option<Vec<String>> = None;
        let mut cols: Option<(usize, usize)> = None; // (count, line)
        let mut values = Vec::new();
        let mut lines = Vec::new();
        for (i, raw) in text.split('\n').enumerate() {
            let line_no = i + 1;
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            match cols {
                None => cols = Some((cells.len(), line_no)),
                Some((expected, first_line)) if expected != cells.len() => {
                    return Err(DataError::RaggedRow {
                        path: path.into(),
                        line: line_no,
                        found: cells.len(),
                        expected,
                        first_line,
                    });
                }
                Some(_) => {}
            }
            if has_header && header.is_none() {
                header = Some(cells.iter().map(|c| c.to_string()).collect());
                continue;
            }
            for (j, cell) in cells.iter().enumerate() {
                values.push(parse_cell(path, line_no, j + 1, cell)?);
            }
            lines.push(line_no);
        }
        let Some((cols, _)) = cols.filter(|_| !lines.is_empty()) else {
            return Err(DataError::format(path, "no data rows"));
        };
        Ok(CsvTable {
            path: path.into(),
            header,
            cols,
            values,
            lines,
        })
    }

    /// Reads and parses a CSV file; invalid UTF-8 is reported with its line.
    pub fn read(path: &std::path::Path, has_header: bool) -> Result<Self> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| DataError::Io {
            path: name.clone(),
            detail: e.to_string(),
        })?;
        let text = text_of(&name, &bytes)?;
        Self::parse(&name, text, has_header)
    }

    /// The integer in `(row, col)` as a class label: it must be a non-negative integer.
    ///
    /// Errors: a cell outside the table, or one that is not a non-negative integer
    /// (naming the path, line and column).
    pub fn label(&self, row: usize, col: usize) -> Result<usize> {
        let Some(v) = self.get(row, col) else {
            return Err(DataError::invalid(
                "CsvTable::label",
                format!(
                    "cell ({row}, {col}) is outside the {} x {} table of {}",
                    self.rows(),
                    self.cols,
                    self.path
                ),
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

fn parse_cell(path: &str, line: usize, column: usize, cell: &str) -> Result<f64> {
    let err = |detail: String| DataError::Cell {
        path: path.into(),
        line,
        column,
        detail,
    };
    if cell.is_empty() {
        return Err(err("empty cell".into()));
    }
    let v: f64 = cell
        .parse()
        .map_err(|_| err(format!("'{cell}' is not a number")))?;
    if !v.is_finite() {
        return Err(err(format!("'{cell}' is not a finite number")));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_header_whitespace_and_crlf() {
        let t =
            CsvTable::parse("a.csv", "x, y ,label\r\n1,2.5, 0 \r\n\n-3e2,4,1\n\n", true).unwrap();
        assert_eq!(t.header.as_deref().unwrap(), &["x", "y", "label"]);
        assert_eq!((t.rows(), t.cols), (2, 3));
        assert_eq!(t.values, vec![1.0, 2.5, 0.0, -300.0, 4.0, 1.0]);
        assert_eq!(t.lines, vec![2, 4]);
        assert_eq!(t.label(1, 2).unwrap(), 1);
    }

    #[test]
    fn errors_name_path_line_and_column() {
        let e = CsvTable::parse("data/mine.csv", "1,2,3\n4,5,abc\n", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "data/mine.csv:2: column 3: 'abc' is not a number"
        );
        let e = CsvTable::parse("m.csv", "1,2,3\n4,5\n", false).unwrap_err();
        assert_eq!(e.to_string(), "m.csv:2: 2 columns, but line 1 has 3");
        let e = CsvTable::parse("m.csv", "1,,3\n", false).unwrap_err();
        assert_eq!(e.to_string(), "m.csv:1: column 2: empty cell");
        let e = CsvTable::parse("m.csv", "1,inf\n", false).unwrap_err();
        assert!(e.to_string().contains("not a finite number"));
        assert!(
            CsvTable::parse("m.csv", "a,b\n", true)
                .unwrap_err()
                .to_string()
                .contains("no data rows")
        );
        assert!(CsvTable::parse("m.csv", "", false).is_err());
        let t = CsvTable::parse("m.csv", "1,-2\n3,2.5\n", false).unwrap();
        assert_eq!(
            t.label(0, 1).unwrap_err().to_string(),
            "m.csv:1: column 2: label -2 is not a non-negative integer"
        );
        assert!(t.label(1, 1).is_err());
        assert!(t.label(2, 0).is_err() && t.get(0, 2).is_none());
        assert_eq!(t.get(1, 1), Some(2.5));
        let e = text_of("b.csv", b"1,2\n3,\xff\n").unwrap_err().to_string();
        assert!(e.contains("b.csv") && e.contains("line 2"), "{e}");
    }
}
