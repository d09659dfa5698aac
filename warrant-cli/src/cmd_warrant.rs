//! `escrow policy init` and `escrow warrant new|approve|show|verify|cancel`.
//!
//! Thin shells over `escrow_core::warrant`: files in, files out, the clock read here (never in
//! the library). A warrant that fails a check exits with code 3 and prints
//! `<reason-code>: <detail>. <sentence>`.

use crate::cmd_keys::{load_private, load_public};
use crate::io::{self, Out};
use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand};
use escrow_client::cancel;
use escrow_core::time::Timestamp;
use escrow_core::warrant::describe::{self, summary, verified_summary};
use escrow_core::warrant::{
    Authority, CancellationEnvelope, CancellationPayload, Policy, PolicyLimits, Refusal, Role,
    Scope, Warrant, WarrantEnvelope, WarrantPayload, Window,
};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `escrow policy ...`
#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Write a trustee policy: the authority keys and their roles, the roles that must all
    /// sign (default issuer and judicial: the double lock), validity limits, clock skew and
    /// release cap.
    Init(PolicyInitArgs),
}

#[derive(Args)]
pub struct PolicyInitArgs {
    /// Public key (SPKI PEM) of an authority that issues warrants (Secretary of State).
    /// Repeatable. Its name in the policy is the file name without extension.
    #[arg(long, value_name = "PUB")]
    pub issuer: Vec<PathBuf>,
    /// Public key (SPKI PEM) of an authority that approves warrants (Judicial Commissioner).
    /// Repeatable.
    #[arg(long, value_name = "PUB")]
    pub judicial: Vec<PathBuf>,
    /// Public key (SPKI PEM) of an oversight body (Investigatory Powers Commissioner): it may
    /// read every warrant a trustee holds (signed requests to `/v1/log/envelope`), and holds
    /// no role. Repeatable. Makes the policy format version 2.
    #[arg(long, value_name = "PUB")]
    pub oversight: Vec<PathBuf>,
    /// A role that must sign every warrant. Repeatable. Default: issuer and judicial.
    #[arg(long = "require", value_name = "ROLE", value_parser = parse_role)]
    pub require: Vec<Role>,
    /// Longest validity of a normal warrant (e.g. 183d, 12h, 3600s).
    #[arg(long, value_name = "DURATION", default_value = "183d", value_parser = io::parse_duration)]
    pub max_validity: u64,
    /// Longest validity of an urgent warrant.
    #[arg(long, value_name = "DURATION", default_value = "5d", value_parser = io::parse_duration)]
    pub max_urgent_validity: u64,
    /// Accepted clock skew before a warrant's not-before (never extends its not-after).
    #[arg(long, value_name = "DURATION", default_value = "300s", value_parser = io::parse_duration)]
    pub clock_skew: u64,
    /// Cap on any warrant's release limit; warrants without a limit are then refused.
    #[arg(long, value_name = "N")]
    pub max_releases: Option<u64>,
    /// How long an urgent warrant may be used with the issuer's signature alone, before the
    /// judicial approval (IPA 2016 s.24). Default 0: never.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = io::parse_duration)]
    pub urgent_unapproved: u64,
    /// Output file (`-`: standard output; the report then goes to standard error).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `escrow warrant ...`
#[derive(Subcommand)]
pub enum WarrantCmd {
    /// Issue a warrant signed by the issuer (it still needs judicial approval).
    New(Box<NewArgs>),
    /// Add an approval signature (default role judicial) to a warrant file.
    Approve(ApproveArgs),
    /// Show a warrant's (or a cancellation's) contents and signatures, without verifying them.
    Show(ShowArgs),
    /// Verify a warrant against a trustee policy: exit 0 and "valid", or exit 3 with the reason.
    Verify(VerifyArgs),
    /// Write a signed cancellation of a warrant.
    Cancel(CancelArgs),
}

#[derive(Args)]
pub struct NewArgs {
    /// The issuer's private key (PKCS#8 PEM).
    #[arg(long, value_name = "KEY")]
    pub issuer_key: PathBuf,
    /// Case or operation reference.
    #[arg(long, value_name = "CASE")]
    pub case: String,
    /// Target account: messages from or to it. Repeatable.
    #[arg(long, value_name = "ACCOUNT")]
    pub target: Vec<String>,
    /// Explicit message id. Repeatable. With targets, both must match.
    #[arg(long, value_name = "ID")]
    pub message: Vec<String>,
    /// Start of the window on the message timestamp (RFC 3339, or `now`, `now-2h`, `now+7d`;
    /// inclusive).
    #[arg(long, value_name = "TIME", value_parser = io::parse_time)]
    pub from: Timestamp,
    /// End of the window on the message timestamp (RFC 3339 or `now±DURATION`; exclusive).
    #[arg(long, value_name = "TIME", value_parser = io::parse_time)]
    pub until: Timestamp,
    /// The investigator's public key (SPKI PEM): released shares are encrypted to it.
    #[arg(long, value_name = "PUB")]
    pub investigator: PathBuf,
    /// When the warrant takes effect. Default: now.
    #[arg(long, value_name = "TIME", value_parser = io::parse_time)]
    pub not_before: Option<Timestamp>,
    /// When it ceases to have effect. Default: not-before + 183 days (5 days if urgent).
    #[arg(long, value_name = "TIME", value_parser = io::parse_time)]
    pub not_after: Option<Timestamp>,
    /// Urgent warrant (IPA 2016 s.24): issued before judicial approval, short validity.
    #[arg(long)]
    pub urgent: bool,
    /// Most distinct messages that may be released under it.
    #[arg(long, value_name = "N")]
    pub max_releases: Option<u64>,
    /// Legal basis (free text).
    #[arg(long, value_name = "TEXT", default_value = "IPA 2016 s.15(2)")]
    pub legal_basis: String,
    /// Kind of warrant (IPA 2016 s.31(1)).
    #[arg(long, value_name = "TEXT", default_value = "targeted-interception")]
    pub warrant_type: String,
    /// Issuing authority (free text).
    #[arg(long, value_name = "TEXT", default_value = "Secretary of State")]
    pub authority: String,
    /// Warrant id. Default: random (`w-` and 24 hex digits).
    #[arg(long, value_name = "ID")]
    pub warrant_id: Option<String>,
    /// The id of the warrant this one renews (IPA 2016 s.33).
    #[arg(long, value_name = "ID")]
    pub parent: Option<String>,
    /// Output file (`-`: standard output; the report then goes to standard error).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct ApproveArgs {
    /// The approver's private key (PKCS#8 PEM).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The role the signature is made in.
    #[arg(long, value_name = "ROLE", default_value = "judicial", value_parser = parse_role)]
    pub role: Role,
    /// Write the approved warrant here (`-`: standard output) instead of updating the file in
    /// place (a warrant read from standard input goes to standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The warrant file.
    pub warrant: PathBuf,
}

#[derive(Args)]
pub struct ShowArgs {
    /// The warrant file, or a cancellation file (`-`: standard input).
    pub warrant: PathBuf,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The trustee policy file.
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// Check as of this time (RFC 3339). Default: now.
    #[arg(long, value_name = "TIME", value_parser = io::parse_time)]
    pub at: Option<Timestamp>,
    /// A cancellation the trustee has seen. Repeatable. Each must verify under the policy.
    #[arg(long, value_name = "FILE")]
    pub cancellation: Vec<PathBuf>,
    /// The warrant file.
    pub warrant: PathBuf,
}

#[derive(Args)]
pub struct CancelArgs {
    /// The canceller's private key (PKCS#8 PEM).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The role the cancellation is signed in (issuer under s.39; judicial for a refused
    /// urgent warrant under s.24(4)).
    #[arg(long, value_name = "ROLE", default_value = "issuer", value_parser = parse_role)]
    pub role: Role,
    /// The warrant to cancel (as for approve/show/verify: positional; `--warrant FILE` is
    /// kept as an alias).
    #[arg(value_name = "WARRANT", required_unless_present = "warrant_flag")]
    pub warrant: Option<PathBuf>,
    /// The warrant to cancel (the older spelling of the positional WARRANT).
    #[arg(long = "warrant", value_name = "FILE", conflicts_with = "warrant")]
    pub warrant_flag: Option<PathBuf>,
    /// Why (free text).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Time of the cancellation. Default: now.
    #[arg(long, value_name = "TIME", value_parser = io::parse_time)]
    pub at: Option<Timestamp>,
    /// Output file (`-`: standard output; the report then goes to standard error).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Deliver the signed cancellation to this trustee node (repeat for every trustee) and
    /// report each answer. Without it, the trustees file (--trustees or ESCROW_TRUSTEES) if
    /// one is named; else the cancellation is only written.
    #[arg(long = "trustee", value_name = "URL")]
    pub trustees: Vec<String>,
    #[command(flatten)]
    pub net: crate::net::NetArgs,
    /// Per-request timeout in seconds (delivery).
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse::<Role>().map_err(|e| e.detail)
}

/// A refusal as an exit-code-3 error: `<code>: <detail>. <sentence>`.
fn refused(r: Refusal) -> anyhow::Error {
    anyhow::Error::new(crate::Refused(format!("{r}. {}", r.code.sentence())))
}

/// A refusal on an input the user gave us to work with (not a verdict): exit code 1.
fn bad_input(path: &Path, r: Refusal) -> anyhow::Error {
    anyhow!("{}: {r}", path.display())
}

fn authority_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "authority".into())
}

