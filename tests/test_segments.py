"""The dbt models against an independent pandas reading of SPEC sections 4 and 5, on generated data."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmseg import clv, duck
from tests import reference_segments as ref
from tests.conftest import BUILT_DATES, END_DATE, control_by_hand, materialize

AS_OF_DATES = BUILT_DATES
# the models of a run's as-of dates: the dates and every model after them (the rest is built from the landings
# alone, and the two-date build has built it)
DATED_MODELS = "intermediate/int_as_of_dates+"
COMPARED = [
    "crm_account_id", "erp_customer_code", "first_order_date", "last_order_date", "tenure_days", "orders_total",
    "recency_days", "frequency", "monetary", "annual_revenue", "r_score", "f_score", "m_score", "fm_score",
    "rfm_cell", "rfm_segment", "rfm_segment_cn8", "abc_class", "value_tier", "lifecycle_stage",
    "campaign_responses_365d", "campaign_engagement", "tickets_365d", "complaints_365d", "avg_satisfaction_365d",
    "service_risk", "strategy_group", "marketing_allowed",
]  # fmt: skip
SECTION_8 = [
    "repeat_purchase_days", "p_alive", "expected_purchases_90d", "expected_purchases_365d", "expected_avg_value",
    "predicted_clv_365d", "potential_class",
]  # fmt: skip


def key(prefix: str, value: str) -> str:
    return hashlib.md5(f"{prefix}:{value}".encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def settings_env(built_two_dates) -> dict[str, str]:
    return built_two_dates.settings


@pytest.fixture(scope="module")
def built(built_two_dates) -> Path:
    """The warehouse of the whole pipeline run for the two as-of dates on the demo sources."""
    return built_two_dates.warehouse


def read(warehouse, sql: str) -> pd.DataFrame:
    with duck.connect(warehouse, read_only=True, timezone="Asia/Shanghai") as con:
        return con.execute(sql).df()


def linked(warehouse, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The staged accounts, the ERP customers linked as of D by the reference's own identity rules, and the staged
    orders with the key of the customer they go to."""
    accounts = read(warehouse, "SELECT * FROM staging.stg_crm__accounts")
    erp_customers = read(warehouse, "SELECT * FROM staging.stg_erp__customers")
    # an ERP customer joins only an account that existed on D
    created_on = pd.to_datetime(accounts["created_at"].dt.tz_convert("Asia/Shanghai").dt.date)
    links = ref.link_erp_customers(accounts[~(created_on > pd.Timestamp(as_of))], erp_customers)
    links["customer_key"] = [
        key("crm", account) if isinstance(account, str) else key("erp", code)
        for account, code in zip(links["account_id"], links["customer_code"], strict=True)
    ]
    orders = read(warehouse, "SELECT * FROM staging.stg_erp__sales_orders").merge(
        links[["customer_code", "customer_key"]], on="customer_code"
    )
    return accounts, links, orders


def reference(warehouse, as_of: date) -> pd.DataFrame:
    """SPEC section 5 in pandas, from the staged tables and the reference's own identity rules."""
    accounts, links, orders = linked(warehouse, as_of)
    created_on = pd.to_datetime(accounts["created_at"].dt.tz_convert("Asia/Shanghai").dt.date)
    responses = read(
        warehouse, "SELECT account_id, response_type, CAST(responded_at AS TIMESTAMP) AS responded_at "
        "FROM staging.stg_crm__campaign_responses"
    )  # fmt: skip
    responses["customer_key"] = [key("crm", a) for a in responses["account_id"]]
    tickets = read(
        warehouse, "SELECT customer_key, ticket_type, satisfaction_score, CAST(created_at AS TIMESTAMP) AS created_at "
        "FROM intermediate.int_tickets_linked WHERE customer_key IS NOT NULL "  # the link valid on D
        f"AND (valid_from IS NULL OR valid_from <= DATE '{as_of}') AND (valid_to IS NULL OR DATE '{as_of}' < valid_to)"
    )  # fmt: skip

    # customers as of D: accounts created by D and not deleted, and every other customer with an order by D
    accounts["customer_key"] = [key("crm", a) for a in accounts["account_id"]]
    live = accounts[~accounts["is_deleted"].fillna(False).astype(bool)]
    created = live[created_on[live.index] <= pd.Timestamp(as_of)]
    ordered = orders[pd.to_datetime(orders["order_date"]) <= pd.Timestamp(as_of)]["customer_key"]
    deleted = set(accounts["customer_key"]) - set(live["customer_key"])
    population = pd.DataFrame({"customer_key": sorted((set(created["customer_key"]) | set(ordered)) - deleted)})

    out = ref.segments(population, orders, as_of, responses, tickets)
    crm_ids = dict(zip(accounts["customer_key"], accounts["account_id"], strict=True))
    codes = links.groupby("customer_key")["customer_code"].min()
    consent = dict(zip(accounts["customer_key"], accounts["marketing_consent"], strict=True))
    out["crm_account_id"] = out["customer_key"].map(crm_ids)
    out["erp_customer_code"] = out["customer_key"].map(codes).where(out["orders_total"] > 0)
    out["marketing_allowed"] = out["customer_key"].map(consent).fillna(False).astype(bool)
    out["first_order_date"] = out.pop("first_order").dt.date
    out["last_order_date"] = out.pop("last_order").dt.date
    return out


