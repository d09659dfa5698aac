//! Readable descriptions of warrants, verified warrants, policies and cancellations (what
//! `escrow warrant show|verify|new|approve` and `escrow policy init` print). No I/O.

use super::{
    CancellationEnvelope, CancellationPayload, Policy, Role, Signer, VerifiedWarrant, Warrant,
};

const DAY: u64 = 86_400;

/// `183d`, `5d 12h`, `300s`.
pub fn fmt_secs(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let (d, rest) = (secs / DAY, secs % DAY);
    let (h, rest) = (rest / 3600, rest % 3600);
    let (m, s) = (rest / 60, rest % 60);
    let mut parts = Vec::new();
    for (v, u) in [(d, "d"), (h, "h"), (m, "m"), (s, "s")] {
        if v > 0 {
            parts.push(format!("{v}{u}"));
        }
    }
    parts.join(" ")
}

/// At most eight items, comma separated, or `none` when empty.
fn list_or(items: &[String], none: &str) -> String {
    if items.is_empty() {
        return none.to_string();
    }
    const SHOWN: usize = 8;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" ... ({} in all)", items.len()));
    }
    s
}

/// A key id for display: its first 16 hex digits, or `none`.
pub fn short_hex(s: &str) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s.chars().take(16).collect()
    }
}

/// The warrant's fields, one indented line each.
pub fn summary(w: &Warrant) -> String {
    let p = w.payload();
    let len = u64::try_from(p.validity_secs()).unwrap_or(0);
    let mut lines = vec![
        format!("  digest         {}", w.digest()),
        format!("  case           {}", p.case_reference),
        format!(
            "  type           {}{}",
            p.warrant_type,
            if p.urgent { " (URGENT)" } else { "" }
        ),
        format!("  legal basis    {}", p.legal_basis),
        format!("  issued by      {}", p.issuing_authority),
        format!(
            "  in effect      {} to {} ({})",
            p.not_before,
            p.not_after,
            fmt_secs(len)
        ),
        format!(
            "  targets        {}",
            list_or(&p.scope.targets, "(any account)")
        ),
        format!(
            "  message ids    {}",
            list_or(&p.scope.message_ids, "(any)")
        ),
        format!(
            "  sent between   {} (inclusive) and {} (exclusive)",
            p.scope.window.from, p.scope.window.until
        ),
        format!(
            "  release limit  {}",
            p.max_releases
                .map_or("none of its own".to_string(), |m| format!("{m} messages"))
        ),
        format!("  investigator   key id {}", w.investigator().key_id()),
    ];
    if let Some(parent) = &p.parent_warrant_id {
        lines.push(format!("  renews         {parent}"));
    }
    lines.join("\n")
}

fn signer_line(s: &Signer) -> String {
    format!("{} {:?} (key id {})", s.role, s.name, s.key_id.short())
}

/// A verified warrant: who signed, when checked, under which policy, then its fields.
pub fn verified_summary(w: &VerifiedWarrant) -> String {
    let signed: Vec<String> = w.signers().iter().map(signer_line).collect();
    let mut text = format!(
        "  warrant        {}\n  checked at     {}\n  signed by      {}\n  policy         {}",
        w.id(),
        w.verified_at(),
        signed.join("; "),
        w.policy_digest()
    );
    if let Ok(parsed) = Warrant::parse(w.envelope()) {
        text.push('\n');
        text.push_str(&summary(&parsed));
    }
    text
}

/// A warrant's scope on one line: `targets …; message ids …; sent from … until …`.
pub fn scope_words(scope: &super::Scope) -> String {
    let or_any = |v: &[String]| {
        if v.is_empty() {
            "(any)".to_string()
        } else {
            v.join(", ")
        }
    };
    format!(
        "targets {}; message ids {}; sent from {} until {}",
        or_any(&scope.targets),
        or_any(&scope.message_ids),
        scope.window.from,
        scope.window.until
    )
}

