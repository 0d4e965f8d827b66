"""An independent pandas implementation of SPEC section 5, written from the text.

The tests compare it row by row with what dbt builds. It shares no code with
the dbt models: if the two agree, they agree on the reading of the SPEC.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

GRID = {
    5: {1: "new_customers", 2: "potential_loyalists", 3: "potential_loyalists", 4: "champions", 5: "champions"},
    4: {1: "promising", 2: "potential_loyalists", 3: "loyal_customers", 4: "loyal_customers", 5: "champions"},
    3: {1: "about_to_sleep", 2: "need_attention", 3: "need_attention", 4: "loyal_customers", 5: "loyal_customers"},
    2: {1: "hibernating", 2: "hibernating", 3: "at_risk", 4: "at_risk", 5: "cannot_lose_them"},
    1: {1: "lost", 2: "lost", 3: "hibernating", 4: "at_risk", 5: "cannot_lose_them"},
}
CN8 = {
    (True, True, True): "important_value",
    (True, False, True): "important_development",
    (False, True, True): "important_retention",
    (False, False, True): "important_winback",
    (True, True, False): "general_value",
    (True, False, False): "general_development",
    (False, True, False): "general_retention",
    (False, False, False): "general_winback",
}
ENGAGED_RESPONSES = {"clicked", "registered", "attended", "converted"}
DEFAULTS = {
    "rfm_window_days": 365,
    "abc_a_share": 0.80,
    "abc_b_share": 0.95,
    "strategic_revenue": 5_000_000,
    "strategic_tenure_days": 1095,
    "key_revenue": 1_000_000,
    "churned_days": 365,
    "declining_days": 180,
    "new_days": 90,
    "loyal_orders": 6,
    "loyal_tenure_days": 365,
    "interaction_window_days": 365,
}


def score(values: pd.Series, ascending_is_better: bool) -> pd.Series:
    """1..5 by RANK() in worse-to-better order; ties share the lower rank."""
    n = len(values)
    worse_first = values if ascending_is_better else -values
    rank = worse_first.rank(method="min").astype(int)
    return rank.map(lambda r: min(5, 1 + (5 * (r - 1)) // max(n - 1, 1)))


def segments(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    as_of: date,
    responses: pd.DataFrame | None = None,
    tickets: pd.DataFrame | None = None,
    **overrides,
) -> pd.DataFrame:
    """One row per customer.

    customers: customer_key (one row each). orders: customer_key, order_date
    (date), status, total_amount. responses: customer_key, responded_at (local
    timestamp), response_type. tickets: customer_key, created_at (local),
    ticket_type, satisfaction_score.
    """
    v = {**DEFAULTS, **overrides}
    d = pd.Timestamp(as_of)
    counted = orders[(orders["status"] == "completed") & (pd.to_datetime(orders["order_date"]) <= d)].copy()
    counted["order_date"] = pd.to_datetime(counted["order_date"])
    # money in whole cents, so that sums, ties and shares are exact
    counted["cents"] = [round(Decimal(str(a)) * 100) for a in counted["total_amount"]]
    in_window = counted[counted["order_date"] > d - timedelta(days=v["rfm_window_days"])]
    in_year = counted[counted["order_date"] > d - timedelta(days=365)]
    per = counted.groupby("customer_key").agg(
        first_order=("order_date", "min"), last_order=("order_date", "max"), orders_total=("order_date", "size")
    )
    window = in_window.groupby("customer_key").agg(frequency=("order_date", "size"), monetary_cents=("cents", "sum"))
    year = in_year.groupby("customer_key").agg(orders_365d=("order_date", "size"), annual_cents=("cents", "sum"))
    out = customers[["customer_key"]].drop_duplicates().set_index("customer_key")
    out = out.join(per).join(window).join(year)
    scored = out["orders_total"].notna()
    for column in ("orders_total", "frequency", "monetary_cents", "orders_365d", "annual_cents"):
        out[column] = out[column].fillna(0).astype("int64")
    out["recency_days"] = (d - out["last_order"]).dt.days
    out["tenure_days"] = (d - out["first_order"]).dt.days
    out["monetary"] = out["monetary_cents"] / 100
    out["annual_revenue"] = out["annual_cents"] / 100

    s = out[scored].copy()
    n = len(s)
    if n:
        s["r_score"] = score(s["recency_days"], ascending_is_better=False)
        s["f_score"] = score(s["frequency"], ascending_is_better=True)
        s["m_score"] = score(s["monetary_cents"], ascending_is_better=True)
        s["fm_score"] = [math.ceil((f + m) / 2) for f, m in zip(s["f_score"], s["m_score"], strict=True)]
        s["rfm_cell"] = s["r_score"].astype(str) + s["f_score"].astype(str) + s["m_score"].astype(str)
        s["rfm_segment"] = [GRID[r][fm] for r, fm in zip(s["r_score"], s["fm_score"], strict=True)]
        # above or below the mean, exactly: x > sum / n  <=>  x * n > sum
        r_high = s["recency_days"] * n < s["recency_days"].sum()
        f_high = s["frequency"] * n > s["frequency"].sum()
        m_high = s["monetary_cents"] * n > s["monetary_cents"].sum()
        s["rfm_segment_cn8"] = [CN8[k] for k in zip(r_high, f_high, m_high, strict=True)]
        ordered = s.reset_index().sort_values(["monetary_cents", "customer_key"], ascending=[False, True])
        total = int(ordered["monetary_cents"].sum())
        before = ordered["monetary_cents"].cumsum() - ordered["monetary_cents"]
        a_share, b_share = Fraction(str(v["abc_a_share"])), Fraction(str(v["abc_b_share"]))
        ordered["abc_class"] = [
            "A" if m > 0 and b < a_share * total else "B" if m > 0 and b < b_share * total else "C"
            for m, b in zip(ordered["monetary_cents"], before, strict=True)
        ]
        s = s.join(ordered.set_index("customer_key")["abc_class"])
        s["value_tier"] = np.select(
            [(s["annual_cents"] >= v["strategic_revenue"] * 100) & (s["tenure_days"] >= v["strategic_tenure_days"]),
             s["annual_cents"] >= v["key_revenue"] * 100],
            ["strategic", "key"],
            default="ordinary",
        )  # fmt: skip
        out = out.join(s[["r_score", "f_score", "m_score", "fm_score", "rfm_cell", "rfm_segment",
                          "rfm_segment_cn8", "abc_class", "value_tier"]])  # fmt: skip
    else:
        for column in ("r_score", "f_score", "m_score", "fm_score", "rfm_cell", "rfm_segment",
                       "rfm_segment_cn8", "abc_class", "value_tier"):  # fmt: skip
            out[column] = None

    loyal = (out["orders_365d"] >= v["loyal_orders"]) & (out["tenure_days"] >= v["loyal_tenure_days"])
    out["lifecycle_stage"] = np.select(
        [~scored, out["recency_days"] > v["churned_days"], out["recency_days"] > v["declining_days"],
         out["first_order"] > d - timedelta(days=v["new_days"]), loyal, out["orders_total"] >= 2],
        ["prospect", "churned", "declining", "new", "loyal", "repeat"],
        default="one_time",
    )  # fmt: skip

    day_after = d + timedelta(days=1)
    window_open = d - timedelta(days=v["interaction_window_days"] - 1)
    if responses is not None and len(responses):
        r = responses[
            responses["response_type"].isin(ENGAGED_RESPONSES)
            & (pd.to_datetime(responses["responded_at"]) >= window_open)
            & (pd.to_datetime(responses["responded_at"]) < day_after)
        ]
        out = out.join(r.groupby("customer_key").size().rename("campaign_responses_365d"))
    else:
        out["campaign_responses_365d"] = 0
    out["campaign_responses_365d"] = out["campaign_responses_365d"].fillna(0).astype(int)
    out["campaign_engagement"] = pd.cut(
        out["campaign_responses_365d"], [-1, 0, 2, 5, np.inf], labels=["none", "low", "medium", "high"]
    ).astype(str)

    if tickets is not None and len(tickets):
        t = tickets[
            (pd.to_datetime(tickets["created_at"]) >= window_open) & (pd.to_datetime(tickets["created_at"]) < day_after)
        ]
        agg = t.groupby("customer_key").agg(
            tickets_365d=("created_at", "size"),
            complaints_365d=("ticket_type", lambda x: int((x == "complaint").sum())),
            avg_satisfaction_365d=("satisfaction_score", lambda x: x.astype(float).mean()),
        )
        out = out.join(agg)
    else:
        out["tickets_365d"] = 0
        out["complaints_365d"] = 0
        out["avg_satisfaction_365d"] = np.nan
    out["tickets_365d"] = out["tickets_365d"].fillna(0).astype(int)
    out["complaints_365d"] = out["complaints_365d"].fillna(0).astype(int)
    out["avg_satisfaction_365d"] = out["avg_satisfaction_365d"].astype(float)
    out["service_risk"] = ((out["complaints_365d"] >= 2) | (out["avg_satisfaction_365d"] <= 2.0)).astype(bool)

    out["strategy_group"] = np.select(
        [out["service_risk"] | out["lifecycle_stage"].isin(["declining", "churned"]),
         out["abc_class"] == "A",
         (out["abc_class"] == "B") | out["campaign_engagement"].isin(["medium", "high"])],
        ["risk", "high_value", "growth"],
        default="potential",
    )  # fmt: skip
    return out.reset_index()


FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def normal_email(values: pd.Series) -> pd.Series:
    return values.str.strip().str.lower().replace("", None)


def normal_phone(values: pd.Series) -> pd.Series:
    digits = values.fillna("").map(lambda v: "".join(c for c in v.translate(FULL_WIDTH_DIGITS) if c.isdigit()))
    digits = digits.where(~(digits.str.startswith("86") & (digits.str.len() > 11)), digits.str[2:])
    return digits.replace("", None)


def link_erp_customers(accounts: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """customer_code -> account_id by SPEC section 4's ordered rules; ties are conflicts, left unlinked.

    Returns customer_code, account_id (null when unmatched or in conflict), rule.
    """
    account_ids = set(accounts["account_id"].dropna())
    keys = {
        "tax_id": accounts.assign(v=accounts["tax_id"].str.strip().str.upper()),
        "email": accounts.assign(v=normal_email(accounts["email"])),
        "phone": accounts.assign(v=normal_phone(accounts["phone"])),
    }
    lookups = {rule: frame.dropna(subset=["v"]).groupby("v")["account_id"].unique() for rule, frame in keys.items()}
    values = {
        "tax_id": customers["tax_id"].str.strip().str.upper(),
        "email": normal_email(customers["email"]),
        "phone": normal_phone(customers["phone"]),
    }
    links = []
    for i, row in customers.reset_index(drop=True).iterrows():
        account, rule = None, None
        if row["crm_account_id"] in account_ids:
            account, rule = row["crm_account_id"], "crm_account_id"
        else:
            for name, lookup in lookups.items():
                value = values[name].iloc[i]
                if value is not None and value in lookup.index:
                    matches = lookup[value]
                    account, rule = (matches[0], name) if len(matches) == 1 else (None, "conflict")
                    break
        links.append((row["customer_code"], account, rule))
    return pd.DataFrame(links, columns=["customer_code", "account_id", "rule"])


def purchase_days(orders: pd.DataFrame, as_of: date, scored: pd.Series) -> pd.DataFrame:
    """SPEC section 8's inputs per scored customer: x repeat purchase days, t_x and T in days, m_x.

    orders: customer_key, order_date, status, total_amount. scored: the keys of the scored population."""
    d = pd.Timestamp(as_of)
    counted = orders[(orders["status"] == "completed") & (pd.to_datetime(orders["order_date"]) <= d)]
    days = counted.groupby(["customer_key", "order_date"], as_index=False)["total_amount"].sum()
    days["order_date"] = pd.to_datetime(days["order_date"])
    days = days[days["customer_key"].isin(set(scored))].sort_values(["customer_key", "order_date"])
    days["first"] = days.groupby("customer_key")["order_date"].transform("min")
    per = days.groupby("customer_key").agg(
        days=("order_date", "size"), first=("order_date", "min"), last=("order_date", "max")
    )
    repeat = days[days["order_date"] > days["first"]].groupby("customer_key")["total_amount"].sum()
    per["x"] = per["days"] - 1
    per["t_x"] = (per["last"] - per["first"]).dt.days
    per["T"] = (d - per["first"]).dt.days
    per["m_x"] = (repeat.reindex(per.index).astype(float) / per["x"]).where(per["x"] > 0)
    return per[["x", "t_x", "T", "m_x"]]
