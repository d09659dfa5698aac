//! Known-answer vectors.
//!
//! `tests/vectors/*.json` are generated from fixed seeds (rand 0.10 `StdRng::seed_from_u64`,
//! i.e. ChaCha12). [`vectors_match_committed_files`] regenerates every file and compares it byte
//! for byte with the committed one, so that a change of format, hash input, domain-separation
//! string or derivation cannot slip through. After a deliberate change, regenerate with
//!
//! ```text
//! ESCROW_REGENERATE_VECTORS=1 cargo test -p escrow-core --test vectors
//! ```
//!
//! then run it again without the variable (the other tests in this file may have read the old
//! files while they were being rewritten) and review the diff. [`committed_vectors_verify`] checks the committed files themselves with
//! the library, and [`committed_vectors_match_the_specification`] with `common::reference`, an
//! independent implementation of `docs/protocol.md` that never calls escrow-core.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::reference as spec;
use common::{h, rng, sort_keys, value};
use escrow_core::codec::{Digest32, WarrantDigest, b64_encode};
use escrow_core::ecies::{self, EciesBox};
use escrow_core::group::{self, Point};
use escrow_core::keys::{PrivateKey, PublicKey};
use escrow_core::label::Label;
use escrow_core::message::{self, SealedMessage};
use escrow_core::secret::MessageKey;
use escrow_core::share::{self, DecryptionShare, ShareContext};
use escrow_core::tdh2::{self, EscrowCiphertext};
use escrow_core::test_fixtures::vector_label;
use escrow_core::time::Timestamp;
use escrow_core::trustee::{self, KeyShare, TrusteeSet};
use p256::pkcs8::DecodePrivateKey as _;
use p256::{ProjectivePoint, Scalar};
use serde_json::{Value, json};
use std::path::PathBuf;

const RNG: &str = "rand 0.10 rand::rngs::StdRng::seed_from_u64(seed) (ChaCha12)";
const SEED_SET: u64 = 0x0e5c_0001;
const SEED_CIPHERTEXT: u64 = 0x0e5c_0002;
const SEED_SHARES: u64 = 0x0e5c_0003;
const SEED_MESSAGE: u64 = 0x0e5c_0004;
const SEED_ECIES: u64 = 0x0e5c_0005;
const FILES: [&str; 7] = [
    "primitives.json",
    "trustee-set-3of5.json",
    "escrow-ciphertext.json",
    "decryption-shares.json",
    "sealed-message.json",
    "ecies.json",
    "negative.json",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("vectors")
}

fn scalar_hex(s: &Scalar) -> String {
    hex::encode(group::scalar_to_bytes(s))
}

fn point_hex(p: &ProjectivePoint) -> String {
    hex::encode(spec::sec1(p))
}

fn context_digest() -> WarrantDigest {
    // Stands for the digest of a warrant envelope.
    WarrantDigest::from_bytes(Digest32::sha256(b"example warrant envelope W-2026-0001").0)
}

/// Every deterministic input the vectors are made from.
struct World {
    dealing: trustee::Dealing,
    refset: spec::RefSet,
    message_key: MessageKey,
    r: Scalar,
    ct: EscrowCiphertext,
    shares: Vec<DecryptionShare>,
}

fn world() -> World {
    let dealing = trustee::deal(5, 3, &mut rng(SEED_SET)).unwrap();
    let refset = spec::trustee_set(&serde_json::from_str(&dealing.set.to_json()).unwrap()).unwrap();
    let mut r1 = rng(SEED_CIPHERTEXT);
    let message_key = MessageKey::random(&mut r1);
    let (ct, r) = tdh2::encapsulate(&dealing.set, &vector_label(), &message_key, &mut r1).unwrap();
    let valid = ct.check(&dealing.set).unwrap();
    let mut r2 = rng(SEED_SHARES);
    let ctx = ShareContext::warrant(context_digest());
    let shares = dealing
        .secrets
        .iter()
        .map(|s| {
            let k = dealing.set.verify_share(s.key_share.clone()).unwrap();
            k.decryption_share(&valid, &ctx, &mut r2).unwrap()
        })
        .collect();
    World {
        r: *r.expose(),
        dealing,
        refset,
        message_key,
        ct,
        shares,
    }
}

fn primitives() -> Value {
    let g2 = group::generator2();
    let uncompressed = {
        use p256::elliptic_curve::sec1::ToSec1Point;
        h(g2.to_affine().to_sec1_point(false).as_bytes())
    };
    let msgs: [Vec<u8>; 3] = [Vec::new(), b"abc".to_vec(), (0u8..200).collect()];
    let mut h2s = Vec::new();
    for dst in [tdh2::DST_TDH2, share::DST_DLEQ] {
        for m in &msgs {
            h2s.push(json!({
                "dst": dst,
                "msg_hex": h(m),
                "scalar": scalar_hex(&group::hash_to_scalar(dst, &[m])),
            }));
        }
    }
    let mut tagged = Vec::new();
    for (tag, input) in [
        (trustee::TAG_SET_ID, &b""[..]),
        (trustee::TAG_SET_ID, &b"abc"[..]),
        (tdh2::TAG_CT_DIGEST, &b"abc"[..]),
        (share::TAG_NO_WARRANT, &b""[..]),
    ] {
        tagged.push(json!({
            "tag": tag,
            "input_hex": h(input),
            "digest": Digest32::tagged(tag, &[input]).to_hex(),
        }));
    }
    let labels: Vec<Value> = [
        vector_label(),
        Label::new("zoë@例え.jp", "Ωmega", Timestamp(0), "a").unwrap(),
        Label::new(
            "nasa",
            "houston",
            Timestamp::parse("1969-07-20T20:17:40Z").unwrap(),
            "Eagle.has_landed-1",
        )
        .unwrap(),
    ]
    .iter()
    .map(|l| json!({ "label": value(l), "canonical_bytes": h(l.to_bytes()) }))
    .collect();
    json!({
        "description": "Group constants, hash_to_scalar (RFC 9380 hash_to_field, expand_message_xmd SHA-256, L = 48) per DST, tagged digests, canonical label bytes.",
        "generator2": {
            "suite": group::SUITE,
            "dst": group::DST_GENERATOR2,
            "msg": String::from_utf8(group::MSG_GENERATOR2.to_vec()).unwrap(),
            "compressed": point_hex(&g2),
            "uncompressed": uncompressed,
        },
        "hash_to_scalar": h2s,
        "tagged_digest": tagged,
        "no_warrant_context": ShareContext::without_warrant().0.to_hex(),
        "labels": labels,
    })
}

