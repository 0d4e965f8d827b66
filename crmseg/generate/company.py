"""A simulated company's customers and their behaviour, in numbers.

Every customer follows an archetype (a champion, a loyal repeat buyer, one
about to churn, ...). The archetypes are what make the demo meaningful: each
RFM segment, lifecycle stage, value tier and strategy group of SPEC section 5
is reached by some of them. Amounts are heavy-tailed by customer type and
size, so that the top fifth of customers carries most of the revenue, and
order dates follow the seasons of Chinese B2B and retail trade.

This module works in numpy arrays of codes and day numbers only; `render`
turns them into the source tables' text, in DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmseg.generate import catalog, effect

# Day numbers count from the start of the history; day `days` is the end date.
HISTORY_DAYS = 6 * 365


@dataclass(frozen=True)
class Archetype:
    name: str
    weight: float
    recency: tuple[int, int]  # days from the last order to the end date
    span: tuple[int, int]  # days from the first order to the last
    orders_per_year: tuple[float, float]
    value: float = 1.0  # multiplier of the customer's order size
    min_orders: int = 1
    max_orders: int | None = None


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("prospect", 0.10, (0, 0), (0, 0), (0, 0), min_orders=0, max_orders=0),
    Archetype("new", 0.06, (0, 35), (0, 20), (12, 12), 0.2, max_orders=2),
    Archetype("one_time", 0.08, (91, 179), (0, 0), (0, 0), 0.3, max_orders=1),
    Archetype("occasional", 0.25, (0, 170), (300, 1500), (1, 3), min_orders=2),
    Archetype("loyal", 0.12, (0, 60), (400, 1400), (6, 10), 1.0, min_orders=8),
    Archetype("champion", 0.05, (0, 20), (365, 1400), (12, 24), 1.1, min_orders=14),
    Archetype("declining", 0.10, (181, 365), (300, 1200), (2, 7), min_orders=2),
    Archetype("cannot_lose", 0.025, (230, 330), (400, 1200), (10, 20), 1.6, min_orders=10),
    Archetype("churned", 0.09, (366, 1400), (100, 800), (1, 4)),
    Archetype("key", 0.003, (0, 45), (400, 1400), (16, 24), min_orders=8),
    Archetype("strategic", 0.0005, (0, 25), (1200, 1900), (34, 52), min_orders=40),
)
ARCHETYPE_INDEX = {a.name: i for i, a in enumerate(ARCHETYPES)}


@dataclass(frozen=True)
class Plant:
    """A customer planted at the head of every data set, with its shape pinned down."""

    archetype: str
    recency: tuple[int, int] | None = None
    order_size: float | None = None  # CNY per order
    orders_per_year: float | None = None
    orders: int | None = None
    enterprise: bool = False  # a large enterprise, whatever the draw


# The first customers of every data set follow this list, so that even 100
# customers reach every segment (the mean-based eight types need big spenders
# of every shape); the rest are drawn by weight.
PLANTED: tuple[Plant, ...] = (
    Plant("strategic", order_size=160_000, orders_per_year=48, enterprise=True),
    Plant("key", order_size=80_000, orders_per_year=20, enterprise=True),
    Plant("key"),
    Plant("champion"), Plant("champion"), Plant("champion"),
    Plant("loyal"), Plant("loyal"), Plant("loyal"),
    # small first orders: just now, and a few weeks ago
    Plant("new", recency=(0, 2), orders=1, order_size=300), Plant("new", recency=(0, 4), orders=1),
    Plant("new", recency=(30, 40), orders=1, order_size=300),
    Plant("new", order_size=450_000, enterprise=True),  # a big first order: recent, rare, valuable
    Plant("one_time", recency=(90, 100), order_size=250), Plant("one_time"), Plant("one_time"),
    Plant("occasional"), Plant("occasional"), Plant("occasional"),
    Plant("declining"), Plant("declining"),
    Plant("declining", recency=(300, 340), order_size=400_000, orders_per_year=2, enterprise=True),  # gone quiet
    Plant("cannot_lose"),
    Plant("cannot_lose", recency=(300, 330), orders_per_year=70),  # frequent, but not lately
    Plant("cannot_lose", recency=(300, 330), order_size=120_000, orders_per_year=70, enterprise=True),  # and big
    Plant("churned"), Plant("churned"), Plant("churned"),
    Plant("prospect"), Plant("prospect"), Plant("prospect"),
)  # fmt: skip

INDIVIDUAL, ENTERPRISE, INSTITUTION = 0, 1, 2
CUSTOMER_TYPE_WEIGHTS = (0.55, 0.37, 0.08)
SIZES = ("large", "medium", "small", "micro")
SIZE_WEIGHTS = (0.06, 0.2, 0.4, 0.34)
# Typical order size in CNY by customer type and enterprise size.
ORDER_SIZE = {"individual": 4000.0, "large": 26000.0, "medium": 13000.0, "small": 6500.0, "micro": 4000.0}
INSTITUTION_ORDER_SIZE = 10000.0
OWNERSHIPS = ("state_owned", "private", "foreign", "joint_venture")
OWNERSHIP_WEIGHTS = (0.15, 0.68, 0.09, 0.08)
LEAD_SOURCE_WEIGHTS = (0.15, 0.15, 0.12, 0.18, 0.25, 0.15)  # in contract order
ENGAGEMENT_RATES = (0.0, 1.2, 5.0, 14.0)  # campaign responses a year by propensity
ENGAGEMENT_WEIGHTS = (0.35, 0.35, 0.2, 0.1)
RESPONSE_TYPE_WEIGHTS = (0.3, 0.25, 0.2, 0.1, 0.08, 0.07)  # delivered .. converted
ACTIVITY_DAYS = 730  # campaigns responses and tickets cover the last two years


@dataclass
class Chunk:
    """One slice of customers, numbered from `first` in the whole data set."""

    first: int
    accounts: pd.DataFrame
    contacts: pd.DataFrame
    erp_customers: pd.DataFrame
    orders: pd.DataFrame
    lines: pd.DataFrame
    responses: pd.DataFrame
    tickets: pd.DataFrame


def seasonal_cumulative(end_date) -> np.ndarray:
    """Cumulative order weight per day of the history, for inverse sampling."""
    days = pd.date_range(end=pd.Timestamp(end_date), periods=HISTORY_DAYS + 1, freq="D")
    months, weekdays = days.month.to_numpy() - 1, days.day_of_week.to_numpy()
    weights = np.asarray(catalog.MONTH_WEIGHTS)[months] * np.asarray(catalog.WEEKDAY_WEIGHTS)[weekdays]
    return np.cumsum(weights)


def _sample_days(rng, cumulative: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A day in [low, high] for each pair, drawn by the seasonal weights."""
    below = np.where(low > 0, cumulative[np.maximum(low - 1, 0)], 0.0)
    u = below + rng.random(len(low)) * (cumulative[high] - below)
    return np.minimum(np.searchsorted(cumulative, u), high)


