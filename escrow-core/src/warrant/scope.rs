//! Scope matching: is an escrow label covered by a warrant's scope, and if not, why.
//!
//! Every constraint applies (AND):
//! * **account** — when `targets` is non-empty, the label's sender or recipient must be one of
//!   them, compared in normal form (`label::normalize_account`: Unicode NFC, lower-case
//!   domain) on both sides, so `zoë@exämple.org` in NFD and `Zoë@EXÄMPLE.org`'s domain match a
//!   target written in NFC with a lower-case domain;
//! * **window** — the label's timestamp `t` must satisfy `from <= t < until`: the start is
//!   inclusive, the end exclusive, so consecutive windows `[a, b)`, `[b, c)` never overlap;
//! * **message id** — when `message_ids` is non-empty, the label's message id must be one of them.
//!
//! A scope with neither targets nor message ids is malformed and never matches anything.

use crate::label::{Label, normalize_account};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The time window on the message timestamp: `[from, until)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// First second covered (inclusive).
    pub from: Timestamp,
    /// First second no longer covered (exclusive).
    pub until: Timestamp,
}

impl Window {
    /// `from <= t < until`.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.from <= t && t < self.until
    }
}

/// Which messages a warrant covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Target accounts: a message matches if its sender or recipient is one of them (both
    /// compared in normal form, `label::normalize_account`).
    /// Empty means "no account constraint" and is allowed only with message ids.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Explicit message ids. Empty means "no message-id constraint".
    #[serde(default)]
    pub message_ids: Vec<String>,
    /// The window on the message timestamp.
    pub window: Window,
}

/// Why a label is out of scope. The first failing constraint is reported, in the order
/// account, window, message id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScopeMiss {
    /// Neither the sender nor the recipient is a target.
    Account,
    /// The message time is before the window's start.
    BeforeWindow,
    /// The message time is at or after the window's end.
    AfterWindow,
    /// The message id is not listed.
    MessageId,
    /// The scope names no target and no message id; it matches nothing.
    EmptyScope,
}

impl ScopeMiss {
    /// Stable short name (`account`, `before-window`, `after-window`, `message-id`, `empty-scope`).
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeMiss::Account => "account",
            ScopeMiss::BeforeWindow => "before-window",
            ScopeMiss::AfterWindow => "after-window",
            ScopeMiss::MessageId => "message-id",
            ScopeMiss::EmptyScope => "empty-scope",
        }
    }
}

/// A scope prepared for many lookups (sets instead of lists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeMatcher {
    targets: BTreeSet<String>,
    message_ids: BTreeSet<String>,
    window: Window,
}

impl ScopeMatcher {
    /// Index a scope.
    pub fn new(scope: &Scope) -> Self {
        ScopeMatcher {
            targets: scope
                .targets
                .iter()
                .map(|t| normalize_account(t).into_owned())
                .collect(),
            message_ids: scope.message_ids.iter().cloned().collect(),
            window: scope.window,
        }
    }

    /// In scope, or the first constraint that fails.
    pub fn check(&self, label: &Label) -> Result<(), ScopeMiss> {
        if self.targets.is_empty() && self.message_ids.is_empty() {
            return Err(ScopeMiss::EmptyScope);
        }
        if !self.targets.is_empty()
            && !self
                .targets
                .contains(normalize_account(&label.sender).as_ref())
            && !self
                .targets
                .contains(normalize_account(&label.recipient).as_ref())
        {
            return Err(ScopeMiss::Account);
        }
        if label.timestamp < self.window.from {
            return Err(ScopeMiss::BeforeWindow);
        }
        if label.timestamp >= self.window.until {
            return Err(ScopeMiss::AfterWindow);
        }
        if !self.message_ids.is_empty() && !self.message_ids.contains(&label.message_id) {
            return Err(ScopeMiss::MessageId);
        }
        Ok(())
    }

    /// A sentence for a miss that names the warrant's constraint but never the label's values.
    pub fn explain(&self, miss: ScopeMiss) -> String {
        match miss {
            ScopeMiss::Account => format!(
                "neither the message's sender nor its recipient is among the warrant's {} target account(s)",
                self.targets.len()
            ),
            ScopeMiss::BeforeWindow => format!(
                "the message was sent before the warrant's window opens ({})",
                self.window.from
            ),
            ScopeMiss::AfterWindow => format!(
                "the message was sent at or after the warrant's window closes ({}, exclusive)",
                self.window.until
            ),
            ScopeMiss::MessageId => format!(
                "the message id is not among the warrant's {} listed message id(s)",
                self.message_ids.len()
            ),
            ScopeMiss::EmptyScope => {
                "the warrant's scope names no target and no message id".to_string()
            }
        }
    }
}

impl Scope {
    /// In scope, or the first constraint that fails. For many labels, build a
    /// [`ScopeMatcher`] once.
    pub fn check(&self, label: &Label) -> Result<(), ScopeMiss> {
        ScopeMatcher::new(self).check(label)
    }
}
