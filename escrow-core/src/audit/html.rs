//! HTML escaping for the audit's pages (`audit::history`, `audit::report`, `audit::public`).
//! A leaf.

/// `s` with `&`, `<`, `>` and `"` escaped, for HTML text and attribute values.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
