//! The demo's narration: numbered steps, each a title, an outcome and a JSON detail.

use crate::out::Out;

/// The steps told so far.
pub struct Story {
    out: Out,
    /// Every step as JSON (`--json` prints them at the end).
    pub steps: Vec<serde_json::Value>,
}

impl Story {
    /// An empty story printed through `out`.
    pub fn new(out: Out) -> Self {
        Story {
            out,
            steps: Vec::new(),
        }
    }

    /// Tell the next step.
    pub fn step(&mut self, title: &str, outcome: &str, detail: serde_json::Value) {
        let n = self.steps.len() + 1;
        self.out.say(&format!(
            "\n[{n}] {title}\n    {}",
            outcome.trim_end().replace('\n', "\n    ")
        ));
        self.steps.push(
            serde_json::json!({"step": n, "title": title, "outcome": outcome, "detail": detail}),
        );
    }
}
