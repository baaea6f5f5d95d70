"""A fit_em run in its own process, for tests/test_streaming.py: with four host devices
(``devices``), or as one of two processes under ``jax.distributed.initialize``
(``process I PORT``), each reading its own .npy part. Writes the fit to an .npz file.

    python tests/streaming_worker.py OUT.npz K CHUNK devices DATA.npy
    python tests/streaming_worker.py OUT.npz K CHUNK process I PORT PART_I.npy
"""

import os
import sys

out, k, chunk, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if mode == "devices":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"

import jax  # noqa: E402

if mode == "process":
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"localhost:{sys.argv[6]}", num_processes=2,
                               process_id=int(sys.argv[5]), initialization_timeout=60)
import numpy as np  # noqa: E402

import gmm  # noqa: E402

fit = gmm.fit_em(jax.random.key(0), sys.argv[-1], k, chunk_size=chunk, progress=False)
m = fit.mixture
np.savez(out, ll=fit.log_likelihood, n_iter=fit.n_iter, weights=m.weights, means=m.means,
         covariances=m.covariances, devices=len(jax.local_devices()), processes=jax.process_count())
