"""gmm.fit_em on points in D dimensions against scikit-learn's GaussianMixture at N = 100,000 points, D = 3, K = 5.

Run from the repository root: ``PYTHONPATH=. python benchmarks/nd.py``. Both are timed warm
(one untimed call first, so JAX's compilation is excluded) on the same data with the same
settings (n_init, tol per point, max_iter, reg_covar), side by side in one process, and a
markdown table is printed.
"""

from __future__ import annotations

import time

import jax
import numpy as np


def _data(n: int = 100_000, seed: int = 0) -> np.ndarray:
    from gmm import Mixture

    rng = np.random.default_rng(seed)
    covs = []
    for s in (0.3, 0.6, 1.0, 1.5, 0.8):
        a = rng.normal(size=(3, 3))
        covs.append(s * (a @ a.T / 3 + 0.2 * np.eye(3)))
    m = Mixture([0.1, 0.15, 0.2, 0.25, 0.3], rng.normal(scale=3.0, size=(5, 3)), covariances=np.array(covs))
    return m.sample(jax.random.key(seed), n)[0]


def _best_of(f, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def bench_nd(n: int = 100_000, k: int = 5, n_init: int = 1, tols: tuple[float, ...] = (1e-3, 1e-6),
             max_iter: int = 1000, repeats: int = 3) -> str:
    """Time both fits (best of ``repeats`` warm runs) for the four covariance types and each
    tolerance (scikit-learn's default 1e-3 and a tight 1e-6); return a markdown table."""
    from sklearn.mixture import GaussianMixture

    from gmm import fit_em

    x = _data(n)
    rows = ["| covariance | tol | fit | seconds (best of %d) | iterations | log-likelihood |" % repeats,
            "|---|---|---|---|---|---|"]
    for ct, tol in ((ct, tol) for tol in tols for ct in ("full", "tied", "diag", "spherical")):
        def ours():
            r = fit_em(jax.random.key(1), x, k, covariance_type=ct, n_init=n_init, tol=tol, max_iter=max_iter)
            return r.n_iter, r.log_likelihood

        def sk():
            g = GaussianMixture(k, covariance_type=ct, n_init=n_init, tol=tol, max_iter=max_iter, random_state=1).fit(x)
            return g.n_iter_, g.score(x) * x.shape[0]

        ours()  # compile
        t_ours, (it_o, ll_o) = _best_of(ours, repeats)
        t_sk, (it_s, ll_s) = _best_of(sk, repeats)
        rows.append(f"| {ct} | {tol:g} | gmm.fit_em | {t_ours:.3f} | {it_o} | {ll_o:.2f} |")
        rows.append(f"| {ct} | {tol:g} | sklearn GaussianMixture | {t_sk:.3f} | {it_s} | {ll_s:.2f} |")
    head = f"N = {n:,}, D = 3, K = {k}, n_init = {n_init}, tol per point, max_iter = {max_iter}\n\n"
    return head + "\n".join(rows)


if __name__ == "__main__":
    print(bench_nd())
