//! How wide a line of text will be, and how to break a label into lines that fit.
//!
//! The SVG names the generic `sans-serif` family and the viewer picks the font, so the width
//! of a label is not known when the figure is written. [`text_width`] is an upper bound: each
//! character counts the advance width, in em, of its class in DejaVu Sans, one of the widest
//! common sans-serif faces (Arial, Helvetica and Liberation Sans are narrower); a test checks
//! the bound against the font itself for every printable ASCII character and each character
//! class used here.

/// The advance width, in em, bounding every character of the class of `c` in DejaVu Sans
/// (its widest members: `r` 0.411, `0`–`9` 0.636, `O` 0.787, `@` 1.0; `Œ` 1.07 among
/// Latin-1, Latin Extended and Greek; `‱` 1.74 among the rest).
pub(crate) fn char_em(c: char) -> f64 {
    match c {
        '\'' | 'i' | 'j' | 'l' | 'I' | 'J' | ' ' | ',' | '.' | '/' | ':' | ';' | '\\' | '|' | 'f' | '-' | '(' | ')'
        | '[' | ']' | 't' | '!' | 'r' => 0.42,
        '"' | '*' | '_' | '`' | 's' | 'z' | '?' | 'c' | 'L' | 'F' | 'k' | 'v' | 'x' | 'y' | 'P' | 'T' | 'Y' | 'o'
        | 'a' | 'e' | 'E' | 'h' | 'n' | 'u' | 'S' | 'b' | 'd' | 'g' | 'p' | 'q' | '$' | '{' | '}' => 0.64,
        '0'..='9' => 0.64,
        'K' | 'A' | 'V' | 'X' | 'Z' | 'B' | 'R' | 'C' | 'U' | 'N' | 'H' | 'D' | 'G' | '&' | 'O' | 'Q' => 0.8,
        c if c.is_ascii() => 1.0,
        '\u{a0}'..='\u{3ff}' | '\u{2070}'..='\u{209f}' | '\u{2190}'..='\u{21ff}' => 1.1,
        _ => 1.75,
    }
}

/// An upper bound on the width in pixels of `text` on one line at font size `px`.
pub(crate) fn text_width(text: &str, px: f64) -> f64 {
    text.chars().map(char_em).sum::<f64>() * px
}

/// Breaks `text` into lines no wider than `width` pixels at font size `px`: greedily at
/// spaces, and inside a word only where the word alone is wider than a line. Never returns
/// an empty list; an empty text gives one empty line.
pub(crate) fn wrap(text: &str, px: f64, width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let joined = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if text_width(&joined, px) <= width {
            line = joined;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // the word starts a line; split it where it alone is too wide
        for c in word.chars() {
            if !line.is_empty() && text_width(&format!("{line}{c}"), px) > width {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_respects_the_width() {
        let text = "||Theta_emp(T) - Theta_emp(0)|| / ||Theta_emp(0)||: ± sd over 3 seeds";
        for width in [60.0, 120.0, 170.0, 400.0] {
            let lines = wrap(text, 12.0, width);
            for l in &lines {
                assert!(text_width(l, 12.0) <= width, "{l:?} is wider than {width}");
            }
            // words survive, in order; a split word is glued back without a space
            let words: String = text.split(' ').collect();
            assert_eq!(lines.concat().replace(' ', ""), words, "width {width}");
        }
        assert_eq!(wrap("short label", 12.0, 400.0), vec!["short label"]);
        assert_eq!(wrap("", 12.0, 100.0), vec![""]);
        // a line holds as many words as fit: two words of width 4 * 0.64 * 10 = 25.6 each
        assert_eq!(wrap("aaaa bbbb cccc", 10.0, 56.0), vec!["aaaa bbbb", "cccc"]);
    }

    /// The advance widths in em of DejaVu Sans's glyphs, from the font's own layout: usvg
    /// shapes the text with the vendored font, and the text bounding box spans the advances.
    fn dejavu_advance_em(chars: &[char]) -> Vec<f64> {
        use resvg::usvg;
        let font = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fonts/DejaVuSans.ttf")).unwrap();
        let mut opt = usvg::Options::default();
        opt.fontdb_mut().load_font_data(font);
        opt.fontdb_mut().set_sans_serif_family("DejaVu Sans");
        let px = 100.0;
        let width = |text: &str| {
            let escaped = text.replace('&', "&amp;").replace('<', "&lt;");
            let svg = format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200"><text x="10" y="150" font-family="sans-serif" font-size="{px}" xml:space="preserve">{escaped}</text></svg>"#
            );
            let tree = usvg::Tree::from_str(&svg, &opt).unwrap();
            let Some(usvg::Node::Text(t)) = tree.root().children().first() else { panic!("{text:?} laid out no text") };
            f64::from(t.bounding_box().width()) / px
        };
        // a lone space lays out no text: measure it between two letters
        chars.iter().map(|&c| if c == ' ' { width("x x") - width("xx") } else { width(&c.to_string()) }).collect()
    }

    #[test]
    fn the_width_bound_holds_for_dejavu_sans() {
        let mut chars: Vec<char> = (' '..='~').collect();
        chars.extend("±×→≈∞χσθηλμΘΣ²·–Œ—‱".chars());
        let true_em = dejavu_advance_em(&chars);
        for (&c, &em) in chars.iter().zip(&true_em) {
            assert!(em <= char_em(c), "{c:?}: DejaVu Sans advance {em} em > bound {}", char_em(c));
            // and the bound is not loose beyond its class: within 0.25 em for ASCII
            if c.is_ascii() {
                assert!(char_em(c) - em < 0.25, "{c:?}: bound {} em for an advance of {em}", char_em(c));
            }
        }
    }
}
