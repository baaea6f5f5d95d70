"""Benchmarks: gmm against the tools a reader would otherwise use.

Run ``python benchmarks/run.py --book`` (inside the project's .venv; without
``--book`` it skips timing the book build and the tests). It prints the
tables and writes them to ``benchmarks/results.md``, which the book's
Performance appendix includes verbatim. Timings are wall-clock seconds on the
machine that ran it; see the header of the written file.

Sections:
  imports   seconds to start a process and import jax, numpy, then gmm, then the first use of
            its heavy parts (``--imports`` runs this section alone)
  em        gmm.fit_em vs scikit-learn GaussianMixture at their defaults, 1-D, N up to 5e6
  em nd     gmm.fit_em in D = 3 vs GaussianMixture, N = 1e5, K = 5, four covariance types
  gibbs     gmm.gibbs vs NumPyro NUTS (assignments marginalised), bento model:
            effective samples per second for the means, 3 runs with different keys; NUTS
            through MCMC.run (recompiles on every call) and as its kernel compiled once
  vi        gmm.cavi and gmm.advi vs scikit-learn BayesianGaussianMixture and gmm.gibbs, warm (vi.py)
  streaming gmm.fit_em on a .npy file, N = 1e7 and 1e8: seconds per pass against reading the file once,
            scikit-learn per iteration in memory, 1 vs 4 host devices (streaming.py)
  overhead  gmm.gibbs per sweep vs a plain-JAX sweep of the same model (gibbs_reference.py)
  scaling   gmm.gibbs time per sweep for N = 1e3 .. 1e6, recompilation, compiled memory (arguments,
            outputs, temporaries) and the peak resident memory of a fresh process at N = 1e6
  evidence  gmm.posterior_over_k on the galaxies, K = 1..7 (SMC at the defaults: 8 runs x 250
            particles, 8 Metropolis sweeps per tempering step): a cold
            process (import and compiles included) and a warm second call, with the log
            evidences and their error bars (``--evidence`` runs this section alone)
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import time
from functools import partial
from pathlib import Path

import jax
import numpy as np

import gmm

OUT = Path(__file__).with_name("results.md")


def timed(fn, *args, **kwargs):
    # The garbage collector is off while the call runs, as in timeit: a collection that the
    # previous work (a compilation leaves many objects) happens to trigger would otherwise be
    # charged to whichever call is running. (A gc.collect() before each call is no fairer:
    # it drops NumPyro's compiled kernels, held by weak references, and NUTS recompiles.)
    gc.disable()
    try:
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        jax.block_until_ready(getattr(out, "log_likelihood", out))
        return out, time.perf_counter() - t
    finally:
        gc.enable()


def three_clusters(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.choice(3, n, p=[0.3, 0.5, 0.2])
    return np.array([0.0, 5.0, 12.0])[z] + np.array([1.0, 1.5, 2.0])[z] * rng.standard_normal(n)


def separated(n: int, seed: int = 0) -> np.ndarray:
    """Three clusters far apart: means 80, 120 and 157, sd 3 (the issue's well-separated case)."""
    rng = np.random.default_rng(seed)
    z = rng.choice(3, n, p=[0.3, 0.4, 0.3])
    return np.array([80.0, 120.0, 157.0])[z] + 3.0 * rng.standard_normal(n)


def five_close(n: int, seed: int = 0) -> np.ndarray:
    """Five clusters 4 to 7 apart with sd 1.2: overlapping, EM needs many iterations."""
    rng = np.random.default_rng(seed)
    z = rng.choice(5, n)
    return np.array([0.0, 4.0, 10.0, 15.0, 22.0])[z] + 1.2 * rng.standard_normal(n)


def bench_em(cases) -> list[str]:
    """gmm.fit_em and scikit-learn's GaussianMixture, both at their defaults, side by side."""
    from sklearn.mixture import GaussianMixture

    rows = [
        "| data | N | K | gmm cold (s) | gmm warm (s) | sklearn (s) | gmm / sklearn time "
        "| gmm log-lik | sklearn log-lik | gmm iterations | sklearn iterations |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, make, n, k in cases:
        x = make(n)
        _, cold = timed(gmm.fit_em, jax.random.key(0), x, k)
        warm, fit = np.inf, None
        for seed in (1, 2):
            out, t = timed(gmm.fit_em, jax.random.key(seed), x, k)
            if t < warm:
                warm, fit = t, out
        t = time.perf_counter()
        gm = GaussianMixture(k, random_state=0).fit(x[:, None])
        sk_time = time.perf_counter() - t
        sk_ll = float(gm.score(x[:, None])) * n
        rows.append(
            f"| {name} | {n:.0e} | {k} | {cold:.2f} | {warm:.2f} | {sk_time:.2f} | {warm / sk_time:.2f} "
            f"| {fit.log_likelihood:.2f} | {sk_ll:.2f} | {fit.n_iter} | {gm.n_iter_} |"
        )
        print(rows[-1], flush=True)
    rows += ["", "Both at their defaults: `gmm.fit_em(key, x, K)` (4 starts, tol 1e-7 per point, float64) "
             "and `GaussianMixture(K)` (1 k-means start, tol 1e-3 per point). Warm: the faster of two "
             "further calls with new keys."]
    return rows


def _nuts_model(x, k, prior):
    """The bento model of gmm.bayesian_gmm with the assignments summed out, in NumPyro."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    pi = numpyro.sample("weights", dist.Dirichlet(jnp.full(k, prior.alpha)))
    mu = numpyro.sample("means", dist.Normal(prior.mean_loc, prior.mean_scale).expand([k]).to_event(1))
    sd = numpyro.sample("stds", dist.Gamma(prior.std_shape, prior.std_rate).expand([k]).to_event(1))
    numpyro.sample("x", dist.MixtureSameFamily(dist.Categorical(probs=pi), dist.Normal(mu, sd)), obs=x)


def _nuts_kernel(x, k: int, prior, n_samples: int, n_warmup: int, n_chains: int):
    """NUTS for the bento model as one jitted function of the chains' keys, built from NumPyro's
    functional ``hmc`` API: compiled once, so a warm call is only sampling. ``MCMC.run`` instead
    traces and compiles its sampler again on every call (the same model, the same shapes)."""
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import initialize_model

    info = initialize_model(jax.random.split(jax.random.PRNGKey(0), n_chains), partial(_nuts_model, k=k),
                            model_args=(x,), model_kwargs={"prior": prior}, dynamic_args=False)
    init_kernel, sample_kernel = hmc(info.potential_fn, algo="NUTS")

    @jax.jit
    def sample(keys):
        def chain(key, params):
            state = init_kernel(params, num_warmup=n_warmup, rng_key=key)

            def step(s, _):
                s = sample_kernel(s)
                return s, s.z["means"]  # the means are unconstrained: z is their value

            return jax.lax.scan(step, state, None, length=n_warmup + n_samples)[1][n_warmup:]

        return jax.vmap(chain)(keys, info.param_info.z)

    return sample


def bench_gibbs(n_samples: int, n_warmup: int, n_chains: int, repeats: int = 3) -> list[str]:
    """Effective samples per second for the means, warm, same chains and draws on both sides;
    ``repeats`` runs with different keys, each compared with its own NUTS runs: NumPyro's
    ``MCMC.run`` (what a user calls) and its NUTS kernel compiled once (the algorithm's cost)."""
    from numpyro.diagnostics import effective_sample_size
    from numpyro.infer import MCMC, NUTS

    x = gmm.datasets.bento()
    prior = gmm.Prior()

    def run_gibbs(seed):
        return gmm.gibbs(jax.random.key(seed), x, 2, prior=prior,
                         n_samples=n_samples, n_warmup=n_warmup, n_chains=n_chains)

    # Plain floats, and chains run one after the other: NumPyro 0.22's vectorized chains fail
    # on a second run() (a vmap over 0-d arguments), so there would be no warm time to report.
    plain = gmm.Prior(*(float(getattr(prior, f)) for f in gmm.Prior._FIELDS))
    xj = jax.numpy.asarray(x, jax.numpy.float32)
    mcmc = MCMC(NUTS(partial(_nuts_model, k=2)), num_warmup=n_warmup, num_samples=n_samples, num_chains=n_chains,
                chain_method="sequential", progress_bar=False, jit_model_args=True)
    kernel = _nuts_kernel(xj, 2, plain, n_samples, n_warmup, n_chains)

    def run_nuts(seed):
        mcmc.run(jax.random.PRNGKey(seed), xj, prior=plain)
        return np.sort(np.asarray(mcmc.get_samples(group_by_chain=True)["means"]), axis=-1)

    def run_kernel(seed):
        return np.sort(np.asarray(kernel(jax.random.split(jax.random.PRNGKey(seed), n_chains))), axis=-1)

    def min_ess(means):
        return float(np.min([effective_sample_size(means[..., j]) for j in range(means.shape[-1])]))

    _, g_cold = timed(run_gibbs, 0)
    _, n_cold = timed(run_nuts, 0)
    _, k_cold = timed(run_kernel, 0)
    rows = [
        "| run | `gmm.gibbs` warm (s) | min ESS | ESS / s | NUTS `MCMC.run` warm (s) | min ESS | ESS / s "
        "| ratio | NUTS kernel compiled once (s) | min ESS | ESS / s | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios, kernel_ratios = [], []
    for r in range(1, repeats + 1):
        post, g_warm = timed(run_gibbs, r)
        g_rate = float(np.min(post.ess["means"])) / g_warm
        means, n_warm = timed(run_nuts, r)
        k_means, k_warm = timed(run_kernel, r)
        n_rate, k_rate = min_ess(means) / n_warm, min_ess(k_means) / k_warm
        ratios.append(g_rate / n_rate)
        kernel_ratios.append(g_rate / k_rate)
        rows.append(f"| {r} | {g_warm:.2f} | {g_rate * g_warm:.0f} | {g_rate:,.0f} | {n_warm:.2f} | {n_rate * n_warm:.0f} "
                    f"| {n_rate:,.0f} | {ratios[-1]:.0f}x | {k_warm:.2f} | {k_rate * k_warm:.0f} | {k_rate:,.0f} "
                    f"| {kernel_ratios[-1]:.1f}x |")
        print(rows[-1], flush=True)
    rows += [
        "",
        f"gmm.gibbs: at least **{min(ratios):.0f}x** the effective samples per second of NumPyro's `MCMC.run`, "
        f"and at least **{min(kernel_ratios):.1f}x** those of its NUTS kernel compiled once, in each of "
        f"{repeats} run(s) (keys 1..{repeats} on every side; cold first calls, compilation included: "
        f"gmm.gibbs {g_cold:.2f} s, `MCMC.run` {n_cold:.2f} s, the kernel {k_cold:.2f} s). "
        f"{n_chains} chains x ({n_warmup} warm-up + {n_samples} kept) on every side; ESS of the means "
        "sorted by size, the smaller of the two; NumPyro's own ESS estimator for NUTS. A warm "
        "`MCMC.run` traces and compiles its sampler again (from JAX's persistent cache when one is "
        "set, as `scripts/env.sh` does), and that, not the sampling, is most of its time; the "
        "compiled kernel runs the chains side by side under `vmap`, as `gmm.gibbs` does.",
    ]
    print(rows[-1], flush=True)
    return rows


_RSS_SCRIPT = """
import os, sys, threading, time, warnings
import jax, numpy as np, gmm
n = int(sys.argv[1])
rng = np.random.default_rng(0)
z = rng.choice(3, n, p=[0.3, 0.5, 0.2])
x = np.array([0.0, 5.0, 12.0])[z] + np.array([1.0, 1.5, 2.0])[z] * rng.standard_normal(n)
del z
warnings.simplefilter("ignore", RuntimeWarning)
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * page
peak, done = [0], threading.Event()
def watch():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.001)
gmm.gibbs(jax.random.key(0), x[:1000], 3, n_samples=200, n_warmup=50, n_chains=1)  # imports, JAX set-up
out = []
for seed in (0, 1):  # a cold call (compilation included), then a warm one
    before = rss()
    peak[0] = before
    done.clear()
    thread = threading.Thread(target=watch)
    thread.start()
    gmm.gibbs(jax.random.key(seed), x, 3, n_samples=200, n_warmup=50, n_chains=1)
    done.set()
    thread.join()
    out += [before, max(peak[0], rss())]
print(*out)
"""


def peak_rss(n: int) -> tuple[float, float, float, float]:
    """Resident memory (MiB) of a fresh process just before a ``gmm.gibbs`` call on n points
    (K = 3, one chain, 250 sweeps; the data made, a small call already run) and its peak during the
    call (sampled every millisecond from /proc/self/statm: Linux only), for a first (cold) call and
    a second (warm) one."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(n)], cwd=root, env=env, check=True,
                         capture_output=True, text=True).stdout
    return tuple(int(v) / 2**20 for v in out.split())


def bench_scaling(sizes, n_samples: int, n_warmup: int, rss_sizes=()) -> list[str]:
    """Time per sweep, recompilation and compiled memory of gmm.gibbs against N (one chain), and
    the peak resident memory of a fresh process at the sizes in ``rss_sizes``."""
    from gmm.inference import sweep as _sweep
    from gmm.inference.scoring import standardise

    rows = [
        "| N | points per chunk x chunks | cold (s) | warm (s) | time per sweep (ms) "
        "| per sweep per 1e6 points (ms) | new compilations on the 2nd call | compiled memory / data size "
        "| of which arguments / outputs / temporaries |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    n_sweeps = n_samples + n_warmup
    for n in sizes:
        x = three_clusters(n)
        kw = dict(n_samples=n_samples, n_warmup=n_warmup, n_chains=1)
        t = time.perf_counter()
        gmm.gibbs(jax.random.key(0), x, 3, **kw)
        cold = time.perf_counter() - t
        before = _sweep.run._cache_size()
        t = time.perf_counter()
        gmm.gibbs(jax.random.key(1), x, 3, **kw)
        warm = time.perf_counter() - t
        recompiled = _sweep.run._cache_size() - before
        # XLA's own accounting of the compiled program: arguments, outputs and temporaries,
        # against the float32 data (N,) that the sampler works on.
        xj, pj, _, _ = standardise(np.asarray(x, np.float64), gmm.Prior.from_data(x))
        n_chunks, chunk = _sweep.chunk_plan(n, 1)
        xs = _sweep.to_chunks(xj, n_chunks, chunk)
        centres = jax.numpy.zeros((1, 3), jax.numpy.float32)
        mem = _sweep.run.lower(jax.random.key(0), xs, n, pj, jax.numpy.float32(0.5), centres,
                               n_samples, n_warmup, 3, jax.numpy.asarray(True)).compile().memory_analysis()
        parts = [mem.argument_size_in_bytes, mem.output_size_in_bytes, mem.temp_size_in_bytes]
        per = warm / n_sweeps
        split = " / ".join(f"{b / xj.nbytes:.2f}" for b in parts)
        rows.append(f"| {n:.0e} | {chunk} x {n_chunks} | {cold:.2f} | {warm:.2f} | {per * 1e3:.3f} "
                    f"| {per * 1e3 * 1e6 / n:.1f} | {recompiled} | {sum(parts) / xj.nbytes:.2f}x | {split} |")
        print(rows[-1], flush=True)
    rows += ["", "Compiled memory: XLA's buffer assignment for the whole run (all sweeps), in units of the "
             "float32 data (4N bytes). Outputs: the running sum of the assignment probabilities, (N, K), and "
             "the draws. More than 2^17 points (times chains) are processed in chunks of at most 2^15 points "
             "(divided by the chains), so the temporaries are bounded by the chunk, not by N."]
    for n in rss_sizes:
        b_cold, p_cold, b_warm, p_warm = peak_rss(n)
        data = 4 * n / 2**20
        rows += ["", f"Resident memory of a fresh process at N = {n:.0e} (K = 3, one chain; Python, JAX and gmm "
                 f"loaded, x made as float64): a first `gmm.gibbs` call (compilation included) rises from "
                 f"{b_cold:.0f} to a peak of {p_cold:.0f} MiB ({(p_cold - b_cold) / data:.1f}x the float32 "
                 f"data), a second call from {b_warm:.0f} to {p_warm:.0f} MiB "
                 f"({(p_warm - b_warm) / data:.1f}x; the float64 copies of x made on entry and the float64 "
                 f"(N, K) `assignment_probs` returned included)."]
        print(rows[-1], flush=True)
    return rows


def bench_overhead(cases, repeats: int = 3) -> list[str]:
    """Time per sweep of gmm.gibbs (one chain, one temperature) against the plain-JAX sweep of
    ``gibbs_reference.py``: the difference between a run of ``long`` and one of ``short`` sweeps,
    both warm, divided by ``long - short``, so fixed costs (validation, compilation, diagnostics
    on few draws) cancel; the best of ``repeats``. ``cases``: (N, short, long) triples."""
    sys.path.insert(0, str(Path(__file__).parent))
    import gibbs_reference as ref
    import jax.numpy as jnp

    rows = [
        "| N | gmm.gibbs per sweep (µs) | plain JAX per sweep (µs) | ratio |",
        "|---|---|---|---|",
    ]
    for n, short, long in cases:
        x = three_clusters(n) if n > 20 else np.asarray(gmm.datasets.bento(), np.float64)
        k = 3 if n > 20 else 2
        prior = gmm.Prior.from_data(x)

        def run_gmm(n_samples, seed):
            gmm.gibbs(jax.random.key(seed), x, k, prior=prior, n_samples=n_samples, n_warmup=1, n_chains=1)

        xs = jnp.asarray((x - x.mean()) / x.std(), jnp.float32)
        pj = tuple(jnp.float32(v) for v in (1.0, 0.0, 1.0, 2.0, 2.0))
        init = (jnp.full(k, 1.0 / k), jnp.linspace(-1.0, 1.0, k), jnp.full(k, 0.5))

        def run_ref(n_sweeps, seed):
            jax.block_until_ready(ref.run(jax.random.key(seed), xs, pj, init, n_sweeps + 1))

        per = {}
        for name, fn in (("gmm", run_gmm), ("ref", run_ref)):
            for m in (short, long):
                fn(m, 0)  # compile
            best = np.inf
            for r in range(repeats):
                t = time.perf_counter()
                fn(short, r + 1)
                t_short = time.perf_counter() - t
                t = time.perf_counter()
                fn(long, r + 1)
                best = min(best, (time.perf_counter() - t - t_short) / (long - short))
            per[name] = best
        rows.append(f"| {n:.0e} | {per['gmm'] * 1e6:.1f} | {per['ref'] * 1e6:.1f} | {per['gmm'] / per['ref']:.2f} |")
        print(rows[-1], flush=True)
    return rows


def bench_book(log: Path | None = None) -> list[str]:
    """Wall time of the README's test command, ``bash scripts/test.sh``, and of each of its
    parts (unit tests, clean book build with every cell executed, built-book tests, links),
    as the script itself reports them ("time: PART took S s"): from a run started here, or
    read from the saved output ``log`` of a run (such as CI's)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    if log is None:
        out = subprocess.run(["bash", "scripts/test.sh"], cwd=root, check=True, capture_output=True, text=True,
                             stdin=subprocess.DEVNULL).stdout
        source = "run by this benchmark"
    else:
        out, source = log.read_text(errors="replace"), f"read from the output of a run, {log.name}"
    rows = [f"`bash scripts/test.sh`, {source}:", "", "| part | wall time (s) |", "|---|---|"]
    for line in out.splitlines():
        if line.startswith("time: ") and " took " in line:
            part, seconds = line.removeprefix("time: ").rsplit(" took ", 1)
            rows.append(f"| {part} | {seconds.removesuffix(' s')} |")
            print(rows[-1], flush=True)
    if len(rows) == 4:
        raise SystemExit(f"no 'time: ... took ... s' lines in the output of scripts/test.sh ({source})")
    return rows + [""] + page_times(out, root / "_build" / ".build" / "cell_times.json")


def page_times(out: str, cell_times: Path, page_goal: float = 60.0, cell_goal: float = 20.0) -> list[str]:
    """Each page's execution time in the book build ("NAME: executed in S s" lines of ``out``)
    with its slowest cell (from the build's ``cell_times.json``), against the goals: no page
    over ``page_goal`` seconds, no cell over ``cell_goal``."""
    import json

    pages = {}
    for line in out.splitlines():
        if ": executed in " in line and line.endswith(" s"):
            name, seconds = line.rsplit(": executed in ", 1)
            pages[Path(name).with_suffix("").as_posix()] = float(seconds.removesuffix(" s"))
    if not pages:
        return ["(no page times in this output)"]
    cells = json.loads(cell_times.read_text()) if cell_times.exists() else {}
    rows = ["| page | executed in (s) | slowest cell (s) | cell index |", "|---|---|---|---|"]
    worst_cell = 0.0
    for name, seconds in sorted(pages.items(), key=lambda kv: -kv[1]):
        times = cells.get(name, {})
        index, slowest = max(times.items(), key=lambda kv: kv[1], default=("", float("nan")))
        worst_cell = max(worst_cell, slowest if slowest == slowest else 0.0)
        rows.append(f"| {name} | {seconds:.1f} | {slowest:.1f} | {index} |")
    worst_page = max(pages.values())
    rows += ["", f"Slowest page {worst_page:.0f} s (goal: at most {page_goal:.0f} s): "
             + ("met" if worst_page <= page_goal else "MISSED")
             + f"; slowest cell {worst_cell:.0f} s (goal: at most {cell_goal:.0f} s): "
             + ("met." if worst_cell <= cell_goal else "MISSED.")]
    print("\n".join(rows), flush=True)
    return rows


_EVIDENCE_SCRIPT = """
import json, time
t0 = time.perf_counter()
import jax, gmm
imported = time.perf_counter() - t0
x = gmm.datasets.galaxies()
prior = gmm.Prior(alpha=1, mean_loc=20, mean_scale=10, std_shape=2, std_rate=1)
post = gmm.posterior_over_k(jax.random.key(0), x, range(1, 8), prior=prior)
cold = time.perf_counter() - t0
t1 = time.perf_counter()
gmm.posterior_over_k(jax.random.key(1), x, range(1, 8), prior=prior)
warm = time.perf_counter() - t1
est = post.estimates
print(json.dumps({"cold": cold, "import": imported, "warm": warm, "log_evidence": post.log_evidence,
                  "log_evidence_stderr": post.log_evidence_stderr,
                  "steps": {k: e.n_temperatures for k, e in est.items()},
                  "acceptance": {k: e.acceptance_rate for k, e in est.items()}}))
"""


def bench_evidence() -> list[str]:
    """``gmm.posterior_over_k`` on the galaxies, K = 1..7, in a fresh process (cold: import and
    compiles included) and again in the same process (warm)."""
    import json
    import subprocess

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, "-c", _EVIDENCE_SCRIPT], cwd=root, env=env, check=True,
                         capture_output=True, text=True).stdout
    load = os.getloadavg()[0]
    res = json.loads(out.strip().splitlines()[-1])
    rows = [f"Cold process (import and compiles included): {res['cold']:.1f} s, of which import "
            f"{res['import']:.1f} s; warm second call: {res['warm']:.1f} s (load average "
            f"{load:.1f} on {os.cpu_count()} cores; the machine may be shared).", "",
            "| K | log p(x \\| K) | error bar | tempering steps | acceptance |", "|---|---|---|---|---|"]
    for k, v in res["log_evidence"].items():
        steps, acc = res["steps"][k], res["acceptance"][k]
        acc_s = "" if acc is None or acc != acc else f"{acc:.2f}"
        rows.append(f"| {k} | {v:.3f} | {res['log_evidence_stderr'][k]:.3f} | {steps:.1f} | {acc_s} |")
    print("\n".join(rows), flush=True)
    return rows


_IMPORT_CASES = {
    "import jax, numpy": "import jax, numpy",
    "import jax, numpy, gmm": "import jax, numpy, gmm",
    "... and gmm.fit_em (EM only)": "import jax, numpy, gmm; gmm.fit_em",
    "... and gmm.Prior (GenJAX)": "import jax, numpy, gmm; gmm.Prior",
    "... and gmm.plotting (Matplotlib)": "import jax, numpy, gmm; gmm.plotting",
}


def bench_import(repeats: int = 5) -> list[str]:
    """Seconds to start a fresh interpreter and import: jax and numpy alone, then gmm, then
    the first use of each heavy part (gmm loads its modules when a name is first used).
    The cases alternate, so a busy machine slows them alike; the median of ``repeats``."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    times: dict[str, list[float]] = {name: [] for name in _IMPORT_CASES}
    for _ in range(repeats):
        for name, code in _IMPORT_CASES.items():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True)
            times[name].append(time.perf_counter() - t0)
    base = float(np.median(times["import jax, numpy"]))
    rows = ["| what a fresh process imports | seconds (median) | more than jax, numpy |", "|---|---|---|"]
    for name, ts in times.items():
        med = float(np.median(ts))
        rows.append(f"| `{_IMPORT_CASES[name]}` | {med:.2f} | {med - base:+.2f} |")
    extra = float(np.median(times["import jax, numpy, gmm"])) - base
    rows += ["", f"`import gmm` costs {extra:+.2f} s over `import jax, numpy` (goal: at most 1 s): "
             + ("met." if extra <= 1.0 else "MISSED.")]
    print("\n".join(rows), flush=True)
    return rows


def header() -> list[str]:
    return [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, "
        f"{os.cpu_count()} CPU cores, Python {platform.python_version()}, jax {jax.__version__} "
        f"({jax.default_backend()}), load average {os.getloadavg()[0]:.1f} at the start (other work on the "
        "machine slows both sides of every comparison alike, but inflates absolute times).",
        "",
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--book", action="store_true", help="also time the README test command (unit tests, clean book build, built-book tests)")
    parser.add_argument("--book-log", type=Path, help="with --book: tabulate the part times from this saved "
                        "output of scripts/test.sh instead of running it")
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    parser.add_argument("--evidence", action="store_true", help="only the evidence section (not written)")
    parser.add_argument("--imports", action="store_true", help="only the import-time section (not written)")
    args = parser.parse_args(argv)
    imports = ["", "### Start-up: `import gmm` against `import jax, numpy`", ""]
    if args.imports:
        print("\n".join(header() + imports + bench_import()))
        return 0
    evidence = ["", "### The evidence: `gmm.posterior_over_k` on the galaxies, K = 1..7", ""]
    if args.evidence:
        print("\n".join(header() + evidence + bench_evidence()))
        return 0
    if args.quick:
        cases = [("separated", separated, 10_000, 3), ("overlapping", three_clusters, 10_000, 3)]
    else:
        cases = [("separated", separated, 1_000_000, 3), ("overlapping", three_clusters, 1_000_000, 3),
                 ("five close", five_close, 1_000_000, 5), ("five close", five_close, 5_000_000, 5)]
    lines = header()
    lines += imports[1:] + bench_import(repeats=1 if args.quick else 5) + [""]
    lines += ["### EM: `gmm.fit_em` vs scikit-learn `GaussianMixture`, both at their defaults", ""]
    lines += bench_em(cases)
    lines += ["", "### EM in D dimensions: `gmm.fit_em` vs scikit-learn (N = 1e5, D = 3, K = 5)", ""]
    sys.path.insert(0, str(Path(__file__).parent))
    from nd import bench_nd

    table = bench_nd(n=10_000 if args.quick else 100_000, repeats=1 if args.quick else 3)
    print(table, flush=True)
    lines += table.splitlines()
    lines += ["", "### Posterior sampling: `gmm.gibbs` vs NumPyro NUTS (bento data, K = 2)", ""]
    lines += bench_gibbs(n_samples=2000, n_warmup=500, n_chains=4, repeats=1 if args.quick else 3)
    lines += ["", "### Variational inference: `gmm.cavi` and `gmm.advi` vs scikit-learn and `gmm.gibbs`", ""]
    from vi import bench_vi

    lines += bench_vi(repeats=1 if args.quick else 3).splitlines()
    lines += ["", "### Data that do not fit: `gmm.fit_em` streamed from a .npy file (K = 3, D = 1)", ""]
    from streaming import bench_streaming

    lines += bench_streaming(sizes=(1_000_000, 4_000_000) if args.quick else (10_000_000, 100_000_000)).splitlines()
    lines += ["", "### The sampler's overhead: `gmm.gibbs` vs a plain-JAX sweep of the same model", ""]
    lines += bench_overhead([(20, 1000, 5000), (100_000, 100, 300)], repeats=1 if args.quick else 3)
    lines += ["", "### Scaling: `gmm.gibbs` against N (K = 3, one chain)", ""]
    scale_sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    lines += bench_scaling(scale_sizes, n_samples=200, n_warmup=50, rss_sizes=[] if args.quick else [1_000_000])
    lines += evidence + bench_evidence()
    if args.book:
        lines += ["", "### The book", ""]
        lines += bench_book(args.book_log)
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
