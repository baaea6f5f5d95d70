"""Matplotlib figures used throughout the book, one module per part of the story.

- ``gmm.plotting._base``     colours, the data histogram, evaluation grids, the legend, :func:`book_style`
- ``gmm.plotting.mixtures``  a mixture on the line and its fitting by EM
- ``gmm.plotting.mcmc``      reading and checking a sampler's draws
- ``gmm.plotting.nd``        two dimensions
- ``gmm.plotting.dp``        the Dirichlet process
- ``gmm.plotting.vi``        variational inference

Each function draws on an optional ``ax`` and returns it, so figures compose. Plots only draw: what they
show is computed by the rest of the package. Every function is here at the top: ``gmm.plotting.histogram``.
"""

from gmm.plotting._base import BOOK_RC, COLORS, book_style, grid_for, histogram, legend_above
from gmm.plotting.dp import cluster_count_bars, coclustering_heatmap, crp_seating, sticks
from gmm.plotting.mcmc import (chain_shares, posterior_histograms, predictive_band, rank_histogram, rank_plots,
                               trace_plots)
from gmm.plotting.mixtures import (assignment_bars, criterion_curves, em_history, lower_bound_curves,
                                   mixture_density, posterior_curves)
from gmm.plotting.nd import covariance_ellipses, recoloured_image, soft_scatter
from gmm.plotting.vi import elbo_traces, gradient_spread, outcome_shares

__all__ = [
    "BOOK_RC", "COLORS", "assignment_bars", "book_style", "chain_shares", "cluster_count_bars",
    "coclustering_heatmap", "covariance_ellipses", "criterion_curves", "crp_seating", "elbo_traces", "em_history", "gradient_spread", "grid_for",
    "histogram", "legend_above", "lower_bound_curves", "mixture_density", "outcome_shares", "posterior_curves",
    "posterior_histograms", "predictive_band", "rank_histogram", "rank_plots", "recoloured_image",
    "soft_scatter", "sticks", "trace_plots",
]
