"""Effect evaluation (SPEC section 9): outcome windows, strategy effects and the moves worklist.

`effect_build` lands sources of 2,000 customers with the generator's planted effect and builds them with dbt as
two backfills: the two days before the effect starts (D1, D2), then the two days 30 days later (R1, R2), which
complete the 30-day windows of D1 and D2. The effects' statistics are also run on simulated outcomes, where the
truth is known by construction.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import pytest

from crmseg import duck
from crmseg.generate import effect
from crmseg.settings import Settings
from tests.conftest import (
    control_by_hand,
    environment,
    land_sources,
    make_sources,
    materialize,
    settings_for,
    source_urls,
    sqlite,
)

DIMENSIONS = ["strategy_group", "rfm_segment", "lifecycle_stage", "value_tier", "abc_class", "potential_class"]
KEYS = ["as_of_date", "horizon_days", "dimension", "segment", "treatment_group"]
Z = 1.959963984540054
MODELS = Path(__file__).resolve().parents[1] / "dbt_project" / "models"


@dataclass(frozen=True)
class EffectBuild:
    settings: dict[str, str]
    sources: Path
    manifest: dict
    first: tuple[date, date]  # D1, D2: the days before the planted effect starts
    second: tuple[date, date]  # R1, R2: 30 days later

    @property
    def warehouse(self) -> Path:
        return Path(self.settings["CRMSEG_DATA_DIR"]) / "warehouse.duckdb"


def build_dates(dates: tuple[date, date]) -> None:
    result = materialize("dbt", dates=dates)
    assert result.success, [e.message for e in result.all_events if e.is_failure]


@pytest.fixture(scope="module")
def effect_build(tmp_path_factory) -> EffectBuild:
    root = tmp_path_factory.mktemp("effect_build")
    sources = root / "sources"
    manifest = make_sources(sources, customers=2000, seed=11)
    start = date.fromisoformat(manifest["planted_effect"]["start_date"])
    first = (start - timedelta(days=2), start - timedelta(days=1))
    second = tuple(day + timedelta(days=30) for day in first)
    settings = settings_for(sources, root)
    with environment(settings):
        warehouse = Settings.from_env().warehouse_path
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        land_sources(warehouse, source_urls(sources))
        build_dates(first)
        build_dates(second)
    return EffectBuild(settings, sources, manifest, first, second)


def read(warehouse: Path, sql: str) -> pd.DataFrame:
    with duck.connect(warehouse, read_only=True) as con:
        return con.execute(sql).df()


# -- an independent computation of the two tables --------------------------------------------------------------


def valid_on(frame: pd.DataFrame, day: date) -> pd.Series:
    day = pd.Timestamp(day)
    return (frame["valid_from"].isna() | (frame["valid_from"] <= day)) & (
        frame["valid_to"].isna() | (day < frame["valid_to"])
    )


def customer_outcomes(warehouse: Path, as_of: date, horizon: int, count_planted: bool = True) -> pd.DataFrame:
    """One row per customer of `as_of` in the history: its segments, its group and what it did in the window,
    worked out in pandas from the staged sources and the links."""
    outcome = as_of + timedelta(days=horizon)
    low, high = pd.Timestamp(as_of), pd.Timestamp(outcome)
    members = read(
        warehouse,
        f"SELECT customer_key, {', '.join(DIMENSIONS)} FROM intermediate.int_customer_segments "
        f"WHERE as_of_date = DATE '{as_of}'",
    )
    members["treatment_group"] = np.where(members["customer_key"].map(control_by_hand), "control", "treatment")
    orders = read(
        warehouse, "SELECT order_id, customer_code, order_date, status, total_amount FROM staging.stg_erp__sales_orders"
    )
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    orders = orders[(orders["status"] == "completed") & (orders["order_date"] > low) & (orders["order_date"] <= high)]
    if not count_planted:
        orders = orders[~orders["order_id"].str.startswith(effect.EFFECT_ORDER_PREFIX)]
    links = read(
        warehouse, "SELECT customer_code, customer_key, valid_from, valid_to FROM intermediate.int_erp_customers_linked"
    )
    links = links[valid_on(links, outcome)]
    revenue = orders.merge(links, on="customer_code").groupby("customer_key")["total_amount"].sum().astype(float)
    tickets = read(
        warehouse,
        "SELECT customer_key, ticket_type, created_date, valid_from, valid_to FROM intermediate.int_tickets_linked",
    )
    tickets["created_date"] = pd.to_datetime(tickets["created_date"])
    complained = tickets[
        valid_on(tickets, outcome)
        & tickets["customer_key"].notna()
        & (tickets["ticket_type"] == "complaint")
        & (tickets["created_date"] > low)
        & (tickets["created_date"] <= high)
    ]["customer_key"]
    responses = read(
        warehouse, "SELECT account_id, response_type, responded_at FROM staging.stg_crm__campaign_responses"
    )
    day = pd.to_datetime(responses["responded_at"].dt.tz_convert("Asia/Shanghai").dt.date)
    qualifying = responses["response_type"].isin(["clicked", "registered", "attended", "converted"])
    responses = responses[qualifying & (day > low) & (day <= high)]
    responded = responses["account_id"].map(lambda a: hashlib.md5(f"crm:{a}".encode()).hexdigest()[:16])
    members["bought"] = members["customer_key"].isin(revenue.index)
    members["revenue"] = members["customer_key"].map(revenue).fillna(0.0)
    members["complained"] = members["customer_key"].isin(set(complained))
    members["responded"] = members["customer_key"].isin(set(responded))
    members["as_of_date"], members["horizon_days"] = pd.Timestamp(as_of), horizon
    return members


def outcomes_by_hand(customers: pd.DataFrame) -> pd.DataFrame:
    long = pd.concat(
        [
            customers.assign(dimension=dimension, segment=customers[dimension].fillna("not_scored"))
            for dimension in DIMENSIONS
        ]
    )
    grouped = long.groupby(KEYS)
    frame = grouped.agg(
        customers=("customer_key", "size"),
        buyers=("bought", "sum"),
        revenue=("revenue", "sum"),
        complainers=("complained", "sum"),
        responders=("responded", "sum"),
    ).reset_index()
    frame["repurchase_rate"] = frame["buyers"] / frame["customers"]
    frame["revenue_per_customer"] = frame["revenue"] / frame["customers"]
    frame["complaint_rate"] = frame["complainers"] / frame["customers"]
    frame["response_rate"] = frame["responders"] / frame["customers"]
    return frame.drop(columns=["complainers", "responders"])


def effects_by_hand(customers: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (as_of, horizon, group), members in customers.groupby(["as_of_date", "horizon_days", "strategy_group"]):
        treated = members[members["treatment_group"] == "treatment"]
        control = members[members["treatment_group"] == "control"]
        p_t, p_c = treated["bought"].mean(), control["bought"].mean()
        m_t, m_c = treated["revenue"].mean(), control["revenue"].mean()
        lift, revenue_lift = p_t - p_c, m_t - m_c
        error = math.sqrt(p_t * (1 - p_t) / len(treated) + p_c * (1 - p_c) / len(control))
        variance = [0.0 if len(side) < 2 else side["revenue"].var(ddof=1) for side in (treated, control)]
        revenue_error = math.sqrt(variance[0] / len(treated) + variance[1] / len(control))
        rows.append(
            {
                "as_of_date": as_of,
                "horizon_days": horizon,
                "strategy_group": group,
                "treatment_customers": len(treated),
                "control_customers": len(control),
                "treatment_repurchase_rate": p_t,
                "control_repurchase_rate": p_c,
                "repurchase_lift": lift,
                "repurchase_lift_low": lift - Z * error,
                "repurchase_lift_high": lift + Z * error,
                "treatment_revenue_per_customer": m_t,
                "control_revenue_per_customer": m_c,
                "revenue_lift": revenue_lift,
                "revenue_lift_low": revenue_lift - Z * revenue_error,
                "revenue_lift_high": revenue_lift + Z * revenue_error,
                "significant": lift - Z * error > 0 or lift + Z * error < 0,
            }
        )
    return pd.DataFrame(rows)


def assert_same_rows(model: pd.DataFrame, by_hand: pd.DataFrame, keys: list[str]) -> None:
    model = model.assign(as_of_date=pd.to_datetime(model["as_of_date"])).sort_values(keys).reset_index(drop=True)
    by_hand = by_hand[list(model.columns)].sort_values(keys).reset_index(drop=True)
    assert len(model) == len(by_hand) > 0
    for column in model.columns:
        if column in keys or model[column].dtype == bool:
            assert model[column].tolist() == by_hand[column].tolist(), column
        else:
            assert np.allclose(model[column].astype(float), by_hand[column].astype(float), rtol=1e-9, atol=1e-6), column


def test_outcomes_and_effects_equal_an_independent_computation_on_two_dates(effect_build):
    customers = pd.concat([customer_outcomes(effect_build.warehouse, d, 30) for d in effect_build.first])
    outcomes = read(effect_build.warehouse, "SELECT * FROM marts.segment_outcomes")
    assert_same_rows(outcomes, outcomes_by_hand(customers), KEYS)
    effects = read(effect_build.warehouse, "SELECT * FROM marts.strategy_effects")
    assert_same_rows(effects, effects_by_hand(customers), ["as_of_date", "horizon_days", "strategy_group"])


def test_a_run_adds_only_the_windows_its_dates_complete(effect_build):
    """The backfill of R1..R2 filled the 30-day windows of D1 and D2; no window that they do not complete (90 and
    180 days, or of R1 and R2 themselves) is there."""
    windows = read(effect_build.warehouse, "SELECT DISTINCT as_of_date, horizon_days FROM marts.segment_outcomes")
    assert {(d.date(), h) for d, h in windows.itertuples(index=False)} == {(d, 30) for d in effect_build.first}


def test_the_planted_effect_is_recovered(effect_build):
    """The generator's treatment customers bought more after the effect started. For each strategy group, the lift
    the planted orders made among its treated customers (their repurchase rate with the planted orders less without)
    lies within the measured interval; in the groups the effect is aimed at, the measured lift is significant."""
    d1 = effect_build.first[0]
    customers = customer_outcomes(effect_build.warehouse, d1, 30)
    natural = customer_outcomes(effect_build.warehouse, d1, 30, count_planted=False)
    treated = customers["treatment_group"] == "treatment"
    effects = read(
        effect_build.warehouse,
        f"SELECT * FROM marts.strategy_effects WHERE as_of_date = DATE '{d1}' AND horizon_days = 30",
    ).set_index("strategy_group")
    aimed = set(effect_build.manifest["planted_effect"]["aimed_at"].values())
    assert aimed == {"risk", "potential"}
    for group, row in effects.iterrows():
        in_group = treated & (customers["strategy_group"] == group)
        planted = customers.loc[in_group, "bought"].mean() - natural.loc[in_group, "bought"].mean()
        assert row.repurchase_lift_low <= planted <= row.repurchase_lift_high, (group, planted, row.to_dict())
        if group in aimed:
            assert planted > 0.05 and row.significant and row.repurchase_lift > 0, (group, planted, row.to_dict())


def test_an_order_after_r_changes_no_outcome_and_a_rerun_changes_nothing(effect_build, tmp_path):
    """On a copy: a large order dated the day after R2 for a customer of every window is staged, then R1..R2 are
    built again; the outcomes stay as they were, row for row."""
    root = tmp_path / "copy"
    shutil.copytree(effect_build.sources, root / "sources")
    settings = settings_for(root / "sources", root)
    data_dir = Path(settings["CRMSEG_DATA_DIR"])
    data_dir.mkdir(parents=True)
    shutil.copy(effect_build.warehouse, data_dir / "warehouse.duckdb")
    before = read(data_dir / "warehouse.duckdb", "SELECT * FROM marts.segment_outcomes ORDER BY ALL")
    buyer = read(
        data_dir / "warehouse.duckdb",
        "SELECT customer_code FROM intermediate.int_erp_customers_linked WHERE valid_to IS NULL ORDER BY 1 LIMIT 1",
    ).iloc[0, 0]
    after_r = effect_build.second[1] + timedelta(days=1)
    changed_at = datetime.now().isoformat(sep=" ", timespec="seconds")  # past the sources' dirty future moments
    sqlite(
        root / "sources" / "erp.sqlite",
        "INSERT INTO sales_orders (order_id, customer_code, order_date, status, total_amount, updated_at) "
        f"VALUES ('SO-AFTER-R', '{buyer}', '{after_r}', 'completed', 9999999.00, '{changed_at}')",
    )
    with environment(settings):
        land_sources(data_dir / "warehouse.duckdb", source_urls(root / "sources"), load_id="after-r")
        build_dates(effect_build.second)
    warehouse = data_dir / "warehouse.duckdb"
    staged = read(warehouse, "SELECT count(*) FROM staging.stg_erp__sales_orders WHERE order_id = 'SO-AFTER-R'")
    assert staged.iloc[0, 0] == 1
    pd.testing.assert_frame_equal(read(warehouse, "SELECT * FROM marts.segment_outcomes ORDER BY ALL"), before)


def test_customer_moves_are_the_changed_segments_of_the_last_two_dates(effect_build):
    history = read(
        effect_build.warehouse,
        "SELECT * FROM intermediate.int_customer_segments WHERE as_of_date IN "
        "(SELECT DISTINCT as_of_date FROM intermediate.int_customer_segments ORDER BY 1 DESC LIMIT 2)",
    )
    previous, latest = sorted(history["as_of_date"].unique())
    dimensions = [
        "strategy_group", "rfm_segment", "rfm_segment_cn8", "abc_class", "value_tier", "lifecycle_stage",
        "campaign_engagement", "potential_class",
    ]  # fmt: skip
    pairs = history[history["as_of_date"] == latest].merge(
        history[history["as_of_date"] == previous], on="customer_key", suffixes=("", "_before")
    )
    expected = set()
    for dimension in dimensions:
        old, new = pairs[f"{dimension}_before"].fillna("not_scored"), pairs[dimension].fillna("not_scored")
        expected |= {(k, dimension, a, b) for k, a, b in zip(pairs["customer_key"], old, new, strict=True) if a != b}
    moves = read(effect_build.warehouse, "SELECT * FROM marts.customer_moves")
    assert set(moves[["customer_key", "dimension", "from_segment", "to_segment"]].itertuples(index=False)) == expected
    assert expected and set(moves["as_of_date"]) == {latest} and set(moves["previous_date"]) == {previous}


# -- the statistics on simulated outcomes -------------------------------------------------------------------


def strategy_effects_sql() -> str:
    """models/marts/strategy_effects.sql as dbt renders it, reading `intermediate.int_outcome_windows`."""
    template = jinja2.Template((MODELS / "marts" / "strategy_effects.sql").read_text())
    return template.render(ref=lambda name: f"intermediate.{name}")


def simulated_windows(rng: np.random.Generator, windows: int, lift: float, control: int = 1000) -> pd.DataFrame:
    """int_outcome_windows rows of `windows` windows of one strategy group: `control` control customers and nine
    times as many treated, each buying with the window's base chance (plus `lift` when treated), buyers spending a
    lognormal amount (sigma 1: a few customers spend far more than most)."""
    rows = []
    for window in range(windows):
        base = rng.uniform(0.05, 0.6)
        for group, n, chance in (("treatment", 9 * control, base + lift), ("control", control, base)):
            bought = rng.random(n) < chance
            revenue = np.where(bought, rng.lognormal(8.0, 1.0, size=n), 0.0)
            rows.append(
                {
                    "as_of_date": date(2026, 1, 1) + timedelta(days=window),
                    "horizon_days": 30,
                    "dimension": "strategy_group",
                    "segment": "growth",
                    "treatment_group": group,
                    "customers": n,
                    "buyers": int(bought.sum()),
                    "revenue": float(revenue.sum()),
                    "revenue_squares": float((revenue**2).sum()),
                    "complainers": 0,
                    "responders": 0,
                }
            )
    return pd.DataFrame(rows)


def effects_of(windows: pd.DataFrame) -> pd.DataFrame:
    with duck.connect() as con:
        con.execute("CREATE SCHEMA intermediate")
        con.register("simulated", windows)
        con.execute("CREATE TABLE intermediate.int_outcome_windows AS SELECT * FROM simulated")
        return con.execute(strategy_effects_sql()).df()


def test_an_a_a_comparison_is_significant_about_one_time_in_twenty():
    """No effect at all (the control and treatment customers of 2,000 windows buy alike): about 5% of the
    repurchase intervals, and of the revenue intervals, exclude 0 (binomial sd of the share: 0.5 points).

    With 1,000 control customers. With 100 the repurchase share stays near 6%, but Welch's normal approximation
    on such skewed spend excludes 0 about 10% of the time (docs/bi.md says so)."""
    effects = effects_of(simulated_windows(np.random.default_rng(1), 2000, lift=0.0))
    assert 0.03 <= effects["significant"].mean() <= 0.07
    revenue_clear = (effects["revenue_lift_low"] > 0) | (effects["revenue_lift_high"] < 0)
    assert 0.03 <= revenue_clear.mean() <= 0.07
    small = effects_of(simulated_windows(np.random.default_rng(3), 2000, lift=0.0, control=100))
    assert 0.03 <= small["significant"].mean() <= 0.08


def test_a_planted_lift_lies_within_about_95_percent_of_the_intervals():
    effects = effects_of(simulated_windows(np.random.default_rng(2), 2000, lift=0.03))
    covered = (effects["repurchase_lift_low"] <= 0.03) & (effects["repurchase_lift_high"] >= 0.03)
    assert 0.93 <= covered.mean() <= 0.97
    assert effects["significant"].mean() > 0.5  # and the lift is found more often than not


def test_the_report_shows_the_effects_the_outcomes_over_time_and_the_worklist(effect_build, tmp_path):
    from crmseg.report import write_run_report

    with duck.connect(effect_build.warehouse, read_only=True) as con:
        html = write_run_report(con, tmp_path, "effect-build", str(effect_build.second[1])).read_text()
    effects = html[html.index("<h2>Strategy effects") : html.index("<h2>Worklist")]
    assert 'class="intervals"' in effects and effects.count('class="point"') == 4  # one per strategy group
    assert f'<tr><td>{effect_build.first[1]}</td><td class="n">30</td><td>risk</td>' in effects
    assert "Outcomes over time" in effects and f"<td>{effect_build.first[0]}</td>" in effects
    worklist = html[html.index("<h2>Worklist") :]
    assert "strategy_group" in worklist and "lifecycle_stage" in worklist