fn trustee_set_vector(w: &World) -> Value {
    let set = &w.dealing.set;
    let key_shares: Vec<Value> = w
        .dealing
        .secrets
        .iter()
        .map(|s| serde_json::from_str(&s.key_share.to_json()).unwrap())
        .collect();
    // x = f(0), reconstructed from shares 1..k (the dealer zeroized its copy).
    let xs: Vec<(u16, Scalar)> = key_shares
        .iter()
        .map(|v| spec::key_share(&w.refset, v).unwrap())
        .take(usize::from(set.threshold()))
        .collect();
    let ids: Vec<u16> = xs.iter().map(|x| x.0).collect();
    let x = spec::lagrange(&ids)
        .iter()
        .zip(&xs)
        .fold(Scalar::ZERO, |acc, (l, (_, xi))| acc + *l * xi);
    assert_eq!(ProjectivePoint::GENERATOR * x, *set.escrow_key().inner());
    let mut preimage = Vec::new();
    preimage.extend_from_slice(&set.threshold().to_be_bytes());
    preimage.extend_from_slice(&set.trustees().to_be_bytes());
    for c in set.commitments() {
        preimage.extend_from_slice(&c.to_bytes());
    }
    for m in set.members() {
        preimage.extend_from_slice(&m.index.to_be_bytes());
        preimage.extend_from_slice(&m.verification_key.to_bytes());
        preimage.extend_from_slice(&m.signing_key.point().to_bytes());
    }
    json!({
        "description": "A 3-of-5 trustee set dealt with Feldman VSS, its key-share files, and the dealer's secret x reconstructed from shares 1..3 (x G = escrow_key).",
        "rng": RNG,
        "seed": SEED_SET,
        "n": set.trustees(),
        "k": set.threshold(),
        "trustee_set": serde_json::from_str::<Value>(&set.to_json()).unwrap(),
        "set_id_preimage": h(&preimage),
        "secret_x": scalar_hex(&x),
        "key_shares": key_shares,
    })
}

fn ciphertext_vector(w: &World) -> Value {
    let rc = spec::ciphertext(&w.refset, &value(&w.ct)).unwrap();
    assert_eq!(rc.digest, *w.ct.digest().as_bytes());
    let z = w.refset.y * w.r;
    let mut info = tdh2::INFO_KEM.to_vec();
    info.extend_from_slice(&w.ct.u.to_bytes());
    json!({
        "description": "A TDH2 escrow ciphertext wrapping message_key under the 3-of-5 set of trustee-set-3of5.json, with every intermediate value.",
        "rng": RNG,
        "seed": SEED_CIPHERTEXT,
        "set_id": w.dealing.set.id().to_hex(),
        "message_key": h(w.message_key.expose()),
        "r": scalar_hex(&w.r),
        "label_bytes": h(w.ct.label.to_bytes()),
        "ciphertext": value(&w.ct),
        "proof": {
            "w": point_hex(&rc.w),
            "w_bar": point_hex(&rc.w_bar),
            "challenge_input": h(&rc.challenge_input),
        },
        "kem": {
            "z": point_hex(&z),
            "hkdf_salt": w.dealing.set.id().to_hex(),
            "hkdf_ikm": point_hex(&z),
            "hkdf_info": h(&info),
            "key": h(spec::kem_key(&rc.set_id, &z, &rc.u)),
        },
        "canonical_bytes": h(&rc.canonical),
        "digest": w.ct.digest().to_hex(),
    })
}

fn shares_vector(w: &World) -> Value {
    let rc = spec::ciphertext(&w.refset, &value(&w.ct)).unwrap();
    let ctx = context_digest();
    let shares: Vec<Value> = w
        .shares
        .iter()
        .map(|s| {
            let r = spec::share(&w.refset, &rc, ctx.as_bytes(), &value(s)).unwrap();
            json!({
                "share": value(s),
                "challenge_input": h(&r.challenge_input),
                "e": scalar_hex(&r.e),
            })
        })
        .collect();
    let set = &w.dealing.set;
    let valid = w.ct.check(set).unwrap();
    let combos: Vec<Value> = [vec![1u16, 2, 3], vec![2, 4, 5], vec![5, 3, 1]]
        .iter()
        .map(|ids| {
            let picked: Vec<DecryptionShare> = ids
                .iter()
                .map(|&i| w.shares[usize::from(i) - 1].clone())
                .collect();
            let c = share::combine(set, &valid, &ShareContext::warrant(ctx), &picked).unwrap();
            assert_eq!(c.message_key, w.message_key);
            let lambdas = group::lagrange_at_zero(ids).unwrap();
            let terms: Vec<(ProjectivePoint, Scalar)> = picked
                .iter()
                .zip(&lambdas)
                .map(|(s, l)| (*s.d.inner(), *l))
                .collect();
            json!({
                "trustees": ids,
                "lagrange_at_zero": lambdas.iter().map(scalar_hex).collect::<Vec<_>>(),
                "z": point_hex(&group::msm_vartime(&terms)),
                "message_key": h(c.message_key.expose()),
            })
        })
        .collect();
    json!({
        "description": "Decryption shares of trustees 1..5 for escrow-ciphertext.json, bound to a warrant context, with their DLEQ commitments a, b and challenge inputs; three combinations of 3 shares.",
        "rng": RNG,
        "seed": SEED_SHARES,
        "set_id": set.id().to_hex(),
        "ciphertext_digest": w.ct.digest().to_hex(),
        "context": ctx.to_hex(),
        "shares": shares,
        "combinations": combos,
    })
}

