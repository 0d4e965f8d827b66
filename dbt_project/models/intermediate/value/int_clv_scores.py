"""One row per scored customer per as-of date this run builds: what section 8's fitted models predict for it.

The parameters come from int_clv_fits (fitted once per date, not again here). A model without a fit leaves its
columns null: p_alive and the expected purchases are the BG/NBD's, expected_avg_value the Gamma-Gamma's, and
predicted_clv_365d needs both.
"""

import json

import numpy as np
import pandas as pd

from crmseg import clv


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = dbt.ref("int_purchase_days").df()
    fits = dbt.ref("int_clv_fits").df()
    parts = []
    for as_of_date, day in inputs.groupby("as_of_date", sort=True):
        of_date = fits[fits["as_of_date"] == as_of_date].set_index("model")["parameters"]
        bg_nbd, gamma_gamma = (
            json.loads(of_date[name]) if isinstance(of_date.get(name), str) else None
            for name in ("bg_nbd", "gamma_gamma")
        )
        x = day["repeat_purchase_days"].to_numpy(float)
        span, tenure = day["purchase_span_days"].to_numpy(float), day["tenure_days"].to_numpy(float)
        missing = np.full(len(day), np.nan)
        scores = pd.DataFrame({"as_of_date": day["as_of_date"], "customer_key": day["customer_key"]})
        scores["repeat_purchase_days"] = day["repeat_purchase_days"].to_numpy()
        if bg_nbd:
            scores["p_alive"] = clv.p_alive(bg_nbd, x, span, tenure)
            scores["expected_purchases_90d"] = clv.expected_purchases(bg_nbd, 90, x, span, tenure)
            scores["expected_purchases_365d"] = clv.expected_purchases(bg_nbd, 365, x, span, tenure)
        else:
            scores["p_alive"] = scores["expected_purchases_90d"] = scores["expected_purchases_365d"] = missing
        if gamma_gamma:
            mean_value = day["repeat_mean_value"].fillna(0).to_numpy(float)
            scores["expected_avg_value"] = clv.expected_avg_value(gamma_gamma, x, mean_value)
        else:
            scores["expected_avg_value"] = missing
        scores["predicted_clv_365d"] = scores["expected_purchases_365d"] * scores["expected_avg_value"]
        parts.append(scores)
    columns = [
        "as_of_date", "customer_key", "repeat_purchase_days", "p_alive", "expected_purchases_90d",
        "expected_purchases_365d", "expected_avg_value", "predicted_clv_365d",
    ]  # fmt: skip
    scores = pd.concat(parts) if parts else pd.DataFrame(columns=columns)
    session.register("int_clv_scores__rows", scores)
    return session.sql(
        """select
            cast(as_of_date as date) as as_of_date,
            cast(customer_key as varchar) as customer_key,
            cast(repeat_purchase_days as integer) as repeat_purchase_days,
            cast(p_alive as double) as p_alive,
            cast(expected_purchases_90d as double) as expected_purchases_90d,
            cast(expected_purchases_365d as double) as expected_purchases_365d,
            cast(expected_avg_value as double) as expected_avg_value,
            cast(predicted_clv_365d as double) as predicted_clv_365d
        from int_clv_scores__rows"""
    )
