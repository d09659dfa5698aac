//! Minimal CSV writing (RFC 4180 quoting).

use crate::{Error, Result};
use std::path::Path;

/// One CSV field, quoted if it needs to be.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Render a header and rows.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    out.push_str(
        &header
            .iter()
            .map(|h| field(h))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push('\n');
    for r in rows {
        out.push_str(&r.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// Write a CSV file.
pub fn write(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    std::fs::write(path, render(header, rows)).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// A number for a CSV cell: fixed precision, empty for "not applicable".
pub fn num(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(field("a"), "a");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        let s = render(&["x", "y"], &[vec!["1".into(), "2 3".into()]]);
        assert_eq!(s, "x,y\n1,2 3\n");
        assert_eq!(num(Some(1.0)), "1.000");
        assert_eq!(num(None), "");
        assert_eq!(num(Some(f64::NAN)), "");
    }
}