fn recipient_scalar(k: &PrivateKey) -> Scalar {
    *p256::SecretKey::from_pkcs8_pem(&k.to_pem().unwrap())
        .unwrap()
        .to_nonzero_scalar()
}

struct MessageWorld {
    bob: PrivateKey,
    msg: SealedMessage,
    other: SealedMessage,
}

const PLAINTEXT: &str = "Meet at the usual place at 09:30.";

fn message_world(w: &World) -> MessageWorld {
    let mut r = rng(SEED_MESSAGE);
    let bob = PrivateKey::generate(&mut r);
    let msg = message::seal(
        &w.dealing.set,
        &bob.public(),
        &vector_label(),
        PLAINTEXT.as_bytes(),
        &mut r,
    )
    .unwrap();
    let other = message::seal(
        &w.dealing.set,
        &bob.public(),
        &vector_label(),
        b"another message",
        &mut r,
    )
    .unwrap();
    MessageWorld { bob, msg, other }
}

fn message_vector(w: &World, mw: &MessageWorld) -> Value {
    let sk = recipient_scalar(&mw.bob);
    let label_bytes = mw.msg.escrow.label.to_bytes();
    let e2e_ctx = spec::context(spec::CTX_E2E, &label_bytes);
    let inner = ecies::decrypt(&mw.bob, &e2e_ctx, &mw.msg.e2e, "e2e").unwrap();
    let e = *mw.msg.e2e.ephemeral.inner();
    let shared_x = spec::sec1(&(e * sk))[1..].to_vec();
    let bob_pub = mw.bob.public();
    let opened = message::open_unchecked_label(&mw.bob, &w.dealing.set, &mw.msg).unwrap();
    assert_eq!(&opened.body[..], PLAINTEXT.as_bytes());
    json!({
        "description": "A sealed message (one mailbox line) from alice to bob, escrowed to the 3-of-5 set, with the recipient's key and every intermediate value of the end-to-end part.",
        "rng": RNG,
        "seed": SEED_MESSAGE,
        "set_id": w.dealing.set.id().to_hex(),
        "recipient": {
            "private_key_pkcs8_pem": mw.bob.to_pem().unwrap().as_str(),
            "public_key_spki_pem": bob_pub.to_pem(),
            "public_key_spki_der": h(bob_pub.to_der()),
            "key_id": bob_pub.key_id().to_hex(),
        },
        "plaintext": PLAINTEXT,
        "sealed_message": value(&mw.msg),
        "mailbox_line": mw.msg.to_json(),
        "message_key": h(&inner[..32]),
        "r": h(&inner[32..]),
        "e2e": {
            "context": h(&e2e_ctx),
            "plaintext": h(&inner[..]),
            "shared_x": h(&shared_x),
            "key": h(spec::ecies_key(&shared_x, &e2e_ctx, &e, bob_pub.point().inner())),
        },
        "body_aad": h(spec::context(spec::CTX_BODY, &label_bytes)),
        "escrow_digest": mw.msg.escrow.digest().to_hex(),
    })
}

fn ecies_vector() -> Value {
    let mut r = rng(SEED_ECIES);
    let k = PrivateKey::generate(&mut r);
    let ctx = b"example context";
    let pt = b"example plaintext";
    let b = ecies::encrypt(&k.public(), ctx, pt, &mut r).unwrap();
    let sk = recipient_scalar(&k);
    let e = *b.ephemeral.inner();
    let shared_x = spec::sec1(&(e * sk))[1..].to_vec();
    let mut info = ecies::INFO_ECIES.to_vec();
    spec::lp(&mut info, ctx);
    info.extend_from_slice(&b.ephemeral.to_bytes());
    info.extend_from_slice(&k.public().point().to_bytes());
    json!({
        "description": "ECIES on P-256 (ephemeral ECDH, HKDF-SHA-256, AES-256-GCM with the zero nonce) with its intermediate values.",
        "rng": RNG,
        "seed": SEED_ECIES,
        "recipient_private_key_pkcs8_pem": k.to_pem().unwrap().as_str(),
        "recipient_public_key": k.public().point().to_hex(),
        "context": h(ctx),
        "plaintext": h(pt),
        "box": value(&b),
        "shared_x": h(&shared_x),
        "hkdf_info": h(&info),
        "key": h(spec::ecies_key(&shared_x, ctx, &e, k.public().point().inner())),
    })
}

/// A point encoding that is not on the curve (the first x = 0, 1, 2, … with no y).
fn off_curve_hex() -> String {
    for x in 0u8..=255 {
        let mut b = [0u8; 33];
        b[0] = 2;
        b[32] = x;
        if Point::from_bytes(&b, "t").is_err() {
            return h(b);
        }
    }
    unreachable!()
}

/// `base` with the value at `path` (keys separated by `/`; a number indexes an array) set to
/// `new`, a missing key added.
fn edit(base: &Value, path: &str, new: impl Into<Value>) -> Value {
    let mut v = base.clone();
    let mut p = &mut v;
    for k in path.split('/') {
        p = match k.parse::<usize>() {
            Ok(i) => &mut p[i],
            Err(_) => &mut p[k],
        };
    }
    *p = new.into();
    v
}

