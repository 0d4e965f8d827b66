"""One row per model (bg_nbd, gamma_gamma) per as-of date that has been run: the fits of SPEC section 8.

Each run fits its own dates from int_purchase_days, one date at a time, and replaces them; the other dates keep
their fits. A model that cannot be fitted gets a row without parameters that says why, and never fails the build.
"""

import json

import pandas as pd

from crmseg import clv

COLUMNS = [
    "as_of_date", "model", "customers", "parameters", "log_likelihood", "converged", "reason", "library",
    "fit_seconds",
]  # fmt: skip


def model(dbt, session):
    dbt.config(
        materialized="incremental", incremental_strategy="delete+insert", unique_key="as_of_date", full_refresh=False
    )
    min_customers = int(dbt.config.get("clv_min_customers"))
    inputs = dbt.ref("int_purchase_days")
    rows = []
    for (as_of_date,) in dbt.ref("int_as_of_dates").order("as_of_date").fetchall():
        day = inputs.filter(f"as_of_date = date '{as_of_date}'").project(", ".join(clv.INPUTS)).df()
        for fit in clv.fit_both(day, min_customers=min_customers):
            parameters = json.dumps(fit.parameters) if fit.fitted else None
            rows.append(
                (as_of_date, fit.model, fit.customers, parameters, fit.log_likelihood, fit.converged,
                 fit.reason or None, clv.LIBRARY, round(fit.fit_seconds, 3))
            )  # fmt: skip
    session.register("int_clv_fits__rows", pd.DataFrame(rows, columns=COLUMNS))
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
