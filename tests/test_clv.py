"""The predicted-value models (crmseg/clv.py) against the published estimates, the papers' formulas and simulation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmseg import clv

# The CDNOW sample summary (2,357 customers, 39 weeks; x, t_x, T in weeks, zbar the mean repeat spend), as
# Fader, Hardie & Lee published it and the `lifetimes` package ships it.
CDNOW = Path(__file__).parent / "fixtures" / "cdnow_summary.csv"
PUBLISHED_BG_NBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(CDNOW)


@pytest.fixture(scope="module")
def cdnow_fits(cdnow) -> tuple[clv.Fit, clv.Fit]:
    return clv.fit_bg_nbd(cdnow.x, cdnow.t_x, cdnow["T"]), clv.fit_gamma_gamma(cdnow.x, cdnow.zbar)


def within(fitted: dict[str, float], expected: dict[str, float], share: float) -> dict[str, tuple[float, float]]:
    """The parameters further than `share` from what was expected: name -> (fitted, expected)."""
    return {k: (fitted[k], v) for k, v in expected.items() if abs(fitted[k] - v) > share * v}


def test_the_fits_give_the_published_cdnow_estimates(cdnow_fits):
    bg_nbd, gamma_gamma = cdnow_fits
    assert bg_nbd.converged and gamma_gamma.converged
    assert within(bg_nbd.parameters, PUBLISHED_BG_NBD, 0.01) == {}
    assert within(gamma_gamma.parameters, PUBLISHED_GAMMA_GAMMA, 0.01) == {}
    assert bg_nbd.customers == 2357
    assert gamma_gamma.customers == 946  # the customers with a repeat purchase
    assert bg_nbd.log_likelihood == pytest.approx(-9582.4, abs=0.1)  # the paper's figure


def hyp2f1_by_series(a: float, b: float, c: float, z: float) -> float:
    """The Gaussian hypergeometric function by its defining series, as the paper's appendix sums it."""
    term, total, j = 1.0, 1.0, 0
    while abs(term) > 1e-15 * abs(total):
        term *= (a + j) * (b + j) / ((c + j) * (j + 1)) * z
        total += term
        j += 1
    return total


