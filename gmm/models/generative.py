"""GenJAX generative functions for the chapter's mixture models.

These are the one-dimensional models; the Bayesian GMM in D dimensions with full covariance
matrices (``bayesian_gmm_full``, Normal-Inverse-Wishart prior) is in :mod:`gmm.models.full_covariance`.

Addresses
---------
``bento_mixture(n, weights, means, stds)``, known parameters:
    ``"bentos" / "component"``  int labels, shape (n,)
    ``"bentos" / "weight"``     values, shape (n,)

``bayesian_gmm(n, n_components, prior)``, the Bayesian GMM with explicit assignments:
    ``"weights"``        mixing proportions pi ~ Dirichlet(alpha 1_K), shape (K,)
    ``"means"``          mu_k ~ Normal(mean_loc, mean_scale), shape (K,)
    ``"stds"``           sigma_k ~ Gamma(std_shape, std_rate) (or, for ``Prior.inverse_gamma_variance``, sigma_k^2 ~ InverseGamma(var_shape, var_scale)), shape (K,)
    ``"obs" / "z"``      z_i ~ Categorical(pi), shape (N,)
    ``"obs" / "x"``      x_i ~ Normal(mu_{z_i}, sigma_{z_i}), shape (N,)

``bayesian_gmm_marginal(n, n_components, prior)`` has the same parameter addresses and
``"x"`` of shape (N,) drawn from the mixture with the assignments summed out.

The static sizes ``n`` (points) and ``n_components`` (K) are passed as ``genjax.Const``,
positionally: ``bayesian_gmm.simulate(const(n), const(k), prior)``.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import tensorflow_probability.substrates.jax.distributions as tfd
from genjax import Const, categorical, const, dirichlet, gen, normal, tfp_distribution
from genjax.core import distribution
from genjax.pjax import wrap_logpdf, wrap_sampler
from scipy.special import gammaincinv

from gmm._util.numerics import robust_scale
from gmm._util.validation import check_finite, check_positive, is_concrete


class FieldsPytree:
    """Pytree protocol for hyperparameter classes: the leaves are the ``_FIELDS``, in order.

    Unflattening does not re-validate (leaves may be tracers inside jit or vmap)."""

    _FIELDS: tuple[str, ...] = ()

    def tree_flatten(self):
        return tuple(getattr(self, f) for f in self._FIELDS), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        for f, v in zip(cls._FIELDS, children):
            setattr(obj, f, v)
        return obj


# The prior families of sigma: family name -> the names of its two hyperparameters.
STD_FAMILIES: dict[str, tuple[str, str]] = {
    "gamma_std": ("std_shape", "std_rate"),
    "inverse_gamma_var": ("var_shape", "var_scale"),
}


@jax.tree_util.register_pytree_node_class
class Prior(FieldsPytree):
    """Hyperparameters of the Bayesian GMM (the chapter's choices are the defaults).

    pi ~ Dirichlet(alpha, ..., alpha); mu_k ~ Normal(mean_loc, mean_scale); and, by
    ``family``, either

    - ``"gamma_std"`` (``Prior(...)``): sigma_k ~ Gamma(std_shape, std_rate), shape-rate, so
      E[sigma] = std_shape / std_rate; or
    - ``"inverse_gamma_var"`` (:meth:`inverse_gamma_variance`): sigma_k^2 ~
      InverseGamma(var_shape, var_scale), shape-scale, density
      b^a / Gamma(a) v^(-a-1) exp(-b / v): the semi-conjugate prior of Diebolt and Robert
      (1994) and Chib (1995).

    Means and scales are in the data's units. ``family`` is static (pytree aux data, not a
    leaf): the leaves are ``fields``, the two sigma hyperparameters under their family's names.
    """

    family: str = "gamma_std"
    _FIELDS = ("alpha", "mean_loc", "mean_scale", "std_shape", "std_rate")  # the default family's leaves

    def __init__(
        self,
        alpha: float = 1.0,
        mean_loc: float = 400.0,
        mean_scale: float = 50.0,
        std_shape: float = 2.0,
        std_rate: float = 1.0,
    ):
        self._set("gamma_std", alpha, mean_loc, mean_scale, std_shape, std_rate)

    def _set(self, family: str, alpha, mean_loc, mean_scale, shape, second) -> None:
        self.family = family
        values = (alpha, mean_loc, mean_scale, shape, second)
        if is_concrete(*values):
            values = tuple(
                (check_finite if f == "mean_loc" else check_positive)(v, f)
                for f, v in zip(self.fields, values)
            )
        for f, v in zip(self.fields, values):
            setattr(self, f, v)

    @classmethod
    def inverse_gamma_variance(
        cls, alpha: float, mean_loc: float, mean_scale: float, var_shape: float, var_scale: float
    ) -> "Prior":
        """pi ~ Dirichlet(alpha); mu_k ~ Normal(mean_loc, mean_scale); sigma_k^2 ~
        InverseGamma(var_shape, var_scale) (shape-scale: 1 / sigma_k^2 ~ Gamma(var_shape,
        rate var_scale), E[1 / sigma^2] = var_shape / var_scale).

        Chib (1995) on the galaxies (1000 km/s): ``Prior.inverse_gamma_variance(1, 20, 10, 3, 20)``
        (his nu_0 / 2 = 3, delta_0 / 2 = 20; mu ~ N(20, 100) is a variance of 100).
        """
        obj = object.__new__(cls)
        obj._set("inverse_gamma_var", alpha, mean_loc, mean_scale, var_shape, var_scale)
        return obj

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the leaves, in order: alpha, mean_loc, mean_scale and the family's two."""
        return ("alpha", "mean_loc", "mean_scale") + STD_FAMILIES[self.family]

    @property
    def std_params(self) -> tuple[Any, Any]:
        """The two hyperparameters of sigma's prior: (std_shape, std_rate) or (var_shape, var_scale)."""
        first, second = STD_FAMILIES[self.family]
        return getattr(self, first), getattr(self, second)

    def tree_flatten(self):
        return tuple(getattr(self, f) for f in self.fields), self.family

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        obj.family = "gamma_std" if aux is None else aux
        for f, v in zip(obj.fields, children):
            setattr(obj, f, v)
        return obj

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={float(getattr(self, f)):g}" for f in self.fields)
        name = "Prior" if self.family == "gamma_std" else "Prior.inverse_gamma_variance"
        return f"{name}({args})"

    @classmethod
    def from_data(cls, x: Any, alpha: float = 1.0) -> "Prior":
        """A weakly informative prior set by the data's location and spread.

        With m the median and s the interquartile range / 1.349 of x (the sd for Gaussian
        data; the sd when more than half the values are equal, 1 when all are:
        ``gmm._util.numerics.robust_scale``, as :meth:`gmm.NIWPrior.from_data`), so one
        wild value (1e12 among values near 0 and 10) moves neither: mu_k ~ Normal(m, s), so a
        component mean may sit anywhere the bulk of the data do; sigma_k ~ Gamma(2, 4 / s),
        whose mean s / 2 leaves room for components narrower than the whole data set and whose
        density vanishes at sigma = 0. This is the role of scikit-learn's
        ``BayesianGaussianMixture`` defaults (mean prior at the data mean, covariance prior
        from the data's covariance), in this model's terms, made robust to outliers.

        Args:
            x: observations, shape (N,), finite numbers whose spread float64 can square (checked).
            alpha: the Dirichlet concentration of the weights.
        """
        from gmm._util.validation import as_data

        loc, scale = robust_scale(as_data(x))
        return cls(alpha=alpha, mean_loc=loc, mean_scale=scale, std_shape=2.0, std_rate=4.0 / scale)


