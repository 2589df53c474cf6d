//! Markdown output: headings, notes and tables, printed and written to a file as one document.

use std::fmt::Write as _;

/// A markdown document built up section by section.
#[derive(Debug, Default)]
pub struct Report {
    text: String,
}

impl Report {
    /// A `##` heading.
    pub fn heading(&mut self, title: &str) {
        let _ = write!(self.text, "\n## {title}\n\n");
    }

    /// A paragraph.
    pub fn para(&mut self, text: &str) {
        let _ = write!(self.text, "{text}\n\n");
    }

    /// A table; cells holding `|` are escaped.
    pub fn table(&mut self, header: &[String], rows: &[Vec<String>]) {
        let line = |cells: &[String]| {
            format!("| {} |\n", cells.iter().map(|c| c.replace('|', "\\|")).collect::<Vec<_>>().join(" | "))
        };
        self.text.push_str(&line(header));
        self.text.push_str(&format!("|{}\n", "---|".repeat(header.len())));
        for r in rows {
            self.text.push_str(&line(r));
        }
        self.text.push('\n');
    }

    /// The document so far.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// `a / b` as "1.23×", or "–" when either is missing or b is 0.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => format!("{:.2}×", a / b),
        _ => "–".into(),
    }
}

/// A number with `digits` decimals, or "–".
pub fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{x:.digits$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_markdown_with_pipes_escaped() {
        let mut r = Report::default();
        r.table(&["a".into(), "b".into()], &[vec!["1".into(), "x|y".into()]]);
        assert_eq!(r.as_str(), "| a | b |\n|---|---|\n| 1 | x\\|y |\n\n");
    }

    #[test]
    fn ratios_need_both_sides() {
        assert_eq!(ratio(Some(3.0), Some(1.5)), "2.00×");
        assert_eq!(ratio(Some(3.0), None), "–");
        assert_eq!(ratio(Some(3.0), Some(0.0)), "–");
    }
}