@pytest.mark.parametrize("x, t_x, T", [(0, 0.0, 38.86), (2, 30.43, 38.86), (5, 10.0, 30.0), (14, 36.0, 37.0)])
def test_p_alive_and_expected_purchases_follow_the_papers_formulas(cdnow_fits, x, t_x, T):
    params = cdnow_fits[0].parameters
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    # Fader, Hardie & Lee (2005), equations 10 and 11, term by term
    odds = (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
    alive = 1 / (1 + odds)
    t = 39.0
    hyper = hyp2f1_by_series(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    expected = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyper) / (1 + odds)

    assert clv.p_alive(params, [x], [t_x], [T])[0] == pytest.approx(alive, rel=1e-9)
    assert clv.expected_purchases(params, t, [x], [t_x], [T])[0] == pytest.approx(expected, rel=1e-9)
    assert 0 < alive <= 1 and expected > 0


def test_expected_avg_value_follows_the_formula_and_falls_back_to_the_population_mean(cdnow_fits):
    params = cdnow_fits[1].parameters
    p, q, v = params["p"], params["q"], params["v"]
    values = clv.expected_avg_value(params, [2, 0, 3], [30.0, np.nan, 0.0])
    assert values[0] == pytest.approx(p * (v + 2 * 30.0) / (p * 2 + q - 1), rel=1e-12)
    # no repeat purchase, or none of value: the population mean
    assert values[1] == pytest.approx(p * v / (q - 1), rel=1e-12)
    assert values[2] == pytest.approx(p * v / (q - 1), rel=1e-12)


def simulate_bg_nbd(rng, params: dict[str, float], T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Repeat purchases x and the time of the last t_x of customers observed for T, drawn as the model says:
    a Poisson rate lambda ~ Gamma(r, alpha), a drop-out chance p ~ Beta(a, b) after each repeat purchase."""
    n = len(T)
    rate = rng.gamma(params["r"], 1 / params["alpha"], n)
    dropout = rng.beta(params["a"], params["b"], n)
    purchases_while_alive = rng.geometric(dropout)  # dies right after this repeat purchase
    purchases_in_window = rng.poisson(rate * T)
    x = np.minimum(purchases_while_alive, purchases_in_window)
    # the x-th of the window's purchases, uniform in (0, T]: its time is T times a Beta(x, k - x + 1)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(purchases_in_window - x + 1, 1)), 0.0)
    return x, t_x


def test_the_fits_recover_the_parameters_of_100000_simulated_customers():
    rng = np.random.default_rng(20261201)
    bg_nbd_truth = {"r": 0.6, "alpha": 45.0, "a": 0.8, "b": 3.5}  # days
    gamma_gamma_truth = {"p": 5.0, "q": 4.0, "v": 9000.0}  # an order's value, in yuan
    T = rng.integers(30, 1500, 100_000).astype(float)
    x, t_x = simulate_bg_nbd(rng, bg_nbd_truth, T)
    # each customer's mean value nu ~ Gamma(q, v) scales Gamma(p) spends: the mean of x of them
    nu = rng.gamma(gamma_gamma_truth["q"], 1 / gamma_gamma_truth["v"], len(x))
    m_x = np.where(x > 0, rng.gamma(gamma_gamma_truth["p"] * np.maximum(x, 1)) / (nu * np.maximum(x, 1)), np.nan)

    bg_nbd = clv.fit_bg_nbd(x, t_x, T)
    gamma_gamma = clv.fit_gamma_gamma(x, m_x)

    assert bg_nbd.converged and gamma_gamma.converged
    assert within(bg_nbd.parameters, bg_nbd_truth, 0.05) == {}
    assert within(gamma_gamma.parameters, gamma_gamma_truth, 0.05) == {}
    assert gamma_gamma.customers == int((x > 0).sum())


def test_a_model_that_cannot_be_fitted_says_why():
    few = clv.fit_bg_nbd([1, 2, 0], [5, 9, 0], [20, 20, 20])
    assert not few.fitted and few.reason == "3 customers, fewer than 100"
    none_repeat = clv.fit_bg_nbd(np.zeros(500), np.zeros(500), np.full(500, 90.0))
    assert not none_repeat.fitted and none_repeat.reason == "no customer made a repeat purchase"
    # spend so spread out that its mean does not exist (the fitted q is below 1): no prediction from it
    heavy = np.random.default_rng(3).pareto(0.5, 5000) + 1
    infinite_mean = clv.fit_gamma_gamma(np.ones(5000), heavy)
    assert not infinite_mean.fitted and infinite_mean.reason.endswith("is at most 1: spend has no finite mean")
    no_spend = clv.fit_gamma_gamma(np.ones(500), np.zeros(500))
    assert not no_spend.fitted and no_spend.customers == 0
    assert no_spend.reason == "0 customers with a repeat purchase, fewer than 100"


def test_the_log_likelihood_is_the_papers_sum_over_customers(cdnow, cdnow_fits):
    """The distinct inputs weighted by their counts give the sum over every customer, term by term."""
    params = cdnow_fits[0].parameters
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    total = 0.0
    for x, t_x, T in cdnow[["x", "t_x", "T"]].itertuples(index=False):
        a1 = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
        a2 = math.lgamma(a + b) + math.lgamma(b + x) - math.lgamma(b) - math.lgamma(a + b + x)
        a3 = -(r + x) * math.log(alpha + T)
        total += a1 + a2 + a3
        if x > 0:
            a4 = math.log(a) - math.log(b + x - 1) - (r + x) * math.log(alpha + t_x)
            total += math.log1p(math.exp(a4 - a3))
    assert cdnow_fits[0].log_likelihood == pytest.approx(total, rel=1e-9)


@pytest.mark.parametrize("scale", [1 / 7, 7.0, 1e4, 1e6])
def test_the_fits_do_not_depend_on_the_units(cdnow, cdnow_fits, scale):
    """Time in another unit scales alpha alone, spend in another currency v alone: the optimiser starts on the
    data's scale (from p = q = v = 1 it stopped early on spends of tens of thousands, at p = 1,107 and q = 2.68)."""
    bg_nbd = clv.fit_bg_nbd(cdnow.x, cdnow.t_x * scale, cdnow["T"] * scale)
    gamma_gamma = clv.fit_gamma_gamma(cdnow.x, cdnow.zbar * scale)
    expected_bg_nbd = {**cdnow_fits[0].parameters, "alpha": cdnow_fits[0].parameters["alpha"] * scale}
    expected_gamma_gamma = {**cdnow_fits[1].parameters, "v": cdnow_fits[1].parameters["v"] * scale}
    assert within(bg_nbd.parameters, expected_bg_nbd, 0.001) == {}
    assert within(gamma_gamma.parameters, expected_gamma_gamma, 0.001) == {}
