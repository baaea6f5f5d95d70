"""The posterior: samplers and importance sampling, one engine per module.

- :mod:`gmm.inference.gibbs`                :func:`~gmm.gibbs`, for any D (dispatch and checks)
- :mod:`gmm.inference.gibbs_posterior`      its result, :class:`~gmm.GibbsPosterior`
- :mod:`gmm.inference.sweep`                one Gibbs sweep on the line, in chunks on large data
- :mod:`gmm.inference.tempering`            parallel tempering: rungs, swaps, the adaptive ladder
- ``gmm.inference.gibbs_conjugate``      the conjugate sampler in D dimensions (with tempering)
- :mod:`gmm.inference.scoring`              standardised data and priors, responsibilities
- :mod:`gmm.inference.importance`           :func:`~gmm.importance_sampling`; its result in
                                            :mod:`gmm.inference.importance_result`
- :mod:`gmm.inference.em_proposal`, :mod:`gmm.inference.modes`, :mod:`gmm.inference.allocation_proposal`
                                            its proposals
- :mod:`gmm.inference.nuts`                 the NumPyro NUTS reference
- :mod:`gmm.inference.dpmm`                 :func:`~gmm.dp_gibbs` (Neal's Algorithm 8 on the line)
- ``gmm.inference.dp_collapsed``         the collapsed Algorithm 3 under a NIW prior, any D
"""

from gmm._util import lazy_submodules

__getattr__ = lazy_submodules(__name__)
