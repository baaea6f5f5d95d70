"""EM's data pass on every device and every process, with JAX's own runtime.

A pass needs only sums over points: the log-likelihood and, per component, the
responsibility total N_k, the first moment s_k = sum_i r_ik (y_i - m_k) and the second
S_k = sum_i r_ik (y_i - m_k)(y_i - m_k)^T about the current means m_k (so that the new
covariances lose little to cancellation: the shift to the new means is small). Within a
process a chunk is sharded by rows over a :class:`jax.sharding.Mesh` of the local devices
and :func:`chunk_statistics` reduces them with ``psum`` inside ``shard_map``; across processes (started with
``jax.distributed.initialize``, each holding its own part of the data) :func:`process_sum`
adds each process's float64 totals once per pass, in process order, so every process
holds the same numbers. On one CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=4``
gives four devices to test with; on CPU the cross-process collectives need
``jax.config.update("jax_cpu_collectives_implementation", "gloo")`` before
``jax.distributed.initialize``.
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from gmm.estimation.driver import responsibilities_step
from gmm.estimation.em_multivariate import e_step


def local_mesh() -> Mesh:
    """A one-axis mesh ("data") over this process's devices."""
    return Mesh(np.array(jax.local_devices()), ("data",))


@lru_cache(maxsize=8)
def _sharded(mesh: Mesh):
    def local(y, c, logw, mu, cov):
        r, nk, _, _, ll = responsibilities_step(e_step(y, logw, mu, cov), c)
        diff = y[:, None, :] - mu
        out = (ll, nk, jnp.einsum("nk,nkd->kd", r, diff), jnp.einsum("nk,nkd,nke->kde", r, diff, diff))
        return jax.lax.psum(out, "data")

    rows, whole = PartitionSpec("data"), PartitionSpec()
    return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=(rows, rows, whole, whole, whole), out_specs=whole))


def chunk_statistics(mesh: Mesh, y: np.ndarray, c: np.ndarray, params: tuple) -> tuple[np.ndarray, ...]:
    """(ll, N_k, s_k, S_k) of one chunk, float64: rows y (n, D) with weights c (n,) (0 for
    padding; n a multiple of the mesh's size), under params (log pi (K,), m (K, D),
    Sigma (K, D, D)), sharded by rows over ``mesh``."""
    rows = NamedSharding(mesh, PartitionSpec("data"))
    with jax.enable_x64(True):
        args = (jax.device_put(jnp.asarray(y, jnp.float64), rows), jax.device_put(jnp.asarray(c, jnp.float64), rows),
                *(jnp.asarray(p, jnp.float64) for p in params))
        return tuple(np.asarray(a) for a in _sharded(mesh)(*args))


def process_sum(arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Each array summed over the processes (in process order, float64; the same result on
    every process); unchanged with one process."""
    if jax.process_count() == 1:
        return arrays
    gathered = process_gather(arrays)
    return tuple(np.sum(g, axis=0) for g in gathered)


def process_gather(arrays):
    """Each array of a pytree stacked over the processes (leading axis, process order)."""
    from jax.experimental import multihost_utils

    with jax.enable_x64(True):
        return jax.tree_util.tree_map(np.asarray, multihost_utils.process_allgather(arrays))


def agree(failed_here: bool) -> None:
    """Tell every process whether this one failed; raise on each process that did not, when
    another did (the one that failed raises its own error): a process that stopped alone
    would leave the others waiting in a collective. Nothing to tell with one process."""
    if jax.process_count() == 1:
        return
    failed = process_gather(np.array([failed_here]))
    if not failed_here and failed.any():
        first = int(np.argmax(failed))
        raise ValueError(f"process {first} of {jax.process_count()} could not read its data (its own error "
                         "says why); no process fitted.")


__all__ = ["agree", "chunk_statistics", "local_mesh", "process_gather", "process_sum"]
