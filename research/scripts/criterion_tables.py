#!/usr/bin/env python3
"""Turn the criterion results of `cargo bench -p escrow-research` into the markdown tables of
docs/experiments.md. Reads target/criterion/<group>/<scheme>/<size>/new/estimates.json (median
point estimates, nanoseconds). Usage: python3 research/scripts/criterion_tables.py [TARGET_DIR]
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target") / "criterion"
SIZES = ["k3_n5", "k7_n10", "k67_n100", "k170_n255"]


def est(group, scheme, size=None):
    p = root / group / scheme
    if size is not None:
        p = p / size
    p = p / "new" / "estimates.json"
    if not p.exists():
        return None
    return json.loads(p.read_text())["median"]["point_estimate"] / 1000.0  # microseconds


def fmt(us):
    if us is None:
        return "–"
    if us >= 10000:
        return f"{us / 1000:.1f} ms"
    if us >= 100:
        return f"{us:.0f} µs"
    return f"{us:.1f} µs"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def size_label(s):
    k, n = s[1:].split("_n")
    return f"{k}/{n}"


print("### Primitives (median)\n")
print("| primitive | µs |\n|---|---|")
for p in ["var_base", "var_base_vartime", "fixed_base_g", "g_add_vartime", "lincomb2_vartime"]:
    print(f"| {p} | {fmt(est('primitives', p))} |")
for k in ["3", "7", "67", "170"]:
    print(f"| lincomb_k_vartime, k = {k} | {fmt(est('primitives', 'lincomb_k_vartime', k))} |")

for group, schemes, title in [
    ("seal", ["ours", "floor", "ours_full_message_1KiB", "naive", "naive_floor", "threshold_crypto"],
     "Seal (escrow wrap of one message key), per message"),
    ("check", ["ours", "floor", "threshold_crypto"], "Public ciphertext check, per message"),
    ("share", ["ours", "floor", "naive", "threshold_crypto"], "One trustee's share, per trustee per message"),
    ("verify", ["ours", "floor", "threshold_crypto"], "Verification of one share"),
    ("combine", ["ours", "floor", "batch_msm_floor", "naive", "threshold_crypto_unverified", "threshold_crypto"],
     "Combine k shares, per message"),
]:
    print(f"\n### {title}\n")
    print("| k/n | " + " | ".join(schemes) + " | ours/floor | naive/ours | threshold_crypto/ours |")
    print("|---" * (len(schemes) + 4) + "|")
    for s in SIZES:
        vals = {sc: est(group, sc, s) for sc in schemes}
        cells = [fmt(vals[sc]) for sc in schemes]
        print(f"| {size_label(s)} | " + " | ".join(cells) + f" | {ratio(vals.get('ours'), vals.get('floor'))}"
              f" | {ratio(vals.get('naive'), vals.get('ours'))} | {ratio(vals.get('threshold_crypto'), vals.get('ours'))} |")

print("\n### Set-up of a trustee set\n")
schemes = ["ours_deal", "frost_p256_dealer", "threshold_crypto", "naive_keys"]
print("| k/n | " + " | ".join(schemes) + " | ours/frost |")
print("|---" * (len(schemes) + 2) + "|")
for s in SIZES:
    vals = {sc: est("setup", sc, s) for sc in schemes}
    print(f"| {size_label(s)} | " + " | ".join(fmt(vals[sc]) for sc in schemes)
          + f" | {ratio(vals['ours_deal'], vals['frost_p256_dealer'])} |")