def _uniform_int(rng, low, high, size=None) -> np.ndarray:
    return rng.integers(np.asarray(low), np.asarray(high) + 1, size=size)


def build_chunk(
    rng: np.random.Generator, first: int, count: int, erp_only: int, erp_first: int, cumulative: np.ndarray
) -> Chunk:
    """Customers first .. first+count-1 with CRM accounts, and `erp_only` more known only to the ERP
    (numbered from erp_first)."""
    end = HISTORY_DAYS
    total = count + erp_only
    index = np.concatenate([np.arange(first, first + count), np.arange(erp_first, erp_first + erp_only)])

    # archetypes: planted first, then by weight (ERP-only customers all buy)
    weights = np.array([a.weight for a in ARCHETYPES])
    archetype = rng.choice(len(ARCHETYPES), size=total, p=weights / weights.sum())
    head = max(0, min(len(PLANTED) - first, count))
    plants = PLANTED[first : first + head]
    archetype[:head] = [ARCHETYPE_INDEX[p.archetype] for p in plants]
    buyers = np.flatnonzero(archetype[count:] == ARCHETYPE_INDEX["prospect"]) + count
    archetype[buyers] = ARCHETYPE_INDEX["occasional"]
    has_account = np.arange(total) < count

    # who they are
    ctype = rng.choice(3, size=total, p=CUSTOMER_TYPE_WEIGHTS)
    size = rng.choice(4, size=total, p=SIZE_WEIGHTS)
    big = np.isin(archetype, [ARCHETYPE_INDEX["key"], ARCHETYPE_INDEX["strategic"]])
    ctype[big] = ENTERPRISE
    size[archetype == ARCHETYPE_INDEX["strategic"]] = 0
    size[(archetype == ARCHETYPE_INDEX["key"]) & (size > 1)] = 1
    city_weights = np.array([c[3] for c in catalog.CITIES])
    city = rng.choice(len(catalog.CITIES), size=total, p=city_weights / city_weights.sum())
    industry_weights = np.array([i[2] for i in catalog.INDUSTRIES])
    industry = rng.choice(len(catalog.INDUSTRIES), size=total, p=industry_weights / industry_weights.sum())
    institution_industry = rng.integers(0, len(catalog.INSTITUTION_INDUSTRIES), size=total)
    ownership = rng.choice(4, size=total, p=OWNERSHIP_WEIGHTS)

    # when they buy
    recency_lo = np.array([a.recency[0] for a in ARCHETYPES])[archetype]
    recency_hi = np.array([a.recency[1] for a in ARCHETYPES])[archetype]
    span_lo = np.array([a.span[0] for a in ARCHETYPES])[archetype]
    span_hi = np.array([a.span[1] for a in ARCHETYPES])[archetype]
    for i, plant in enumerate(plants):
        if plant.recency:
            recency_lo[i], recency_hi[i] = plant.recency
    recency = _uniform_int(rng, recency_lo, recency_hi)
    span = _uniform_int(rng, span_lo, span_hi)
    last_day = end - recency
    first_day = np.maximum(last_day - span, 0)
    new_kind = archetype == ARCHETYPE_INDEX["new"]
    first_day[new_kind] = np.maximum(last_day[new_kind] - span[new_kind], end - 60)
    rate_lo = np.array([a.orders_per_year[0] for a in ARCHETYPES])[archetype]
    rate_hi = np.array([a.orders_per_year[1] for a in ARCHETYPES])[archetype]
    rate = rate_lo + rng.random(total) * (rate_hi - rate_lo)
    for i, plant in enumerate(plants):
        rate[i] = plant.orders_per_year or rate[i]
    expected = rate * (last_day - first_day) / 365.0
    n_orders = rng.poisson(expected)
    n_orders = np.maximum(n_orders, np.array([a.min_orders for a in ARCHETYPES])[archetype])
    cap = np.array([a.max_orders if a.max_orders is not None else 10**6 for a in ARCHETYPES])[archetype]
    n_orders = np.minimum(n_orders, cap)
    n_orders[(first_day == last_day) & (n_orders > 1)] = 1
    n_orders[new_kind] = rng.integers(1, 3, size=new_kind.sum())
    n_orders[new_kind & (first_day == last_day)] = 1
    for i, plant in enumerate(plants):
        n_orders[i] = plant.orders or n_orders[i]
    first_day = np.where(n_orders == 1, last_day, first_day)  # a single order is the last one

    # how much they spend per order
    base = np.where(ctype == INDIVIDUAL, ORDER_SIZE["individual"], INSTITUTION_ORDER_SIZE)
    enterprise_size = np.array([ORDER_SIZE[s] for s in SIZES])[size]
    base = np.where(ctype == ENTERPRISE, enterprise_size, base)
    scale = base * rng.lognormal(0.0, np.where(ctype == INDIVIDUAL, 0.7, 0.5))
    scale *= np.array([a.value for a in ARCHETYPES])[archetype]
    key_kind = archetype == ARCHETYPE_INDEX["key"]
    strategic_kind = archetype == ARCHETYPE_INDEX["strategic"]
    scale[key_kind] = rng.uniform(80_000, 140_000, size=key_kind.sum())
    scale[strategic_kind] = rng.uniform(170_000, 260_000, size=strategic_kind.sum())
    for i, plant in enumerate(plants):
        scale[i] = plant.order_size or scale[i]
        if plant.enterprise:
            ctype[i], size[i] = ENTERPRISE, 0

    accounts = _accounts(rng, index, count, archetype, ctype, size, city, industry, institution_industry,
                         ownership, first_day, n_orders)  # fmt: skip
    orders = _orders(rng, index, n_orders, first_day, last_day, scale, cumulative)
    # the strategies' planted effect (crmseg/generate/effect.py), drawn from a random stream of its own
    responders = np.flatnonzero(has_account & (n_orders > 0))
    names = [ARCHETYPES[a].name for a in archetype[responders]]
    extra = effect.orders(rng.spawn(1)[0], index[responders], names, scale[responders], end)
    orders = pd.concat([orders.assign(effect=False), extra], ignore_index=True)
    erp_customers, order_codes = _erp_customers(rng, index, count, has_account, n_orders, orders, accounts, ctype)
    orders["customer"] = order_codes
    lines = _lines(rng, orders)
    contacts = _contacts(rng, accounts)
    responses = _responses(rng, accounts)
    tickets = _tickets(rng, accounts, contacts, archetype[:count], n_orders[:count])
    return Chunk(first, accounts, contacts, erp_customers, orders, lines, responses, tickets)


