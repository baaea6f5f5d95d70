"""gmm.plotting helpers added for the book's style (fonts, legends, chain colours)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gmm  # noqa: E402
from gmm import plotting  # noqa: E402


def test_book_style_sets_readable_sizes_outside_ipython():
    with plt.rc_context():
        plotting.book_style()  # no IPython shell here: only the sizes change
        assert plt.rcParams["font.size"] >= 9
        assert plt.rcParams["xtick.labelsize"] >= 8
        assert plt.rcParams["legend.fontsize"] >= 8


def test_histogram_labels_the_quantity():
    ax = plotting.histogram(gmm.datasets.bento())
    assert ax.get_xlabel() == "weight (g)"
    ax = plotting.histogram(gmm.datasets.coffee(), quantity="caffeine", unit="mg")
    assert ax.get_xlabel() == "caffeine (mg)"
    x = gmm.datasets.galaxies()
    grid = np.linspace(5, 40, 50)
    dens = np.ones_like(grid) / 35
    ax = plotting.predictive_band(x, grid, dens, np.stack([dens / 2, dens * 2]),
                                  quantity="velocity", unit="1000 km/s")
    assert ax.get_xlabel() == "velocity (1000 km/s)"
    plt.close("all")


def test_legend_above_sits_outside_the_axes():
    fig, ax = plt.subplots()
    ax.bar([0, 1], [1, 1], label="a")
    ax.bar([0, 1], [1, 1], bottom=[1, 1], label="b")
    plotting.legend_above(ax)
    fig.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.y0 >= ax.get_window_extent().y1 - 1
    plt.close(fig)


class _FakePosterior:
    def __init__(self, n_chains=3, n_samples=20, k=2):
        rng = np.random.default_rng(0)
        self.weights = rng.dirichlet([1] * k, size=(n_chains, n_samples))
        self.means = rng.normal(size=(n_chains, n_samples, k))
        self.stds = rng.gamma(2.0, size=(n_chains, n_samples, k))


def test_trace_plots_colour_by_chain():
    fig = plotting.trace_plots(_FakePosterior())
    lines = fig.axes[0].get_lines()
    # 3 chains x 2 components; both components of one chain share its colour.
    assert len({ln.get_color() for ln in lines}) == 3
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "chain 0", "chain 1", "chain 2"]
    fig = plotting.trace_plots(_FakePosterior(), color_by="component")
    assert len({ln.get_color() for ln in fig.axes[0].get_lines()}) == 2
    with pytest.raises(ValueError, match="color_by"):
        plotting.trace_plots(_FakePosterior(), color_by="draw")
    plt.close("all")


def test_book_style_asks_ipython_for_svg_and_pdf():
    pytest.importorskip("matplotlib_inline")
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    shell = InteractiveShell.instance()
    try:
        with plt.rc_context():
            plotting.book_style()
        formatters = shell.display_formatter.formatters
        assert Figure in formatters["image/svg+xml"].type_printers
        assert Figure in formatters["application/pdf"].type_printers
        assert Figure not in formatters["image/png"].type_printers
    finally:
        InteractiveShell.clear_instance()


def test_cluster_count_bars_draw_heights_and_error_bars():
    probs = {"a": {1: 0.2, 2: 0.8}, "b": {2: 0.5, 3: 0.5}}
    errors = {"a": {1: 0.05, 2: 0.1}}
    ax = plotting.cluster_count_bars(probs, errors=errors, xlabel="K")
    heights = sorted(round(p.get_height(), 3) for p in ax.patches)
    assert heights == sorted([0.2, 0.8, 0.0, 0.0, 0.5, 0.5])
    # One error-bar collection, for the series that has errors, with those lengths.
    segs = [c for c in ax.collections if c.get_segments()]
    assert len(segs) == 1
    lengths = sorted(round(abs(s[1][1] - s[0][1]) / 2, 3) for s in segs[0].get_segments())
    assert lengths == [0.0, 0.05, 0.1]
    plt.close("all")


def test_chain_shares_draws_one_bar_per_chain_and_the_reference():
    ax = plotting.chain_shares({"a": [1.0, 0.0], "b": [0.2, 0.25, 0.18]}, reference=0.2)
    heights = [round(p.get_height(), 3) for p in ax.patches]
    assert heights == [1.0, 0.0, 0.2, 0.25, 0.18]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert any(line.get_ydata()[0] == 0.2 for line in ax.get_lines())
    plt.close("all")


def test_trace_plots_label_each_family_with_its_unit():
    fig = plotting.trace_plots(_FakePosterior(), units=("", "g", "g"))
    assert [ax.get_ylabel() for ax in fig.axes] == ["weights", "means (g)", "stds (g)"]
    fig = plotting.trace_plots(_FakePosterior())
    assert [ax.get_ylabel() for ax in fig.axes] == ["weights", "means", "stds"]
    with pytest.raises(ValueError, match="one unit per name"):
        plotting.trace_plots(_FakePosterior(), units=("g",))
    plt.close("all")


def test_trace_plots_can_show_a_subset_of_chains():
    class Draws:
        means = np.arange(3 * 10 * 2, dtype=float).reshape(3, 10, 2)

    fig = plotting.trace_plots(Draws(), names=("means",), color_by="component", chains=[1])
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2  # one chain, two components
    np.testing.assert_allclose(lines[0].get_ydata(), Draws.means[1, :, 0])
    plt.close("all")


def test_rank_histogram_draws_each_chain_and_the_uniform_count():
    counts = np.array([[5, 5, 5, 5], [0, 0, 10, 10]])
    ax = plotting.rank_histogram(counts, title="means[0]")
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["chain 0", "chain 1", "uniform"]
    assert ax.get_ylabel() == "draws per rank bin"
    assert "rank" in ax.get_xlabel()
    uniform = [line for line in ax.get_lines() if line.get_label() == "uniform"][0]
    assert np.allclose(uniform.get_ydata(), 5.0)
    assert ax.get_xlim() == (0.0, 40.0)
    with pytest.raises(ValueError):
        plotting.rank_histogram(np.zeros(4))
    plt.close("all")


def test_lower_bound_curves_draw_both_curves_and_mark_both_parameters():
    grid = np.linspace(0.0, 2.0, 5)
    ax = plotting.lower_bound_curves(grid, -grid, -grid - grid**2, current=0.0, new=0.5, xlabel="mu (g)")
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), -grid)
    np.testing.assert_allclose(lines[1].get_ydata(), -grid - grid**2)
    assert [line.get_xdata()[0] for line in lines[2:]] == [0.0, 0.5]
    assert ax.get_xlabel() == "mu (g)"
    plt.close("all")


def test_rank_plots_draw_one_panel_per_parameter_and_one_legend():
    counts = np.stack([np.full((3, 4), 5), np.array([[20, 0, 0, 0], [0, 0, 10, 10], [0, 20, 0, 0]])],
                      axis=-1)
    fig = plotting.rank_plots(counts, names=["means[0]", "means[1]"])
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["means[0]", "means[1]"]
    assert axes[0].get_ylabel() == "draws per rank bin"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["chain 0", "chain 1", "chain 2", "uniform"]
    with pytest.raises(ValueError):
        plotting.rank_plots(counts, names=["only one"])
    plt.close("all")


def test_count_histogram_has_whole_number_ticks():
    ax = plotting.histogram(gmm.datasets.bento(), bins=range(340, 511, 2))
    ticks = [t for t in ax.get_yticks() if t >= 0]
    assert ticks and all(float(t).is_integer() for t in ticks)
