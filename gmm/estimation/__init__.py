"""Maximum likelihood: EM in any dimension.

- :mod:`gmm.estimation.em`               :func:`~gmm.fit_em`, the EM driver and the steps on the line
- :mod:`gmm.estimation.em_multivariate`  the E and M steps in D dimensions, four covariance structures
- :mod:`gmm.estimation.kmeans`           k-means seeding, shared with the samplers
"""

from gmm._util import lazy_submodules

__getattr__ = lazy_submodules(__name__)