def check_prior(prior: Any) -> Prior:
    """Check a :class:`Prior`, re-checking every field (a Prior built inside jit skips that)."""
    if not isinstance(prior, Prior):
        raise ValueError(f"prior must be a gmm.Prior or None, got {type(prior).__name__} {prior!r}.")
    if prior.family not in STD_FAMILIES:
        raise ValueError(f"prior.family must be one of {tuple(STD_FAMILIES)}, got {prior.family!r}.")
    for f in prior.fields:
        (check_finite if f == "mean_loc" else check_positive)(getattr(prior, f), f"prior.{f}")
    return prior


# ---------------------------------------------------------------------------
# The prior of sigma, both families: one density, one draw
# ---------------------------------------------------------------------------


def log_std_density(log_sigma: Any, family: str, shape: Any, second: Any, xp: Any = jnp) -> Any:
    """log p(sigma) at sigma = exp(log_sigma): the density of sigma (not of log sigma).

    ``"gamma_std"``: sigma ~ Gamma(a, rate b),
        log p = a log b - log Gamma(a) + (a - 1) log sigma - b sigma.
    ``"inverse_gamma_var"``: v = sigma^2 ~ InverseGamma(a, scale b), so p(sigma) = p_v(sigma^2) 2 sigma,
        log p = a log b - log Gamma(a) + log 2 - (2a + 1) log sigma - b / sigma^2.

    Taking log sigma keeps the tails exact where sigma under- or overflows. ``xp`` is
    ``jax.numpy`` (traced, any dtype) or ``numpy`` (float64 quadrature).
    """
    if xp is np:
        from scipy.special import gammaln as lgam
    else:
        from jax.scipy.special import gammaln as lgam
    a, b = shape, second
    const = a * xp.log(b) - lgam(a)
    if family == "gamma_std":
        return const + (a - 1.0) * log_sigma - b * xp.exp(log_sigma)
    if family == "inverse_gamma_var":
        return const + math.log(2.0) - (2.0 * a + 1.0) * log_sigma - b * xp.exp(-2.0 * log_sigma)
    raise ValueError(f"family must be one of {tuple(STD_FAMILIES)}, got {family!r}.")


