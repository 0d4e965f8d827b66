"""A known effect of the strategies, planted so that the effect evaluation (SPEC section 9) has something to find.

In the last EFFECT_DAYS of the history, the treatment customers (by SPEC section 9's hash, at the default
control_share and control_salt) of some archetypes answer their group's actions: they buy more, as a Poisson
process whose chance of at least one extra purchase in 30 days is the rate below. Their control peers only buy as
they would anyway. The archetypes stand for the strategy group the actions are aimed at: the win-back programme of
the risk group reaches customers going quiet or gone, the trial incentives of the potential group the occasional
and one-time buyers. The orders this adds are ordinary completed orders, with ids starting EFFECT_ORDER_PREFIX so
that the effect a data set holds can be counted.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

EFFECT_DAYS = 90
CONTROL_SHARE = 0.10
CONTROL_SALT = "crmseg"
EFFECT_ORDER_PREFIX = "SE"
# archetype -> (the strategy group whose actions reach it, chance of an extra purchase in 30 days)
RATES: dict[str, tuple[str, float]] = {
    "declining": ("risk", 0.30),
    "cannot_lose": ("risk", 0.30),
    "churned": ("risk", 0.30),
    "occasional": ("potential", 0.20),
    "one_time": ("potential", 0.20),
}


def customer_key(account_id: str) -> str:
    """The customer_key of a CRM account (dbt macro customer_key)."""
    return hashlib.md5(f"crm:{account_id}".encode()).hexdigest()[:16]


def account_id(customer: int) -> str:
    """The CRM account id the render gives a customer number (DuckDB's lpad cuts a longer number to 7 digits)."""
    return "ACC" + str(customer).rjust(7, "0")[:7]


def in_control(key: str, share: float = CONTROL_SHARE, salt: str = CONTROL_SALT) -> bool:
    """SPEC section 9: the first 8 hex digits of md5(customer_key:salt), as an integer, mod 10000, below share."""
    return int(hashlib.md5(f"{key}:{salt}".encode()).hexdigest()[:8], 16) % 10000 < share * 10000


def manifest(end_day_iso: str, start_day_iso: str) -> dict:
    return {
        "start_date": start_day_iso,
        "end_date": end_day_iso,
        "control_share": CONTROL_SHARE,
        "control_salt": CONTROL_SALT,
        "order_id_prefix": EFFECT_ORDER_PREFIX,
        "extra_purchase_chance_30d": {name: rate for name, (_, rate) in RATES.items()},
        "aimed_at": {name: group for name, (group, _) in RATES.items()},
    }


def orders(
    rng: np.random.Generator,
    customers: np.ndarray,
    archetypes: list[str],
    scale: np.ndarray,
    end: int,
) -> pd.DataFrame:
    """Extra completed orders in days (end - EFFECT_DAYS, end] for the treatment customers of RATES' archetypes.

    customers: customer numbers with a CRM account and orders; archetypes and scale (order size) of each."""
    rate = np.array([RATES[a][1] if a in RATES else 0.0 for a in archetypes])
    treated = np.array([not in_control(customer_key(account_id(c))) for c in customers], dtype=bool)
    daily = -np.log1p(-rate) / 30.0
    count = rng.poisson(daily * EFFECT_DAYS * treated)
    owner = np.repeat(np.arange(len(customers)), count)
    day = end - rng.integers(0, EFFECT_DAYS, size=len(owner))
    second = rng.integers(8 * 3600, 21 * 3600, size=len(owner))
    return pd.DataFrame(
        {
            "owner": customers[owner],
            "day": day,
            "second": second,
            "status": np.zeros(len(owner), dtype=np.int64),
            "amount": np.round(scale[owner] * rng.lognormal(0.0, 0.35, size=len(owner)), 2),
            "updated_day": day,
            "updated_second": np.minimum(second + 600, 86399),
            "effect": np.ones(len(owner), dtype=bool),
        }
    )
