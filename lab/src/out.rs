//! How the demo and the experiments print: readable text by default, exactly one JSON object on
//! stdout with `--json`; progress on stderr.

/// Text or one JSON object on stdout.
#[derive(Clone, Copy, Debug)]
pub struct Out {
    /// Print exactly one JSON object instead of text.
    pub json: bool,
}

impl Out {
    /// Print `text` (text mode) or `json` (JSON mode) on stdout.
    pub fn emit(&self, text: &str, json: serde_json::Value) {
        if self.json {
            println!("{json}");
        } else if !text.is_empty() {
            println!("{}", text.trim_end_matches('\n'));
        }
    }

    /// A narration line: stdout in text mode, nothing in JSON mode.
    pub fn say(&self, text: &str) {
        if !self.json {
            println!("{text}");
        }
    }
}

/// A progress line of an experiment, on stderr.
pub fn progress(line: &str) {
    eprintln!("escrow experiment: {line}");
}
