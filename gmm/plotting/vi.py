"""Figures of variational inference: the ELBO's climb, the spread of gradient estimates, where fits land."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from gmm._util.validation import check_labels, check_series
from gmm.plotting._base import COLORS, new_axes


def elbo_traces(traces: dict[str, Any], *, ax=None, xlabel: str = "sweep", reference: float | None = None,
                reference_label: str = "log evidence"):
    """The ELBO against sweep or step, one line per labelled run (label -> values (T,)), with an optional
    horizontal line at a reference value (the exact log evidence, which bounds every ELBO from above)."""
    traces = check_series(traces, "traces", (None,))
    ax = new_axes(ax)
    for i, (name, h) in enumerate(traces.items()):
        ax.plot(np.arange(1, len(h) + 1), h, marker="o" if len(h) <= 50 else None, ms=3, lw=1.2,
                color=COLORS[i % len(COLORS)], label=name)
    if reference is not None:
        ax.axhline(reference, color="black", ls="--", lw=1, label=reference_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("ELBO (nats)")
    ax.legend(fontsize=8)
    return ax


def gradient_spread(sds: dict[str, Any], names: Sequence[str], *, ax=None):
    """Side-by-side bars, on a log scale, of the standard deviation of each gradient coordinate for
    several estimators (label -> sds (M,)), coordinates named by ``names``."""
    sds = check_series(sds, "sds", (None,))
    names = check_labels(names, "names", len(next(iter(sds.values()))))
    ax = new_axes(ax)
    width = 0.8 / len(sds)
    xs = np.arange(len(names))
    for j, (label, v) in enumerate(sds.items()):
        ax.bar(xs + (j - (len(sds) - 1) / 2) * width, v, width=width, color=COLORS[j % len(COLORS)], label=label)
    ax.set_yscale("log")
    ax.set_xticks(xs, names, rotation=30, ha="right")
    ax.set_ylabel("sd of the estimate")
    ax.legend(fontsize=8)
    return ax


def outcome_shares(shares: dict[str, dict[str, float]], *, ax=None, ylabel: str = "share"):
    """Grouped bars of several laws over named outcomes (label -> {outcome: share}), e.g. how often fits
    from many starts land in each mode beside each mode's posterior mass."""
    if not isinstance(shares, dict) or not shares or not all(isinstance(v, dict) and v for v in shares.values()):
        raise ValueError(f"shares must be a non-empty dict label -> {{outcome: share}}, got {shares!r}.")
    outcomes = list(dict.fromkeys(o for v in shares.values() for o in v))
    values = check_series({label: [v.get(o, 0.0) for o in outcomes] for label, v in shares.items()}, "shares",
                          (None,))
    ax = new_axes(ax)
    width = 0.8 / len(shares)
    xs = np.arange(len(outcomes))
    for j, (label, vals) in enumerate(values.items()):
        ax.bar(xs + (j - (len(shares) - 1) / 2) * width, vals, width=width, color=COLORS[j % len(COLORS)],
               label=label)
    ax.set_xticks(xs, outcomes)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return ax
