//! The legend: one entry per series and band, each a marker and its label wrapped onto as
//! many lines as the panel's width needs.
//!
//! The legend sits in a panel right of the plot while it fits the canvas height; a longer one
//! moves below the plot, in columns across the full width, and the canvas grows to hold it.
//! Entries never overlap: each starts below the last line of the one before.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::text::wrap;
use super::{HEIGHT, PALETTE, SVG_FONT_SCALE, WIDTH};

/// Width of the legend panel right of the plot.
pub(crate) const LEGEND_WIDTH: u32 = 220;
/// Font size of the legend text, in SVG pixels (plotters' size 14).
const FONT_PX: f64 = 14.0 / SVG_FONT_SCALE;
/// Distance between the tops of two lines of one entry.
const LINE: i32 = 15;
/// Space between two entries.
const GAP: i32 = 7;
/// The marker spans `MARKER_X..MARKER_X + 24`; the text starts at `TEXT_X`.
const MARKER_X: i32 = 10;
const TEXT_X: i32 = 42;
/// Blank space right of the text.
const RIGHT_PAD: i32 = 8;
/// Top of the first entry in the right-hand panel (level with the top of the plot).
const RIGHT_TOP: i32 = 50;
/// Blank space above and below the entries of a legend below the plot.
const BELOW_PAD: i32 = 10;
/// Columns of a legend below the plot.
const BELOW_COLUMNS: usize = 3;

/// How an entry's marker is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    /// A short line.
    Line,
    /// A cross.
    Cross,
    /// A shaded box, for a band.
    Band,
}

/// Where the legend goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// In the panel right of the plot.
    Right,
    /// Below the plot, across the full width; the canvas grows by this many pixels.
    Below(u32),
}

/// One entry, placed: its marker, colour, top-left corner (in the legend area) and lines.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    marker: Marker,
    color: usize,
    x: i32,
    y: i32,
    lines: Vec<String>,
}

/// The laid-out legend.
#[derive(Clone, Debug)]
pub(crate) struct Legend {
    /// Right of the plot or below it.
    pub placement: Placement,
    entries: Vec<Entry>,
}

impl Legend {
    /// Lays out the entries `(label, marker, colour)`: in the right-hand panel if they fit
    /// the canvas height, else below the plot.
    pub(crate) fn new(items: &[(String, Marker, usize)]) -> Legend {
        let right = column_layout(items, LEGEND_WIDTH as i32, RIGHT_TOP);
        let bottom = right.iter().map(|e| e.y + e.lines.len() as i32 * LINE).max().unwrap_or(0);
        if bottom <= HEIGHT as i32 - BELOW_PAD {
            return Legend { placement: Placement::Right, entries: right };
        }
        let (entries, height) = below_layout(items);
        Legend { placement: Placement::Below(height), entries }
    }

    /// Draws the entries on `area` (the panel right of the plot, or the strip below it).
    pub(crate) fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let font = ("sans-serif", FONT_PX * SVG_FONT_SCALE).into_font();
        for e in &self.entries {
            let color = PALETTE[e.color % PALETTE.len()];
            let (mx, my) = (e.x + MARKER_X, e.y + LINE / 2);
            match e.marker {
                Marker::Line => {
                    area.draw(&PathElement::new(vec![(mx, my), (mx + 24, my)], color.stroke_width(2))).map_err(err)?
                }
                Marker::Cross => area.draw(&Cross::new((mx + 12, my), 6, color.stroke_width(2))).map_err(err)?,
                Marker::Band => area
                    .draw(&Rectangle::new([(mx, my - 5), (mx + 24, my + 5)], color.mix(0.18).filled()))
                    .map_err(err)?,
            }
            for (i, line) in e.lines.iter().enumerate() {
                let pos = (e.x + TEXT_X, e.y + i as i32 * LINE);
                area.draw(&Text::new(line.clone(), pos, font.clone())).map_err(err)?;
            }
        }
        Ok(())
    }

    /// The lines of every entry, in order (for tests).
    #[cfg(test)]
    pub(crate) fn lines(&self) -> Vec<Vec<String>> {
        self.entries.iter().map(|e| e.lines.clone()).collect()
    }
}