def _accounts(rng, index, count, archetype, ctype, size, city, industry, institution_industry, ownership,
              first_day, n_orders) -> pd.DataFrame:  # fmt: skip
    end = HISTORY_DAYS
    n = count
    buys = n_orders[:n] > 0
    # accounts open up to four months before the first order; prospects at any
    # time, most of them recently
    created = np.where(
        buys,
        np.maximum(first_day[:n] - rng.integers(0, 120, size=n), 0),
        np.maximum(end - rng.exponential(420, size=n).astype(int), 0),
    )
    created_second = rng.integers(8 * 3600, 20 * 3600, size=n)
    updated = created + (rng.random(n) * (end - created)).astype(int)
    planted = index[:n] < len(PLANTED)
    lead = rng.choice(6, size=n, p=LEAD_SOURCE_WEIGHTS)
    consent = rng.choice(3, size=n, p=(0.7, 0.25, 0.05))  # true, false, unknown
    consent[planted] = 0
    deleted = (rng.random(n) < 0.012) & ~planted
    engagement = rng.choice(4, size=n, p=ENGAGEMENT_WEIGHTS)
    complainer = rng.random(n) < 0.04
    # a few planted customers are unhappy or highly engaged, so that every
    # strategy group appears in a small data set
    engagement[planted & (np.arange(n) % 4 == 1)] = 3
    complainer[planted & (index[:n] % 11 == 5)] = True
    return pd.DataFrame(
        {
            "customer": index[:n],
            "archetype": archetype[:n],
            "ctype": ctype[:n],
            "size": size[:n],
            "city": city[:n],
            "industry": industry[:n],
            "institution_industry": institution_industry[:n],
            "ownership": ownership[:n],
            "lead_source": lead,
            "consent": consent,
            "deleted": deleted,
            "created_day": created,
            "created_second": created_second,
            "updated_day": updated,
            "engagement": engagement,
            "complainer": complainer,
            "brand": rng.integers(0, len(catalog.BRANDS), size=n),
            "surname": rng.integers(0, len(catalog.SURNAMES), size=n),
            "given": rng.integers(0, len(catalog.GIVEN_NAMES), size=n),
            "suffix": rng.integers(0, len(catalog.COMPANY_SUFFIXES), size=n),
            "mail_domain": rng.integers(0, len(catalog.PERSONAL_MAIL_DOMAINS), size=n),
            "has_email": rng.random(n) < 0.85,
            "has_phone": rng.random(n) < 0.92,
            "uscc": _uscc_codes(rng, ctype[:n], city[:n]),
        }
    )


