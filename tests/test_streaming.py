"""Streamed, sharded and multi-process EM (gmm.estimation.streaming): the same fit however
the data are read or split, the same optimum as the fit in memory, memory bounded by the
chunk, and every bad chunk or file named."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gmm
from gmm.estimation import em_multivariate, streaming

WORKER = str(Path(__file__).with_name("streaming_worker.py"))
REL = 1e-10


def _data(d: int, n: int = 40_001, seed: int = 0) -> np.ndarray:
    """Two overlapping clusters, n points in d dimensions (n not a multiple of any chunk)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 1.0, (n * 3 // 5, d))
    b = rng.normal(3.0, 0.7, (n - a.shape[0], d)) + np.arange(d)
    x = np.concatenate([a, b])[rng.permutation(n)]
    return x[:, 0] if d == 1 else x


def _close(a: gmm.EMResult, b: gmm.EMResult, rel: float = REL) -> None:
    assert a.n_iter == b.n_iter
    assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=rel)
    for name in ("weights", "means", "covariances"):
        u, v = getattr(a.mixture, name), getattr(b.mixture, name)
        assert np.allclose(u, v, rtol=rel, atol=rel * np.abs(v).max()), name


@pytest.fixture(scope="module", params=[1, 3], ids=["1-D", "3-D"])
def case(request, tmp_path_factory):
    """Data, their .npy file, and the fit with all the data in one chunk."""
    x = _data(request.param)
    path = tmp_path_factory.mktemp("stream") / "x.npy"
    np.save(path, x)
    one = gmm.fit_em(jax.random.key(0), x, 2, chunk_size=x.shape[0])
    return x, str(path), one


def test_every_way_of_reading_gives_the_one_chunk_fit(case):
    x, path, one = case
    _close(gmm.fit_em(jax.random.key(0), path, 2, chunk_size=4096), one)
    _close(gmm.fit_em(jax.random.key(0), x, 2, chunk_size=10_000), one)
    parts = np.array_split(x, [5, 9000, 9001, 30_000])
    _close(gmm.fit_em(jax.random.key(0), lambda: iter(parts), 2, chunk_size=8192), one)
    assert one.converged and np.all(np.diff(one.history) > -1e-9 * abs(one.log_likelihood))


def test_reaches_the_in_memory_optimum(case):
    x, path, one = case
    assert one.log_likelihood == pytest.approx(float(one.mixture.log_likelihood(x)), rel=1e-12)
    # both run close to the limit (4e-6 nats here): the same maximum from different starts
    mem = gmm.fit_em(jax.random.key(3), x, 2, tol=1e-10)
    tight = gmm.fit_em(jax.random.key(0), path, 2, tol=1e-10, max_iter=5000)
    assert tight.log_likelihood >= one.log_likelihood
    assert tight.log_likelihood == pytest.approx(mem.log_likelihood, abs=1e-4)
    assert np.allclose(tight.mixture.means, mem.mixture.means, atol=1e-3)


def test_key_fixes_the_sample_and_the_split_does_not():
    x = _data(2, n=50_000)
    seed, ones = np.uint64(12345), np.ones(x.shape[0])
    whole = streaming.smallest(streaming.row_hashes(x, seed), x, ones, 1000)[1]
    shuffled = x[np.random.default_rng(1).permutation(x.shape[0])]
    again = streaming.smallest(streaming.row_hashes(shuffled, seed), shuffled, ones, 1000)[1]
    assert np.array_equal(whole, again)
    other = streaming.smallest(streaming.row_hashes(x, np.uint64(7)), x, ones, 1000)[1]
    assert not np.array_equal(whole, other)
    # the sample is drawn evenly: its mean is the data's within a few standard errors
    assert np.all(np.abs(whole.mean(0) - x.mean(0)) < 5 * x.std(0) / np.sqrt(1000))
    assert streaming.row_hashes(np.array([[-0.0, 1.0]]), seed) == streaming.row_hashes(np.array([[0.0, 1.0]]), seed)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_m_step_from_sums_is_the_in_memory_m_step(covariance_type):
    rng = np.random.default_rng(2)
    y = rng.normal(size=(500, 3)) * [1.0, 2.0, 0.5]
    # the third component is far from every point: it gets no responsibility (a dead one)
    prev = (np.log([0.3, 0.6, 0.1]), np.r_[rng.normal(size=(2, 3)), np.full((1, 3), 1e3)],
            np.stack([np.eye(3), 2 * np.eye(3), np.eye(3)]))
    reg = np.full(3, 1e-4)
    with jax.enable_x64(True):
        lp = em_multivariate.e_step(jnp.asarray(y), *(jnp.asarray(p) for p in prev))
        want, ll = em_multivariate.m_step(jnp.asarray(y), jnp.ones(500), lp, jnp.asarray(reg), covariance_type,
                                          tuple(jnp.asarray(p) for p in prev))
    mesh = gmm.estimation.distributed.local_mesh()
    sums = gmm.estimation.distributed.chunk_statistics(mesh, y, np.ones(500), prev)
    got = streaming.m_step(*sums[1:], prev, reg, covariance_type, 500)
    assert sums[0] == pytest.approx(float(ll), rel=1e-13)
    assert sums[1][2] == 0.0 and got[0][2] == -np.inf
    for g, w in zip(got, want):
        assert np.allclose(g, np.asarray(w), rtol=1e-11, atol=1e-12)


