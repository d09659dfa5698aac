//! `escrow demo --local`: the cryptographic core, narrated, in one process.
//!
//! Every step checks its own outcome; a step that does not turn out as the protocol says stops
//! the demo with an error (so the demo doubles as a smoke test).

use crate::args::DemoArgs;
use crate::files;
use crate::out::Out;
use crate::parties;
use crate::story::Story;
use anyhow::{Context, Result, bail, ensure};
use escrow_core::Error as CoreError;
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::message::{self, SealedMessage};
use escrow_core::share::{self, DecryptionShare, ShareContext};
use escrow_core::time::Timestamp;
use escrow_core::trustee::{self, VerifiedKeyShare};

pub fn run(a: &DemoArgs, out: Out) -> Result<()> {
    let (n, k) = trustee::check_parameters(a.trustees, a.threshold)?;
    ensure!(
        k >= 2,
        "the demo needs a threshold of at least 2 (to show k-1 trustees failing)"
    );
    if let Some(dir) = &a.keep {
        files::refuse_existing(dir)?;
    }
    let mut rng = rand::rng();
    let mut nar = Story::new(out);
    out.say(&format!(
        "Threshold key escrow, local demo: every message key is also wrapped to {n} trustees, any {k} of whom can unwrap it."
    ));

    // 1. Trustee set
    let dealing = trustee::deal(a.trustees, a.threshold, &mut rng)?;
    let set = dealing.set;
    let shares: Vec<VerifiedKeyShare> = dealing
        .secrets
        .iter()
        .map(|s| set.verify_share(s.key_share.clone()))
        .collect::<Result<_, _>>()?;
    nar.step(
        &format!("A dealer sets up a {k}-of-{n} trustee set (Feldman VSS on P-256)"),
        &format!(
            "escrow key Y = {}\nset id {}\neach trustee checked its share against the public commitments; the dealer's secret was erased",
            set.escrow_key().to_hex(),
            set.id().short()
        ),
        serde_json::json!({"set_id": set.id().to_hex(), "threshold": k, "trustees": n}),
    );

    // 2. Users and traffic
    let users = ["alice", "bob", "carol"];
    let keys: Vec<PrivateKey> = users
        .iter()
        .map(|_| PrivateKey::generate(&mut rng))
        .collect();
    let key_of = |name: &str| -> Result<&PrivateKey> {
        users
            .iter()
            .position(|u| *u == name)
            .and_then(|i| keys.get(i))
            .context("unknown demo user")
    };
    let traffic = [
        ("alice", "bob", "2026-11-02T09:15:00Z", "Lunch on Thursday?"),
        (
            "bob",
            "alice",
            "2026-11-02T09:20:00Z",
            "Yes - the usual place at one.",
        ),
        (
            "carol",
            "bob",
            "2026-11-03T18:02:00Z",
            "The draft report is attached.",
        ),
        (
            "alice",
            "carol",
            "2026-11-04T07:45:00Z",
            "Running late, start without me.",
        ),
    ];
    let mut mailbox: Vec<SealedMessage> = Vec::new();
    for (i, (from, to, at, body)) in traffic.iter().enumerate() {
        let label = Label::new(from, to, Timestamp::parse(at)?, &format!("demo-{}", i + 1))?;
        mailbox.push(message::seal(
            &set,
            &key_of(to)?.public(),
            &label,
            body.as_bytes(),
            &mut rng,
        )?);
    }
    nar.step(
        "Three users exchange end-to-end encrypted messages; each message key is also escrowed (TDH2, labelled)",
        &format!(
            "{} messages sealed; each carries an escrow header bound to its label (sender, recipient, time, id)",
            mailbox.len()
        ),
        serde_json::json!({"messages": mailbox.len()}),
    );

    // 3. Recipients open and check the escrow header
    let mut opened = 0;
    for (m, (from, to, at, _)) in mailbox.iter().zip(traffic.iter()) {
        // What the recipient's own client knows: its account, the authenticated sender, the
        // time of receipt (here: the time it was sent).
        let receipt = message::Receipt::new(to, from, Timestamp::parse(at)?, 300)?;
        let o = message::open(key_of(to)?, &set, m, &receipt)?;
        ensure!(
            traffic.iter().any(|t| t.3.as_bytes() == o.body.as_slice()),
            "demo: recipient read the wrong text"
        );
        opened += 1;
    }
    nar.step(
        "Each recipient opens its messages and checks that the escrow header wraps the same key",
        &format!(
            "{opened} of {} opened and found escrow-compliant",
            mailbox.len()
        ),
        serde_json::json!({"opened": opened}),
    );

    // 4. A rogue sender dodges escrow (Blaze 1994 against Clipper's LEAF)
    let rogue_label = Label::new(
        "carol",
        "bob",
        Timestamp::parse("2026-11-05T10:00:00Z")?,
        "demo-rogue",
    )?;
    let rogue_set = trustee::deal(a.trustees, a.threshold, &mut rng)?.set;
    let rogue = message::seal(
        &rogue_set,
        &key_of("bob")?.public(),
        &rogue_label,
        b"meet at the docks",
        &mut rng,
    )?;
    let rogue_receipt = message::Receipt::new("bob", "carol", rogue_label.timestamp, 300)?;
    let refused_set = match message::open(key_of("bob")?, &set, &rogue, &rogue_receipt) {
        Err(e @ CoreError::NonCompliant { .. }) => e.to_string(),
        Err(e) => bail!("demo: rogue message refused for the wrong reason: {e}"),
        Ok(_) => bail!("demo: a message escrowed to a rogue trustee set was accepted"),
    };
    let donor = mailbox.first().context("demo mailbox is empty")?;
    let mut copied = message::seal(
        &set,
        &key_of("bob")?.public(),
        &rogue_label,
        b"meet at the docks",
        &mut rng,
    )?;
    copied.escrow = donor.escrow.clone();
    copied.id = donor.id.clone();
    let refused_copy = match message::open(key_of("bob")?, &set, &copied, &rogue_receipt) {
        Err(e) => e.to_string(),
        Ok(_) => bail!("demo: a message with a copied escrow header was accepted"),
    };
    nar.step(
        "A rogue sender tries to dodge escrow: first by escrowing to a trustee set it controls, then by copying a valid header from another message",
        &format!("bob's client refuses both:\n{refused_set}\n{refused_copy}"),
        serde_json::json!({"refused": [refused_set, refused_copy]}),
    );

    // 5. Relabelling is caught by the public check
    let mut relabelled = donor.escrow.clone();
    relabelled.label.sender = "mallory".into();
    let relabel = match relabelled.check(&set) {
        Err(e) => e.to_string(),
        Ok(_) => bail!("demo: a relabelled escrow ciphertext passed the public check"),
    };
    nar.step(
        "Someone relabels an escrow header to move a message into or out of a warrant's scope",
        &format!("anyone's public check rejects it: {relabel}"),
        serde_json::json!({"refused": relabel}),
    );

    // 6. k trustees recover; k-1 fail
    let ctx = ShareContext::without_warrant();
    let target = mailbox.get(2).context("demo mailbox too short")?;
    let valid = target.escrow.check(&set)?;
    let all: Vec<DecryptionShare> = shares
        .iter()
        .map(|s| s.decryption_share(&valid, &ctx, &mut rng))
        .collect::<Result<_, _>>()?;
    let pick: Vec<DecryptionShare> = all
        .iter()
        .step_by(2)
        .take(usize::from(k))
        .cloned()
        .collect();
    let pick = if pick.len() < usize::from(k) {
        all.iter().take(usize::from(k)).cloned().collect()
    } else {
        pick
    };
    let who: Vec<u16> = pick.iter().map(|s| s.trustee).collect();
    let c = share::combine(&set, &valid, &ctx, &pick)?;
    let body = target.decrypt_body(&c.message_key)?;
    let text = String::from_utf8_lossy(&body.body).into_owned();
    nar.step(
        &format!("{k} trustees {who:?} combine decryption shares for message {}", target.id),
        &format!(
            "every DLEQ proof checks; Lagrange interpolation in the exponent recovers the key:\n\"{text}\"\n\
             (here without any warrant: k trustees who collude can read every escrowed message)"
        ),
        serde_json::json!({"trustees": who, "read": text}),
    );
    let fewer: Vec<DecryptionShare> = pick.iter().take(usize::from(k) - 1).cloned().collect();
    let fewer_who: Vec<u16> = fewer.iter().map(|s| s.trustee).collect();
    let fail = match share::combine(&set, &valid, &ctx, &fewer) {
        Err(e @ CoreError::NotEnoughShares { .. }) => e.to_string(),
        Err(e) => bail!("demo: k-1 shares failed for the wrong reason: {e}"),
        Ok(_) => bail!("demo: k-1 shares recovered a key"),
    };
    nar.step(
        &format!("{} trustees {fewer_who:?} try the same", k - 1),
        &format!("refused: {fail}\nbelow the threshold the shares say nothing about the key"),
        serde_json::json!({"trustees": fewer_who, "refused": fail}),
    );

    // 7. A cheating trustee is caught and named
    let mut cheat = all.clone();
    let liar = cheat.first_mut().context("no shares")?;
    let liar_id = liar.trustee;
    let other_d = all.get(1).context("no second share")?.d;
    liar.d = other_d;
    let c = share::combine(&set, &valid, &ctx, &cheat)?;
    ensure!(
        c.rejected.iter().any(|(i, _)| *i == liar_id),
        "demo: the cheating trustee was not named"
    );
    nar.step(
        &format!("Trustee {liar_id} returns a wrong decryption share"),
        &format!(
            "its proof fails and it is named ({}); the combiner routes around it with trustees {:?}",
            c.rejected.first().map(|(_, e)| e.to_string()).unwrap_or_default(),
            c.used
        ),
        serde_json::json!({"cheater": liar_id, "used": c.used}),
    );

    if let Some(dir) = &a.keep {
        keep(dir, &set, &dealing.secrets, &users, &keys, &mailbox)?;
        out.say(&format!(
            "\nKept in {}: trustee-set.json, trustee-<i>/, <user>.key/.pub, mailbox.jsonl. Try:\n  escrow open --key {0}/bob.key --set {0}/trustee-set.json --mailbox {0}/mailbox.jsonl --to bob --from alice --id demo-1 --received 2026-11-02T09:15:00Z",
            dir.display()
        ));
    }
    out.say(
        "\nDone. `escrow demo` (without --local) runs the live warrant workflow on trustee nodes.",
    );
    if out.json {
        println!(
            "{}",
            serde_json::json!({"ok": true, "mode": "local", "steps": nar.steps})
        );
    }
    Ok(())
}

fn keep(
    dir: &std::path::Path,
    set: &escrow_core::trustee::TrusteeSet,
    secrets: &[escrow_core::trustee::TrusteeSecrets],
    users: &[&str],
    keys: &[PrivateKey],
    mailbox: &[SealedMessage],
) -> Result<()> {
    files::private_dir(dir)?;
    parties::write_set(dir, set, secrets)?;
    for (u, k) in users.iter().zip(keys) {
        parties::save_key(dir, u, k)?;
    }
    let lines: String = mailbox.iter().map(|m| m.to_json() + "\n").collect();
    files::public(&dir.join("mailbox.jsonl"), lines.as_bytes())?;
    Ok(())
}
