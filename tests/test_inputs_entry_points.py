"""The bad-input tables of test_inputs.py, extended to every public entry point: the
D-dimensional paths (points (N, D) with a NIWPrior), the Dirichlet process and NUTS
samplers, the Mixture methods and the result objects' methods.

Every call below is refused by its checks before anything is compiled, so the tables run in
seconds. A coverage test keeps the tables in step with ``gmm.__all__``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gmm
from gmm.inference.gibbs_posterior import GibbsPosterior

from test_inputs import BAD_DATA, BAD_K, BAD_KEYS, ENTRY_POINTS, KEY, NO_KEY, PRIOR, X, _raises_naming

RNG = np.random.default_rng(0)
XD = np.r_[RNG.normal(0.0, 1.0, (20, 2)), RNG.normal(6.0, 1.0, (20, 2))]
NIW = gmm.NIWPrior.from_data(XD)
LINE = gmm.Mixture([0.5, 0.5], [350.0, 500.0], [10.0, 10.0])
PLANE = gmm.Mixture([0.5, 0.5], [[0.0, 0.0], [6.0, 6.0]], covariances=[np.eye(2)] * 2)

BAD_POINTS = {
    "nan": np.where(np.arange(8).reshape(4, 2) == 3, np.nan, 1.0),
    "inf": np.full((4, 2), np.inf),
    "empty": np.zeros((0, 2)),
    "3-D": np.ones((4, 2, 2)),
    "ragged": [[1.0, 2.0], [3.0]],
    "strings": [["a", "b"], ["c", "d"]],
    "bool": np.ones((4, 2), bool),
    "complex": np.ones((4, 2), complex),
    "masked": np.ma.masked_array(np.ones((4, 2)), mask=np.eye(4, 2, dtype=bool)),
    "huge spread": np.array([[0.0, 0.0], [1e300, 1.0]]),
    "tiny spread": np.array([[0.0, 0.0], [1e-200, 1.0]]),
}

# name -> (call(key, x, k), data argument's name); points (N, D) with a NIWPrior.
ENTRY_POINTS_ND = {
    "fit_em": lambda key, x, k: gmm.fit_em(key, x, k),
    "fit_em streamed": lambda key, x, k: gmm.fit_em(key, x, k, chunk_size=2),
    "select_k": lambda key, x, k: gmm.select_k(key, x, [k]),
    "gibbs": lambda key, x, k: gmm.gibbs(key, x, k, prior=NIW),
    "log_marginal_likelihood": lambda key, x, k: gmm.log_marginal_likelihood(key, x, k, prior=NIW),
    "posterior_over_k": lambda key, x, k: gmm.posterior_over_k(key, x, [k], prior=NIW),
}
NO_KEY_ND = {
    "exact_log_marginal_likelihood": lambda x: gmm.exact_log_marginal_likelihood(x, 2, prior=NIW),
    "bic": lambda x: gmm.bic(x, PLANE),
    "aic": lambda x: gmm.aic(x, PLANE),
    "Mixture.log_prob": lambda x: PLANE.log_prob(x),
    "Mixture.component_log_prob": lambda x: PLANE.component_log_prob(x),
    "Mixture.responsibilities": lambda x: PLANE.responsibilities(x),
    "Mixture.log_likelihood": lambda x: PLANE.log_likelihood(x),
    "NIWPrior.from_data": lambda x: gmm.NIWPrior.from_data(x),
}
# Points of the wrong dimension for a mixture in the plane (other routines take any D).
WRONG_DIM = {"1-D": np.ones(5), "3 columns": np.ones((4, 3))}


def _fake_gibbs(d: int) -> GibbsPosterior:
    """A GibbsPosterior of made-up draws (2 chains x 30 draws, K = 2): nothing to compile."""
    rng = np.random.default_rng(1)
    c, s, k = 2, 30, 2
    means = rng.normal(size=(c, s, k)) if d == 1 else rng.normal(size=(c, s, k, d))
    stds = rng.gamma(4.0, 0.3, size=(c, s, k)) if d == 1 else None
    cov = None if d == 1 else np.broadcast_to(np.eye(d), (c, s, k, d, d)) * rng.gamma(4.0, 0.3, (c, s, k, 1, 1))
    data = rng.normal(size=20) if d == 1 else rng.normal(size=(20, d))
    return GibbsPosterior(weights=rng.dirichlet([1.0, 1.0], size=(c, s)), means=means, stds=stds,
                          assignment_probs=np.full((20, k), 0.5), rhat={}, ess={}, acceptance_rate=None,
                          step_size=None, inverse_temperatures=np.ones(1), swap_acceptance_rate=np.zeros((c, 0)),
                          correction_acceptance_rate=None, data=data, covariances=cov)


def _fake_dp() -> gmm.DPPosterior:
    rng = np.random.default_rng(2)
    c, s, l = 2, 30, 3
    return gmm.DPPosterior(n_clusters=np.full((c, s), 2), concentration=np.ones((c, s)),
                           sizes=np.tile([10, 10, 0], (c, s, 1)), means=rng.normal(size=(c, s, l)),
                           stds=np.ones((c, s, l)), coclustering=np.eye(20), data=rng.normal(size=20),
                           prior=PRIOR, concentration_prior=None, rhat={}, ess={}, init="prior")


def _fake_nuts() -> gmm.NutsPosterior:
    g = _fake_gibbs(1)
    return gmm.NutsPosterior(weights=g.weights, means=g.means, stds=g.stds, rhat={}, ess={}, data=g.data)


GIBBS1, GIBBS2, DP, NUTS = _fake_gibbs(1), _fake_gibbs(2), _fake_dp(), _fake_nuts()
# Result methods that take new points: name -> (call(points), argument name, 2-D points?)
RESULT_POINTS = {
    "GibbsPosterior.predictive_density": (lambda p: GIBBS1.predictive_density(p), "grid", False),
    "GibbsPosterior.predictive_assignment_probs": (lambda p: GIBBS1.predictive_assignment_probs(p), "x_new", False),
    "GibbsPosterior(D).predictive_density": (lambda p: GIBBS2.predictive_density(p), "grid", True),
    "GibbsPosterior(D).predictive_assignment_probs": (lambda p: GIBBS2.predictive_assignment_probs(p), "x_new", True),
    "NutsPosterior.predictive_density": (lambda p: NUTS.predictive_density(p), "grid", False),
    "DPPosterior.predictive_density": (lambda p: DP.predictive_density(p), "grid", False),
    "Mixture.log_prob": (lambda p: LINE.log_prob(p), "x", False),
    "Mixture.component_log_prob": (lambda p: LINE.component_log_prob(p), "x", False),
    "Mixture.responsibilities": (lambda p: LINE.responsibilities(p), "x", False),
    "Mixture.log_likelihood": (lambda p: LINE.log_likelihood(p), "x", False),
    "binned_log_prob": (lambda p: gmm.binned_log_prob(p, LINE, 1.0), "x", False),
    "lower_bound": (lambda p: gmm.estimation.em.lower_bound(p, LINE, np.full((3, 2), 0.5)), "x", False),
}
# Other arguments of the result methods: name -> (call, argument name)
RESULT_ARGS = {
    "predictive_density max_draws=0": (lambda: GIBBS1.predictive_density([0.0], max_draws=0), "max_draws"),
    "predictive_density max_draws='2'": (lambda: GIBBS2.predictive_density([[0.0, 0.0]], max_draws="2"), "max_draws"),
    "predictive_density max_draws huge": (lambda: GIBBS1.predictive_density([0.0], max_draws=10**9), "max_draws"),
    "predictive_density quantiles scalar": (lambda: GIBBS1.predictive_density([0.0], quantiles=0.9), "quantiles"),
    "predictive_density quantiles triple": (lambda: GIBBS1.predictive_density([0.0], quantiles=(0.1, 0.5, 0.9)),
                                            "quantiles"),
    "predictive_density quantiles strings": (lambda: GIBBS2.predictive_density([[0.0, 0.0]], quantiles=("a", "b")),
                                             "quantiles"),
    "predictive_density quantiles reversed": (lambda: GIBBS1.predictive_density([0.0], quantiles=(0.9, 0.1)),
                                              "quantiles"),
    "predictive_density quantiles nan": (lambda: GIBBS1.predictive_density([0.0], quantiles=(np.nan, 0.9)),
                                         "quantiles"),
    "NutsPosterior max_draws=-1": (lambda: NUTS.predictive_density([0.0], max_draws=-1), "max_draws"),
    "DPPosterior max_draws=0": (lambda: DP.predictive_density([0.0], max_draws=0), "max_draws"),
    "DPPosterior quantiles=2": (lambda: DP.predictive_density([0.0], quantiles=(2.0,)), "quantiles"),
    "DPPosterior quantiles triple": (lambda: DP.predictive_density([0.0], quantiles=(0.1, 0.5, 0.9)), "quantiles"),
    "DPPosterior.components chain": (lambda: DP.components(5, 0), "chain"),
    "DPPosterior.components draw": (lambda: DP.components(0, -1), "draw"),
    "Mixture.sample n=0": (lambda: LINE.sample(KEY, 0), "n"),
    "Mixture.sample n=2.5": (lambda: PLANE.sample(KEY, 2.5), "n"),
    "Mixture.sample n=2**40 (D = 2)": (lambda: PLANE.sample(KEY, 2**40), "n must be at most"),
    "count_modes n_grid": (lambda: gmm.count_modes(LINE, 0.0, 1.0, n_grid=10**10), "n_grid must be at most"),
    "decision_boundaries n_grid": (lambda: gmm.decision_boundaries(LINE, 0.0, 1.0, n_grid=10**10), "n_grid"),
    "count_modes D = 2": (lambda: gmm.count_modes(PLANE, 0.0, 1.0), "D = 2"),
    "n_parameters covariance_type": (lambda: gmm.n_parameters(2, 2, "banana"), "covariance_type"),
    "fit_em D-dim max_iter": (lambda: gmm.fit_em(KEY, XD, 2, max_iter=10**9), "max_iter must be at most"),
    "fit_em covariance_type (1-D)": (lambda: gmm.fit_em(KEY, X, 2, covariance_type="banana"), "covariance_type"),
    "select_k covariance_type": (lambda: gmm.select_k(KEY, XD, [1], covariance_type="banana"), "covariance_type"),
    "bic D-dim mixture on 1-D data": (lambda: gmm.bic(X, PLANE), "x"),
    "binned_log_prob D-dim mixture": (lambda: gmm.binned_log_prob(X, PLANE, 1.0), "mixture"),
    "Prior.from_data huge spread": (lambda: gmm.Prior.from_data([0.0, 1e300]), "x"),
}
for _bad in BAD_KEYS:  # (to_arviz takes key=None: its default key)
    RESULT_ARGS[f"Mixture.sample key {_bad}"] = (lambda b=_bad: LINE.sample(BAD_KEYS[b], 3), "key")
    if _bad == "None":
        continue
    RESULT_ARGS[f"ImportanceResult.to_arviz key {_bad}"] = (
        lambda b=_bad: gmm.ImportanceResult(np.zeros(3), np.full((3, 2), 0.5), np.zeros((3, 2)), np.ones((3, 2)),
                                            3.0, 0.0, 0.0, "prior", mode_weights=np.ones(1)).to_arviz(BAD_KEYS[b]),
        "key")


# Every entry point that takes a key: name -> (call(key, x, k), data it accepts, its bad-data
# table). One row per entry point and kind of data, so the key, K and data checks of each
# are tried once.
KEYED = {
    **{f"{n} (line)": (f, X, BAD_DATA) for n, f in ENTRY_POINTS.items()},
    **{f"{n} (points)": (f, XD, BAD_POINTS) for n, f in ENTRY_POINTS_ND.items()},
    "dp_gibbs (line)": (lambda key, x, k: gmm.dp_gibbs(key, x, prior=PRIOR), X, BAD_DATA),
    "dp_gibbs (points)": (lambda key, x, k: gmm.dp_gibbs(key, x, prior=NIW), XD, BAD_POINTS),
    "nuts (line)": (lambda key, x, k: gmm.nuts(key, x, k, prior=PRIOR), X, BAD_DATA),
    "cavi (line)": (lambda key, x, k: gmm.cavi(key, x, k), X, BAD_DATA),
    "cavi (points)": (lambda key, x, k: gmm.cavi(key, x, k, prior=NIW), XD, BAD_POINTS),
    "advi (line)": (lambda key, x, k: gmm.advi(key, x, k, prior=PRIOR), X, BAD_DATA),
}
TAKES_K = [n for n in KEYED if not n.startswith("dp_gibbs")]


@pytest.mark.parametrize("fn, bad", [(fn, bad) for fn, (_, _, table) in KEYED.items() for bad in table])
def test_bad_data(fn, bad):
    call, _, table = KEYED[fn]
    _raises_naming(lambda: call(KEY, table[bad], 2), "x")


@pytest.mark.parametrize("bad", list(BAD_KEYS), ids=list(BAD_KEYS))
@pytest.mark.parametrize("fn", list(KEYED))
def test_bad_key(fn, bad):
    call, x, _ = KEYED[fn]
    _raises_naming(lambda: call(BAD_KEYS[bad], x, 2), "key")


@pytest.mark.parametrize("bad", list(BAD_K), ids=list(BAD_K))
@pytest.mark.parametrize("fn", TAKES_K)
def test_bad_k(fn, bad):
    call, x, _ = KEYED[fn]
    _raises_naming(lambda: call(KEY, x, BAD_K[bad]), "n_components", "ks entry")


@pytest.mark.parametrize("bad", list(BAD_POINTS), ids=list(BAD_POINTS))
@pytest.mark.parametrize("fn", list(NO_KEY_ND), ids=list(NO_KEY_ND))
def test_bad_points_without_key(fn, bad):
    _raises_naming(lambda: NO_KEY_ND[fn](BAD_POINTS[bad]), "x")


@pytest.mark.parametrize("bad", list(WRONG_DIM), ids=list(WRONG_DIM))
@pytest.mark.parametrize("fn", ["bic", "aic", "Mixture.log_prob", "Mixture.responsibilities"])
def test_points_of_another_dimension(fn, bad):
    _raises_naming(lambda: NO_KEY_ND[fn](WRONG_DIM[bad]), "x")


@pytest.mark.parametrize("fn, bad", [(fn, bad) for fn, (_, _, two_d) in RESULT_POINTS.items()
                                     for bad in (BAD_POINTS if two_d else BAD_DATA)])
def test_result_methods_refuse_bad_points(fn, bad):
    call, name, two_d = RESULT_POINTS[fn]
    _raises_naming(lambda: call((BAD_POINTS if two_d else BAD_DATA)[bad]), name)


@pytest.mark.parametrize("case", list(RESULT_ARGS), ids=list(RESULT_ARGS))
def test_result_and_helper_arguments_are_checked(case):
    call, name = RESULT_ARGS[case]
    _raises_naming(call, name)


# Names of gmm.__all__ that take no data, key or K the tables could feed (classes of results,
# GenJAX programs whose arguments are traced), with where their inputs are tested instead.
NOT_TABULATED = {
    "ConvergenceWarning": "a warning class",
    "EMResult": "a result; its mixture's methods are in RESULT_POINTS",
    "SelectionResult": "a result; its mixtures' methods are in RESULT_POINTS",
    "EvidenceEstimate": "a result without methods that take input",
    "KPosterior": "a result; summary() takes no input (test_summaries_of_results_run)",
    "GibbsPosterior": "RESULT_POINTS and RESULT_ARGS", "NutsPosterior": "RESULT_POINTS and RESULT_ARGS",
    "DPPosterior": "RESULT_POINTS and RESULT_ARGS", "ImportanceResult": "RESULT_ARGS (to_arviz's key)",
    "VIPosterior": "tests/test_vi_result.py (its evidence methods); the rest is PosteriorDraws, as GibbsPosterior",
    "Prior": "tests/test_models.py (its fields); Prior.from_data in NO_KEY",
    "NIWPrior": "test_niw_prior_refuses_non_real_fields; from_data in NO_KEY_ND",
    "bayesian_gmm": "a GenJAX program (traced arguments)", "bayesian_gmm_marginal": "a GenJAX program",
    "bayesian_gmm_full": "a GenJAX program", "bento_mixture": "a GenJAX program",
    "Mixture": "tests/test_inputs.py and test_mixture*.py (its parameters); its methods in RESULT_POINTS",
    "n_parameters": "RESULT_ARGS and test_inputs.py",
    "count_modes": "RESULT_ARGS", "decision_boundaries": "RESULT_ARGS",
    "binned_log_prob": "RESULT_POINTS",
}


def test_every_public_name_is_in_a_table():
    tabulated = {name.split(" (")[0] for name in KEYED} | set(NO_KEY) | set(NO_KEY_ND)
    public = {name for name in gmm.__all__ if name not in gmm._SUBPACKAGES}
    missing = sorted(public - tabulated - set(NOT_TABULATED))
    assert not missing, f"public names in no input table: {missing}"


def test_summaries_of_results_run():
    est = {k: gmm.EvidenceEstimate(k, -10.0 + k, 0.0, "exact", np.zeros(1)) for k in (1, 2)}
    post = gmm.KPosterior(ks=(1, 2), probabilities={1: 0.25, 2: 0.75}, probabilities_stderr={1: 0.0, 2: 0.0},
                          log_evidence={1: -9.0, 2: -8.0}, log_evidence_stderr={1: 0.0, 2: 0.0}, estimates=est,
                          best_k=2)
    assert [(row["k"], row["method"]) for row in post.summary()] == [(1, "exact"), (2, "exact")]
    assert GIBBS2.posterior_mean()["covariances"].shape == (2, 2, 2)


class _Draws:
    means = np.zeros((2, 3, 2))


BENTO = gmm.datasets.bento()
GRID = np.linspace(300.0, 550.0, 50)
# gmm.plotting: name -> (call, argument name); each refused before anything is drawn.
PLOTS = {
    "histogram bins=0": (lambda p: p.histogram(BENTO, bins=0), "bins"),
    "histogram bins='auto'": (lambda p: p.histogram(BENTO, bins="auto"), "bins"),
    "histogram bins decreasing": (lambda p: p.histogram(BENTO, bins=[3, 2, 1]), "bins"),
    "histogram bins NaN": (lambda p: p.histogram(BENTO, bins=[1, np.nan]), "bins"),
    "histogram x NaN": (lambda p: p.histogram([1.0, np.nan]), "x"),
    "grid_for mixture": (lambda p: p.grid_for(BENTO, mixture="m"), "mixture"),
    "mixture_density names": (lambda p: p.mixture_density(LINE, GRID, names=["a"]), "names"),
    "mixture_density grid NaN": (lambda p: p.mixture_density(LINE, [1.0, np.nan]), "grid"),
    "mixture_density mixture": (lambda p: p.mixture_density("m", GRID), "mixture"),
    "mixture_density D = 2": (lambda p: p.mixture_density(PLANE, GRID), "mixture"),
    "posterior_curves grid string": (lambda p: p.posterior_curves(LINE, "abc"), "grid"),
    "em_history list": (lambda p: p.em_history([1.0, 2.0]), "histories"),
    "em_history NaN": (lambda p: p.em_history({"a": [1.0, np.nan]}), "histories['a']"),
    "lower_bound_curves lengths": (lambda p: p.lower_bound_curves([0, 1], [0], [0, 1], current=0, new=1), "log_lik"),
    "lower_bound_curves current": (lambda p: p.lower_bound_curves([0, 1], [0, 1], [0, 1], current=np.nan, new=1),
                                   "current"),
    "assignment_bars lengths": (lambda p: p.assignment_bars(BENTO, np.ones((3, 2))), "probs"),
    "assignment_bars names": (lambda p: p.assignment_bars(BENTO, np.full((20, 2), 0.5), names="ab"), "names"),
    "criterion_curves lengths": (lambda p: p.criterion_curves([1, 2, 3], {"BIC": [1.0, 2.0]}), "curves['BIC']"),
    "criterion_curves all NaN": (lambda p: p.criterion_curves([1, 2], {"BIC": [np.nan, np.nan]}), "curves['BIC']"),
    "criterion_curves ks": (lambda p: p.criterion_curves("abc", {"BIC": [1.0, 2.0, 3.0]}), "ks"),
    "criterion_curves list": (lambda p: p.criterion_curves([1, 2], [1.0, 2.0]), "curves"),
    "trace_plots missing draws": (lambda p: p.trace_plots(object()), "posterior.weights"),
    "trace_plots chains": (lambda p: p.trace_plots(_Draws(), names=("means",), chains=[5]), "chains"),
    "trace_plots units": (lambda p: p.trace_plots(_Draws(), names=("means",), units=("g", "g")), "units"),
    "trace_plots max_points": (lambda p: p.trace_plots(_Draws(), names=("means",), max_points=0), "max_points"),
    "rank_histogram 1-D": (lambda p: p.rank_histogram(np.zeros(4)), "counts"),
    "rank_plots names": (lambda p: p.rank_plots(np.ones((4, 5, 2)), names=["a"]), "counts"),
    "posterior_histograms": (lambda p: p.posterior_histograms(_Draws(), names=("stds",), units=("g",)),
                             "posterior.stds"),
    "covariance_ellipses dims": (lambda p: p.covariance_ellipses(np.zeros((2, 2)), [np.eye(2)] * 2, dims=(0, 2)),
                                 "dims"),
    "covariance_ellipses shapes": (lambda p: p.covariance_ellipses(np.zeros((2, 2)), [np.eye(3)] * 2), "covariances"),
    "covariance_ellipses n_sd": (lambda p: p.covariance_ellipses(np.zeros((2, 2)), [np.eye(2)] * 2, n_sd=(-1,)),
                                 "n_sd entry"),
    "soft_scatter lengths": (lambda p: p.soft_scatter(np.zeros((10, 2)), np.ones((9, 2))), "probs"),
    "soft_scatter 1-D": (lambda p: p.soft_scatter(np.zeros(10), np.ones((10, 2))), "x"),
    "soft_scatter labels": (lambda p: p.soft_scatter(np.zeros((4, 2)), np.ones((4, 2)), labels=["a"]), "labels"),
    "recoloured_image labels": (lambda p: p.recoloured_image(np.full((2, 2), 5), np.eye(3)), "labels"),
    "recoloured_image palette": (lambda p: p.recoloured_image(np.zeros((2, 2), int), np.eye(4)), "palette"),
    "crp_seating labels": (lambda p: p.crp_seating([0, -1]), "labels"),
    "crp_seating expected": (lambda p: p.crp_seating([0, 1], expected=[1.0]), "expected"),
    "sticks NaN": (lambda p: p.sticks({"a": [np.nan]}), "weights['a']"),
    "elbo_traces empty": (lambda p: p.elbo_traces({}), "traces"),
    "elbo_traces NaN": (lambda p: p.elbo_traces({"a": [np.nan]}), "traces['a']"),
    "gradient_spread names": (lambda p: p.gradient_spread({"a": [1.0, 2.0]}, ["x"]), "names"),
    "outcome_shares list": (lambda p: p.outcome_shares([0.5]), "shares"),
    "outcome_shares NaN": (lambda p: p.outcome_shares({"a": {"A": np.nan}}), "shares"),
    "coclustering_heatmap shape": (lambda p: p.coclustering_heatmap(BENTO, np.eye(3)), "coclustering"),
    "predictive_band band": (lambda p: p.predictive_band(BENTO, GRID, np.ones(50), np.ones((2, 5))), "band"),
    "predictive_band density": (lambda p: p.predictive_band(BENTO, GRID, np.ones(3), np.ones((2, 50))), "density"),
    "cluster_count_bars k": (lambda p: p.cluster_count_bars({"a": {1.5: 0.2}}), "probs"),
    "cluster_count_bars errors": (lambda p: p.cluster_count_bars({"a": {1: 1.0}}, errors={"a": {1: "x"}}), "errors"),
    "chain_shares strings": (lambda p: p.chain_shares({"a": ["x"]}), "shares['a']"),
}


@pytest.mark.parametrize("case", list(PLOTS), ids=list(PLOTS))
def test_plotting_checks_its_inputs(case):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    call, name = PLOTS[case]
    before = plt.get_fignums()
    _raises_naming(lambda: call(gmm.plotting), name)
    assert plt.get_fignums() == before  # refused before a figure was made
