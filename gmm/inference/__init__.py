"""The posterior: samplers and importance sampling, one engine per module.

- ``gmm.inference.gibbs``                :func:`~gmm.gibbs`, for any D (dispatch and checks)
- ``gmm.inference.gibbs_posterior``      its result, :class:`~gmm.GibbsPosterior`
- ``gmm.inference.posterior_draws``      what every result made of draws offers (predictive density, ArviZ)
- ``gmm.inference.sweep``                one Gibbs sweep on the line, in chunks on large data
- ``gmm.inference.tempering``            parallel tempering: rungs, swaps, the adaptive ladder
- ``gmm.inference.gibbs_conjugate``      the conjugate sampler in D dimensions (with tempering)
- ``gmm.inference.scoring``              standardised data and priors, responsibilities
- ``gmm.inference.importance``           :func:`~gmm.importance_sampling`; its result in
                                            ``gmm.inference.importance_result``
- ``gmm.inference.em_proposal``, ``gmm.inference.modes``, ``gmm.inference.allocation_proposal``
                                            its proposals
- ``gmm.inference.nuts``                 the NumPyro NUTS reference
- ``gmm.inference.dpmm``                 :func:`~gmm.dp_gibbs` (Neal's Algorithm 8 on the line)
- ``gmm.inference.dp_collapsed``         the collapsed Algorithm 3 under a NIW prior, any D
- ``gmm.inference.cavi``                 :func:`~gmm.cavi`, coordinate-ascent VI under a NIW prior, any D
- ``gmm.inference.advi``                 :func:`~gmm.advi`, gradient VI through ``genjax.adev``; its q in
                                            ``gmm.inference.advi_q``
- ``gmm.inference.vi_result``            their result, :class:`~gmm.VIPosterior`, with the
                                            importance-weighted bound and IS with q
"""

from gmm._util import lazy_submodules

__getattr__ = lazy_submodules(__name__)
