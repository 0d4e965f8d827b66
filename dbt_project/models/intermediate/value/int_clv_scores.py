"""One row per scored customer per as-of date this run builds: what section 8's fitted models predict for it.

The parameters come from int_clv_fits (fitted once per date, not again here). A model without a fit leaves its
columns null: p_alive and the expected purchases are the BG/NBD's, expected_avg_value the Gamma-Gamma's, and
predicted_clv_365d needs both. Dates are scored one at a time, so that a long backfill never holds more than one
date's customers in memory.
"""

import json

from crmseg import clv

ROWS = "int_clv_scores__rows"


def model(dbt, session):
    dbt.config(materialized="table")
    session.execute(
        f"""create or replace temp table {ROWS} (
            as_of_date date, customer_key varchar, repeat_purchase_days integer, p_alive double,
            expected_purchases_90d double, expected_purchases_365d double, expected_avg_value double,
            predicted_clv_365d double)"""
    )
    fits = dbt.ref("int_clv_fits").df()
    inputs = dbt.ref("int_purchase_days")
    for (as_of_date,) in dbt.ref("int_as_of_dates").order("as_of_date").fetchall():
        day = inputs.filter(f"as_of_date = date '{as_of_date}'").df()
        of_date = fits[fits["as_of_date"].dt.date == as_of_date].set_index("model")["parameters"]
        bg_nbd, gamma_gamma = (
            json.loads(of_date[name]) if isinstance(of_date.get(name), str) else None
            for name in ("bg_nbd", "gamma_gamma")
        )
        session.register("int_clv_scores__date", clv.score(day, bg_nbd, gamma_gamma))
        session.execute(f"insert into {ROWS} by name select * from int_clv_scores__date")
        session.unregister("int_clv_scores__date")
    return session.table(ROWS)
