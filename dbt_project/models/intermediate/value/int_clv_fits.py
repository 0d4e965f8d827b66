"""One row per model (bg_nbd, gamma_gamma) per as-of date that has been run: the fits of SPEC section 8.

Each run fits its own dates from int_purchase_days and replaces them; the other dates keep their fits. A model
that cannot be fitted gets a row without parameters that says why, and never fails the build.
"""

import json

import pandas as pd

from crmseg import clv


def model(dbt, session):
    dbt.config(
        materialized="incremental", incremental_strategy="delete+insert", unique_key="as_of_date", full_refresh=False
    )
    min_customers = int(dbt.config.get("clv_min_customers"))
    dates = dbt.ref("int_as_of_dates").df()["as_of_date"]
    inputs = dbt.ref("int_purchase_days").df()
    rows = []
    for as_of_date in sorted(dates):
        day = inputs[inputs["as_of_date"] == as_of_date]
        x = day["repeat_purchase_days"].to_numpy(float)
        span, tenure = day["purchase_span_days"].to_numpy(float), day["tenure_days"].to_numpy(float)
        mean_value = day["repeat_mean_value"].fillna(0).to_numpy(float)
        for fit in (
            clv.fit_bg_nbd(x, span, tenure, min_customers=min_customers),
            clv.fit_gamma_gamma(x, mean_value, min_customers=min_customers),
        ):
            rows.append(
                (
                    as_of_date,
                    fit.model,
                    fit.customers,
                    json.dumps(fit.parameters) if fit.fitted else None,
                    fit.log_likelihood,
                    fit.converged,
                    fit.reason or None,
                    clv.LIBRARY,
                    round(fit.fit_seconds, 3),
                )
            )
    fits = pd.DataFrame(
        rows,
        columns=[
            "as_of_date", "model", "customers", "parameters", "log_likelihood", "converged", "reason", "library",
            "fit_seconds",
        ],
    )  # fmt: skip
    session.register("int_clv_fits__rows", fits)
    return session.sql(
        """select
            cast(as_of_date as date) as as_of_date,
            cast(model as varchar) as model,
            cast(customers as integer) as customers,
            cast(parameters as json) as parameters,
            cast(log_likelihood as double) as log_likelihood,
            cast(converged as boolean) as converged,
            cast(reason as varchar) as reason,
            cast(library as varchar) as library,
            cast(fit_seconds as double) as fit_seconds
        from int_clv_fits__rows"""
    )