pub fn load_envelope(path: &Path) -> Result<WarrantEnvelope> {
    let text = io::read_text(path, "warrant")?;
    WarrantEnvelope::from_json(&text).map_err(|r| bad_input(path, r))
}

pub(crate) fn load_policy(path: &Path) -> Result<Policy> {
    let text = io::read_text(path, "policy")?;
    Policy::from_json(&text).map_err(|r| bad_input(path, r))
}

pub fn policy(cmd: PolicyCmd, out: Out) -> Result<()> {
    match cmd {
        PolicyCmd::Init(a) => policy_init(a, out),
    }
}

pub fn warrant(cmd: WarrantCmd, out: Out) -> Result<()> {
    match cmd {
        WarrantCmd::New(a) => new(*a, out),
        WarrantCmd::Approve(a) => approve(a, out),
        WarrantCmd::Show(a) => show(a, out),
        WarrantCmd::Verify(a) => verify(a, out),
        WarrantCmd::Cancel(a) => cancel(a, out),
    }
}

fn policy_init(a: PolicyInitArgs, out: Out) -> Result<()> {
    io::refuse_existing(&a.out)?;
    let mut authorities = Vec::new();
    for (role, paths) in [(Role::Issuer, &a.issuer), (Role::Judicial, &a.judicial)] {
        for p in paths {
            authorities.push(Authority {
                name: authority_name(p),
                role,
                key: load_public(p)?,
            });
        }
    }
    let required = if a.require.is_empty() {
        vec![Role::Issuer, Role::Judicial]
    } else {
        a.require
    };
    let limits = PolicyLimits {
        max_validity_secs: a.max_validity,
        max_urgent_validity_secs: a.max_urgent_validity,
        clock_skew_secs: a.clock_skew,
        max_releases: a.max_releases,
        urgent_unapproved_secs: a.urgent_unapproved,
    };
    let mut oversight = Vec::new();
    for p in &a.oversight {
        oversight.push(escrow_core::warrant::Oversight {
            name: authority_name(p),
            key: load_public(p)?,
        });
    }
    let policy = Policy::new(authorities, required, limits)
        .and_then(|p| p.with_oversight(oversight))
        .map_err(|r| anyhow!("refusing to write this policy: {r}"))?;
    let mut text = policy.to_json_pretty();
    text.push('\n');
    io::write_output(&a.out, text.as_bytes())?;
    let mut lines = vec![format!(
        "wrote {} (policy digest {})",
        a.out.display(),
        policy.digest()
    )];
    lines.extend(describe::policy_lines(&policy));
    let policy_value: serde_json::Value =
        serde_json::from_str(&policy.to_json()).unwrap_or(serde_json::Value::Null);
    out.emit(
        &lines.join("\n"),
        json!({"ok": true, "file": a.out, "digest": policy.digest().to_hex(), "policy": policy_value}),
    );
    Ok(())
}