def _uscc_codes(rng, ctype: np.ndarray, city: np.ndarray) -> np.ndarray:
    """Unified social credit codes with a valid check character (GB 32100-2015)."""
    n = len(ctype)
    chars = np.array(list(catalog.USCC_CHARS))
    codes = np.zeros((n, 18), dtype=np.int64)
    # registration authority and kind: 9 1 for companies, 1 2 for public institutions
    codes[:, 0] = np.where(ctype == INSTITUTION, 1, 9)
    codes[:, 1] = np.where(ctype == INSTITUTION, 2, 1)
    region = np.array([[int(d) for d in c[4]] for c in catalog.CITIES])[city]
    codes[:, 2:8] = region
    codes[:, 8:17] = rng.integers(0, 31, size=(n, 9))
    total = (codes[:, :17] * np.asarray(catalog.USCC_WEIGHTS)).sum(axis=1)
    codes[:, 17] = (31 - total % 31) % 31
    text = np.ascontiguousarray(chars[codes]).view("<U18").ravel()
    return np.where(ctype == INDIVIDUAL, None, text)


def _orders(rng, index, n_orders, first_day, last_day, scale, cumulative) -> pd.DataFrame:
    end = HISTORY_DAYS
    owner = np.repeat(np.arange(len(index)), n_orders)
    position = np.arange(len(owner)) - np.repeat(np.cumsum(n_orders) - n_orders, n_orders)
    count = n_orders[owner]
    low, high = first_day[owner], last_day[owner]
    day = _sample_days(rng, cumulative, low, high)
    day = np.where(position == 0, low, day)
    day = np.where((position == count - 1) & (count > 1), high, day)
    amount = np.round(scale[owner] * rng.lognormal(0.0, 0.35, size=len(owner)), 2)
    status = rng.choice(4, size=len(owner), p=(0.88, 0.05, 0.03, 0.04))
    recent = day > end - 20
    status = np.where((status == 3) & ~recent, 0, status)  # only recent orders are still open
    # the first and the last order of each customer completed, so that every
    # archetype keeps its shape
    status = np.where((position == 0) | (position == count - 1), 0, status)
    # ... except that a last order of the past week may still be open
    last_open = (position == count - 1) & (count > 1) & (day > end - 7) & (index[owner] >= len(PLANTED))
    status = np.where(last_open & (rng.random(len(owner)) < 0.3), 3, status)
    second = rng.integers(8 * 3600, 21 * 3600, size=len(owner))
    # returns and cancellations are booked days after the order
    later = np.where(status == 0, 0, rng.integers(1, 20, size=len(owner)))
    updated_day = np.minimum(day + later, end)
    return pd.DataFrame(
        {
            "owner": index[owner],
            "day": day,
            "second": second,
            "status": status,
            "amount": amount,
            "updated_day": updated_day,
            "updated_second": np.minimum(second + rng.integers(60, 7200, size=len(owner)), 86399),
        }
    )