def test_rounded_data_sample_every_value_with_its_count():
    """Repeated values enter the sample together, with their count: on data recorded to whole
    units the streamed fit reaches the in-memory fit's maximum."""
    rng = np.random.default_rng(4)
    x = np.rint(np.r_[rng.normal(0, 6, 300_000), rng.normal(40, 10, 200_000), rng.normal(80, 4, 100_000)])
    rows, counts = np.unique(x, return_counts=True)
    h, sampled, got = streaming.smallest(streaming.row_hashes(rows[:, None], np.uint64(1)), rows[:, None],
                                         counts.astype(float), streaming.SAMPLE_SIZE)
    assert got.sum() == x.size and sampled.shape[0] == rows.size  # every distinct value, with its count
    mem = gmm.fit_em(jax.random.key(0), x, 3)
    for key in range(3):
        streamed = gmm.fit_em(jax.random.key(key), x, 3, chunk_size=65_536)
        assert streamed.log_likelihood == pytest.approx(mem.log_likelihood, abs=1.0)
        assert np.allclose(streamed.mixture.weights, mem.mixture.weights, atol=1e-3)


def _worker(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, WORKER, *args], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_four_devices_and_two_processes_give_the_one_device_fit(case, tmp_path):
    x, path, one = case
    single = gmm.fit_em(jax.random.key(0), path, 2, chunk_size=5000)
    _close(single, one)
    half = x.shape[0] * 2 // 5  # unequal parts
    parts = [tmp_path / "a.npy", tmp_path / "b.npy"]
    np.save(parts[0], x[:half])
    np.save(parts[1], x[half:])
    port = str(_free_port())
    runs = [_worker(str(tmp_path / "dev.npz"), "2", "5000", "devices", path)]
    runs += [_worker(str(tmp_path / f"p{i}.npz"), "2", "5000", "process", str(i), port, str(parts[i]))
             for i in range(2)]
    for run in runs:
        out, _ = run.communicate(timeout=300)
        assert run.returncode == 0, out[-3000:]
    for name, devices, processes in [("dev", 4, 1), ("p0", 1, 2), ("p1", 1, 2)]:
        z = np.load(tmp_path / f"{name}.npz")
        assert (int(z["devices"]), int(z["processes"])) == (devices, processes)
        assert int(z["n_iter"]) == single.n_iter
        assert float(z["ll"]) == pytest.approx(single.log_likelihood, rel=REL)
        for key in ("weights", "means", "covariances"):
            ref = getattr(single.mixture, key)
            assert np.allclose(z[key], ref, rtol=REL, atol=REL * np.abs(ref).max()), (name, key)


def test_a_process_that_fails_stops_the_others(tmp_path):
    """One process's file is missing: both exit with an error (none waits for the other)."""
    good = tmp_path / "good.npy"
    np.save(good, _data(1, 5000))
    port = str(_free_port())
    runs = [_worker(str(tmp_path / "p0.npz"), "2", "1000", "process", "0", port, str(good)),
            _worker(str(tmp_path / "p1.npz"), "2", "1000", "process", "1", port, str(tmp_path / "missing.npy"))]
    outs = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode != 0 for run in runs)
    assert "no such file" in outs[1] and "process 1 of 2" in outs[0], outs[0][-2000:]


