"""Maximum likelihood: EM in any dimension.

- ``gmm.estimation.em``               :func:`~gmm.fit_em`, the EM driver and the steps on the line
- ``gmm.estimation.em_multivariate``  the E and M steps in D dimensions, four covariance structures
- ``gmm.estimation.kmeans``           k-means seeding, shared with the samplers
- ``gmm.estimation.streaming``        EM on data read in chunks: a sample for the starts, a pass per iteration
- ``gmm.estimation.sources``          what can be read in chunks (.npy files, array-likes, chunk functions)
- ``gmm.estimation.distributed``      a pass's sums over devices (shard_map) and processes (jax.distributed)
"""

from gmm._util import lazy_submodules

__getattr__ = lazy_submodules(__name__)
