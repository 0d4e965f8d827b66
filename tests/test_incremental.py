"""A night costs what changed: the incremental build gives, row for row, what a full rebuild gives, and its staging
tests check what it staged."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

import duckdb

from crmseg.settings import Settings
from tests.conftest import END_DATE, land_sources, materialize, rerate, source_urls, sqlite

# the changes are made now: the demo sources hold dirty moments after END_DATE, which the landing's high-water
# mark passes
CHANGED_AT = datetime.now().isoformat(sep=" ", timespec="seconds")
LATE_ORDER = "SO-LATE-NIGHT"
# a campaign the first night rejects (its start date is not a date) and the next day removes
UNDATED_CAMPAIGN = "CMP-UNDATED"
# the tables the models build (views read them); the raw landings and the load state are the same in both
BUILT_SCHEMAS = ("staging", "history", "intermediate", "quality", "marts")
# when, and by which dbt build, a row was written (and whether appended to an earlier build's), and how long a fit
# took: each build has its own
BUILD_STAMPS = ("_staged_at", "_appended", "dbt_invocation_id", "fit_seconds")
# a base model's rows that a later build of the same record key superseded (they stay until the table is compacted)
SUPERSEDED = (
    "EXISTS (SELECT 1 FROM {table} AS newer "
    "WHERE newer.record_key = kept.record_key AND newer._staged_at > kept._staged_at)"
)


def next_days_changes(sources: Path) -> tuple[str, str]:
    """A day of changes of every kind: inserts, updates, a deletion, a late order, rows made and left rejected.

    Returns the customer whose name is removed (it is rejected, and with it its orders and their lines) and the
    campaign removed (its responses are left without it).
    """
    erp, crm = sources / "erp.sqlite", sources / "crm.sqlite"
    with sqlite3.connect(erp) as con:
        rejected, busy = con.execute(
            "SELECT min(CASE WHEN customer_name IS NOT NULL THEN customer_code END), max(customer_code) FROM customers "
            "WHERE customer_code IN (SELECT customer_code FROM sales_orders)"
        ).fetchone()
    sqlite(
        erp,
        f"UPDATE customers SET customer_name = NULL, updated_at = '{CHANGED_AT}' WHERE customer_code = '{rejected}'",
        # an order is cancelled
        f"UPDATE sales_orders SET status = 'cancelled', updated_at = '{CHANGED_AT}' "
        f"WHERE order_id = (SELECT min(order_id) FROM sales_orders WHERE customer_code = '{busy}')",
        # an order dated a month ago arrives today, with a good line and a line whose quantity is not a number
        "INSERT INTO sales_orders (order_id, customer_code, order_date, status, total_amount, updated_at) "
        f"VALUES ('{LATE_ORDER}', '{busy}', date('{END_DATE}', '-30 days'), 'completed', 800.00, '{CHANGED_AT}')",
        "INSERT INTO sales_order_lines (order_id, line_no, product_code, quantity, unit_price, line_amount) "
        f"VALUES ('{LATE_ORDER}', 1, 'PRI-0030', 1, 500, 500), ('{LATE_ORDER}', 2, 'PRI-0031', 'many', 300, 300)",
    )
    with sqlite3.connect(crm) as con:
        gone_campaign = con.execute("SELECT min(campaign_id) FROM campaign_responses").fetchone()[0]
    sqlite(
        crm,
        # an account is deleted in the CRM, another moves industry, and a new one is created
        f"UPDATE accounts SET is_deleted = 1, updated_at = '{CHANGED_AT}' "
        "WHERE account_id = (SELECT min(account_id) FROM accounts WHERE is_deleted = 0)",
        f"UPDATE accounts SET industry = 'shipping', updated_at = '{CHANGED_AT}' "
        "WHERE account_id = (SELECT max(account_id) FROM accounts WHERE is_deleted = 0)",
        "INSERT INTO accounts (account_id, account_name, customer_type, created_at, updated_at, is_deleted) "
        f"VALUES ('ACC-NEW-NIGHT', '新夜贸易有限公司', 'enterprise', '{CHANGED_AT}', '{CHANGED_AT}', 0)",
        # a campaign with responses is removed outright (campaigns are loaded whole every night), and a rejected one
        f"DELETE FROM campaigns WHERE campaign_id IN ('{gone_campaign}', '{UNDATED_CAMPAIGN}')",
    )
    tickets = sources / "service" / "tickets.jsonl"
    first_ticket = json.loads(tickets.read_text().splitlines()[0])["ticket_id"]
    rerate(tickets, first_ticket, 1, CHANGED_AT)
    return rejected, gone_campaign


def built_tables(warehouse: Path) -> dict[str, list[str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT schema_name || '.' || table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
            f"WHERE schema_name IN {BUILT_SCHEMAS} AND NOT internal "
            "AND (schema_name, table_name) IN (SELECT (schema_name, table_name) FROM duckdb_tables()) "
            "GROUP BY ALL ORDER BY 1"
        ).fetchall()
    return dict(rows)


def compared(column: str) -> str:
    """The column as the two builds must agree on it: the moment a row was staged is when each build ran."""
    if column == "record":  # a rejected row as JSON, staged row and all
        return """json_merge_patch(record, '{"_staged_at": null, "_appended": null}')"""
    return f'"{column}"'


def current(table: str) -> str:
    """The table's rows as built: a base model's are those no later build of their key superseded."""
    if ".staging.base_" not in table:
        return table
    return f"(SELECT * FROM {table} AS kept WHERE NOT {SUPERSEDED.format(table=table)})"


def rows_only_in(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], one: str, other: str) -> int:
    listed = ", ".join(compared(c) for c in columns if c not in BUILD_STAMPS)
    return con.execute(
        f"SELECT count(*) FROM (SELECT {listed} FROM {current(f'{one}.{table}')} "
        f"EXCEPT ALL SELECT {listed} FROM {current(f'{other}.{table}')})"
    ).fetchone()[0]


def dbt_on(data_dir: Path, target: Path, *args: str) -> dict:
    """A dbt command on this data dir (as `dbt <args>`): the result of its one node."""
    (result,) = dbt_results(data_dir, target, *args).values()
    return result


def dbt_results(data_dir: Path, target: Path, *args: str) -> dict[str, dict]:
    """A dbt command on this data dir (as `dbt <args>`): the result of each node, by its name."""
    from assets.dbt import DBT_EXECUTABLE, DBT_PROJECT_DIR, with_saved_parse

    with_saved_parse(data_dir, target)  # dbt parses nothing again
    subprocess.run(
        [DBT_EXECUTABLE, *args, "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target),
         "--log-path", str(target)],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "CRMSEG_DATA_DIR": str(data_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
    )  # fmt: skip
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {result["unique_id"].split(".")[2]: result for result in results}


def failing_values_of_unique_test(data_dir: Path, model: str, tmp_path: Path) -> int:
    """`dbt test` of the model's unique tests on this data dir: how many values they find duplicated."""
    return dbt_on(data_dir, tmp_path / "unique-test", "test", "--select", f"{model},test_name:unique")["failures"]


