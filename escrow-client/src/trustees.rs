//! The trustees file: the nodes a user talks to, and the CA to trust, so that `--trustee URL`
//! need not be repeated (`escrow trustees add` writes it; `--trustees FILE` or the environment
//! variable [`ENV`] names it).
//!
//! Two forms are read:
//!
//! * JSON (what `escrow trustees add` writes):
//!   `{"version": 1, "trustees": ["https://t1.example:8443", …], "ca_cert": "ca.pem"}`
//!   (`ca_cert` optional; unknown fields refused);
//! * text: one URL per line; blank lines and lines starting with `#` are skipped; a line
//!   `ca-cert FILE` names the CA.
//!
//! A relative `ca_cert` is relative to the folder of the trustees file.

use escrow_core::codec::V1;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The environment variable that names the trustees file.
pub const ENV: &str = "ESCROW_TRUSTEES";

/// A trustees file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrusteesFile {
    /// Format version.
    pub version: V1,
    /// Node base URLs, in the order they are asked.
    pub trustees: Vec<String>,
    /// PEM file of the CA (or self-signed node certificate) to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
}

/// Why a trustees file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrusteesFileError {
    /// Not readable.
    #[error("{path}: cannot read the trustees file: {detail}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// Neither form.
    #[error("{path}: not a trustees file: {detail}")]
    Malformed {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
}

impl TrusteesFile {
    /// Parse either form. `base` is the file's folder (for a relative CA path).
    pub fn parse(text: &str, base: &Path, path: &str) -> Result<Self, TrusteesFileError> {
        let mut f = if text.trim_start().starts_with('{') {
            serde_json::from_str::<TrusteesFile>(text).map_err(|e| {
                TrusteesFileError::Malformed {
                    path: path.to_string(),
                    detail: e.to_string(),
                }
            })?
        } else {
            let mut f = TrusteesFile::default();
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                if let Some(ca) = l.strip_prefix("ca-cert ") {
                    f.ca_cert = Some(PathBuf::from(ca.trim()));
                } else if l.contains("://") && !l.contains(char::is_whitespace) {
                    f.trustees.push(l.to_string());
                } else {
                    return Err(TrusteesFileError::Malformed {
                        path: path.to_string(),
                        detail: format!(
                            "line {}: expected a URL or `ca-cert FILE`, found {l:?}",
                            i + 1
                        ),
                    });
                }
            }
            f
        };
        if f.trustees.is_empty() {
            return Err(TrusteesFileError::Malformed {
                path: path.to_string(),
                detail: "no trustee URL".into(),
            });
        }
        if let Some(ca) = &f.ca_cert
            && ca.is_relative()
        {
            f.ca_cert = Some(base.join(ca));
        }
        Ok(f)
    }

    /// Read a trustees file.
    pub fn load(path: &Path) -> Result<Self, TrusteesFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrusteesFileError::Read {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base, &path.display().to_string())
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        escrow_core::codec::to_json_pretty(self)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_read_and_a_relative_ca_is_beside_the_file() {
        let base = Path::new("/etc/escrow");
        let j = r#"{"version":1,"trustees":["https://a:1","https://b:2"],"ca_cert":"ca.pem"}"#;
        let f = TrusteesFile::parse(j, base, "t.json").unwrap();
        assert_eq!(f.trustees, ["https://a:1", "https://b:2"]);
        assert_eq!(f.ca_cert.as_deref(), Some(Path::new("/etc/escrow/ca.pem")));
        let t = "# my trustees\nhttps://a:1\n\nhttps://b:2\nca-cert /x/ca.pem\n";
        let g = TrusteesFile::parse(t, base, "t.txt").unwrap();
        assert_eq!(g.trustees, f.trustees);
        assert_eq!(g.ca_cert.as_deref(), Some(Path::new("/x/ca.pem")));
    }

    #[test]
    fn unknown_fields_junk_lines_and_empty_files_are_refused() {
        let base = Path::new(".");
        for bad in [
            r#"{"version":1,"trustees":["https://a:1"],"extra":1}"#,
            r#"{"version":2,"trustees":["https://a:1"]}"#,
            "https://a:1\nnot a url\n",
            "# nothing\n",
        ] {
            assert!(
                matches!(
                    TrusteesFile::parse(bad, base, "f"),
                    Err(TrusteesFileError::Malformed { .. })
                ),
                "{bad}"
            );
        }
    }
}