/// One column of entries `column_width` wide, starting at `top`.
fn column_layout(items: &[(String, Marker, usize)], column_width: i32, top: i32) -> Vec<Entry> {
    let text_width = f64::from(column_width - TEXT_X - RIGHT_PAD);
    let mut y = top;
    let mut out = Vec::with_capacity(items.len());
    for (label, marker, color) in items {
        let lines = wrap(label, FONT_PX, text_width);
        let height = lines.len() as i32 * LINE;
        out.push(Entry { marker: *marker, color: *color, x: 0, y, lines });
        y += height + GAP;
    }
    out
}

/// Entries in [`BELOW_COLUMNS`] columns across the canvas, row by row (each row as tall as
/// its tallest entry), and the height they take.
fn below_layout(items: &[(String, Marker, usize)]) -> (Vec<Entry>, u32) {
    let column_width = WIDTH as i32 / BELOW_COLUMNS as i32;
    let text_width = f64::from(column_width - TEXT_X - RIGHT_PAD);
    let mut out = Vec::with_capacity(items.len());
    let mut y = BELOW_PAD;
    for row in items.chunks(BELOW_COLUMNS) {
        let mut row_lines = 1;
        for (col, (label, marker, color)) in row.iter().enumerate() {
            let lines = wrap(label, FONT_PX, text_width);
            row_lines = row_lines.max(lines.len() as i32);
            out.push(Entry { marker: *marker, color: *color, x: col as i32 * column_width, y, lines });
        }
        y += row_lines * LINE + GAP;
    }
    (out, (y - GAP + BELOW_PAD) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(labels: &[&str]) -> Vec<(String, Marker, usize)> {
        labels.iter().enumerate().map(|(i, l)| (l.to_string(), Marker::Line, i)).collect()
    }

    /// The vertical extent `[top, bottom)` of each entry, by column.
    fn extents(legend: &Legend) -> Vec<(i32, i32, i32)> {
        legend.entries.iter().map(|e| (e.x, e.y, e.y + e.lines.len() as i32 * LINE)).collect()
    }

    #[test]
    fn long_labels_wrap_and_entries_stack_without_overlap() {
        let legend = Legend::new(&items(&[
            "||Theta_emp(0) - Theta|| / ||Theta||",
            "||f_T(X*) - f_lin,T(X*)|| / ||f_lin,T(X*)||",
            "short",
        ]));
        assert_eq!(legend.placement, Placement::Right);
        let lines = legend.lines();
        assert!(lines[0].len() >= 2 && lines[1].len() >= 2 && lines[2].len() == 1, "{lines:?}");
        let ext = extents(&legend);
        for w in ext.windows(2) {
            assert!(w[1].1 >= w[0].2 + GAP, "{ext:?}");
        }
    }

    #[test]
    fn a_legend_taller_than_the_canvas_moves_below_in_columns() {
        let labels: Vec<String> =
            (0..18).map(|i| format!("rho 1.1: driven (tanh saturating), seed group {i}")).collect();
        let legend = Legend::new(&items(&labels.iter().map(String::as_str).collect::<Vec<_>>()));
        let Placement::Below(height) = legend.placement else { panic!("expected the legend below the plot") };
        let ext = extents(&legend);
        // entries of one column do not overlap, and all fit in the strip
        for (i, a) in ext.iter().enumerate() {
            assert!(a.2 <= height as i32, "{a:?} beyond {height}");
            for b in &ext[i + 1..] {
                assert!(a.0 != b.0 || b.1 >= a.2 || a.1 >= b.2, "{a:?} overlaps {b:?}");
            }
        }
        assert_eq!(ext.iter().map(|e| e.0).max(), Some(2 * WIDTH as i32 / 3));
    }
}