def std_from_gamma(g: Any, family: str, xp: Any = jnp) -> Any:
    """sigma from g ~ Gamma(shape, rate) of the family's two hyperparameters: the one map by
    which every sampler draws sigma from its prior.

    ``"gamma_std"``: sigma = g. ``"inverse_gamma_var"``: 1 / g ~ InverseGamma(shape, scale = rate),
    so sigma = g^(-1/2).
    """
    if family == "gamma_std":
        return g
    if family == "inverse_gamma_var":
        return 1.0 / xp.sqrt(g)
    raise ValueError(f"family must be one of {tuple(STD_FAMILIES)}, got {family!r}.")


def log_std_prior(stds: Any, prior: Prior) -> Any:
    """log p(sigma_k) under ``prior``, elementwise, for sigma > 0 (jax)."""
    return log_std_density(jnp.log(stds), prior.family, *prior.std_params)


def draw_stds_numpy(rng: np.random.Generator, shape: tuple[int, ...], prior: Prior) -> np.ndarray:
    """sigma ~ the prior of ``prior``'s family, float64 NumPy draws of the given shape."""
    a, b = (float(v) for v in prior.std_params)
    return std_from_gamma(rng.gamma(a, 1.0 / b, shape), prior.family, np)


def std_quantile(q: Any, prior: Prior) -> np.ndarray:
    """The q-quantiles of sigma's prior (float64; SciPy)."""
    from scipy import stats

    a, b = (float(v) for v in prior.std_params)
    if prior.family == "gamma_std":
        return stats.gamma.ppf(q, a, scale=1.0 / b)
    return np.sqrt(stats.invgamma.ppf(q, a, scale=b))


def typical_std(prior: Prior) -> float:
    """A typical sigma under the prior: E[sigma] = a / b (Gamma), sqrt(b / a) = E[1/sigma^2]^(-1/2)
    (inverse gamma on the variance, whose mean may not exist)."""
    a, b = (float(v) for v in prior.std_params)
    return a / b if prior.family == "gamma_std" else math.sqrt(b / a)


