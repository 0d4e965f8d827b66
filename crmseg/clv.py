"""Predicted value (SPEC section 8): BG/NBD and Gamma-Gamma fitted by maximum likelihood.

BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way".
Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV", and Fader & Hardie
(2013), "The Gamma-Gamma model of monetary value".

Each log-likelihood is the papers' closed form, summed over the distinct
inputs with their counts (customers sharing x, t_x and T share a term), and
maximised with L-BFGS-B on the logarithms of the parameters with analytic
gradients. The maximum of a likelihood does not move when its parameters are
written another way, so the estimate is the maximum-likelihood one: no prior,
no penalty, no Jacobian term.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy
from scipy import optimize, special

from crmseg.quality import WARN, CheckOutcome

LIBRARY = f"scipy {scipy.__version__}"
BG_NBD_PARAMETERS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMETERS = ("p", "q", "v")


@dataclass(frozen=True)
class Fit:
    """One model fitted (or not) on one population."""

    model: str  # bg_nbd | gamma_gamma
    customers: int
    parameters: dict[str, float] = field(default_factory=dict)  # empty when not fitted
    log_likelihood: float | None = None
    converged: bool = False
    fit_seconds: float = 0.0
    reason: str = ""  # why it was not fitted, or did not converge

    @property
    def fitted(self) -> bool:
        return bool(self.parameters)


# -- BG/NBD ------------------------------------------------------------------------------


def _bg_nbd_terms(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, of_x: _PerValue):
    """Each distinct input's log-likelihood and its gradient in log-parameter space."""
    r, alpha, a, b = np.exp(log_params)
    repeat = x > 0
    v = of_x.values
    b_v1 = np.where(v > 0, b + v - 1, 1.0)
    gamma_ln, psi_rx, psi_abx, psi_bx, log_b_x1 = of_x(
        special.gammaln(r + v) + special.gammaln(b + v) - special.gammaln(a + b + v),
        special.digamma(r + v),
        special.digamma(a + b + v),
        special.digamma(b + v),
        np.log(b_v1),
    )
    log_alpha_T, log_alpha_t_x = np.log(alpha + T), np.log(alpha + t_x)
    a12 = gamma_ln - special.gammaln(r) + r * np.log(alpha) + special.gammaln(a + b) - special.gammaln(b)
    a3 = -(r + x) * log_alpha_T
    a4 = np.where(repeat, np.log(a) - log_b_x1 - (r + x) * log_alpha_t_x, -np.inf)
    top = np.maximum(a3, a4)
    mix = np.log(np.exp(a3 - top) + np.exp(a4 - top)) + top
    w3, w4 = np.exp(a3 - mix), np.exp(a4 - mix)  # the shares of the two terms in the mixture
    d_r = psi_rx - special.digamma(r) + np.log(alpha) - w3 * log_alpha_T - w4 * log_alpha_t_x
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = special.digamma(a + b) - psi_abx + w4 / a
    d_b = special.digamma(a + b) + psi_bx - special.digamma(b) - psi_abx - w4 * np.exp(-log_b_x1)
    gradient = np.stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return a12 + mix, gradient


def fit_bg_nbd(x, t_x, T, *, min_customers: int = 100) -> Fit:
    """BG/NBD by maximum likelihood on repeat purchases x, time of the last t_x and age T (one unit, any)."""
    started = time.monotonic()
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    customers = len(x)
    if customers < min_customers:
        return Fit("bg_nbd", customers, reason=f"{customers} customers, fewer than {min_customers}")
    if not (x > 0).any():
        return Fit("bg_nbd", customers, reason="no customer made a repeat purchase")
    # start where the data's scale is: r = 1 and the mean purchase rate r / alpha = mean x / mean T
    start = [1.0, T.mean() / x.mean(), 1.0, 1.0]
    (x, t_x, T), weight = _distinct(x, t_x, T)
    of_x = _PerValue(x)

    def objective(log_params):
        terms, gradient = _bg_nbd_terms(log_params, x, t_x, T, of_x)
        return -(weight @ terms) / customers, -(gradient @ weight) / customers

    return _maximise("bg_nbd", BG_NBD_PARAMETERS, objective, start, customers, started)


