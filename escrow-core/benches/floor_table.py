#!/usr/bin/env python3
"""Print the table of docs/performance.md from criterion's results.

Run from the workspace root after `cargo bench -p escrow-core --bench core`:

    python3 escrow-core/benches/floor_table.py [CRITERION_DIR ...]

With several directories (copies of target/criterion from repeated runs), each benchmark's
median is the smallest over the runs: on a shared machine contention only ever adds time.
Each operation's floor is the sum of the medians of the curve, hash and AEAD operations it
performs, counted from the code (see docs/performance.md for the counts).
"""
import json, os, sys
roots = sys.argv[1:] or [os.path.join(os.environ.get('CARGO_TARGET_DIR', 'target'), 'criterion')]
def med(path):
    meds = []
    for root in roots:
        p = os.path.join(root, path, 'new', 'estimates.json')
        meds.append(json.load(open(p))['median']['point_estimate'] / 1000.0)  # µs
    return min(meds)
F = {}
names = ['mul_ct','mul_vartime','mul_g','mul_g_vartime','mul_g_add_vartime','lincomb2_vartime','msm_vartime/3','msm_vartime/67','msm_vartime/170','lagrange_at_zero/3','lagrange_at_zero/67','hash_to_scalar','compress','decompress','aes_gcm_1KiB','hkdf_sha256','ecdsa_keygen','add','mul_small_vartime_1_to_n/5','mul_small_vartime_1_to_n/100','mul_small_vartime_1_to_n/255']
for n in names:
    F[n] = med('floor/' + n)
small = {5: F['mul_small_vartime_1_to_n/5']/5, 100: F['mul_small_vartime_1_to_n/100']/100, 255: F['mul_small_vartime_1_to_n/255']/255}
verify = [('lincomb2_vartime',1),('mul_g_add_vartime',1),('compress',5),('hash_to_scalar',1)]
check = [('mul_g_add_vartime',1),('lincomb2_vartime',1),('compress',6),('hash_to_scalar',1)]
def combine(k):
    return [(a, b*k) for a,b in verify] + [(f'lagrange_at_zero/{k}',1),(f'msm_vartime/{k}',1),('compress',2),('hkdf_sha256',1)]
ops = [
 ('seal 1 KiB', 'op/seal_1KiB', [('mul_g',3),('mul_ct',4),('compress',10),('hash_to_scalar',1),('hkdf_sha256',2),('aes_gcm_1KiB',1)],
  '3 fixed-base (u, w, ECIES ephemeral) + 4 variable-base CT (ū, w̄, rY, ECDH) + 10 compress/normalise + H + 2 HKDF + GCM'),
 ('open 1 KiB (recipient)', 'op/open_1KiB', check + [('mul_ct',3),('mul_g',1),('compress',6),('hkdf_sha256',2),('aes_gcm_1KiB',1)],
  'check + ECDH + rG + rG\' + rY (3 CT variable-base, 1 fixed-base) + 12 compress + 2 HKDF + GCM'),
 ('public check', 'op/check', check, 'aG+bP + 2-term lincomb + 6 compress + H'),
 ('decryption share + proof', 'op/decryption_share', [('mul_ct',2),('mul_g',1),('compress',5),('hash_to_scalar',1)], '2 variable-base CT (x_i u, t u) + 1 fixed-base (t G) + 5 compress + H'),
 ('share proof verification', 'op/share_verify', verify, '2-term lincomb + aG+bP + 5 compress + H'),
 ('combine k = 3', 'op/combine/3', combine(3), '3 verifications + Lagrange + 3-term MSM + unwrap'),
 ('combine k = 67', 'op/combine/67', combine(67), '67 verifications + Lagrange + 67-term MSM + unwrap'),
 ('interpolate k = 3', 'op/interpolate/3', [('lagrange_at_zero/3',1),('msm_vartime/3',1)], 'Lagrange + 3-term MSM'),
 ('interpolate k = 67', 'op/interpolate/67', [('lagrange_at_zero/67',1),('msm_vartime/67',1)], 'Lagrange + 67-term MSM'),
]
def deal(n,k):
    return [('mul_ct',k),('ecdsa_keygen',n),(('small',n),n*k),('compress',k+2*n)]
def fromjson(n,k):
    return [(('small',n),n*k),('decompress',1+k+2*n),('compress',k+3*n)]
ops += [
 ('deal 3-of-5', 'setup/deal/3of5', deal(5,3), 'k CT mults by G (vsss-rs commitments) + n ECDSA keygens + n·k Horner steps + (k+2n) compress'),
 ('deal 67-of-100', 'setup/deal/67of100', deal(100,67), 'same'),
 ('deal 170-of-255', 'setup/deal/170of255', deal(255,170), 'same'),
 ('read trustee-set.json 67-of-100', 'setup/set_from_json/67of100', fromjson(100,67), 'n·k Horner steps + (1+k+2n) decompress + (k+3n) compress'),
 ('read trustee-set.json 170-of-255', 'setup/set_from_json/170of255', fromjson(255,170), 'same'),
]
def cost(items):
    t = 0
    for name, cnt in items:
        if isinstance(name, tuple):
            t += small[name[1]] * cnt
        else:
            t += F[name] * cnt
    return t
def fmt(us):
    if us >= 10000: return f'{us/1000:.1f} ms'
    if us >= 1000: return f'{us/1000:.2f} ms'
    if us >= 10: return f'{us:.0f} µs'
    return f'{us:.2f} µs'
print('| operation | median | floor | ratio | floor = |')
print('|---|---:|---:|---:|---|')
for label, path, items, desc in ops:
    m = med(path); f = cost(items)
    print(f'| {label} | {fmt(m)} | {fmt(f)} | {m/f:.2f} | {desc} |')
print()
print('| floor operation | median |')
print('|---|---:|')
for n in names:
    if n.startswith('mul_small'):
        k = int(n.split('/')[1]); print(f'| mul_small_vartime (mean over i = 1..{k}, incl. one add) | {fmt(F[n]/k)} |')
    else:
        print(f'| {n} | {fmt(F[n])} |')
