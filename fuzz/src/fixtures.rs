//! Fixed keys, a trustee set, a policy and a verified warrant, made once per process from a
//! fixed seed, so that a fuzz target can sign what the fuzzer wrote (and reach the code behind
//! a signature check) and so that `gen_seeds` writes seeds that verify.

use escrow_core::audit::checkpoint::{LogKey, origin};
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::message::{SealedMessage, seal};
use escrow_core::secret::MessageKey;
use escrow_core::share::{DecryptionShare, ShareContext};
use escrow_core::tdh2::{ValidCiphertext, encapsulate};
use escrow_core::test_fixtures::{payload_around, two_key_policy};
use escrow_core::time::Timestamp;
use escrow_core::trustee::{Dealing, VerifiedKeyShare, deal};
use escrow_core::warrant::{
    Policy, PolicyLimits, Role, VerifiedWarrant, WarrantEnvelope, WarrantPayload, Window,
};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use std::sync::OnceLock;

/// The time the fixture warrant is verified at.
pub const T0: i64 = 1_800_000_000;

/// Everything a target may need, built from seed 2026.
pub struct Fixtures {
    /// Policy issuer key.
    pub issuer: PrivateKey,
    /// Policy judicial key.
    pub judge: PrivateKey,
    /// The investigator the fixture warrant names.
    pub investigator: PrivateKey,
    /// A message recipient.
    pub recipient: PrivateKey,
    /// Issuer + judicial, both required, default limits.
    pub policy: Policy,
    /// A 2-of-3 trustee set and its secrets.
    pub dealing: Dealing,
    /// The three verified key shares.
    pub keys: Vec<VerifiedKeyShare>,
    /// A warrant on `alice`, signed by both authorities.
    pub warrant: WarrantEnvelope,
    /// The same, verified at [`T0`].
    pub verified: VerifiedWarrant,
    /// The log key of trustee 1.
    pub log_key: LogKey,
    /// A ciphertext in the fixture warrant's scope, escrowed to the fixture set.
    pub ciphertext: ValidCiphertext,
    /// Its message key.
    pub message_key: MessageKey,
    /// Each trustee's honest decryption share of it, under the fixture warrant.
    pub shares: Vec<DecryptionShare>,
}

/// A fixed-seed RNG (rand 0.10 StdRng, ChaCha12).
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// The fixture warrant's payload: `alice@example.org`'s messages of the day around [`T0`],
/// valid for an hour either side, at most 50 releases.
pub fn warrant_payload(investigator: &PrivateKey) -> WarrantPayload {
    let inv = investigator.public();
    let mut p = payload_around(T0, &inv, "w-fuzz-1", "OP-FUZZ", Some(50), None);
    p.issuing_authority = "Secretary of State".into();
    p.scope.targets = vec!["alice@example.org".into()];
    p.scope.window = Window {
        from: Timestamp(T0 - 86_400),
        until: Timestamp(T0 + 86_400),
    };
    p.not_before = Timestamp(T0 - 3600);
    p.not_after = Timestamp(T0 + 3600);
    p
}

