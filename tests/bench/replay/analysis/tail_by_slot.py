#!/usr/bin/env python3
"""Tail of hosts' normalised deviations in busy slots and in all slots (docs/admission.md).

Validation data only: learns on 2013-06-30 .. 07-14 of the Bitbrains trace and judges on
07-14 .. 07-21 (the replay's validation fold); never the test week. Needs python3-numpy.
  tail_by_slot.py TRACES_DIR   (e.g. ../shared/traces)
"""
from validation_fold import *  # noqa: F401,F403 (X, F, J, RF, RJ, muF, corr, ...)

import numpy as np
from math import erf, sqrt
rng = np.random.default_rng(7)
def host_u(idx, A_fit, A_judge):
    H = A_fit[idx].sum(0); J = A_judge[idx].sum(0)
    T = H.shape[0]; s = (np.arange(T) % spd)//3; sj = (np.arange(J.shape[0]) % spd)//3
    mu = np.array([H[s==w].mean() for w in range(96)]); sd = np.array([H[s==w].std() for w in range(96)])
    sd = np.maximum(sd, 1e-9)
    q = mu + 2*sd; busy = q >= 0.9*q.max()
    return (H-mu[s])/sd[s], (J-mu[sj])/sd[sj], busy[s], busy[sj]
levels = [2.0, 2.5, 3.0, 3.5]
gauss = {m: 0.5*(1-erf(m/sqrt(2))) for m in levels}
rows = []
for h in range(300):
    idx = rng.choice(n, 15, replace=False)
    uf, uj, bf, bj = host_u(idx, F, J)
    rows.append((uf, uj, bf, bj))
print('%-6s %10s %10s %10s %10s %10s' % ('m', 'gauss', 'fit-all', 'fit-busy', 'judge-all', 'judge-busy'))
for m in levels:
    fa = np.mean([ (r[0] > m).mean() for r in rows]); fb = np.mean([ (r[0][r[2]] > m).mean() for r in rows])
    ja = np.mean([ (r[1] > m).mean() for r in rows]); jb = np.mean([ (r[1][r[3]] > m).mean() for r in rows])
    print('%-6.1f %10.5f %10.5f %10.5f %10.5f %10.5f' % (m, gauss[m], fa, fb, ja, jb))
# per-host predictiveness: corr between host's fit-busy exceedance at 2.5 and judge-busy exceedance at 2.5
a = np.array([(r[0][r[2]] > 2.5).mean() for r in rows]); b = np.array([(r[1][r[3]] > 2.5).mean() for r in rows])
print('per-host fit-busy vs judge-busy P(u>2.5): corr %.2f; mean abs err own %.4f vs pooled %.4f' % (np.corrcoef(a,b)[0,1], np.abs(a-b).mean(), np.abs(a.mean()-b).mean()))
a = np.array([(r[0] > 2.5).mean() for r in rows]); b = np.array([(r[1] > 2.5).mean() for r in rows])
print('per-host fit-all  vs judge-all  P(u>2.5): corr %.2f; mean abs err own %.4f vs pooled %.4f' % (np.corrcoef(a,b)[0,1], np.abs(a-b).mean(), np.abs(a.mean()-b).mean()))
