//! Renders a figure and checks that a reader can read it: every label lies on the canvas and
//! no two labels overlap.
//!
//! The SVG is parsed and its text laid out by usvg with DejaVu Sans, vendored in
//! `tests/fonts/` (one of the widest common sans-serif faces, so text that fits with it fits
//! with the viewer's usual font too; vendored so that the check needs no system fonts and is
//! the same everywhere). Two independent checks:
//! - text layout: every `<text>` element is laid out (none dropped for want of a font), and
//!   its box (advance width × ascent + descent, after rotation) lies inside the canvas and
//!   overlaps no other label's box;
//! - pixels: resvg renders the figure into a pixmap with a margin around the canvas, and no
//!   pixel in that margin may be painted (nothing, text or line, is drawn beyond the edges).

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{self, Node, Rect, Tree};

/// Width of the margin rendered around the canvas, in pixels.
const MARGIN: u32 = 64;
/// Boxes may touch or overlap by this much (pixels) in either direction: anti-aliasing
/// slack, far below a character width.
const SLACK: f32 = 1.0;

/// Lays out and renders SVG figures with the vendored font.
pub struct FigureChecker {
    options: usvg::Options<'static>,
}

/// One laid-out label: its text and its box on the canvas.
#[derive(Debug)]
pub struct Label {
    pub text: String,
    pub rect: Rect,
}

impl FigureChecker {
    /// Loads the vendored DejaVu Sans and makes it the `sans-serif` family (the only font
    /// the checker knows, so the layout does not depend on the machine).
    pub fn new() -> FigureChecker {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fonts/DejaVuSans.ttf");
        let font = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut options = usvg::Options { font_family: "DejaVu Sans".into(), ..usvg::Options::default() };
        options.fontdb_mut().load_font_data(font);
        options.fontdb_mut().set_sans_serif_family("DejaVu Sans");
        FigureChecker { options }
    }

    /// The labels of `svg`, laid out, and the canvas size; or why it could not be parsed.
    #[allow(dead_code, reason = "used by figures.rs, not by experiments.rs")]
    pub fn labels(&self, svg: &str) -> Result<(Vec<Label>, (f32, f32)), String> {
        let tree = Tree::from_str(svg, &self.options).map_err(|e| format!("not an SVG usvg can read: {e}"))?;
        let mut labels = Vec::new();
        collect_labels(tree.root().children(), &mut labels);
        Ok((labels, (tree.size().width(), tree.size().height())))
    }

    /// Everything wrong with `svg`, one message per problem; empty when the figure is fine.
    pub fn problems(&self, svg: &str) -> Vec<String> {
        let tree = match Tree::from_str(svg, &self.options) {
            Ok(t) => t,
            Err(e) => return vec![format!("not an SVG usvg can read: {e}")],
        };
        let (w, h) = (tree.size().width(), tree.size().height());
        let mut labels = Vec::new();
        collect_labels(tree.root().children(), &mut labels);
        let mut problems = Vec::new();

        let written = svg.matches("<text").count();
        if labels.len() != written {
            problems.push(format!("{written} <text> elements, but only {} were laid out", labels.len()));
        }
        for l in &labels {
            let r = l.rect;
            if r.left() < -SLACK || r.top() < -SLACK || r.right() > w + SLACK || r.bottom() > h + SLACK {
                problems.push(format!("text {:?} at {} runs off the {w} x {h} canvas", l.text, show(r)));
            }
        }
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                let dx = a.rect.right().min(b.rect.right()) - a.rect.left().max(b.rect.left());
                let dy = a.rect.bottom().min(b.rect.bottom()) - a.rect.top().max(b.rect.top());
                if dx > SLACK && dy > SLACK {
                    problems.push(format!(
                        "text {:?} at {} overlaps {:?} at {}",
                        a.text,
                        show(a.rect),
                        b.text,
                        show(b.rect)
                    ));
                }
            }
        }

        let painted = painted_outside(&tree);
        if painted > 0 {
            problems.push(format!("{painted} pixels painted outside the {w} x {h} canvas"));
        }
        problems
    }
}

/// The number of pixels with any paint in a margin of [`MARGIN`] pixels around the canvas.
fn painted_outside(tree: &Tree) -> usize {
    let (w, h) = (tree.size().width().ceil() as u32, tree.size().height().ceil() as u32);
    let mut pixmap = Pixmap::new(w + 2 * MARGIN, h + 2 * MARGIN).expect("a non-empty pixmap");
    let m = MARGIN as f32;
    resvg::render(tree, Transform::from_translate(m, m), &mut pixmap.as_mut());
    let width = pixmap.width();
    let inside = |x: u32, y: u32| (MARGIN..MARGIN + w).contains(&x) && (MARGIN..MARGIN + h).contains(&y);
    pixmap
        .pixels()
        .iter()
        .enumerate()
        .filter(|(i, p)| p.alpha() > 0 && !inside(*i as u32 % width, *i as u32 / width))
        .count()
}

fn collect_labels(nodes: &[Node], out: &mut Vec<Label>) {
    for node in nodes {
        match node {
            Node::Group(g) => collect_labels(g.children(), out),
            Node::Text(t) => {
                let text = t.chunks().iter().map(|c| c.text()).collect::<Vec<_>>().join(" ");
                out.push(Label { text: text.trim().to_string(), rect: t.abs_bounding_box() });
            }
            Node::Path(_) | Node::Image(_) => {}
        }
    }
}

fn show(r: Rect) -> String {
    format!("[{:.0}, {:.0}] x [{:.0}, {:.0}]", r.left(), r.right(), r.top(), r.bottom())
}
