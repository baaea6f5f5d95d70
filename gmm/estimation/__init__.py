"""Maximum likelihood: EM in any dimension.

- ``gmm.estimation.em``               :func:`~gmm.fit_em`, the EM driver and the steps on the line
- ``gmm.estimation.em_multivariate``  the E and M steps in D dimensions, four covariance structures
- ``gmm.estimation.kmeans``           k-means seeding, shared with the samplers
"""

from gmm._util import lazy_submodules

__getattr__ = lazy_submodules(__name__)
