"""What a mixture is: the known-parameter :class:`~gmm.models.mixture.Mixture` (any D), the
priors, and the generative programs written in GenJAX.

- ``gmm.models.mixture``          known-parameter mixtures, the one Gaussian density, parameter counts
- ``gmm.models.generative``       the Bayesian GMM on the line as GenJAX programs, and its :class:`~gmm.Prior`
- ``gmm.models.full_covariance``  the Bayesian GMM with full covariances in D dimensions (GenJAX)
- ``gmm.models.niw``              the Normal-Inverse-Wishart prior and its conjugate algebra
- ``gmm.models.crp``              the Chinese restaurant process and the DP mixture (GenJAX)
"""

from gmm._util import lazy_submodules

__getattr__ = lazy_submodules(__name__)
