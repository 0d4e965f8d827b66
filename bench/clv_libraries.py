"""How the README chose the library that fits SPEC section 8's models: scipy (crmseg/clv.py) or pymc-marketing.

    .venv/bin/python -m bench.clv_libraries scipy
    python3.11 -m venv /tmp/pymc && /tmp/pymc/bin/pip install pymc-marketing pandas
    /tmp/pymc/bin/python -m bench.clv_libraries pymc          # from the repository's root

pymc-marketing is not one of crmseg's dependencies, hence its own virtual environment; this file imports nothing
of crmseg but crmseg/clv.py, and that only for the scipy side. Each side fits BG/NBD and Gamma-Gamma by maximum
likelihood (pymc-marketing: flat priors and find_MAP, which maximises without a Jacobian term, so its MAP is the
maximum-likelihood estimate) on the CDNOW sample (weeks) and on CUSTOMERS customers simulated from known parameters
(days, whole days as the warehouse gives them), and prints one JSON line: parameters, seconds, peak memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

CDNOW = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cdnow_summary.csv"
CUSTOMERS = 1_000_000
BG_NBD_TRUTH = {"r": 0.6, "alpha": 45.0, "a": 0.8, "b": 3.5}
GAMMA_GAMMA_TRUTH = {"p": 5.0, "q": 4.0, "v": 9000.0}


def simulated(customers: int) -> pd.DataFrame:
    """x, t_x, T (whole days) and the mean repeat spend of customers drawn from the two models' assumptions."""
    rng = np.random.default_rng(20261201)
    T = rng.integers(30, 1500, customers).astype(float)
    rate = rng.gamma(BG_NBD_TRUTH["r"], 1 / BG_NBD_TRUTH["alpha"], customers)
    dropout = rng.beta(BG_NBD_TRUTH["a"], BG_NBD_TRUTH["b"], customers)
    in_window = rng.poisson(rate * T)
    x = np.minimum(rng.geometric(dropout), in_window)
    t_x = np.where(x > 0, np.floor(T * rng.beta(np.maximum(x, 1), np.maximum(in_window - x + 1, 1))), 0.0)
    nu = rng.gamma(GAMMA_GAMMA_TRUTH["q"], 1 / GAMMA_GAMMA_TRUTH["v"], customers)
    spend = np.where(x > 0, rng.gamma(GAMMA_GAMMA_TRUTH["p"] * np.maximum(x, 1)) / (nu * np.maximum(x, 1)), 0.0)
    return pd.DataFrame({"x": x.astype(float), "t_x": t_x, "T": T, "zbar": spend})


def fit_scipy(data: pd.DataFrame) -> dict:
    from crmseg import clv

    bg_nbd = clv.fit_bg_nbd(data.x, data.t_x, data["T"])
    gamma_gamma = clv.fit_gamma_gamma(data.x, data.zbar)
    return {"bg_nbd": bg_nbd.parameters, "gamma_gamma": gamma_gamma.parameters, "version": clv.LIBRARY}


def fit_pymc(data: pd.DataFrame) -> dict:
    import pymc_marketing
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    frame = pd.DataFrame(
        {"customer_id": np.arange(len(data)), "frequency": data.x, "recency": data.t_x, "T": data["T"]}
    )
    flat = {name: Prior("HalfFlat") for name in ("r", "alpha", "a", "b")}
    bg_nbd = BetaGeoModel(model_config=flat)
    bg_nbd.fit(data=frame, method="map")
    repeat = data.x > 0
    spend = pd.DataFrame(
        {"customer_id": np.arange(int(repeat.sum())), "frequency": data.x[repeat], "monetary_value": data.zbar[repeat]}
    )
    gamma_gamma = GammaGammaModel(model_config={name: Prior("HalfFlat") for name in ("p", "q", "v")})
    gamma_gamma.fit(data=spend, method="map")

    def estimates(model, names):
        return {name: float(model.idata.posterior[name].values.ravel()[0]) for name in names}

    return {
        "bg_nbd": estimates(bg_nbd, ("r", "alpha", "a", "b")),
        "gamma_gamma": estimates(gamma_gamma, ("p", "q", "v")),
        "version": f"pymc-marketing {pymc_marketing.__version__}",
    }


def timed(fit, data: pd.DataFrame) -> dict:
    started = time.monotonic()
    result = fit(data)
    return {**result, "seconds": round(time.monotonic() - started, 1)}


def main() -> None:
    fit = {"scipy": fit_scipy, "pymc": fit_pymc}[sys.argv[1]]
    cdnow = timed(fit, pd.read_csv(CDNOW))
    data = simulated(CUSTOMERS)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    large = timed(fit, data)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "library": cdnow.pop("version"),
                "cdnow": cdnow,
                f"simulated_{CUSTOMERS}": {
                    **{k: v for k, v in large.items() if k != "version"},
                    "truth": [BG_NBD_TRUTH, GAMMA_GAMMA_TRUTH],
                },
                "peak_rss_mib": round(peak),
                "peak_rss_mib_before_the_large_fit": round(before),
            }
        )
    )


if __name__ == "__main__":
    main()