fn new(a: NewArgs, out: Out) -> Result<()> {
    io::refuse_existing(&a.out)?;
    let key = load_private(&a.issuer_key)?;
    let investigator = load_public(&a.investigator)?;
    let not_before = a.not_before.unwrap_or_else(io::now);
    let not_after =
        (a.not_after).unwrap_or_else(|| WarrantPayload::default_not_after(not_before, a.urgent));
    let warrant_id = (a.warrant_id).unwrap_or_else(|| WarrantPayload::random_id(&mut rand::rng()));
    let payload = WarrantPayload {
        version: Default::default(),
        warrant_id,
        case_reference: a.case,
        warrant_type: a.warrant_type,
        legal_basis: a.legal_basis,
        issuing_authority: a.authority,
        scope: Scope {
            targets: a.target,
            message_ids: a.message,
            window: Window {
                from: a.from,
                until: a.until,
            },
        },
        investigator_key: investigator.to_pem(),
        not_before,
        not_after,
        max_releases: a.max_releases,
        urgent: a.urgent,
        parent_warrant_id: a.parent,
    };
    let env = WarrantEnvelope::sign_new(&payload, &key, Role::Issuer)
        .map_err(|r| anyhow!("refusing to issue this warrant: {r}"))?;
    let mut text = env.to_json_pretty();
    text.push('\n');
    io::write_output(&a.out, text.as_bytes())?;
    let warrant = Warrant::parse(&env).map_err(|r| anyhow!("internal error: {r}"))?;
    let text = format!(
        "wrote {}: warrant {} signed as issuer (key id {})\n{}\nnext: the judicial approval, e.g. `escrow warrant approve --key jc.key {}`",
        a.out.display(),
        payload.warrant_id,
        key.public().key_id().short(),
        summary(&warrant),
        a.out.display()
    );
    out.emit(
        &text,
        json!({"ok": true, "file": a.out, "warrant_id": payload.warrant_id, "digest": env.digest().to_hex(),
               "signatures": describe::signatures_json(&env.envelope().signatures)}),
    );
    Ok(())
}

