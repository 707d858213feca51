#!/usr/bin/env python3
"""How well estimators of the cross term's co-movement predict it (docs/admission.md).

Validation data only: learns on 2013-06-30 .. 07-14 of the Bitbrains trace and judges on
07-14 .. 07-21 (the replay's validation fold); never the test week. Needs python3-numpy.
  comovement_estimators.py TRACES_DIR   (e.g. ../shared/traces)
"""
from validation_fold import *  # noqa: F401,F403 (X, F, J, RF, RJ, muF, corr, ...)
rng = np.random.default_rng(1)
res = []
for trial in range(400):
    idx = rng.choice(n, 17, replace=False); host, c, prev = idx[:15], idx[15], idx[16]
    H_F = RF[host].sum(0); H_J = RJ[host].sum(0)
    true = corr(H_J, RJ[c])
    insample = corr(H_F, RF[c])
    prof_rho = corr(muF[host].sum(0), muF[c])
    loo = [corr(RF[i], H_F - RF[i]) for i in host]
    # factor model: kappa = cross-cov share of host variance
    varH = H_F.var(); kappa = (varH - sum(RF[i].var() for i in host)) / varH
    lH = np.sqrt(max(kappa, 0))
    # candidate loading from a previous host of 15 others (rho with that host's residual / that host's lH)
    ph = rng.choice(np.setdiff1d(np.arange(n), np.r_[host, c]), 15, replace=False)
    P_F = RF[ph].sum(0); kP = (P_F.var() - sum(RF[i].var() for i in ph)) / P_F.var(); lP = np.sqrt(max(kP, 1e-6))
    lc = np.clip(corr(P_F, RF[c]) / lP, -1, 1)
    res.append((true, insample, prof_rho, np.mean(loo), np.median(loo), lH, lH*lc, np.percentile(loo, 90)))
R = np.array(res)
names_ = ['true(judge)', 'insample(fit)', 'profile', 'loo_mean', 'loo_median', 'lH', 'lH*lc', 'loo_p90']
print('%-14s %7s %7s %7s %7s %8s %8s' % ('est', 'mean', 'p10', 'p90', 'corrT', 'under.1', 'MAE'))
for k, nm in enumerate(names_):
    e = R[:, k]; t = R[:, 0]
    print('%-14s %7.3f %7.3f %7.3f %7.2f %8.3f %8.3f' % (nm, e.mean(), np.percentile(e, 10), np.percentile(e, 90), np.corrcoef(e, t)[0,1], ((t - e) > .1).mean(), np.abs(t-e).mean()))
# pooled LOO and constants
res2 = []
rng = np.random.default_rng(1)
for trial in range(400):
    idx = rng.choice(n, 16, replace=False); host, c = idx[:15], idx[15]
    H_F = RF[host].sum(0); H_J = RJ[host].sum(0)
    true = corr(H_J, RJ[c])
    num = 0; den = 0
    for i in host:
        a = RF[i] - RF[i].mean(); b = (H_F - RF[i]); b = b - b.mean()
        num += (a*b).sum(); den += np.sqrt((a*a).sum()*(b*b).sum())
    res2.append((true, num/den))
R2 = np.array(res2)
print('pooled loo mean %.3f p10 %.3f p90 %.3f under.1 %.3f' % (R2[:,1].mean(), np.percentile(R2[:,1],10), np.percentile(R2[:,1],90), ((R2[:,0]-R2[:,1])>.1).mean()))
for c0 in (0, .1, .2, .3):
    print('fixed %.1f under.1 %.3f under.2 %.3f' % (c0, ((R2[:,0]-c0)>.1).mean(), ((R2[:,0]-c0)>.2).mean()))


def hourly(r, days):  # last `days` of residual series, hourly means
    seg = r[..., -days*spd:]
    return seg.reshape(seg.shape[:-1] + (days*24, 12)).mean(-1)
rng = np.random.default_rng(1)
out = []
for trial in range(600):
    idx = rng.choice(n, 16, replace=False); host, c = idx[:15], idx[15]
    H_F = RF[host].sum(0); H_J = RJ[host].sum(0)
    true = corr(H_J, RJ[c])
    row = [true]
    for days in (2, 7, 14):
        row.append(corr(hourly(H_F, days), hourly(RF[c], days)))
    loo = np.mean([corr(RF[i], H_F - RF[i]) for i in host])
    row.append(loo)
    out.append(row)
R = np.array(out); t = R[:, 0]
for k, nm in enumerate(['true', 'sketch2d', 'sketch7d', 'sketch14d', 'loo']):
    e = R[:, k]
    print('%-10s mean %.3f corrT %.2f under.1 %.3f under.2 %.3f' % (nm, e.mean(), np.corrcoef(e, t)[0, 1], ((t-e) > .1).mean(), ((t-e) > .2).mean()))
for k, nm in ((1, 'max(loo,sk2)'), (2, 'max(loo,sk7)')):
    e = np.maximum(R[:, 4], R[:, k])
    print('%-10s mean %.3f corrT %.2f under.1 %.3f under.2 %.3f' % (nm, e.mean(), np.corrcoef(e, t)[0, 1], ((t-e) > .1).mean(), ((t-e) > .2).mean()))