@pytest.mark.parametrize("as_of", AS_OF_DATES, ids=str)
def test_dbt_agrees_with_the_reference_row_by_row(built, as_of):
    expected = reference(built, as_of).set_index("customer_key").sort_index()
    actual = read(built, f"SELECT * FROM marts.customer_segments_history WHERE as_of_date = DATE '{as_of}'")
    actual = actual.set_index("customer_key").sort_index()
    assert list(actual.index) == list(expected.index)
    assert actual["segment_rules_version"].nunique() == 1
    for column in COMPARED:
        mine, theirs = actual[column], expected[column]
        if column.endswith("_date"):
            mine, theirs = pd.to_datetime(mine), pd.to_datetime(theirs)
        if column in ("monetary", "annual_revenue", "avg_satisfaction_365d"):
            equal = (mine.astype(float) - theirs.astype(float)).abs().lt(1e-6) | (mine.isna() & theirs.isna())
        else:
            equal = mine.astype(object).where(mine.notna(), None) == theirs.astype(object).where(theirs.notna(), None)
            equal |= mine.isna() & theirs.isna()
        differing = actual.index[~equal.to_numpy()]
        assert len(differing) == 0, (column, mine[differing][:5].tolist(), theirs[differing][:5].tolist())


def test_every_segment_value_is_present_on_the_demo(built):
    values = read(built, f"SELECT * FROM marts.customer_segments WHERE as_of_date = DATE '{END_DATE}'")
    assert set(values["rfm_segment"].dropna()) == {s for row in ref.GRID.values() for s in row.values()}
    assert set(values["lifecycle_stage"]) == {"prospect", "new", "one_time", "repeat", "loyal", "declining", "churned"}
    assert set(values["value_tier"].dropna()) == {"strategic", "key", "ordinary"}
    assert set(values["strategy_group"]) == {"high_value", "growth", "potential", "risk"}


def test_erp_links_agree_with_the_reference(built):
    accounts = read(built, "SELECT * FROM staging.stg_crm__accounts")
    erp_customers = read(built, "SELECT * FROM staging.stg_erp__customers")
    expected = ref.link_erp_customers(accounts, erp_customers).set_index("customer_code").sort_index()
    current = "SELECT * FROM intermediate.int_erp_customers_linked WHERE valid_to IS NULL"
    actual = read(built, current).set_index("customer_code").sort_index()
    assert (actual["crm_account_id"].fillna("") == expected["account_id"].fillna("")).all()
    expected_rule = expected["rule"].where(expected["rule"] != "conflict")
    assert (actual["link_rule"].fillna("") == expected_rule.fillna("")).all()
    assert set(actual["link_rule"].dropna()) == {"crm_account_id", "tax_id", "email", "phone"}