fn approve(a: ApproveArgs, out: Out) -> Result<()> {
    let key = load_private(&a.key)?;
    let mut env = load_envelope(&a.warrant)?;
    let warrant = Warrant::parse(&env).map_err(|r| bad_input(&a.warrant, r))?;
    env.add_signature(&key, a.role)
        .map_err(|r| bad_input(&a.warrant, r))?;
    let dest = a.out.unwrap_or_else(|| a.warrant.clone());
    let mut text = env.to_json_pretty();
    text.push('\n');
    io::write_output(&dest, text.as_bytes())?;
    let roles: Vec<String> = env
        .envelope()
        .signatures
        .iter()
        .map(|s| s.role.to_string())
        .collect();
    out.emit(
        &format!(
            "approved warrant {} as {} (key id {}); it now carries signatures: {}\n{}\nwrote {}",
            warrant.id(),
            a.role,
            key.public().key_id().short(),
            roles.join(", "),
            summary(&warrant),
            dest.display()
        ),
        json!({"ok": true, "file": dest, "warrant_id": warrant.id(), "digest": env.digest().to_hex(),
               "role": a.role, "signatures": describe::signatures_json(&env.envelope().signatures)}),
    );
    Ok(())
}

/// `warrant show` on a cancellation file: its contents and signatures, not verified.
fn show_cancellation(path: &Path, text: &str, out: Out) -> Result<()> {
    let c = CancellationEnvelope::from_json(text).map_err(|r| bad_input(path, r))?;
    let p: CancellationPayload = serde_json::from_slice(&c.envelope().payload).map_err(|e| {
        anyhow!(
            "{}: the cancellation's payload is malformed: {e}",
            path.display()
        )
    })?;
    let text = describe::cancellation_text(&c, &p, &path.display().to_string());
    out.emit(&text, describe::cancellation_json(&c, &p));
    Ok(())
}

fn show(a: ShowArgs, out: Out) -> Result<()> {
    let text = io::read_text(&a.warrant, "warrant or cancellation")?;
    if describe::payload_type(&text).as_deref()
        == Some(escrow_core::warrant::CANCELLATION_PAYLOAD_TYPE)
    {
        return show_cancellation(&a.warrant, &text, out);
    }
    let env = WarrantEnvelope::from_json(&text).map_err(|r| bad_input(&a.warrant, r))?;
    let warrant = Warrant::parse(&env).map_err(|r| bad_input(&a.warrant, r))?;
    let text = format!(
        "warrant {}  (NOT VERIFIED: use `escrow warrant verify --policy FILE`)\n{}\n  signatures     {}",
        warrant.id(),
        summary(&warrant),
        describe::signature_list(&env.envelope().signatures)
    );
    out.emit(&text, describe::warrant_json(&warrant));
    Ok(())
}

