import os, time, sys
d = sys.argv[1]; n = int(sys.argv[2])
os.makedirs(d, exist_ok=True)
t = time.time()
for i in range(n):
    p = os.path.join(d, f".m{i}.tmp")
    fd = os.open(p, os.O_WRONLY|os.O_CREAT|os.O_EXCL, 0o600); os.write(fd, b"x"*1024); os.close(fd)
    os.rename(p, os.path.join(d, f"m{i}"))
print(d, n, "create+rename s", round(time.time()-t, 3))