def test_links_known_only_from_a_later_state_are_counted(built):
    """On the earlier date, ERP customers with orders and tickets first seen changed after it are a warning."""
    early = AS_OF_DATES[0]
    d = f"DATE '{early}'"
    expected = read(
        built,
        f"SELECT (SELECT count(*) FROM staging.stg_erp__customers AS c WHERE CAST(c.updated_at AS DATE) > {d} "
        "  AND EXISTS (SELECT 1 FROM staging.stg_erp__sales_orders AS o "
        f"              WHERE o.customer_code = c.customer_code AND o.order_date <= {d})) "
        f"+ (SELECT count(*) FROM staging.stg_service__tickets WHERE CAST(created_at AS DATE) <= {d} "
        f"  AND CAST(coalesce(updated_at, created_at) AS DATE) > {d}) AS n",
    )["n"].iloc[0]
    recorded = read(
        built,
        "SELECT severity, passed, unexpected_count FROM _crmseg.data_quality_results "
        f"WHERE check_name = 'assert_links_known_on_run_dates' AND as_of_date = DATE '{early}'",
    )
    assert expected > 0
    assert recorded.values.tolist() == [["warn", False, expected]]


def test_marts_hold_both_dates_and_the_latest_is_served(built):
    history_dates = read(built, "SELECT DISTINCT as_of_date FROM marts.customer_segments_history ORDER BY 1")
    assert [d.date() for d in pd.to_datetime(history_dates["as_of_date"])] == list(AS_OF_DATES)
    latest = read(built, "SELECT DISTINCT as_of_date FROM marts.customer_segments")
    assert len(latest) == 1 and pd.Timestamp(latest.iloc[0, 0]).date() == END_DATE
    transitions = read(built, "SELECT * FROM marts.segment_transitions")
    assert set(pd.to_datetime(transitions["to_date"]).dt.date) == {END_DATE}
    customers = read(
        built, f"SELECT count(*) AS n FROM marts.customer_segments_history WHERE as_of_date = DATE '{END_DATE}'"
    )
    moved = transitions[(transitions["dimension"] == "strategy_group") & (transitions["to_segment"] != "absent")]
    assert moved["customers"].sum() == customers["n"][0]
    weights = read(built, "SELECT sum(resource_weight) AS total FROM marts.strategy_assignments")
    assert abs(weights["total"][0] - 1) < 1e-9


def test_the_control_group_is_the_specs_hash_and_stays_from_run_to_run(built_two_dates):
    """Each run publishes strategy_assignments of the latest date: both runs put every customer in the group SPEC
    section 9's hash gives it, and a control customer's actions say why no marketing action is taken."""
    first, second = (built_two_dates.published[d]["strategy_assignments"] for d in sorted(BUILT_DATES, reverse=True))
    for assignments in (first, second):
        expected = assignments["customer_key"].map(control_by_hand).map({True: "control", False: "treatment"})
        assert (assignments["treatment_group"] == expected).all()
    groups = first.merge(second, on="customer_key", suffixes=("", "_again"))
    assert len(groups) == len(first) and (groups["treatment_group"] == groups["treatment_group_again"]).all()
    control = first[first["treatment_group"] == "control"]
    assert len(control) > 0 and set(first["treatment_group"]) == {"treatment", "control"}
    assert control["actions"].str.startswith("No marketing action: control group").all()
    assert control["strategy_group"].notna().all()  # they keep their segments and strategy group


def test_the_control_hash_takes_control_share_of_many_customers():
    """The hash the model computes (as the test above shows) splits 100,000 keys shaped like customer_key
    (16 hex digits) at control_share within 0.3 points (three standard deviations); another salt, other customers."""
    keys = [hashlib.md5(f"crm:A{i:07d}".encode()).hexdigest()[:16] for i in range(100_000)]
    control = [control_by_hand(key) for key in keys]
    assert abs(sum(control) / len(keys) - 0.10) <= 0.003
    assert abs(sum(control_by_hand(key, share=0.25) for key in keys) / len(keys) - 0.25) <= 0.004
    moved = sum(a != b for a, b in zip(control, (control_by_hand(key, salt="2027") for key in keys), strict=True))
    assert moved > 0.15 * len(keys)  # a new salt draws a new group: about 18% of the keys change sides


