"""How many components: information criteria, the evidence p(x | K), and P(K | x).

- ``gmm.model_choice.selection``  :func:`~gmm.bic`, :func:`~gmm.aic`, :func:`~gmm.select_k`
- ``gmm.model_choice.binned``     the likelihood of rounded data
- ``gmm.model_choice.restarts``   how often a restart strategy picks each K
- ``gmm.model_choice.evidence``   :func:`~gmm.log_marginal_likelihood`, :func:`~gmm.posterior_over_k`
- ``gmm.model_choice.smc``        tempered SMC for the evidence on the line
- ``gmm.model_choice.exact``      exact enumeration on the line
- ``gmm.model_choice.collapsed``  exact, importance and SMC evidence under the NIW prior, any D
- ``gmm.model_choice.laplace``    a posterior mode's mass split into fit, prior and volume
"""

from gmm._util import lazy_submodules

__getattr__ = lazy_submodules(__name__)