/// The signatures of an envelope: `role (keyid …)`, comma separated.
pub fn signature_list(sigs: &[super::EnvelopeSignature]) -> String {
    sigs.iter()
        .map(|s| format!("{} (keyid {})", s.role, short_hex(&s.keyid)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A policy's authorities, roles and limits, one indented line each (with a warning when it
/// has no double lock).
pub fn policy_lines(policy: &Policy) -> Vec<String> {
    let l = policy.limits();
    let mut lines = Vec::new();
    for o in policy.oversight() {
        lines.push(format!(
            "  {:<18} {:<16} key id {}",
            "oversight",
            o.name,
            o.key.key_id()
        ));
    }
    for au in policy.authorities() {
        lines.push(format!(
            "  {:<18} {:<16} key id {}",
            au.role.as_str(),
            au.name,
            au.key.key_id()
        ));
    }
    let roles: Vec<&str> = policy.required_roles().iter().map(|r| r.as_str()).collect();
    lines.push(format!("  required roles     {}", roles.join(" + ")));
    lines.push(format!(
        "  longest validity   {} normal, {} urgent; clock skew {}",
        fmt_secs(l.max_validity_secs),
        fmt_secs(l.max_urgent_validity_secs),
        fmt_secs(l.clock_skew_secs)
    ));
    lines.push(format!(
        "  release cap        {}",
        l.max_releases
            .map_or("none".to_string(), |m| format!("{m} messages per warrant"))
    ));
    if l.urgent_unapproved_secs > 0 {
        lines.push(format!(
            "  urgent warrants    usable for {} before judicial approval",
            fmt_secs(l.urgent_unapproved_secs)
        ));
    }
    if !policy.required_roles().contains(&Role::Judicial) {
        lines.push(
            "  WARNING: no judicial approval required: this policy has no double lock".into(),
        );
    }
    lines
}

/// A cancellation, not verified (`name`: the file, for the hint how to verify it).
pub fn cancellation_text(c: &CancellationEnvelope, p: &CancellationPayload, name: &str) -> String {
    format!(
        "cancellation of warrant {}  (NOT VERIFIED: use `escrow warrant verify --policy FILE --cancellation {}`)\n  digest         {}\n  warrant digest {}\n  cancelled at   {}\n  reason         {}\n  signatures     {}",
        p.warrant_id,
        name,
        c.digest(),
        p.warrant_digest,
        p.cancelled_at,
        if p.reason.is_empty() {
            "(none given)"
        } else {
            &p.reason
        },
        signature_list(&c.envelope().signatures)
    )
}

/// An envelope's signatures as JSON, not verified: `[{"keyid": …, "role": …}, …]`.
pub fn signatures_json(sigs: &[super::EnvelopeSignature]) -> serde_json::Value {
    let sig = |s: &super::EnvelopeSignature| serde_json::json!({"keyid": s.keyid, "role": s.role});
    sigs.iter().map(sig).collect()
}

/// A warrant as JSON, not verified (`escrow warrant show --json`): id, digest, the
/// investigator's key id, the payload and the signatures.
pub fn warrant_json(w: &Warrant) -> serde_json::Value {
    serde_json::json!({"ok": true, "verified": false, "warrant_id": w.id(), "digest": w.digest().to_hex(),
        "investigator_key_id": w.investigator().key_id().to_hex(), "payload": w.payload(),
        "signatures": signatures_json(&w.envelope().envelope().signatures)})
}

/// A verified warrant as JSON (`escrow warrant verify --json`): what was checked, when, under
/// which policy, who signed, and the payload.
pub fn verified_json(w: &VerifiedWarrant) -> serde_json::Value {
    serde_json::json!({"ok": true, "valid": true, "warrant_id": w.id(), "digest": w.digest().to_hex(),
        "policy_digest": w.policy_digest().to_hex(), "checked_at": w.verified_at(),
        "signers": w.signers(), "approval_deadline": w.approval_deadline(),
        "investigator_key_id": w.investigator().key_id().to_hex(), "payload": w.payload()})
}

/// A cancellation as JSON, not verified (`escrow warrant show --json` on a cancellation).
pub fn cancellation_json(c: &CancellationEnvelope, p: &CancellationPayload) -> serde_json::Value {
    serde_json::json!({"ok": true, "kind": "cancellation", "verified": false, "warrant_id": p.warrant_id,
        "digest": c.digest().to_hex(), "payload": p, "signatures": signatures_json(&c.envelope().signatures)})
}

/// The `payloadType` of a DSSE envelope's JSON, if it is one (to tell a cancellation from a
/// warrant before parsing either).
pub fn payload_type(json: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "payloadType")]
        payload_type: String,
    }
    serde_json::from_str::<Head>(json)
        .ok()
        .map(|h| h.payload_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_days_hours_minutes_seconds() {
        assert_eq!(fmt_secs(183 * DAY), "183d");
        assert_eq!(fmt_secs(DAY + 3661), "1d 1h 1m 1s");
        assert_eq!(fmt_secs(0), "0s");
    }
}