def test_every_dbt_unit_test_passes(built, settings_env, tmp_path):
    """The rules' unit tests and the cross-database macros' tests run here; nightly builds leave them out."""
    from assets.dbt import DBT_EXECUTABLE, DBT_PROJECT_DIR, with_saved_parse

    target = with_saved_parse(Path(settings_env["CRMSEG_DATA_DIR"]), tmp_path / "target")
    done = subprocess.run(
        [DBT_EXECUTABLE, "test", "--select", "test_type:unit", "tag:cross_db", "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(tmp_path / "logs")],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, **settings_env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
    )  # fmt: skip
    results = json.loads((target / "run_results.json").read_text())["results"]
    failed = [r["unique_id"] for r in results if r["status"] != "pass"]
    assert done.returncode == 0 and not failed, failed or done.stdout[-2000:]
    assert len([r for r in results if r["unique_id"].startswith("unit_test.")]) >= 24
    macros = {p.stem for p in (DBT_PROJECT_DIR / "macros" / "cross_db").glob("*.sql")}
    tested = {r["unique_id"].removeprefix("test.crmseg.assert_") for r in results}
    assert macros <= tested, f"cross-database macros without a test: {sorted(macros - tested)}"


@pytest.mark.parametrize(
    ("user_vars", "expected_vars"),
    [
        ("{}", None),
        ('{"abc_a_share": 0.5}', {"abc_a_share": 0.5}),
    ],
)
def test_dbt_build_args_for_a_range_of_dates(user_vars, expected_vars):
    from assets.dbt import dbt_build_args

    args = dbt_build_args(user_vars)
    assert args[:5] == ["build", "--exclude-resource-type", "unit_test", "--exclude", "tag:cross_db"]
    # the dates travel in the environment: vars that change every night would make dbt parse the whole project
    assert (json.loads(args[args.index("--vars") + 1]) if "--vars" in args else None) == expected_vars
    assert "--full-refresh" not in args
    assert "--full-refresh" in dbt_build_args(user_vars, full_refresh=True)
    # a heavy build (several dates, a first or full build): one model at a time, so that each has DuckDB's whole
    # memory limit; a night: dbt's threads
    assert "--threads" not in args
    heavy = dbt_build_args(user_vars, one_model_at_a_time=True)
    assert heavy[heavy.index("--threads") + 1] == "1"


@pytest.mark.parametrize(
    ("user_vars", "message"),
    [
        ("{", "dbt vars are not valid JSON"),
        ("[1]", "dbt vars must be a JSON object"),
        ('{"as_of_date": "2026-01-01"}', "dbt vars: as_of_date come from the partition"),
    ],
)
def test_dbt_build_args_refuse_bad_vars(user_vars, message):
    import dagster as dg

    from assets.dbt import dbt_build_args

    with pytest.raises(dg.Failure, match=message):
        dbt_build_args(user_vars)


@pytest.mark.parametrize("as_of", AS_OF_DATES, ids=str)
def test_predicted_value_agrees_with_the_reference(built, as_of):
    """SPEC section 8: the inputs worked out in pandas, fitted again, give the published fits and every column."""
    _, _, orders = linked(built, as_of)
    expected = reference(built, as_of)
    inputs = ref.purchase_days(orders, as_of, expected.loc[expected["orders_total"] > 0, "customer_key"])
    bg_nbd = clv.fit_bg_nbd(inputs["x"], inputs["t_x"], inputs["T"])
    gamma_gamma = clv.fit_gamma_gamma(inputs["x"], inputs["m_x"].fillna(0))
    fits = read(built, f"SELECT model, customers, parameters FROM marts.model_fits WHERE as_of_date = DATE '{as_of}'")
    fitted = {model: (n, json.loads(p)) for model, n, p in fits.itertuples(index=False)}
    assert fitted["bg_nbd"][0] == bg_nbd.customers and fitted["gamma_gamma"][0] == gamma_gamma.customers
    for fit in (bg_nbd, gamma_gamma):
        assert fit.converged, fit.reason
        assert fitted[fit.model][1] == pytest.approx(fit.parameters, rel=1e-6)

    actual = read(built, f"SELECT * FROM marts.customer_segments_history WHERE as_of_date = DATE '{as_of}'")
    actual = actual.set_index("customer_key").sort_index()
    scored = actual[actual["r_score"].notna()]
    assert sorted(scored.index) == sorted(inputs.index)
    inputs = inputs.loc[scored.index]
    x, t_x, T = (inputs[c].to_numpy(float) for c in ("x", "t_x", "T"))
    clv_365d = clv.expected_purchases(bg_nbd.parameters, 365, x, t_x, T) * clv.expected_avg_value(
        gamma_gamma.parameters, x, inputs["m_x"].fillna(0).to_numpy(float)
    )
    revenue = scored["annual_revenue"].astype(float).to_numpy()
    share = 0.2
    rising, falling = clv_365d > (1 + share) * revenue, clv_365d < (1 - share) * revenue
    potential = np.select([rising, falling], ["rising", "falling"], default="steady")
    assert (scored["repeat_purchase_days"].to_numpy() == x).all()
    assert scored["p_alive"].to_numpy() == pytest.approx(clv.p_alive(bg_nbd.parameters, x, t_x, T), rel=1e-6)
    assert scored["expected_purchases_90d"].to_numpy() == pytest.approx(
        clv.expected_purchases(bg_nbd.parameters, 90, x, t_x, T), rel=1e-6
    )
    assert scored["predicted_clv_365d"].to_numpy() == pytest.approx(clv_365d, rel=1e-6)
    # the class is compared away from its edges, where a relative 1e-6 could tip it
    clear = np.abs(clv_365d / np.maximum(revenue, 1e-9) - 1) - share > 1e-4
    assert (scored["potential_class"].to_numpy()[clear] == potential[clear]).all()
    assert set(scored["potential_class"]) <= {"rising", "steady", "falling"}
    # outside the scored population every column of section 8 is null
    assert actual.loc[actual["r_score"].isna(), SECTION_8].isna().all().all()


def test_a_model_that_cannot_be_fitted_leaves_its_columns_null_and_warns(built_copy):
    """Fewer scored customers than clv_min_customers: the run goes on, the models' columns stay null, model_fits
    says why and a warning per model is recorded; the other date keeps its fits."""
    result = materialize(DATED_MODELS, dbt_config={"vars": json.dumps({"clv_min_customers": 1_000_000})})
    assert result.success
    warehouse = built_copy / "warehouse.duckdb"
    fits = read(warehouse, "SELECT * FROM marts.model_fits ORDER BY as_of_date, model")
    latest = fits[fits["as_of_date"].dt.date == END_DATE]
    assert list(latest["model"]) == ["bg_nbd", "gamma_gamma"]
    assert latest["parameters"].isna().all() and not latest["converged"].any()
    assert latest["reason"].str.fullmatch(r"\d+ customers( with a repeat purchase)?, fewer than 1000000").all()
    assert fits.loc[fits["as_of_date"].dt.date != END_DATE, "parameters"].notna().all()

    segments = read(warehouse, f"SELECT * FROM marts.customer_segments_history WHERE as_of_date = DATE '{END_DATE}'")
    scored = segments["r_score"].notna()
    assert scored.any() and segments.loc[scored, "repeat_purchase_days"].notna().all()  # the inputs are still there
    assert segments[SECTION_8[1:]].isna().all().all()  # and every column a model predicts is null

    checks = read(
        warehouse,
        "SELECT check_name, severity, passed, observed FROM _crmseg.data_quality_results "
        f"WHERE check_type = 'model fit' AND run_id = '{result.run_id}' ORDER BY check_name",
    )
    assert list(checks["check_name"]) == [f"bg_nbd_fit_{END_DATE}", f"gamma_gamma_fit_{END_DATE}"]
    assert (checks["severity"] == "warn").all() and not checks["passed"].any()
    assert checks["observed"].str.startswith(f"not fitted as of {END_DATE}: ").all()


def test_a_history_written_before_a_column_existed_gains_it_and_a_run_replaces_only_its_date(built_copy):
    """The history's dates are replaced by the runs of their dates and kept otherwise: a column a newer crmseg adds
    is added to the history (null on the dates built before it), and a date run again has its rows once."""
    warehouse = built_copy / "warehouse.duckdb"
    query = "SELECT as_of_date, count(*) AS n, count(potential_class) AS classed FROM {} GROUP BY 1 ORDER BY 1"
    before = read(warehouse, query.format("intermediate.int_customer_segments"))
    with duck.connect(warehouse) as con:
        con.execute("ALTER TABLE intermediate.int_customer_segments DROP COLUMN potential_class")

    assert materialize(DATED_MODELS).success
    after = read(warehouse, query.format("marts.customer_segments_history"))
    assert list(after["n"]) == list(before["n"])  # each date once, as many rows as before
    assert list(after["as_of_date"].dt.date) == list(BUILT_DATES)
    assert list(after["classed"]) == [0, before["classed"].iloc[-1]] and after["classed"].iloc[-1] > 0