def p_alive(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """P(alive at T | x, t_x, T)."""
    r, alpha, a, b = (params[k] for k in BG_NBD_PARAMETERS)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    return 1.0 / (1.0 + _dead_odds(r, alpha, a, b, x, t_x, T))


def expected_purchases(params: dict[str, float], t: float, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T]: the paper's conditional expectation (its equation 10)."""
    r, alpha, a, b = (params[k] for k in BG_NBD_PARAMETERS)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    z = t / (alpha + T + t)
    hyper = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    shrink = np.exp((r + x) * np.log((alpha + T) / (alpha + T + t)))
    numerator = (a + b + x - 1) / (a - 1) * (1 - shrink * hyper)
    return numerator / (1.0 + _dead_odds(r, alpha, a, b, x, t_x, T))


def _dead_odds(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """δ(x > 0) · a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x): the odds that the customer has dropped out."""
    repeat = x > 0
    b_x1 = np.where(repeat, b + x - 1, 1.0)
    log_odds = np.log(a) - np.log(b_x1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(repeat, np.exp(np.minimum(log_odds, 700.0)), 0.0)


# -- Gamma-Gamma ---------------------------------------------------------------------------


def _gamma_gamma_terms(log_params: np.ndarray, x: np.ndarray, m: np.ndarray, log_m: np.ndarray, of_x: _PerValue):
    p, q, v = np.exp(log_params)
    px = p * of_x.values
    gamma_ln, psi_pxq, psi_px = of_x(
        special.gammaln(px + q) - special.gammaln(px) + px * np.log(of_x.values),
        special.digamma(px + q),
        special.digamma(px),
    )
    log_v_xm = np.log(v + x * m)
    terms = gamma_ln - special.gammaln(q) + q * np.log(v) + (p * x - 1) * log_m - (p * x + q) * log_v_xm
    d_p = x * (psi_pxq - psi_px + log_m + np.log(x) - log_v_xm)
    d_q = psi_pxq - special.digamma(q) + np.log(v) - log_v_xm
    d_v = q / v - (p * x + q) / (v + x * m)
    return terms, np.stack([d_p * p, d_q * q, d_v * v])


def fit_gamma_gamma(x, m_x, *, min_customers: int = 100) -> Fit:
    """Gamma-Gamma by maximum likelihood on the customers with x >= 1 repeat purchases of mean value m_x > 0."""
    started = time.monotonic()
    x, m_x = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
    usable = (x >= 1) & (m_x > 0) & np.isfinite(m_x)
    x, m_x = x[usable], m_x[usable]
    customers = len(x)
    if customers < min_customers:
        reason = f"{customers} customers with a repeat purchase, fewer than {min_customers}"
        return Fit("gamma_gamma", customers, reason=reason)
    # start where the data's scale is: p = 1, q = 2 and the mean spend p v / (q - 1) = mean m_x
    start = [1.0, 2.0, m_x.mean()]
    (x, m_x), weight = _distinct(x, m_x)
    log_m, of_x = np.log(m_x), _PerValue(x)

    def objective(log_params):
        terms, gradient = _gamma_gamma_terms(log_params, x, m_x, log_m, of_x)
        return -(weight @ terms) / customers, -(gradient @ weight) / customers

    fit = _maximise("gamma_gamma", GAMMA_GAMMA_PARAMETERS, objective, start, customers, started)
    q = fit.parameters.get("q", 2.0)
    if q <= 1:  # the mean spend p v / (q - 1) does not exist: no value can be predicted from this fit
        return replace(fit, parameters={}, reason=f"q = {q:.3g} is at most 1: spend has no finite mean")
    return fit


def expected_avg_value(params: dict[str, float], x, m_x) -> np.ndarray:
    """E[M | x, m_x] = p (v + x m_x) / (p x + q − 1) when x >= 1 and m_x > 0, else the population's p v / (q − 1)."""
    p, q, v = (params[k] for k in GAMMA_GAMMA_PARAMETERS)
    x, m_x = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
    known = (x >= 1) & (m_x > 0)
    safe_x, safe_m = np.where(known, x, 0.0), np.where(known, m_x, 0.0)
    individual = p * (v + safe_x * safe_m) / (p * safe_x + q - 1)
    return np.where(known, individual, p * v / (q - 1))


# -- shared --------------------------------------------------------------------------------


def _distinct(*columns: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The distinct rows of the columns, in order, and how many customers each stands for."""
    counts = pd.DataFrame(dict(enumerate(columns))).groupby(list(range(len(columns))), sort=True, dropna=False).size()
    return tuple(counts.index.get_level_values(i).to_numpy(float) for i in range(len(columns))), counts.to_numpy(float)


class _PerValue:
    """The distinct values of a column and where each row's is: what depends on the column alone (the
    repeat purchases x, a few hundred values) is worked out once per value and spread to the rows."""

    def __init__(self, column: np.ndarray):
        self.values, self.at = np.unique(column, return_inverse=True)

    def __call__(self, *per_value: np.ndarray) -> np.ndarray:
        return np.stack(per_value)[:, self.at]


def _maximise(model: str, names: tuple[str, ...], objective, start, customers: int, started: float) -> Fit:
    """Minimise the mean negative log-likelihood over the log-parameters from `start` (parameters on the data's
    scale: from a start far from it, as p = q = v = 1 for spends in thousands, L-BFGS-B can stop early)."""
    with np.errstate(all="ignore"):
        result = optimize.minimize(
            objective,
            np.log(start),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-20.0, 20.0)] * len(names),
            options={"maxiter": 1000},
        )
    parameters = dict(zip(names, (float(v) for v in np.exp(result.x)), strict=True))
    log_likelihood = -float(result.fun) * customers
    if not np.isfinite(log_likelihood):
        return Fit(model, customers, reason="the log-likelihood is not finite", fit_seconds=time.monotonic() - started)
    return Fit(
        model,
        customers,
        parameters,
        log_likelihood,
        bool(result.success),
        time.monotonic() - started,
        "" if result.success else f"the optimiser stopped: {result.message}",
    )


# -- a date's customers: fits and scores ------------------------------------------------------


# the columns of int_purchase_days the models take: x, t_x, T and m_x
INPUTS = ("repeat_purchase_days", "purchase_span_days", "tenure_days", "repeat_mean_value")


def inputs(day) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x, t_x, T and m_x (0 for none) of rows of int_purchase_days, as the fits and the scores take them."""
    x, t_x, T, m_x = (day[column] for column in INPUTS)
    return x.to_numpy(float), t_x.to_numpy(float), T.to_numpy(float), m_x.fillna(0).to_numpy(float)


def fit_both(day, *, min_customers: int = 100) -> tuple[Fit, Fit]:
    """BG/NBD and Gamma-Gamma fitted on one as-of date's rows of int_purchase_days."""
    x, t_x, T, m_x = inputs(day)
    return (
        fit_bg_nbd(x, t_x, T, min_customers=min_customers),
        fit_gamma_gamma(x, m_x, min_customers=min_customers),
    )


def score(day, bg_nbd: dict | None, gamma_gamma: dict | None) -> pd.DataFrame:
    """What the fitted models predict for each of one as-of date's rows of int_purchase_days. A model without a fit
    leaves its columns null: p_alive and the expected purchases are the BG/NBD's, expected_avg_value the
    Gamma-Gamma's, and predicted_clv_365d needs both."""
    x, t_x, T, m_x = inputs(day)
    missing = np.full(len(day), np.nan)
    scores = pd.DataFrame({"as_of_date": day["as_of_date"], "customer_key": day["customer_key"]})
    scores["repeat_purchase_days"] = day["repeat_purchase_days"].to_numpy()
    if bg_nbd:
        scores["p_alive"] = p_alive(bg_nbd, x, t_x, T)
        scores["expected_purchases_90d"] = expected_purchases(bg_nbd, 90, x, t_x, T)
        scores["expected_purchases_365d"] = expected_purchases(bg_nbd, 365, x, t_x, T)
    else:
        scores["p_alive"] = scores["expected_purchases_90d"] = scores["expected_purchases_365d"] = missing
    scores["expected_avg_value"] = expected_avg_value(gamma_gamma, x, m_x) if gamma_gamma else missing
    scores["predicted_clv_365d"] = scores["expected_purchases_365d"] * scores["expected_avg_value"]
    return scores


# -- the fits as quality checks ------------------------------------------------------------


def fit_checks(con, start: str, end: str) -> list[CheckOutcome]:
    """A warning check per model and as-of date in start..end: fitted and converged, or why not."""
    rows = con.execute(
        "SELECT CAST(as_of_date AS VARCHAR), model, customers, parameters IS NOT NULL, converged, reason "
        "FROM marts.model_fits WHERE as_of_date BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) ORDER BY 1, 2",
        [start, end],
    ).fetchall()
    checks = []
    for as_of, model, customers, fitted, converged, reason in rows:
        if not fitted:
            observed = f"not fitted as of {as_of}: {reason}"
        elif not converged:
            observed = f"fitted on {customers:,} customers as of {as_of} but not converged: {reason}"
        else:
            observed = f"fitted on {customers:,} customers as of {as_of}"
        checks.append(
            CheckOutcome(
                table="marts.model_fits",
                check=f"{model}_fit_{as_of}",
                check_type="model fit",
                column=None,
                severity=WARN,
                passed=fitted and converged,
                rows=customers,
                observed=observed,
                expected="fitted and converged",
            )
        )
    return checks
