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
    /// Neither URLs nor a trustees file given.
    #[error("no trustee given: use --trustee URL (repeat for each), --trustees FILE, or set {ENV}")]
    NoTrustee,
    /// A URL that cannot be added (not a node URL, or plain HTTP to a host not on loopback).
    #[error(transparent)]
    Url(#[from] crate::ClientError),
    /// A URL the file already lists.
    #[error("{url} is already in {path}")]
    AlreadyListed {
        /// The URL.
        url: String,
        /// The file.
        path: String,
    },
}

/// The node URLs to talk to and the CA file to trust: the URLs `given` (on the command line)
/// with the CA given, else the trustees `file`'s URLs with the CA given or, failing that, the
/// file's.
pub fn resolve(
    given: &[String],
    ca_cert: Option<&Path>,
    file: Option<&Path>,
) -> Result<(Vec<String>, Option<PathBuf>), TrusteesFileError> {
    if !given.is_empty() {
        return Ok((given.to_vec(), ca_cert.map(Path::to_path_buf)));
    }
    let f = TrusteesFile::load(file.ok_or(TrusteesFileError::NoTrustee)?)?;
    Ok((f.trustees, ca_cert.map(Path::to_path_buf).or(f.ca_cert)))
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

    /// Add a node URL (checked as [`crate::NodeUrl::parse`] does; one already listed, in any
    /// case and with or without a trailing `/`, is refused). `path` names the file in errors.
    pub fn add_url(
        &mut self,
        url: &str,
        allow_insecure_http: bool,
        path: &str,
    ) -> Result<(), TrusteesFileError> {
        let url = crate::NodeUrl::parse(url, allow_insecure_http)?;
        let listed = |t: &String| t.trim_end_matches('/').eq_ignore_ascii_case(url.as_str());
        if self.trustees.iter().any(listed) {
            return Err(TrusteesFileError::AlreadyListed {
                url: url.to_string(),
                path: path.to_string(),
            });
        }
        self.trustees.push(url.to_string());
        Ok(())
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
    fn given_urls_win_over_the_file_and_a_url_is_listed_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.txt");
        std::fs::write(&file, "https://a:1\nca-cert ca.pem\n").unwrap();
        let given = ["https://b:2".to_string()];
        let (urls, ca) = resolve(&given, None, Some(&file)).unwrap();
        assert_eq!((urls.as_slice(), ca), (&given[..], None));
        let (urls, ca) = resolve(&[], None, Some(&file)).unwrap();
        assert_eq!(
            (urls, ca),
            (
                vec!["https://a:1".to_string()],
                Some(dir.path().join("ca.pem"))
            )
        );
        let mine = Path::new("/mine.pem");
        assert_eq!(
            resolve(&[], Some(mine), Some(&file)).unwrap().1.as_deref(),
            Some(mine)
        );
        assert!(matches!(
            resolve(&[], None, None),
            Err(TrusteesFileError::NoTrustee)
        ));
        let mut f = TrusteesFile::default();
        f.add_url("https://a.example:1", false, "t").unwrap();
        assert!(matches!(
            f.add_url("https://A.EXAMPLE:1/", false, "t"),
            Err(TrusteesFileError::AlreadyListed { .. })
        ));
        assert!(matches!(
            f.add_url("http://a.example:1", false, "t"),
            Err(TrusteesFileError::Url(_))
        ));
        assert_eq!(f.trustees, ["https://a.example:1"]);
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