def std_conditional_mode(n: np.ndarray, ss: np.ndarray, prior: Prior, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Mode and spread of log sigma for components holding n points with scatter SS (float64).

    The density of u = log sigma given n points (mean profiled out) is
    p(sigma) sigma^(1 - max(n - 1, 0)) exp(-SS / (2 sigma^2)). Its mode solves
    b s^3 + (n - 1 - a) s^2 - SS = 0 (Gamma(a, b) on sigma; the one positive root) or is
    s^2 = (2b + SS) / (2a + n - 1) (InverseGamma(a, b) on sigma^2), floored at ``floor``;
    the spread is 1 / sqrt(curvature) there: 1 / sqrt(b s + 2 SS / s^2), resp.
    1 / sqrt(2 (2b + SS) / s^2). (The mode of sigma itself, density in sigma with the mean
    known, is this with n + 2 points.) Arrays of any one shape; the cubic is solved by
    Newton's method from an upper bound, where it is convex, so the iterates decrease
    monotonically onto the root.
    """
    a, b = (float(v) for v in prior.std_params)
    m = np.maximum(np.asarray(n, np.float64) - 1.0, 0.0)
    ss = np.maximum(np.asarray(ss, np.float64), 0.0)
    if prior.family == "inverse_gamma_var":
        sigma = np.maximum(np.sqrt((2.0 * b + ss) / np.maximum(2.0 * a + m, 1e-12)), floor)
        return sigma, 1.0 / np.sqrt(2.0 * (2.0 * b + ss) / sigma**2)
    c = m - a
    s = np.abs(c) / b + np.cbrt(ss / b) + floor  # f(s) >= 0 here: above the root
    for _ in range(60):
        f = b * s**3 + c * s**2 - ss
        slope = 3.0 * b * s**2 + 2.0 * c * s
        s = np.maximum(s - f / np.where(slope > 0, slope, 1.0), floor)
    return s, 1.0 / np.sqrt(b * s + 2.0 * ss / s**2)


def mean_conditional(prior: Prior, count: Any, total: Any, stds: Any) -> tuple[Any, Any]:
    """Mean and variance of mu_k | sigma_k, z under the Normal(m0, s0^2) prior on mu_k.

    ``count`` is n_k (possibly weighted or tempered, beta n_k), ``total`` the matching sum of
    the points (sum over i in k of x_i, times the same weight), ``stds`` sigma_k; any
    broadcastable shapes, NumPy or JAX. The precision is 1/s0^2 + n_k/sigma_k^2 and the mean
    (m0/s0^2 + total/sigma_k^2) / precision.
    """
    s0_sq = prior.mean_scale**2
    var = 1.0 / (1.0 / s0_sq + count / stds**2)
    return var * (prior.mean_loc / s0_sq + total / stds**2), var


def _std_distribution(family: str):
    """The GenJAX distribution of sigma for a family, with arguments (shape, second)."""

    def sampler(key, shape, second, sample_shape=()):
        g = tfd.Gamma(concentration=shape, rate=second).sample(seed=key, sample_shape=sample_shape)
        return std_from_gamma(g, family)

    def logpdf(v, shape, second):
        return log_std_density(jnp.log(v), family, shape, second)

    return distribution(wrap_sampler(sampler, name=family), wrap_logpdf(logpdf), name=family)


# GenJAX distributions of sigma: the same density and draw as every sampler uses.
STD_DISTRIBUTIONS = {family: _std_distribution(family) for family in STD_FAMILIES}


def std_distribution(prior: Prior):
    """The GenJAX distribution of sigma under ``prior``; call it with ``*prior.std_params``."""
    return STD_DISTRIBUTIONS[prior.family]


def resolve_prior(prior: Prior | None, data: np.ndarray) -> Prior:
    """``prior`` checked, or :meth:`Prior.from_data` of the (already checked) data when None."""
    return Prior.from_data(data) if prior is None else check_prior(prior)


# How many times the data's spread a hyperparameter may be (or be below): the samplers' float32 needs squares and
# reciprocals of standardised means and sds to stay normal (Gibbs drew NaN means at mean_scale 1e20 on 6 points).
FLOAT32_RANGE, FLOAT64_RANGE = 1e15, 1e100


def check_prior_on_data(prior: Prior, data: np.ndarray, float32: bool = True) -> Prior:
    """Refuse a checked ``prior`` (and, for the float32 samplers, data) that the computation cannot
    represent on the scale of the checked data (N,); return the prior.

    With m, s the data's median and IQR / 1.349 (``gmm._util.numerics.robust_scale``, the
    units every sampler standardises to) and R = ``FLOAT32_RANGE`` (1e15), or ``FLOAT64_RANGE``
    (1e100) with ``float32=False`` (exact enumeration), allowed: ``|mean_loc - m| <= R s``;
    s / R <= mean_scale <= R s; sigma's prior median within [s / R, R s] (a proper prior with
    most of its mass at sigma ~ 0, such as std_shape = 1e-30 whose draws all underflow to 0,
    puts it where every likelihood is degenerate: SMC answered -inf, exact enumeration +inf);
    and with ``float32``, every ``|x_i - m| <= R s`` (a value 1e40 among values near 0 and 10 made
    Gibbs fail).
    """
    (loc, scale), r = robust_scale(data), FLOAT32_RANGE if float32 else FLOAT64_RANGE
    lo, hi = scale / r, scale * r
    allowed = f"allowed: {1 / r:.0e} to {r:.0e} times the data's spread (IQR / 1.349 = {scale:.3g})"
    far = float(np.max(np.abs(data - loc)))
    if float32 and far > hi:
        raise ValueError(
            f"x has a value {far:.3g} from its median {loc:.6g}, {far / scale:.3g} times its spread (IQR / 1.349 = "
            f"{scale:.3g}): the samplers run in float32 on data centred and scaled that way; allowed: values within "
            f"{r:.0e} spreads of the median. Remove the outlier or model it separately.")
    m0, s0 = float(prior.mean_loc), float(prior.mean_scale)
    if not abs(m0 - loc) <= hi:
        raise ValueError(f"prior.mean_loc = {m0:g} lies {abs(m0 - loc) / scale:.3g} spreads from the data's median "
                         f"{loc:.6g}; {allowed} from the median, i.e. mean_loc in [{loc - hi:.3g}, {loc + hi:.3g}].")
    if not lo <= s0 <= hi:
        raise ValueError(f"prior.mean_scale = {s0:g} is {s0 / scale:.3g} times the data's spread; {allowed}, "
                         f"i.e. mean_scale in [{lo:.3g}, {hi:.3g}].")
    (first, second), (a, b) = STD_FAMILIES[prior.family], (float(v) for v in prior.std_params)
    median = _std_median(prior.family, a, b)
    if not lo <= median <= hi:
        bound = lo if not median >= lo else hi
        raise ValueError(
            f"prior.{first} = {a:g} with prior.{second} = {b:g} puts sigma's prior median at {median:.3g}, "
            f"{'below' if bound == lo else 'above'} {bound:.3g}, so most of its mass lies where the computation "
            f"cannot represent sigma{' (and where every likelihood is degenerate)' if bound == lo else ''}; "
            f"{allowed} for that median{_std_bounds(prior, median, bound)}.")
    return prior


def _std_median(family: str, a: float, b: float) -> float:
    """sigma's prior median: G / b (Gamma(a, b) on sigma) or sqrt(b / G) (InverseGamma(a, b) on
    sigma^2), G the median of Gamma(a, 1); 0 or inf where it under- or overflows."""
    g = float(gammaincinv(a, 0.5))
    with np.errstate(divide="ignore", over="ignore"):
        return float(g / b if family == "gamma_std" else np.sqrt(np.float64(b) / g))


def _std_bounds(prior: Prior, median: float, bound: float) -> str:
    """"; here {shape} >= v at this {second} (or ...)": the values of sigma's two hyperparameters,
    each with the other fixed, at which sigma's prior median (now ``median``) is ``bound``. The
    shape's by bisection on its log over 1e-40 .. 1e40; the second's in closed form (the median
    scales as 1 / rate, or as sqrt(var_scale))."""
    from scipy.optimize import brentq

    (first, second), b = STD_FAMILIES[prior.family], float(prior.std_params[1])

    def gap(t: float) -> float:
        return math.log(min(max(_std_median(prior.family, math.exp(t), b), 1e-300), 1e300)) - math.log(bound)

    rise = bound > median
    out = f"; no {first} reaches it at this {second}"
    if gap(-92.0) * gap(92.0) < 0:
        op = ">=" if (gap(92.0) > gap(-92.0)) == rise else "<="
        out = f"; here {first} {op} {math.exp(brentq(gap, -92.0, 92.0)):.3g} at this {second}"
    if 0 < median < math.inf:
        gamma = prior.family == "gamma_std"
        op = "<=" if rise == gamma else ">="
        out += f" (or {second} {op} {b * (median / bound if gamma else (bound / median) ** 2):.3g} at this {first})"
    return out


@gen
def labelled_point(weights, means, stds):
    """One observation: a component label, then a Gaussian value given it."""
    z = categorical(jnp.log(weights)) @ "component"
    x = normal(means[z], stds[z]) @ "weight"
    return x


@gen
def bento_mixture(n: Const[int], weights, means, stds):
    """``n`` bentos from a known-parameter mixture; returns their weights, shape (n,)."""
    return labelled_point.repeat(n=n.value)(weights, means, stds) @ "bentos"


@gen
def assigned_point(weights, means, stds):
    """One observation of the Bayesian GMM: z ~ Categorical(pi), x ~ N(mu_z, sigma_z)."""
    z = categorical(jnp.log(weights)) @ "z"
    x = normal(means[z], stds[z]) @ "x"
    return x


def draw_parameters(n_components: Const[int], prior: Prior):
    """Draw (pi, mu, sigma), each of shape (K,), at "weights", "means", "stds".

    A plain function called inside a @gen body, so its choices land at the
    caller's top level rather than under a nested address.
    """
    k = n_components.value
    weights = dirichlet(jnp.full(k, prior.alpha, dtype=jnp.float32)) @ "weights"
    means = normal.repeat(n=k)(prior.mean_loc, prior.mean_scale) @ "means"
    stds = std_distribution(prior).repeat(n=k)(*prior.std_params) @ "stds"
    return weights, means, stds


@gen
def bayesian_gmm(n: Const[int], n_components: Const[int], prior: Prior):
    """Bayesian GMM with explicit assignments; returns (pi, mu, sigma)."""
    weights, means, stds = draw_parameters(n_components, prior)
    assigned_point.repeat(n=n.value)(weights, means, stds) @ "obs"
    return weights, means, stds


mixture_normal = tfp_distribution(
    lambda weights, means, stds: tfd.MixtureSameFamily(
        tfd.Categorical(probs=weights), tfd.Normal(means, stds)
    ),
    name="mixture_normal",
)


@gen
def bayesian_gmm_marginal(n: Const[int], n_components: Const[int], prior: Prior):
    """Bayesian GMM with the assignments summed out: x_i ~ sum_k pi_k N(mu_k, sigma_k)."""
    weights, means, stds = draw_parameters(n_components, prior)
    mixture_normal.repeat(n=n.value)(weights, means, stds) @ "x"
    return weights, means, stds


def source(fn: Any) -> str:
    """The Python source of a generative function (or a plain function), for display."""
    inner = getattr(fn, "source", None)
    return inspect.getsource(inner.value if inner is not None else fn)


def observations(x: Any) -> dict:
    """Constraints that condition ``bayesian_gmm`` on observed values x, shape (N,) (checked
    when concrete: finite real numbers)."""
    if is_concrete(x):
        from gmm._util.validation import as_data

        x = as_data(x)
    return {"obs": {"x": jnp.asarray(x, dtype=jnp.float32)}}


__all__ = [
    "Prior", "STD_FAMILIES", "check_prior", "log_std_density", "log_std_prior", "std_conditional_mode",
    "std_distribution", "std_from_gamma", "resolve_prior", "check_prior_on_data", "FLOAT32_RANGE",
    "FLOAT64_RANGE", "assigned_point", "bayesian_gmm", "bayesian_gmm_marginal", "bento_mixture",
    "draw_parameters", "const", "labelled_point", "observations", "source",
]
