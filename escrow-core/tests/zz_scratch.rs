#![allow(clippy::unwrap_used)]
#[test]
fn scratch() {
    let s = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/trustee-set-3of5.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    let ks = v["key_shares"][0].to_string();
    let dup = ks.replacen("\"index\":1", "\"index\":1,\"index\":1", 1);
    println!("dup: {:?}", escrow_core::trustee::KeyShare::from_json(&dup).map(|_| ()));
    let up = ks.replace("4b84a495b34a4b0c", "4B84A495B34A4B0C");
    println!("upper: {:?}", escrow_core::trustee::KeyShare::from_json(&up).map(|_| ()));
    let c = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/escrow-ciphertext.json")).unwrap();
    let c: serde_json::Value = serde_json::from_str(&c).unwrap();
    let ct = c["ciphertext"].to_string();
    let dup = ct.replacen("\"e\":", "\"e\":\"00\",\"e\":", 1);
    println!("dup ct: {:?}", escrow_core::codec::from_json::<escrow_core::tdh2::EscrowCiphertext>("ct", &dup).map(|_| ()));
}