def _erp_customers(rng, index, count, has_account, n_orders, orders, accounts, ctype):
    """ERP bill-to customers and the customer code of each order.

    An account's ERP record carries its CRM id only part of the time; otherwise
    it matches by tax id, e-mail or phone, and a few match nothing at all.
    """
    total = len(index)
    buys = n_orders > 0
    link = np.full(total, 4)  # 0 crm id, 1 tax id, 2 email, 3 phone, 4 nothing (ERP only)
    with_account = buys & has_account
    draw = rng.random(total)
    corporate = ctype != INDIVIDUAL
    link[with_account] = np.select(
        [draw < 0.6, corporate & (draw < 0.76), draw < 0.87, draw < 0.97],
        [0, 1, 2, 3],
        default=4,
    )[with_account]
    # planted customers take every link rule in turn
    planted = (index < len(PLANTED)) & with_account
    turn = np.arange(total)
    link[planted] = np.where(corporate, turn % 4, np.array([0, 2, 3])[turn % 3])[planted]
    # an e-mail or phone link needs the account to have one
    acct_has_email = np.zeros(total, bool)
    acct_has_phone = np.zeros(total, bool)
    acct_has_email[:count] = accounts["has_email"].to_numpy()
    acct_has_phone[:count] = accounts["has_phone"].to_numpy()
    link[(link == 2) & ~acct_has_email] = 0
    link[(link == 3) & ~acct_has_phone] = 0
    customers = np.flatnonzero(buys)
    second = customers[(rng.random(len(customers)) < 0.02) & has_account[customers]]
    frame = pd.DataFrame(
        {
            "owner": np.concatenate([index[customers], index[second]]),
            "account": np.concatenate([has_account[customers], has_account[second]]),
            "link": np.concatenate([link[customers], np.zeros(len(second), int)]),
            "ctype": np.concatenate([ctype[customers], ctype[second]]),
            "copy": np.concatenate([np.zeros(len(customers), int), np.ones(len(second), int)]),
        }
    )
    first_day = orders.groupby("owner")["day"].min()
    frame["created_day"] = np.maximum(first_day.reindex(frame["owner"]).to_numpy() - 3, 0)
    frame["updated_day"] = frame["created_day"] + (rng.random(len(frame)) * (HISTORY_DAYS - frame["created_day"]))
    frame["updated_day"] = frame["updated_day"].astype(int)
    frame["phone_style"] = rng.integers(0, 3, size=len(frame))
    frame["surname"] = rng.integers(0, len(catalog.SURNAMES), size=len(frame))
    frame["given"] = rng.integers(0, len(catalog.GIVEN_NAMES), size=len(frame))
    frame["brand"] = rng.integers(0, len(catalog.BRANDS), size=len(frame))
    frame["city"] = rng.integers(0, len(catalog.CITIES), size=len(frame))
    # orders of a customer with two codes are split between them
    code_of_owner = pd.Series(np.arange(len(customers)), index=index[customers])
    codes = code_of_owner.reindex(orders["owner"]).to_numpy()
    if len(second):
        second_code = pd.Series(len(customers) + np.arange(len(second)), index=index[second])
        alternative = second_code.reindex(orders["owner"]).to_numpy()
        use_second = ~np.isnan(alternative) & (rng.random(len(orders)) < 0.3)
        codes = np.where(use_second, alternative, codes)
    return frame, codes.astype(np.int64)