_MEMORY = """
import resource, sys, warnings, jax, gmm
warnings.simplefilter("ignore")  # one iteration: not converged, and that is not the point here
small, big, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
gmm.fit_em(jax.random.key(0), small, 2, chunk_size=chunk, max_iter=1, progress=False)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
gmm.fit_em(jax.random.key(0), big, 2, chunk_size=chunk, max_iter=1, progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)
"""


def test_peak_memory_is_bounded_by_the_chunk_not_the_file(tmp_path):
    chunk = 1 << 16
    rng = np.random.default_rng(0)
    small, big = tmp_path / "small.npy", tmp_path / "big.npy"
    np.save(small, rng.normal(size=200_000))
    np.save(big, rng.normal(size=20_000_000))  # 160 MB
    # 64 chunks' worth of float64, 32 MiB: the chunk's own copies and temporaries, and the
    # allocator's per-thread arenas (which vary by 10-20 MB between runs of the same fit)
    bound_kib = 64 * chunk * 8 // 1024
    assert os.path.getsize(big) > 4 * bound_kib * 1024
    run = subprocess.run([sys.executable, "-c", _MEMORY, str(small), str(big), str(chunk)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    grew = int(run.stdout.split()[-1])  # KiB on Linux
    assert grew < bound_kib, f"peak resident memory grew by {grew} KiB reading a {os.path.getsize(big)} B file"


def test_progress_bar_per_pass(capsys):
    gmm.fit_em(jax.random.key(0), _data(1, 5000), 2, chunk_size=1000, tol=1e-3, progress=True)
    err = capsys.readouterr().err
    assert "EM pass 0" in err and "rows" in err


def _bad_chunks(bad):
    good = np.linspace(0.0, 1.0, 100)
    return lambda: iter([good, good + 1, bad])


@pytest.mark.parametrize("bad, words", [
    (np.r_[np.linspace(0, 1, 10), np.nan], ["chunk 2", "from row 200", "finite"]),
    (np.ones((5, 2)), ["chunk 2", "2 column(s)", "1"]),
    (np.array(["a", "b"]), ["chunk 2", "real numbers"]),
    (np.array([True, False]), ["chunk 2", "booleans"]),
    (np.empty(0), ["chunk 2", "empty"]),
    (np.ones((2, 2, 2)), ["chunk 2", "shape"]),
])
def test_a_bad_chunk_is_named(bad, words):
    with pytest.raises(ValueError) as err:
        gmm.fit_em(jax.random.key(0), _bad_chunks(bad), 2)
    for w in words:
        assert w in str(err.value), str(err.value)


def test_bad_files_and_sources_are_refused(tmp_path):
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="no such file"):
        gmm.fit_em(key, str(tmp_path / "missing.npy"), 2)
    path = tmp_path / "x.npy"
    np.save(path, np.arange(1000.0))
    data = path.read_bytes()
    cut = tmp_path / "cut.npy"
    cut.write_bytes(data[: len(data) - 80])
    with pytest.raises(ValueError, match="truncated"):
        gmm.fit_em(key, cut, 2)
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"not a numpy file at all")
    with pytest.raises(ValueError, match="not a readable .npy"):
        gmm.fit_em(key, junk, 2)
    with pytest.raises(ValueError, match="only .npy"):
        gmm.fit_em(key, tmp_path / "x.csv", 2)
    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((50, 2))))
    with pytest.raises(ValueError, match="Fortran"):
        gmm.fit_em(key, tmp_path / "f.npy", 2)
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    with pytest.raises(ValueError, match="real numbers"):
        gmm.fit_em(key, tmp_path / "s.npy", 2)
    with pytest.raises(ValueError, match="iterator"):
        gmm.fit_em(key, iter([np.ones(10)]), 2)
    with pytest.raises(ValueError, match="iterable of chunks"):
        gmm.fit_em(key, lambda: 3, 2)
    with pytest.raises(ValueError, match="no chunks"):
        gmm.fit_em(key, lambda: iter([]), 2)
    with pytest.raises(ValueError, match="min_std"):
        gmm.fit_em(key, path, 2, min_std=0.1)
    with pytest.raises(ValueError, match="chunk_size"):
        gmm.fit_em(key, path, 2, chunk_size=0)
    with pytest.raises(ValueError, match="n_components"):
        gmm.fit_em(key, lambda: iter([np.ones(3)]), 5)
