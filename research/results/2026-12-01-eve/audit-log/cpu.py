#!/usr/bin/env python3
# cpu.py WHICH OUT SIZES: run the experiment; for each audit, sample the auditor's and node's
# utime+stime (clock ticks) from /proc until the auditor exits.
import subprocess, sys, time, os, re
which, out, sizes = sys.argv[1], sys.argv[2], sys.argv[3]
tck = os.sysconf('SC_CLK_TCK')
def cpu(pid):
    try:
        f = open(f'/proc/{pid}/stat').read().rsplit(')',1)[1].split()
        return (int(f[11]) + int(f[12])) / tck
    except Exception:
        return None
def children(pid):
    try: return [int(x) for x in open(f'/proc/{pid}/task/{pid}/children').read().split()]
    except Exception: return []
def comm(pid):
    try: return open(f'/proc/{pid}/comm').read().strip()
    except Exception: return ''
log = open(out + '.stderr', 'w')
p = subprocess.Popen([f'/tmp/aud9/bin-{which}/escrow','experiment','audit-log','--entries',sizes,'--real','20','--out',out],
                     stdout=open(out+'.txt','w'), stderr=subprocess.PIPE, text=True)
res = []
for line in p.stderr:
    log.write(line); log.flush()
    m = re.search(r'auditing (\d+) entries', line)
    if not m: continue
    kids = children(p.pid)
    node = next((k for k in kids if comm(k) == 'trustee-node'), None)
    aud = None
    t0 = time.time()
    while aud is None and time.time() - t0 < 10:
        aud = next((k for k in children(p.pid) if comm(k) == 'escrow'), None)
        if aud is None: time.sleep(0.002)
    n0 = cpu(node); a_last = 0.0; n_last = n0
    while True:
        a = cpu(aud)
        if a is None: break
        a_last = a; n_last = cpu(node) or n_last
        time.sleep(0.02)
    res.append((m.group(1), a_last, (n_last or 0) - (n0 or 0)))
p.wait()
with open(out + '.cpu', 'w') as f:
    for r in res:
        f.write(f'{r[0]} auditor_cpu_s {r[1]:.2f} node_cpu_s {r[2]:.2f}\n')
print(open(out+'.cpu').read())