def _lines(rng, orders: pd.DataFrame) -> pd.DataFrame:
    n_lines = 1 + rng.poisson(1.2, size=len(orders))
    owner = np.repeat(np.arange(len(orders)), n_lines)
    line_no = np.arange(len(owner)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
    category_weights = np.array([c[1] for c in catalog.PRODUCT_CATEGORIES])
    category = rng.choice(len(category_weights), size=len(owner), p=category_weights / category_weights.sum())
    # split each order's total over its lines; the last line takes the rounding
    share = rng.random(len(owner)) + 0.2
    share_sum = np.bincount(owner, weights=share, minlength=len(orders))
    total = orders["amount"].to_numpy()
    line_amount = np.round(total[owner] * share / share_sum[owner], 2)
    allocated = np.bincount(owner, weights=line_amount, minlength=len(orders))
    last = np.r_[line_no[1:] == 1, True]
    line_amount[last] += np.round(total - allocated, 2)[owner[last]]
    typical_price = np.array([c[2] for c in catalog.PRODUCT_CATEGORIES])[category]
    quantity = np.maximum(1, np.round(np.abs(line_amount) / typical_price)).astype(np.int64)
    discount = np.where(rng.random(len(owner)) < 0.25, np.round(np.abs(line_amount) * 0.05, 2), 0.0)
    unit_price = np.round((line_amount + discount) / quantity, 4)
    return pd.DataFrame(
        {
            "order": owner,
            "line_no": line_no,
            "category": category,
            "product": rng.integers(0, catalog.PRODUCTS_PER_CATEGORY, size=len(owner)),
            "quantity": quantity,
            "unit_price": unit_price,
            "discount": discount,
            "line_amount": line_amount,
        }
    )


def _contacts(rng, accounts: pd.DataFrame) -> pd.DataFrame:
    corporate = accounts["ctype"].to_numpy() != INDIVIDUAL
    n_contacts = np.where(corporate, 1 + rng.poisson(1.0, size=len(accounts)), 0)
    owner = np.repeat(np.arange(len(accounts)), n_contacts)
    created = accounts["created_day"].to_numpy()[owner] + rng.integers(0, 60, size=len(owner))
    created = np.minimum(created, HISTORY_DAYS)
    return pd.DataFrame(
        {
            "account": accounts["customer"].to_numpy()[owner],
            "seq": np.arange(len(owner)) - np.repeat(np.cumsum(n_contacts) - n_contacts, n_contacts),
            "surname": rng.integers(0, len(catalog.SURNAMES), size=len(owner)),
            "given": rng.integers(0, len(catalog.GIVEN_NAMES), size=len(owner)),
            "has_email": rng.random(len(owner)) < 0.8,
            "has_phone": rng.random(len(owner)) < 0.85,
            "created_day": created,
            "updated_day": created + (rng.random(len(owner)) * (HISTORY_DAYS - created)).astype(int),
        }
    )


def campaigns(rng: np.random.Generator) -> pd.DataFrame:
    """About three campaigns a month over the whole history."""
    n = HISTORY_DAYS // 10
    start = np.sort(rng.integers(0, HISTORY_DAYS - 3, size=n))
    types = list(catalog.CAMPAIGN_THEMES)
    kind = rng.choice(len(types), size=n, p=(0.32, 0.15, 0.18, 0.1, 0.25))
    channel = np.array([rng.integers(0, len(catalog.CAMPAIGN_CHANNELS_BY_TYPE[types[k]])) for k in kind])
    theme = np.array([rng.integers(0, len(catalog.CAMPAIGN_THEMES[types[k]])) for k in kind])
    return pd.DataFrame(
        {
            "campaign": np.arange(n),
            "kind": kind,
            "channel": channel,
            "theme": theme,
            "start_day": start,
            "end_day": np.minimum(start + rng.integers(1, 30, size=n), HISTORY_DAYS + 30),
        }
    )


def _responses(rng, accounts: pd.DataFrame) -> pd.DataFrame:
    end = HISTORY_DAYS
    window_start = np.maximum(accounts["created_day"].to_numpy(), end - ACTIVITY_DAYS)
    years = (end - window_start) / 365.0
    rate = np.asarray(ENGAGEMENT_RATES)[accounts["engagement"].to_numpy()] / 0.4  # 40% of touches engage
    n = rng.poisson(rate * years)
    owner = np.repeat(np.arange(len(accounts)), n)
    day = window_start[owner] + (rng.random(len(owner)) * (end - window_start[owner] + 1)).astype(int)
    return pd.DataFrame(
        {
            "account": accounts["customer"].to_numpy()[owner],
            "day": np.minimum(day, end),
            "second": rng.integers(7 * 3600, 23 * 3600, size=len(owner)),
            "kind": rng.choice(6, size=len(owner), p=RESPONSE_TYPE_WEIGHTS),
            "pick": rng.random(len(owner)),
        }
    )


def _tickets(rng, accounts, contacts, archetype, n_orders) -> pd.DataFrame:
    end = HISTORY_DAYS
    complainer = accounts["complainer"].to_numpy()
    window_start = np.maximum(accounts["created_day"].to_numpy(), end - ACTIVITY_DAYS)
    years = (end - window_start) / 365.0
    rate = np.where(n_orders > 0, 0.45, 0.15) + np.where(complainer, 2.5, 0.0)
    n = rng.poisson(rate * years)
    n = np.where(complainer & (years > 0.3), np.maximum(n, 2), n)
    owner = np.repeat(np.arange(len(accounts)), n)
    unhappy = complainer[owner]
    day = window_start[owner] + (rng.random(len(owner)) * (end - window_start[owner] + 1)).astype(int)
    day = np.minimum(day, end)
    # complainers complain in the last year, where service risk looks
    day = np.where(unhappy, np.maximum(day, end - 300), day)
    kind = np.where(
        unhappy,
        rng.choice(5, size=len(owner), p=(0.2, 0.55, 0.1, 0.1, 0.05)),
        rng.choice(5, size=len(owner), p=(0.4, 0.1, 0.22, 0.13, 0.15)),
    )
    score = (
        np.where(
            unhappy,
            rng.choice(5, size=len(owner), p=(0.45, 0.35, 0.15, 0.05, 0.0)),
            rng.choice(5, size=len(owner), p=(0.03, 0.05, 0.12, 0.35, 0.45)),
        )
        + 1
    )
    recent = day > end - 7
    status = np.where(recent & (rng.random(len(owner)) < 0.6), 0, rng.choice([1, 2], size=len(owner), p=(0.4, 0.6)))
    second = rng.integers(8 * 3600, 22 * 3600, size=len(owner))
    resolve_seconds = (rng.exponential(30, size=len(owner)) * 3600).astype(np.int64) + 600
    # identify the customer by CRM id, e-mail or phone (own or a contact's)
    identify = rng.choice(3, size=len(owner), p=(0.5, 0.28, 0.22))
    per_account = np.bincount(pd.Index(accounts["customer"]).get_indexer(contacts["account"]), minlength=len(accounts))
    contact_count = per_account[owner]
    contact_first = (np.cumsum(per_account) - per_account)[owner]  # contacts are grouped by account
    use_contact = (contact_count > 0) & (rng.random(len(owner)) < 0.5)
    contact_row = np.where(use_contact, contact_first + (rng.random(len(owner)) * contact_count).astype(int), -1)
    return pd.DataFrame(
        {
            "account": accounts["customer"].to_numpy()[owner],
            "day": day,
            "second": second,
            "channel": rng.choice(5, size=len(owner), p=(0.35, 0.15, 0.25, 0.2, 0.05)),
            "kind": kind,
            "priority": rng.choice(4, size=len(owner), p=(0.2, 0.55, 0.2, 0.05)),
            "status": status,
            "resolve_seconds": resolve_seconds,
            "rated": (status > 0) & (rng.random(len(owner)) < 0.65),
            "score": score,
            "identify": identify,
            "contact_row": contact_row,
            "no_updated_at": (status == 0) & (rng.random(len(owner)) < 0.3),
        }
    )