fn negative_vector(w: &World, mw: &MessageWorld) -> Value {
    let ct = value(&w.ct);
    let sh = value(&w.shares[0]);
    let set: Value = serde_json::from_str(&w.dealing.set.to_json()).unwrap();
    let ks: Value = serde_json::from_str(&w.dealing.secrets[0].key_share.to_json()).unwrap();
    let msg = value(&mw.msg);
    let order = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    let g = point_hex(&ProjectivePoint::GENERATOR);
    let plus_one = |v: &Value| {
        let s = spec::scalar_hex(v).unwrap() + Scalar::ONE;
        Value::from(scalar_hex(&s))
    };
    let mut wk = spec::b64(&ct["wrapped_key"]).unwrap();
    wk[0] ^= 1;
    let wk_flip = b64_encode(&wk);
    let wk_short = b64_encode(&wk[..47]);
    let u = hex::decode(ct["u"].as_str().unwrap()).unwrap();
    let u_with_prefix = |p: u8| h([&[p][..], &u[1..]].concat());
    let mut members_swapped = set["members"].clone();
    members_swapped.as_array_mut().unwrap().swap(0, 1);
    let mut no_escrow = msg.clone();
    no_escrow.as_object_mut().unwrap().remove("escrow");
    let member = |i: usize, key: &str| set["members"][i][key].clone();
    let other_share = value(&w.shares[1]);
    let other_msg = value(&mw.other);
    let table: [(&str, Vec<(&str, Value)>); 5] = [
        (
            "ciphertext",
            vec![
                (
                    "relabelled sender",
                    edit(&ct, "label/sender", "carol@example.org"),
                ),
                (
                    "relabelled recipient",
                    edit(&ct, "label/recipient", "dave@example.org"),
                ),
                (
                    "relabelled timestamp",
                    edit(&ct, "label/timestamp", "2026-11-22T09:30:01Z"),
                ),
                (
                    "relabelled message id",
                    edit(&ct, "label/message_id", "msg-0002"),
                ),
                (
                    "timestamp not canonical",
                    edit(&ct, "label/timestamp", "2026-11-22T09:30:00+00:00"),
                ),
                ("wrapped_key bit flipped", edit(&ct, "wrapped_key", wk_flip)),
                ("wrapped_key truncated", edit(&ct, "wrapped_key", wk_short)),
                ("e + 1", edit(&ct, "e", plus_one(&ct["e"]))),
                ("f + 1", edit(&ct, "f", plus_one(&ct["f"]))),
                ("e = n (not below the order)", edit(&ct, "e", order)),
                ("u replaced by G", edit(&ct, "u", g)),
                ("u_bar replaced by u", edit(&ct, "u_bar", ct["u"].clone())),
                (
                    "u negated (prefix 02 <-> 03)",
                    edit(&ct, "u", u_with_prefix(u[0] ^ 1)),
                ),
                (
                    "u with prefix 04 and 33 bytes",
                    edit(&ct, "u", u_with_prefix(4)),
                ),
                ("u is the identity (single 00 byte)", edit(&ct, "u", "00")),
                ("u is 33 zero bytes", edit(&ct, "u", h([0u8; 33]))),
                ("u not on the curve", edit(&ct, "u", off_curve_hex())),
                (
                    "set_id of another set",
                    edit(&ct, "set_id", h([0x11u8; 32])),
                ),
                ("version 2", edit(&ct, "version", 2)),
                ("unknown field", edit(&ct, "extra", 1)),
                ("unknown label field", edit(&ct, "label/extra", 1)),
            ],
        ),
        (
            "share",
            vec![
                ("d of trustee 2", edit(&sh, "d", other_share["d"].clone())),
                (
                    "a and b swapped",
                    edit(&edit(&sh, "a", sh["b"].clone()), "b", sh["a"].clone()),
                ),
                ("a of trustee 2", edit(&sh, "a", other_share["a"].clone())),
                ("z + 1", edit(&sh, "z", plus_one(&sh["z"]))),
                ("presented as trustee 2", edit(&sh, "trustee", 2)),
                ("trustee 0", edit(&sh, "trustee", 0)),
                ("trustee 6 (above n)", edit(&sh, "trustee", 6)),
                (
                    "another context",
                    edit(&sh, "context", ShareContext::without_warrant().0.to_hex()),
                ),
                (
                    "another ciphertext",
                    edit(&sh, "ciphertext", h([0x22u8; 32])),
                ),
                ("version 0", edit(&sh, "version", 0)),
                (
                    "a is 33 zero bytes (the identity)",
                    edit(&sh, "a", h([0u8; 33])),
                ),
                ("b is the identity (single 00 byte)", edit(&sh, "b", "00")),
                (
                    "carries a challenge e (the old format)",
                    edit(&sh, "e", sh["z"].clone()),
                ),
            ],
        ),
        (
            "trustee_set",
            vec![
                ("threshold 2", edit(&set, "threshold", 2)),
                (
                    "verification key of trustee 2 replaced by trustee 1's",
                    edit(
                        &set,
                        "members/1/verification_key",
                        member(0, "verification_key"),
                    ),
                ),
                ("set_id changed", edit(&set, "set_id", h([0x33u8; 32]))),
                (
                    "escrow_key is not C_0",
                    edit(&set, "escrow_key", set["commitments"][1].clone()),
                ),
                (
                    "members out of order",
                    edit(&set, "members", members_swapped),
                ),
                (
                    "signing key of trustee 1 changed (set id no longer matches)",
                    edit(&set, "members/0/signing_key", member(1, "signing_key")),
                ),
            ],
        ),
        (
            "key_share",
            vec![
                ("share + 1", edit(&ks, "share", plus_one(&ks["share"]))),
                ("presented as trustee 2", edit(&ks, "index", 2)),
                ("index 0", edit(&ks, "index", 0)),
                ("another set", edit(&ks, "set_id", h([0x44u8; 32]))),
            ],
        ),
        (
            "sealed_message",
            vec![
                (
                    "escrow header of another message (Blaze)",
                    edit(&msg, "escrow", value(&mw.other.escrow)),
                ),
                ("escrow header removed", no_escrow),
                ("escrow header null", edit(&msg, "escrow", Value::Null)),
                ("id differs from the label", edit(&msg, "id", "msg-0002")),
                (
                    "end-to-end part of another message",
                    edit(&msg, "e2e", value(&mw.other.e2e)),
                ),
                (
                    "body of another message",
                    edit(&msg, "body", other_msg["body"].clone()),
                ),
            ],
        ),
    ];
    let cases: Vec<Value> = table
        .into_iter()
        .flat_map(|(kind, rows)| {
            rows.into_iter()
                .map(move |(case, input)| json!({ "kind": kind, "case": case, "input": input }))
        })
        .collect();
    json!({
        "description": "Inputs that must be refused, derived from the positive vectors (trustee-set-3of5.json; ciphertext: escrow-ciphertext.json; share: trustee 1's share in decryption-shares.json with its context; key_share: trustee 1's; sealed_message: sealed-message.json, opened by its recipient). Each is refused at decoding or at its check.",
        "cases": cases,
    })
}

