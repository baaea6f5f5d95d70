"""Streamed EM: a pass of ``gmm.fit_em`` over a .npy file against the cost of just reading it.

Run from the repository root: ``PYTHONPATH=. python benchmarks/streaming.py [--quick]``. For each N
(1-D, three overlapping clusters, K = 3, float64 on disk), one process writes the file in pieces
and then measures, side by side:

- reading the file once: raw ``readinto`` of 2**24-byte blocks, and gmm's own reader
  (``ChunkSource.chunks``, float64 blocks of the default chunk, no arithmetic), both from the
  page cache (the file was just written), the floor a streaming pass cannot beat;
- ``gmm.fit_em(key, path, 3, max_iter=m, tol=1e-300)`` (m + 1 passes, none stopped early by the
  tolerance) for m = 1 and m = 6, warm: the difference over 5 is the
  time of one EM pass (E step, sums, M step), the rest is the fixed cost (the sample pass, the
  starts on the sample);
- scikit-learn's ``GaussianMixture`` on the same data held in memory (N at most 1e7: at 1e8 its
  (N, K) responsibilities and temporaries need several GB), seconds per iteration over 5 iterations;
- the speed-up of a pass from 1 to 4 devices (``XLA_FLAGS=--xla_force_host_platform_device_count=4``
  in a fresh process; on a CPU of few cores the devices share the cores).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

N_PASSES = 5


def write_file(path: Path, n: int, piece: int = 1 << 22) -> None:
    """n points of three overlapping clusters written to a .npy file a piece at a time."""
    rng = np.random.default_rng(0)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n,))
    for start in range(0, n, piece):
        m = min(piece, n - start)
        z = rng.choice(3, m, p=[0.3, 0.5, 0.2])
        out[start: start + m] = rng.normal(np.array([0.0, 3.0, 5.0])[z], np.array([1.0, 0.8, 1.5])[z])
    out.flush()
    del out


def read_seconds(path: Path) -> tuple[float, float]:
    """(raw readinto, gmm's reader) seconds for one pass over the file."""
    from gmm.estimation.sources import open_source
    from gmm.estimation.streaming import default_chunk_size

    buf = bytearray(1 << 24)
    t = time.perf_counter()
    with open(path, "rb") as f:
        while f.readinto(buf):
            pass
    raw = time.perf_counter() - t
    source = open_source(str(path), default_chunk_size(3, 1))
    t = time.perf_counter()
    for _ in source.chunks(check=False):
        pass
    return raw, time.perf_counter() - t


def pass_seconds(path: Path) -> tuple[float, float]:
    """(seconds per EM pass, fixed seconds) of the streamed fit, warm."""
    import jax

    import gmm

    def fit(m):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a fit stopped by max_iter warns; here it is meant to stop
            t = time.perf_counter()
            # tol so small that no run stops early: exactly m + 1 passes after the sample's
            gmm.fit_em(jax.random.key(0), str(path), 3, max_iter=m, tol=1e-300, progress=False)
            return time.perf_counter() - t

    fit(1)  # compile
    one, more = fit(1), fit(1 + N_PASSES)
    per_pass = (more - one) / N_PASSES
    return per_pass, one - 2 * per_pass


def sklearn_seconds(path: Path) -> float:
    """scikit-learn's seconds per EM iteration on the data in memory (5 iterations, random start)."""
    from sklearn.mixture import GaussianMixture

    x = np.load(path).reshape(-1, 1)
    gm = GaussianMixture(3, max_iter=N_PASSES, tol=0.0, init_params="random_from_data", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        gm.fit(x)
    return (time.perf_counter() - t) / gm.n_iter_


def _devices_pass(path: Path, devices: int) -> float:
    """Seconds per pass in a fresh process with ``devices`` host devices."""
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); from streaming import pass_seconds; "
            f"print(pass_seconds({str(path)!r})[0])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def bench_streaming(sizes=(10_000_000, 100_000_000), sklearn_max: int = 10_000_000) -> str:
    rows = ["| N | file | read (raw) | read (gmm's reader) | EM pass | passes / s | pass / raw read | fixed cost "
            "| scikit-learn, s / iteration (in memory) |", "|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"x{n}.npy"
            write_file(path, n)
            raw, reader = read_seconds(path)
            per_pass, fixed = pass_seconds(path)
            sk = f"{sklearn_seconds(path):.2f}" if n <= sklearn_max else "not run (needs several GB)"
            rows.append(f"| {n:.0e} | {path.stat().st_size / 2**20:,.0f} MiB | {raw:.2f} s | {reader:.2f} s "
                        f"| {per_pass:.2f} s | {1 / per_pass:.2f} | {per_pass / raw:.0f}x | {fixed:.1f} s | {sk} |")
            print(rows[-1], flush=True)
            path.unlink()
        n = sizes[0]
        path = Path(tmp) / "dev.npy"
        write_file(path, n)
        one, four = _devices_pass(path, 1), _devices_pass(path, 4)
    rows += ["", f"One pass at N = {n:.0e}: {one:.2f} s on 1 device, {four:.2f} s on 4 host devices "
             f"(speed-up {one / four:.2f}x on {os.cpu_count()} cores)."]
    return "\n".join(rows)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print(bench_streaming(sizes=(1_000_000, 4_000_000) if quick else (10_000_000, 100_000_000)))