fn verify(a: VerifyArgs, out: Out) -> Result<()> {
    let policy = load_policy(&a.policy)?;
    let at = a.at.unwrap_or_else(io::now);
    let mut cancelled = BTreeSet::new();
    for p in &a.cancellation {
        let text = io::read_text(p, "cancellation")?;
        let env = CancellationEnvelope::from_json(&text).map_err(|r| bad_input(p, r))?;
        let c = policy.verify_cancellation(&env, at).map_err(|r| {
            anyhow!(
                "{}: the cancellation does not verify under the policy: {r}",
                p.display()
            )
        })?;
        cancelled.insert(c.warrant_id().to_string());
    }
    let text = io::read_text(&a.warrant, "warrant")?;
    let env = WarrantEnvelope::from_json(&text).map_err(refused)?;
    let w = policy
        .verify(&env, at, &|id| cancelled.contains(id))
        .map_err(refused)?;
    let mut text = format!("valid\n{}", verified_summary(&w));
    if let Some(d) = w.approval_deadline() {
        text.push_str(&format!(
            "\n  URGENT AND NOT YET APPROVED: refused from {d} unless the judicial approval is added"
        ));
    }
    out.emit(&text, describe::verified_json(&w));
    Ok(())
}

fn cancel(mut a: CancelArgs, out: Out) -> Result<()> {
    let warrant_path = a
        .warrant
        .take()
        .or(a.warrant_flag.take())
        .ok_or_else(|| crate::Usage("name the warrant to cancel: WARRANT".into()))?;
    io::refuse_existing(&a.out)?;
    let key = load_private(&a.key)?;
    let env = load_envelope(&warrant_path)?;
    let warrant = Warrant::parse(&env).map_err(|r| bad_input(&warrant_path, r))?;
    let at = a.at.unwrap_or_else(io::now);
    let payload = CancellationPayload::of(&warrant, at, a.reason);
    let c = CancellationEnvelope::sign_new(&payload, &key, a.role)
        .map_err(|r| anyhow!("refusing to write this cancellation: {r}"))?;
    let mut text = c.to_json_pretty();
    text.push('\n');
    let deliver = !a.trustees.is_empty() || a.net.trustees_file.is_some();
    // Check the delivery options before writing anything.
    let clients = if deliver {
        a.net.clients(&a.trustees, a.timeout, 3)?
    } else {
        Vec::new()
    };
    io::write_output(&a.out, text.as_bytes())
        .with_context(|| format!("cannot write the cancellation {}", a.out.display()))?;
    let wrote = format!(
        "wrote {}: cancellation of warrant {} (digest {}) signed as {} (key id {})",
        a.out.display(),
        warrant.id(),
        env.digest().short(),
        a.role,
        key.public().key_id().short()
    );
    let summary = |ok: bool, trustees: Option<Vec<serde_json::Value>>| {
        json!({"ok": ok, "file": a.out, "warrant_id": warrant.id(), "warrant_digest": env.digest().to_hex(),
               "digest": c.digest().to_hex(), "role": a.role, "trustees": trustees})
    };
    if !deliver {
        out.emit(
            &format!("{wrote}\ngive it to every trustee (--trustee URL …): once seen, the warrant is dead for good"),
            summary(true, None),
        );
        return Ok(());
    }
    let r = cancel::deliver_all(&clients, &text);
    out.emit(
        &format!("{wrote}\ndelivered to the trustees:\n{}", r.to_text()),
        summary(r.all_accepted(), Some(r.to_json())),
    );
    if r.refused() > 0 {
        return Err(crate::Reported::refused(format!(
            "{} trustee(s) refused the cancellation",
            r.refused()
        )));
    }
    if r.failed() > 0 {
        return Err(crate::Reported::error(format!(
            "{} trustee(s) could not be reached: give them {} when they are back",
            r.failed(),
            a.out.display()
        )));
    }
    Ok(())
}