fn generate() -> Vec<(&'static str, String)> {
    let w = world();
    let mw = message_world(&w);
    let values = [
        primitives(),
        trustee_set_vector(&w),
        ciphertext_vector(&w),
        shares_vector(&w),
        message_vector(&w, &mw),
        ecies_vector(),
        negative_vector(&w, &mw),
    ];
    FILES
        .iter()
        .zip(values)
        .map(|(name, v)| {
            (
                *name,
                serde_json::to_string_pretty(&sort_keys(v)).unwrap() + "\n",
            )
        })
        .collect()
}

fn read(name: &str) -> Value {
    let path = dir().join(name);
    let s = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&s).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(s(v)).unwrap()
}

#[test]
fn vectors_match_committed_files() {
    let regenerate = std::env::var_os("ESCROW_REGENERATE_VECTORS").is_some_and(|v| v == "1");
    if regenerate {
        std::fs::create_dir_all(dir()).unwrap();
    }
    // Generation is deterministic: twice gives the same bytes.
    let generated = generate();
    assert_eq!(
        generated,
        generate(),
        "vector generation is not deterministic"
    );
    let mut stale = Vec::new();
    for (name, text) in &generated {
        let path = dir().join(name);
        if regenerate {
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != *text {
            let line = committed
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .map_or(0, |l| l + 1);
            stale.push(format!("{name} (first difference at line {line})"));
        }
    }
    assert!(
        stale.is_empty(),
        "known-answer vectors differ from what this build generates: {}.\n\
         A format, hash input, DST or derivation changed (or the RNG behind the fixed seeds did).\n\
         If the change is deliberate, run ESCROW_REGENERATE_VECTORS=1 cargo test -p escrow-core \
         --test vectors, review the diff and update docs/protocol.md.",
        stale.join(", ")
    );
}

#[test]
fn library_constants_match_the_specification() {
    assert_eq!(tdh2::DST_TDH2, spec::DST_TDH2);
    assert_eq!(share::DST_DLEQ, spec::DST_DLEQ);
    assert_eq!(group::DST_GENERATOR2, spec::DST_GENERATOR2);
    assert_eq!(group::MSG_GENERATOR2, spec::MSG_GENERATOR2.as_bytes());
    assert_eq!(group::SUITE, "P256_XMD:SHA-256_SSWU_RO_");
    assert_eq!(trustee::TAG_SET_ID, spec::TAG_SET_ID);
    assert_eq!(tdh2::TAG_CT_DIGEST, spec::TAG_CT_DIGEST);
    assert_eq!(share::TAG_NO_WARRANT, spec::TAG_NO_WARRANT);
    assert_eq!(tdh2::INFO_KEM, spec::INFO_KEM.as_bytes());
    assert_eq!(ecies::INFO_ECIES, spec::INFO_ECIES.as_bytes());
    assert_eq!(message::CTX_E2E, spec::CTX_E2E.as_bytes());
    assert_eq!(message::CTX_BODY, spec::CTX_BODY.as_bytes());
    assert_eq!(escrow_core::label::LABEL_ENCODING_VERSION, 1);
    assert_eq!(tdh2::WRAPPED_LEN, 48);
    assert_eq!(
        ShareContext::without_warrant().0.0,
        spec::no_warrant_context()
    );
}

/// The reference's expand_message_xmd against RFC 9380 Appendix K.1, and the curve library's
/// hash_to_curve (which G' uses) against Appendix J.1.1: G' can be recomputed with any
/// conforming RFC 9380 implementation.
#[test]
fn rfc9380_test_vectors() {
    let dst = b"QUUX-V01-CS02-with-expander-SHA256-128";
    for (msg, out) in [
        (
            &b""[..],
            "68a985b87eb6b46952128911f2a4412bbc302a9d759667f87f7a21d803f07235",
        ),
        (
            b"abc",
            "d8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615",
        ),
        (
            b"abcdef0123456789",
            "eff31487c770a893cfb36f912fbfcbff40d5661771ca4b2cb4eafe524333f5c1",
        ),
    ] {
        assert_eq!(h(spec::expand_message_xmd(msg, dst, 32)), out);
    }
    assert_eq!(
        h(spec::expand_message_xmd(b"abc", dst, 128)),
        "abba86a6129e366fc877aab32fc4ffc70120d8996c88aee2fe4b32d6c7b6437a647e6c3163d40b76a73cf6a5674ef1d890f95b664ee0afa5359a5c4e07985635bbecbac65d747d3d2da7ec2b8221b17b0ca9dc8a1ac1c07ea6a1e60583e2cb00058e77b7b72a298425cd1b941ad4ec65e8afc50303a22c0f99b0509b4c895f40"
    );
    use p256::elliptic_curve::sec1::ToSec1Point;
    use p256::hash2curve::GroupDigest;
    let dst = b"QUUX-V01-CS02-with-P256_XMD:SHA-256_SSWU_RO_";
    for (msg, x, y) in [
        (
            &b""[..],
            "2c15230b26dbc6fc9a37051158c95b79656e17a1a920b11394ca91c44247d3e4",
            "8a7a74985cc5c776cdfe4b1f19884970453912e9d31528c060be9ab5c43e8415",
        ),
        (
            b"abc",
            "0bb8b87485551aa43ed54f009230450b492fead5f1cc91658775dac4a3388a0f",
            "5c41b3d0731a27a7b14bc0bf0ccded2d8751f83493404c84a88e71ffd424212e",
        ),
    ] {
        let p = p256::NistP256::hash_from_bytes(&[msg], &[dst]).unwrap();
        assert_eq!(
            h(p.to_affine().to_sec1_point(false).as_bytes()),
            format!("04{x}{y}")
        );
    }
    // VOPRF (RFC 9497) A.3 DeriveKeyPair, P256-SHA256 mode 0: one more check of the library's
    // hash_to_scalar construction, through the reference.
    let seed = [0xa3u8; 32];
    let mut m = seed.to_vec();
    m.extend_from_slice(&8u16.to_be_bytes());
    m.extend_from_slice(b"test key");
    m.push(0);
    assert_eq!(
        scalar_hex(&spec::hash_to_scalar(
            "DeriveKeyPairOPRFV1-\x00-P256-SHA256",
            &m
        )),
        "159749d750713afe245d2d39ccfaae8381c53ce92d098a9375ee70739c7ac0bf"
    );
}

#[test]
fn committed_vectors_verify() {
    // primitives
    let p = read("primitives.json");
    assert_eq!(
        s(&p["generator2"]["compressed"]),
        Point::from_bytes(&spec::sec1(&group::generator2()), "g2")
            .unwrap()
            .to_hex()
    );
    for v in p["hash_to_scalar"].as_array().unwrap() {
        let got = group::hash_to_scalar(s(&v["dst"]), &[&unhex(&v["msg_hex"])]);
        assert_eq!(scalar_hex(&got), s(&v["scalar"]));
    }
    for v in p["tagged_digest"].as_array().unwrap() {
        assert_eq!(
            Digest32::tagged(s(&v["tag"]), &[&unhex(&v["input_hex"])]).to_hex(),
            s(&v["digest"])
        );
    }
    assert_eq!(
        ShareContext::without_warrant().0.to_hex(),
        s(&p["no_warrant_context"])
    );
    for v in p["labels"].as_array().unwrap() {
        let l: Label = serde_json::from_value(v["label"].clone()).unwrap();
        l.check().unwrap();
        assert_eq!(h(l.to_bytes()), s(&v["canonical_bytes"]));
    }

    // trustee set and key shares
    let t = read("trustee-set-3of5.json");
    let set = TrusteeSet::from_json(&t["trustee_set"].to_string()).unwrap();
    assert_eq!((set.trustees(), set.threshold()), (5, 3));
    assert_eq!(
        Digest32::tagged(trustee::TAG_SET_ID, &[&unhex(&t["set_id_preimage"])]),
        set.id().digest()
    );
    let x = spec::scalar_hex(&t["secret_x"]).unwrap();
    assert_eq!(ProjectivePoint::GENERATOR * x, *set.escrow_key().inner());
    let keys: Vec<_> = t["key_shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            set.verify_share(KeyShare::from_json(&v.to_string()).unwrap())
                .unwrap()
        })
        .collect();
    assert_eq!(keys.len(), 5);

    // ciphertext
    let c = read("escrow-ciphertext.json");
    let ct: EscrowCiphertext = serde_json::from_value(c["ciphertext"].clone()).unwrap();
    let valid = ct.check(&set).unwrap();
    assert_eq!(valid.digest().to_hex(), s(&c["digest"]));
    assert_eq!(h(ct.canonical_bytes()), s(&c["canonical_bytes"]));
    assert_eq!(h(ct.label.to_bytes()), s(&c["label_bytes"]));
    let r = spec::scalar_hex(&c["r"]).unwrap();
    assert_eq!(ProjectivePoint::GENERATOR * r, *ct.u.inner());
    assert_eq!(
        ProjectivePoint::GENERATOR * x * r,
        *set.escrow_key().inner() * r
    );

    // shares and combination
    let d = read("decryption-shares.json");
    let ctx = ShareContext::warrant(WarrantDigest::from_hex(s(&d["context"])).unwrap());
    let shares: Vec<DecryptionShare> = d["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| serde_json::from_value(v["share"].clone()).unwrap())
        .collect();
    for sh in &shares {
        sh.verify(&set, &valid, &ctx).unwrap();
    }
    for combo in d["combinations"].as_array().unwrap() {
        let ids = combo_ids(combo);
        let picked: Vec<DecryptionShare> = ids
            .iter()
            .map(|&i| shares[usize::from(i) - 1].clone())
            .collect();
        let out = share::combine(&set, &valid, &ctx, &picked).unwrap();
        assert_eq!(h(out.message_key.expose()), s(&combo["message_key"]));
        assert_eq!(s(&combo["message_key"]), s(&c["message_key"]));
        assert_eq!(out.used, ids);
        let l: Vec<String> = group::lagrange_at_zero(&ids)
            .unwrap()
            .iter()
            .map(scalar_hex)
            .collect();
        assert_eq!(value(&l), combo["lagrange_at_zero"]);
    }

    // sealed message
    let m = read("sealed-message.json");
    let bob = PrivateKey::from_pem(s(&m["recipient"]["private_key_pkcs8_pem"])).unwrap();
    assert_eq!(
        bob.public(),
        PublicKey::from_pem(s(&m["recipient"]["public_key_spki_pem"])).unwrap()
    );
    assert_eq!(bob.public().key_id().to_hex(), s(&m["recipient"]["key_id"]));
    let msg = SealedMessage::from_json(s(&m["mailbox_line"])).unwrap();
    assert_eq!(
        msg,
        serde_json::from_value::<SealedMessage>(m["sealed_message"].clone()).unwrap()
    );
    assert_eq!(msg.to_json(), s(&m["mailbox_line"]));
    let opened = message::open_unchecked_label(&bob, &set, &msg).unwrap();
    assert_eq!(&opened.body[..], s(&m["plaintext"]).as_bytes());
    // ...and exceptional access recovers the same key from 3 trustees.
    let v = msg.escrow.check(&set).unwrap();
    let ctx2 = ShareContext::without_warrant();
    let mut rr = rng(99);
    let sh: Vec<DecryptionShare> = keys[2..]
        .iter()
        .map(|k| k.decryption_share(&v, &ctx2, &mut rr).unwrap())
        .collect();
    let got = share::combine(&set, &v, &ctx2, &sh).unwrap();
    assert_eq!(h(got.message_key.expose()), s(&m["message_key"]));
    assert_eq!(
        &msg.decrypt_body(&got.message_key).unwrap().body[..],
        s(&m["plaintext"]).as_bytes()
    );

    // ECIES
    let e = read("ecies.json");
    let k = PrivateKey::from_pem(s(&e["recipient_private_key_pkcs8_pem"])).unwrap();
    let b: EciesBox = serde_json::from_value(e["box"].clone()).unwrap();
    assert_eq!(
        &ecies::decrypt(&k, &unhex(&e["context"]), &b, "vector").unwrap()[..],
        &unhex(&e["plaintext"])[..]
    );

    // negative vectors: every case refused
    let neg = read("negative.json");
    let bob_set = &set;
    for case in neg["cases"].as_array().unwrap() {
        let name = format!("{} / {}", s(&case["kind"]), s(&case["case"]));
        let input = case["input"].to_string();
        let refused = match s(&case["kind"]) {
            "ciphertext" => escrow_core::codec::from_json::<EscrowCiphertext>("ct", &input)
                .and_then(|c| c.check(bob_set).map(|_| ()))
                .is_err(),
            "share" => escrow_core::codec::from_json::<DecryptionShare>("share", &input)
                .and_then(|sh| sh.verify(bob_set, &valid, &ctx))
                .is_err(),
            "trustee_set" => TrusteeSet::from_json(&input).is_err(),
            "key_share" => KeyShare::from_json(&input)
                .and_then(|k| bob_set.verify_share(k).map(|_| ()))
                .is_err(),
            "sealed_message" => SealedMessage::from_json(&input)
                .and_then(|m| message::open_unchecked_label(&bob, bob_set, &m).map(|_| ()))
                .is_err(),
            other => panic!("unknown kind {other}"),
        };
        assert!(refused, "negative vector accepted by the library: {name}");
    }
}

/// Everything in the committed vectors recomputed by the independent reference implementation
/// (`common::reference`, written from docs/protocol.md): it must accept every positive vector,
/// reproduce every intermediate value, and refuse every negative one.
#[test]
fn committed_vectors_match_the_specification() {
    let p = read("primitives.json");
    assert_eq!(s(&p["generator2"]["compressed"]), point_hex(&spec::g2()));
    for v in p["hash_to_scalar"].as_array().unwrap() {
        assert_eq!(
            scalar_hex(&spec::hash_to_scalar(s(&v["dst"]), &unhex(&v["msg_hex"]))),
            s(&v["scalar"])
        );
    }
    for v in p["tagged_digest"].as_array().unwrap() {
        assert_eq!(
            h(spec::tagged(s(&v["tag"]), &[&unhex(&v["input_hex"])])),
            s(&v["digest"])
        );
    }
    assert_eq!(h(spec::no_warrant_context()), s(&p["no_warrant_context"]));
    for v in p["labels"].as_array().unwrap() {
        assert_eq!(
            h(spec::label(&v["label"]).unwrap()),
            s(&v["canonical_bytes"])
        );
    }

    let t = read("trustee-set-3of5.json");
    let set = spec::trustee_set(&t["trustee_set"]).unwrap();
    let x = spec::scalar_hex(&t["secret_x"]).unwrap();
    assert_eq!(ProjectivePoint::GENERATOR * x, set.y);
    let mut shares_x = Vec::new();
    for v in t["key_shares"].as_array().unwrap() {
        shares_x.push(spec::key_share(&set, v).unwrap());
    }
    // any 3 key shares interpolate to x
    for ids in [[1u16, 2, 3], [1, 4, 5], [5, 2, 3]] {
        let l = spec::lagrange(&ids);
        let got = ids.iter().zip(&l).fold(Scalar::ZERO, |acc, (i, l)| {
            acc + shares_x[usize::from(*i) - 1].1 * l
        });
        assert_eq!(got, x);
    }

    let c = read("escrow-ciphertext.json");
    let ct = spec::ciphertext(&set, &c["ciphertext"]).unwrap();
    assert_eq!(h(ct.digest), s(&c["digest"]));
    assert_eq!(h(&ct.canonical), s(&c["canonical_bytes"]));
    assert_eq!(h(&ct.label_bytes), s(&c["label_bytes"]));
    assert_eq!(point_hex(&ct.w), s(&c["proof"]["w"]));
    assert_eq!(point_hex(&ct.w_bar), s(&c["proof"]["w_bar"]));
    assert_eq!(h(&ct.challenge_input), s(&c["proof"]["challenge_input"]));
    let r = spec::scalar_hex(&c["r"]).unwrap();
    let z = set.y * r;
    assert_eq!(point_hex(&z), s(&c["kem"]["z"]));
    assert_eq!(h(spec::kem_key(&ct.set_id, &z, &ct.u)), s(&c["kem"]["key"]));
    let mut info = spec::INFO_KEM.as_bytes().to_vec();
    info.extend_from_slice(&spec::sec1(&ct.u));
    assert_eq!(h(&info), s(&c["kem"]["hkdf_info"]));
    assert_eq!(h(spec::unwrap_key(&ct, &z).unwrap()), s(&c["message_key"]));
    // z = x u as well
    assert_eq!(ct.u * x, z);

    let d = read("decryption-shares.json");
    let ctx = spec::digest_hex(&d["context"]).unwrap();
    let share_values: Vec<Value> = d["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["share"].clone())
        .collect();
    for (i, v) in d["shares"].as_array().unwrap().iter().enumerate() {
        let rs = spec::share(&set, &ct, &ctx, &v["share"]).unwrap();
        assert_eq!(usize::from(rs.trustee), i + 1);
        assert_eq!(rs.d, ct.u * shares_x[i].1);
        assert_eq!(h(&rs.challenge_input), s(&v["challenge_input"]));
        assert_eq!(scalar_hex(&rs.e), s(&v["e"]));
    }
    for combo in d["combinations"].as_array().unwrap() {
        let ids = combo_ids(combo);
        let picked: Vec<Value> = ids
            .iter()
            .map(|&i| share_values[usize::from(i) - 1].clone())
            .collect();
        assert_eq!(
            h(spec::combine(&set, &ct, &ctx, &picked).unwrap()),
            s(&combo["message_key"])
        );
        let l: Vec<String> = spec::lagrange(&ids).iter().map(scalar_hex).collect();
        assert_eq!(value(&l), combo["lagrange_at_zero"]);
        let pts: Vec<(u16, ProjectivePoint)> = ids
            .iter()
            .map(|&i| {
                (
                    i,
                    spec::point_hex(&share_values[usize::from(i) - 1]["d"]).unwrap(),
                )
            })
            .collect();
        assert_eq!(point_hex(&spec::interpolate(&pts)), s(&combo["z"]));
    }
    // two shares are not enough
    assert!(spec::combine(&set, &ct, &ctx, &share_values[..2]).is_err());

    let m = read("sealed-message.json");
    let sk = *p256::SecretKey::from_pkcs8_pem(s(&m["recipient"]["private_key_pkcs8_pem"]))
        .unwrap()
        .to_nonzero_scalar();
    let key_id: [u8; 32] = {
        use sha2::Digest as _;
        sha2::Sha256::digest(unhex(&m["recipient"]["public_key_spki_der"])).into()
    };
    assert_eq!(h(key_id), s(&m["recipient"]["key_id"]));
    let line: Value = serde_json::from_str(s(&m["mailbox_line"])).unwrap();
    assert_eq!(
        spec::open_sealed(&sk, &key_id, &set, &line).unwrap(),
        s(&m["plaintext"]).as_bytes()
    );
    let label_bytes = spec::label(&line["escrow"]["label"]).unwrap();
    assert_eq!(
        h(spec::context(spec::CTX_E2E, &label_bytes)),
        s(&m["e2e"]["context"])
    );
    assert_eq!(
        h(spec::context(spec::CTX_BODY, &label_bytes)),
        s(&m["body_aad"])
    );
    let inner = spec::ecies_open(&sk, &unhex(&m["e2e"]["context"]), &line["e2e"]).unwrap();
    assert_eq!(h(&inner), s(&m["e2e"]["plaintext"]));

    let e = read("ecies.json");
    let sk = *p256::SecretKey::from_pkcs8_pem(s(&e["recipient_private_key_pkcs8_pem"]))
        .unwrap()
        .to_nonzero_scalar();
    assert_eq!(
        h(spec::ecies_open(&sk, &unhex(&e["context"]), &e["box"]).unwrap()),
        s(&e["plaintext"])
    );
    let ep = spec::point_hex(&e["box"]["ephemeral"]).unwrap();
    let rp = spec::point_hex(&e["recipient_public_key"]).unwrap();
    assert_eq!(
        h(spec::ecies_key(
            &unhex(&e["shared_x"]),
            &unhex(&e["context"]),
            &ep,
            &rp
        )),
        s(&e["key"])
    );

    // negative vectors
    let neg = read("negative.json");
    let bob_sk = *p256::SecretKey::from_pkcs8_pem(s(&m["recipient"]["private_key_pkcs8_pem"]))
        .unwrap()
        .to_nonzero_scalar();
    for case in neg["cases"].as_array().unwrap() {
        let name = format!("{} / {}", s(&case["kind"]), s(&case["case"]));
        let input = &case["input"];
        let refused = match s(&case["kind"]) {
            "ciphertext" => spec::ciphertext(&set, input).is_err(),
            "share" => spec::share(&set, &ct, &ctx, input).is_err(),
            "trustee_set" => spec::trustee_set(input).is_err(),
            "key_share" => spec::key_share(&set, input).is_err(),
            "sealed_message" => spec::open_sealed(&bob_sk, &key_id, &set, input).is_err(),
            other => panic!("unknown kind {other}"),
        };
        assert!(refused, "negative vector accepted by the reference: {name}");
    }
}

/// The trustee ids of a vector's combination (`"trustees": [1, 2, …]`).
fn combo_ids(combo: &Value) -> Vec<u16> {
    combo["trustees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap() as u16)
        .collect()
}