fn build() -> Fixtures {
    let mut r = rng(2026);
    let issuer = PrivateKey::generate(&mut r);
    let judge = PrivateKey::generate(&mut r);
    let investigator = PrivateKey::generate(&mut r);
    let recipient = PrivateKey::generate(&mut r);
    let policy = two_key_policy(
        ("home-secretary", &issuer),
        ("judicial-commissioner", &judge),
        PolicyLimits::default(),
    );
    let dealing = deal(3, 2, &mut r).expect("fixture dealing");
    let keys: Vec<VerifiedKeyShare> = dealing
        .secrets
        .iter()
        .map(|s| {
            dealing
                .set
                .verify_share(s.key_share.clone())
                .expect("fixture share")
        })
        .collect();
    let mut warrant =
        WarrantEnvelope::sign_new(&warrant_payload(&investigator), &issuer, Role::Issuer)
            .expect("fixture warrant");
    warrant
        .add_signature(&judge, Role::Judicial)
        .expect("fixture approval");
    let verified = policy
        .verify(&warrant, Timestamp(T0), &|_| false)
        .expect("fixture warrant verifies");
    let log_key = LogKey::from_seed(&origin(&dealing.set.id(), 1), &[7u8; 32]).expect("log key");
    let message_key = MessageKey::random(&mut r);
    let label = Label::new(
        "alice@example.org",
        "bob@example.org",
        Timestamp(T0),
        "m-combine",
    )
    .expect("label");
    let (ct, _) = encapsulate(&dealing.set, &label, &message_key, &mut r).expect("encapsulate");
    let ciphertext = ct.check(&dealing.set).expect("valid ciphertext");
    let ctx = ShareContext::warrant(verified.digest());
    let shares = keys
        .iter()
        .map(|k: &VerifiedKeyShare| {
            k.decryption_share(&ciphertext, &ctx, &mut r)
                .expect("share")
        })
        .collect();
    Fixtures {
        issuer,
        judge,
        investigator,
        recipient,
        policy,
        dealing,
        keys,
        warrant,
        verified,
        log_key,
        ciphertext,
        message_key,
        shares,
    }
}

/// The fixtures (built on first use).
pub fn get() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(build)
}

/// A message sealed to the fixture recipient and escrowed to the fixture set.
pub fn sealed(sender: &str, recipient: &str, id: &str, body: &[u8], seed: u64) -> SealedMessage {
    let f = get();
    let label = Label::new(sender, recipient, Timestamp(T0), id).expect("label");
    seal(
        &f.dealing.set,
        &f.recipient.public(),
        &label,
        body,
        &mut rng(seed),
    )
    .expect("seal")
}

/// Release protocol v2 fixtures: a v2 ciphertext in the fixture warrant's scope with a known
/// key, the request of just that ciphertext, and every trustee's honest answer to it.
pub struct FixturesV2 {
    /// The checked v2 ciphertext.
    pub ciphertext: escrow_core::v2::ValidCiphertextV2,
    /// Its message key.
    pub message_key: MessageKey,
    /// The request digest R of `[ciphertext]` under the fixture warrant.
    pub request: escrow_core::codec::Digest32,
    /// Trustee i's answer (index i − 1).
    pub answers: Vec<escrow_core::v2::AnswerV2>,
    /// The same, opened by the investigator.
    pub verified: Vec<escrow_core::v2::VerifiedAnswer>,
}

/// The v2 fixtures (built on first use).
pub fn v2() -> &'static FixturesV2 {
    use escrow_core::v2::{encapsulate_v2, make_answer, request_digest};
    static F: OnceLock<FixturesV2> = OnceLock::new();
    F.get_or_init(|| {
        let f = get();
        let mut r = rng(2027);
        let message_key = MessageKey::random(&mut r);
        let label = Label::new(
            "alice@example.org",
            "bob@example.org",
            Timestamp(T0),
            "m-v2",
        )
        .expect("label");
        let (ct, _) =
            encapsulate_v2(&f.dealing.set, &label, &message_key, &mut r).expect("encapsulate");
        let ciphertext = ct.check(&f.dealing.set).expect("valid v2 ciphertext");
        let w = f.verified.digest();
        let request = request_digest(&w, &[ciphertext.digest()]);
        let answers: Vec<escrow_core::v2::AnswerV2> = f
            .keys
            .iter()
            .map(|k| {
                make_answer(
                    k,
                    &w,
                    &request,
                    &[(0, &ciphertext)],
                    &f.investigator.public(),
                    &mut r,
                )
                .expect("answer")
                .answer
            })
            .collect();
        let verified = answers
            .iter()
            .map(|a| {
                a.open(
                    &f.investigator,
                    &f.dealing.set,
                    &w,
                    core::slice::from_ref(&ciphertext),
                )
                .expect("honest answer opens")
            })
            .collect();
        FixturesV2 {
            ciphertext,
            message_key,
            request,
            answers,
            verified,
        }
    })
}
