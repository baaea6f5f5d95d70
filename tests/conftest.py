"""Shared pytest options.

``--seeds N`` sweeps the statistical tests (those that take the ``seed`` fixture) over
N keys instead of one, as scikit-learn's ``global_random_seed`` does: a test that passes
for key 0 only by luck fails for some other key.
"""

from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption(
        "--seeds", type=int, default=1,
        help="run every test that takes the `seed` fixture for seeds 0 .. N-1 (default 1)",
    )


def pytest_generate_tests(metafunc):
    if "seed" in metafunc.fixturenames:
        metafunc.parametrize("seed", range(metafunc.config.getoption("seeds")))


# The quick tier for development, `pytest -m "not slow"` (README): every module of gmm is
# still exercised, but the statistical comparisons that take several seconds each (samplers
# against references, multimodal posteriors, enumerations) are left to the full run, which
# the README's test command and CI always make. Listed by test-id prefix, measured with
# `pytest --durations=60` (each over about 4 s on 2 cores). The quick tier ran in about
# 100 s on 2 cores and still imported every module of gmm.
SLOW = (
    "tests/test_multimodal.py", "tests/test_multimodal_k45.py", "tests/test_multimodal_high_k.py",
    "tests/test_multimodal_priors.py", "tests/test_gibbs_conjugate_numpyro.py",
    "tests/test_streaming.py::test_four_devices_and_two_processes",
    "tests/test_streaming.py::test_peak_memory_is_bounded",
    "tests/test_streaming.py::test_a_process_that_fails_stops_the_others",
    "tests/test_galaxies_evidence.py",
    "tests/test_dpmm.py::test_dp_gibbs_matches_exact_enumeration",
    "tests/test_dpmm.py::test_galaxies_posterior_does_not_depend_on_start",
    "tests/test_dpmm.py::test_same_key_same_draws_and_units",
    "tests/test_dpmm.py::test_concentration_prior_alone_recovers_gamma_prior",
    "tests/test_dpmm.py::test_prior_only_matches_crp_law",
    "tests/test_dpmm.py::test_concentration_given_k_matches_closed_form",
    "tests/test_dpmm.py::test_stick_weights_first_stick_mean",
    "tests/test_samplers.py::test_gibbs_agrees_with_nuts",
    "tests/test_em.py::test_more_components_never_fit_worse_on_large_data",
    "tests/test_nuts_inputs.py::test_far_from_zero_and_extreme_scales",
    "tests/test_nuts_inputs.py::test_standardised_posterior_is_the_same_distribution",
    "tests/test_gibbs_conditionals.py::test_rung_",
    "tests/test_samplers.py::test_importance_summaries_match_numpy",
    "tests/test_samplers.py::test_assignment_draws_follow_their_probabilities",
    "tests/test_samplers.py::test_prior_proposal_is_exact_where_the_prior_works",
    "tests/test_samplers.py::test_step_size_is_frozen_after_warmup",
    "tests/test_inverse_gamma_prior.py::test_exact_k2_matches_a_brute_force_sum_over_assignments",
    "tests/test_inverse_gamma_prior.py::test_gibbs_agrees_with_nuts",
    "tests/test_laplace.py::test_log_joint_matches_scipy",
    "tests/test_tempering.py::test_without_the_g_corrections_a_rung_samples_the_wrong_law",
    "tests/test_tempering.py::test_each_rung_samples_its_tempered_posterior",
    "tests/test_book_outputs.py::test_a_planted_change_fails_the_page_at_a_claim",
    "tests/test_evidence.py::test_exact_matches_monte_carlo_from_the_prior",
    "tests/test_select_k.py::test_recovers_true_k_on_rounded_data",
    # and those over about 4.4 s in the quick tier itself (second measurement)
    "tests/test_dpmm.py::test_results_are_in_data_units_and_consistent",
    "tests/test_docstring_examples.py::test_examples_run_as_documented",
    "tests/test_dpmm.py::test_unconverged_run_warns",
    "tests/test_em_multivariate.py::test_reaches_sklearn_log_likelihood",
    "tests/test_gibbs_chunks.py::test_run_in_tiny_chunks_matches_the_whole_data_run",
    "tests/test_inverse_gamma_prior.py::test_genjax_distribution_assess_and_draws",
    "tests/test_samplers.py::test_prior_proposal_collapses_em_proposal_does_not",
    "tests/test_tempering.py::test_ladder_adapts_in_warmup_only_and_keeps_its_ends",
    "tests/test_gibbs_conjugate.py::test_model_density_matches_scipy",
    "tests/test_selection_multivariate.py::test_select_k_finds_the_clusters",
    "tests/test_samplers.py::test_diagnostics_match_numpyro_on_mixing_and_stuck_chains",
    "tests/test_samplers.py::test_gibbs_convergence_with_book_defaults",
    "tests/test_inputs.py::test_samplers_on_timestamps",
    "tests/test_evidence.py::test_posterior_over_k_on_the_bentos",
    "tests/test_samplers.py::test_relabel_false_keeps_the_samplers_labels_and_shares_the_compiled_program",
    "tests/test_samplers.py::test_gibbs_single_chain_has_nan_rhat_and_finite_ess",
    "tests/test_laplace.py::test_two_separated_components_match_smc_with_two_copies",
    "tests/test_inputs.py::test_same_key_same_result_and_input_unchanged",
    "tests/test_gibbs_conjugate.py::test_fixed_assignments_give_the_closed_form",
    "tests/test_inputs.py::test_every_key_kind_works_everywhere",
    "tests/test_gibbs_conjugate.py::test_same_key_same_result_and_warning",
    "tests/test_gibbs_conjugate.py::test_single_component_is_the_exact_niw_posterior",
    "tests/test_evidence.py::test_smc_at_the_defaults_agrees_with_exact_for_every_k_of_one_compile",
    "tests/test_readme.py",
    "tests/test_defaults_and_results.py::test_every_posterior_result_has_summary_and_to_arviz",
    "tests/test_defaults_and_results.py::test_samplers_take_one_component",
    # the D-dimensional sampler, evidence and Dirichlet process mixture
    "tests/test_gibbs_conjugate.py::test_tempering_finds_the_modes_untempered_gibbs_misses",
    "tests/test_gibbs_conjugate.py::test_one_column_is_one_dimension",
    "tests/test_gibbs_conjugate.py::test_sampler_covariance_draw_is_the_models_prior",
    "tests/test_gibbs_conjugate.py::test_each_rung_samples_its_tempered_target",
    "tests/test_evidence_niw.py::test_old_faithful_posterior_over_k",
    "tests/test_evidence_niw.py::test_smc_and_importance_sampling_match_exact",
    "tests/test_dpmm_niw.py::test_matches_exact_enumeration_of_partitions",
    "tests/test_dpmm_niw.py::test_prior_only_follows_the_crp",
    "tests/test_dpmm_niw.py::test_three_separated_clusters",
    "tests/test_dpmm_niw.py::test_component_draws_follow_the_niw_posterior",
    "tests/test_dpmm_niw.py::test_same_key_same_draws_and_units",
    # importance sampling's error bars and extreme priors (issue 26)
    "tests/test_evidence.py::test_is_with_a_handful_of_effective_particles_warns_and_has_no_error_bar",
    "tests/test_evidence.py::test_is_below_the_empty_component_bound_warns_and_has_no_error_bar",
    "tests/test_evidence.py::test_healthy_is_does_not_warn_and_covers_exact",
    "tests/test_priors_extreme.py::test_gibbs_at_the_edge_of_the_allowed_means_prior_has_no_nan",
    "tests/test_priors_extreme.py::test_a_small_but_accepted_std_shape_gives_finite_evidences",
    # far outliers and typed counts in the DP and D-dimensional samplers (issue 26): whichever
    # runs first compiles the file's samplers (over 10 s)
    "tests/test_dp_inputs.py::test_dp_gibbs_1d_far_outlier_does_not_merge_the_clusters",
    "tests/test_dp_inputs.py::test_dp_gibbs_2d_far_outlier_gives_finite_draws_and_finds_the_clusters",
    "tests/test_dp_inputs.py::test_gibbs_2d_far_outlier_gives_finite_draws_and_the_three_means",
    "tests/test_dp_inputs.py::test_numpy_and_jax_counts_and_numpy_bool_flags_are_taken",
)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: left out of the quick tier, pytest -m 'not slow'")


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
