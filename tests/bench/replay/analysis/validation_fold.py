"""Shared setup of the validation-fold analyses in this folder (Bitbrains 2013-07).

Loads the trace once (cached as .npz in $TMPDIR), keeps the VMs with >= 80 % coverage
in both windows, and gives each its per-slot mean profile fitted on 06-30 .. 07-14 and
its residuals in that window (RF) and in the judged week 07-14 .. 07-21 (RJ). Validation
data only: never the test week. Needs python3-numpy.
"""
import sys
import gzip, os
import numpy as np
def load(path, step=300):
    cache = os.path.join(os.environ.get('TMPDIR', '/tmp'), os.path.basename(path) + '.npz')  # parsed once
    if os.path.exists(cache):
        d = np.load(cache, allow_pickle=True); return d['t0'].item(), d['X'], list(d['names'])
    rows = {}
    with gzip.open(path, 'rt') as f:
        for line in f:
            if line[0] == 't': continue
            t, fn, c = line.rstrip().split(',')
            rows.setdefault(fn, []).append((int(float(t)), float(c)))
    t0 = min(v[0][0] for v in rows.values()); t0 -= t0 % 86400
    t1 = max(v[-1][0] for v in rows.values())
    n = (t1 - t0) // step + 1
    names = sorted(rows)
    X = np.full((len(names), n), np.nan, dtype=np.float32)
    for i, fn in enumerate(names):
        for t, c in rows[fn]:
            X[i, (t - t0) // step] = c
    np.savez(cache, t0=t0, X=X, names=np.array(names, dtype=object))
    return t0, X, names

t0, X, names = load(sys.argv[1] + '/bitbrains-rnd-2013-07.csv.gz')  # TRACES_DIR

spd = 288
def win(a, b): return X[:, a*spd:b*spd]
F, J = win(0, 14), win(14, 21)
ok = (~np.isnan(F)).mean(1) >= .8
ok &= (~np.isnan(J)).mean(1) >= .8
def ffill(A):
    A = A.copy()
    for i in range(A.shape[0]):
        v = A[i]; m = np.isnan(v)
        idx = np.where(~m, np.arange(len(v)), 0); np.maximum.accumulate(idx, out=idx)
        v[:] = v[idx]; v[np.isnan(v)] = 0
    return A
F, J = ffill(F[ok]), ffill(J[ok]); n = F.shape[0]
slots = 96
def prof(A):  # per-slot mean from a window (15-min slots of 5-min steps)
    T = A.shape[1]; s = (np.arange(T) % spd) // 3
    mu = np.zeros((A.shape[0], slots))
    for w in range(slots): mu[:, w] = A[:, s == w].mean(1)
    return mu, s
muF, sF = prof(F); _, sJ = prof(J)
RF = F - muF[:, sF]; RJ = J - muF[:, sJ]   # judge residuals vs fit profiles
def corr(a, b):
    a = a - a.mean(); b = b - b.mean(); d = np.sqrt((a*a).sum()*(b*b).sum()); return (a*b).sum()/d if d > 0 else 0