def test_an_incremental_night_builds_row_for_row_what_a_full_rebuild_builds(env, landed, tmp_path, monkeypatch):
    sqlite(
        env / "crm.sqlite",
        f"INSERT INTO campaigns (campaign_id, campaign_name, start_date) VALUES ('{UNDATED_CAMPAIGN}', 'x', 'soon')",
    )
    land_sources(landed, source_urls(env), load_id="first-night", tables=["crm.campaigns"])
    assert materialize("dbt").success  # the first night: every model built from the first landing
    with duckdb.connect(str(landed), read_only=True) as con:
        assert con.execute(
            "SELECT reject_reasons FROM quality.rejected_rows WHERE source_table = 'crm.campaigns'"
        ).fetchall() == [("invalid_type:start_date",)]

    rejected_customer, gone_campaign = next_days_changes(env)
    landings = land_sources(landed, source_urls(env), load_id="next-night")
    assert landings["erp.sales_orders"].mode == "incremental"
    assert landings["erp.sales_order_lines"].rows_extracted < landings["erp.sales_order_lines"].rows_in_raw
    assert materialize("dbt").success  # the next night: the staging takes only what changed

    rebuilt = tmp_path / "rebuilt"
    rebuilt.mkdir()
    shutil.copy(landed, rebuilt / "warehouse.duckdb")  # the same landings, built again from nothing
    monkeypatch.setenv("CRMSEG_DATA_DIR", str(rebuilt))
    assert Settings.from_env().warehouse_path == rebuilt / "warehouse.duckdb"
    assert materialize("dbt", dbt_config={"full_refresh": True}).success

    tables = built_tables(landed)
    assert tables == built_tables(rebuilt / "warehouse.duckdb")
    assert {"staging.base_erp__sales_order_lines", "intermediate.int_customer_segments"} <= set(tables)
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{landed}' AS incremental (READ_ONLY)")
        con.execute(f"ATTACH '{rebuilt / 'warehouse.duckdb'}' AS rebuilt (READ_ONLY)")
        differing = {
            table: (
                rows_only_in(con, table, columns, "incremental", "rebuilt"),
                rows_only_in(con, table, columns, "rebuilt", "incremental"),
            )
            for table, columns in tables.items()
        }
        # the changes reached the staging: the late order's lines, one of them rejected, and the rejected customer's
        lines = current("incremental.staging.base_erp__sales_order_lines")
        reasons = dict(
            con.execute(f"SELECT line_no, reject_reasons FROM {lines} WHERE order_id = '{LATE_ORDER}'").fetchall()
        )
        responses_reasons = con.execute(
            f"SELECT DISTINCT reject_reasons FROM {current('incremental.staging.base_crm__campaign_responses')} "
            "WHERE campaign_id = ?",
            [gone_campaign],
        ).fetchall()
        # the night staged again only what changed
        restaged, staged = con.execute(
            "WITH lines AS (SELECT _staged_at FROM incremental.staging.base_erp__sales_order_lines) "
            "SELECT count(*) FILTER (WHERE _staged_at = (SELECT max(_staged_at) FROM lines)), count(*) FROM lines"
        ).fetchone()
        orders_reasons = con.execute(
            f"SELECT DISTINCT reject_reasons FROM {current('incremental.staging.base_erp__sales_orders')} "
            "WHERE customer_code = ?",
            [rejected_customer],
        ).fetchall()
    assert {table: counts for table, counts in differing.items() if counts != (0, 0)} == {}
    assert reasons == {1: "", 2: "invalid_type:quantity"}
    assert orders_reasons == [("rejected_parent:customer_code",)]
    assert responses_reasons == [("unknown_parent:campaign_id",)]
    assert 0 < restaged < staged / 10

    # the night appended what it staged again: the rows it superseded stay in the table, out of the staged view, until
    # a build finds more than staging_compact_share of the table appended and writes it again with its current rows
    orders, view = "staging.base_erp__sales_orders", "SELECT * FROM staging.stg_erp__sales_orders"
    superseded = f"SELECT count(*) FROM {orders} AS kept WHERE {SUPERSEDED.format(table=orders)}"
    with duckdb.connect(str(landed), read_only=True) as con:
        assert con.execute(superseded).fetchone()[0] >= 2  # the cancelled order, the rejected customer's orders
        staged_orders = con.execute(view).fetchall()
    result = dbt_on(landed.parent, tmp_path / "compact", "run", "--select", "base_erp__sales_orders",
                    "--vars", '{"staging_compact_share": 0}')  # fmt: skip
    assert result["status"] == "success", result["message"]
    with duckdb.connect(str(landed), read_only=True) as con:
        assert con.execute(superseded).fetchone()[0] == 0
        assert con.execute(f"SELECT count(*) FILTER (WHERE _appended) FROM {orders}").fetchone()[0] == 0
        assert sorted(con.execute(view).fetchall()) == sorted(staged_orders)

    # the night's staging tests checked what the night staged, and for uniqueness every row sharing a value with
    # it: a duplicate pairing a new order with an old one fails, one between two old orders is not looked at again
    # (it would have failed the night that staged it)
    with duckdb.connect(str(landed)) as con:
        first_build, old_order = con.execute(
            "SELECT _staged_at, min(order_id) FROM staging.stg_erp__sales_orders GROUP BY 1 ORDER BY 1 LIMIT 1"
        ).fetchone()
        for order_id in (LATE_ORDER, old_order):  # staged by the night, and by the first build
            con.execute(
                "INSERT INTO staging.base_erp__sales_orders SELECT * REPLACE (record_key || '-copy' AS record_key, "
                "? AS _staged_at) FROM staging.base_erp__sales_orders WHERE order_id = ?",
                [first_build, order_id],
            )
        assert con.execute(
            "SELECT count(*) FROM (SELECT order_id FROM staging.stg_erp__sales_orders GROUP BY 1 HAVING count(*) > 1)"
        ).fetchone() == (2,)
    assert failing_values_of_unique_test(landed.parent, "stg_erp__sales_orders", tmp_path) == 1
    # a build that stages nothing of the table (nothing landed since) checks none of its rows: the night's were the
    # night's to check
    built = dbt_results(landed.parent, tmp_path / "nothing-staged", "build", "--select", "base_erp__sales_orders",
                        "stg_erp__sales_orders,test_name:unique")  # fmt: skip
    assert sorted(result["status"] for result in built.values()) == ["pass", "success"], built.keys()
    assert not any(result["failures"] for result in built.values())
