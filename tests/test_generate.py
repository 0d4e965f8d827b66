"""`crmseg generate`: deterministic, the sizes asked for, every planted segment and every kind of dirt."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import crmseg.generate
from crmseg import contract, duck
from crmseg.generate import dirty
from crmseg.generate.sinks import PARQUET_TYPES
from crmseg.sources import SourceLocation
from tests import reference_segments as ref
from tests.conftest import END_DATE, make_sources


def source_relation(out: Path, table: contract.Table) -> str:
    """The generated table, every column read as text, as a source-agnostic reader sees it."""
    if table.source == "service":
        columns = ", ".join(f"'{c}': 'VARCHAR'" for c in table.column_names)
        return f"read_json('{out}/service/{table.name}.jsonl', columns = {{{columns}}})"
    return f"sqlite_scan('{out}/{table.source}.sqlite', '{table.name}')"


def read_sources(out: Path) -> dict[str, pd.DataFrame]:
    with duck.connect() as con:
        con.execute("SET sqlite_all_varchar = true")
        return {t.qualified: con.execute(f"SELECT * FROM {source_relation(out, t)}").df() for t in contract.TABLES}


def content_hashes(out: Path) -> dict[str, tuple]:
    with duck.connect() as con:
        con.execute("SET sqlite_all_varchar = true")
        return {
            t.qualified: con.execute(f"SELECT count(*), sum(hash(t)) FROM {source_relation(out, t)} t").fetchone()
            for t in contract.TABLES
        }


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("generated")
    return out, make_sources(out, customers=400, seed=11, dirty_rate=0.02)


def test_same_seed_same_data_and_another_seed_other_data(tmp_path, generated):
    out, _ = generated
    make_sources(tmp_path / "again", customers=400, seed=11, dirty_rate=0.02)
    make_sources(tmp_path / "other", customers=400, seed=12, dirty_rate=0.02)
    assert content_hashes(tmp_path / "again") == content_hashes(out)
    assert content_hashes(tmp_path / "other")["erp.sales_orders"] != content_hashes(out)["erp.sales_orders"]


def test_sizes_match_the_request_and_the_manifest(generated):
    out, manifest = generated
    frames = read_sources(out)
    assert {name: len(frame) for name, frame in frames.items()} == manifest["rows"]
    assert json.loads((out / "manifest.json").read_text())["rows"] == manifest["rows"]
    accounts = frames["crm.accounts"]
    assert accounts["account_id"].dropna().nunique() == 400 - manifest["dirty"]["null_keys"]["crm.accounts.account_id"]
    lines_per_customer = len(frames["erp.sales_order_lines"]) / 400
    assert 10 < lines_per_customer < 30
    for column, values in [("customer_type", contract.CUSTOMER_TYPES), ("company_size", contract.COMPANY_SIZES)]:
        assert set(values) <= set(accounts[column].dropna())
    assert set(frames["erp.sales_orders"]["status"]) >= set(contract.ORDER_STATUSES)
    assert set(frames["service.tickets"]["ticket_type"].dropna()) == set(contract.TICKET_TYPES)


def test_erp_customers_link_by_every_rule_and_some_never(generated):
    out, _ = generated
    frames = read_sources(out)
    links = ref.link_erp_customers(frames["crm.accounts"], frames["erp.customers"].dropna(subset=["customer_code"]))
    rules = links["rule"].fillna("unmatched").value_counts()
    for rule in ("crm_account_id", "tax_id", "email", "phone", "unmatched"):
        assert rules.get(rule, 0) > 0, rules
    assert rules["crm_account_id"] < len(links) * 0.9  # carried only part of the time


def segment_frame(out: Path) -> pd.DataFrame:
    frames = read_sources(out)
    accounts = frames["crm.accounts"].dropna(subset=["account_id"]).drop_duplicates("account_id")
    links = ref.link_erp_customers(accounts, frames["erp.customers"].dropna(subset=["customer_code"]))
    links["customer_key"] = links["account_id"].fillna("erp:" + links["customer_code"])
    orders = frames["erp.sales_orders"].dropna(subset=["order_id"]).drop_duplicates("order_id")
    orders = orders.merge(links[["customer_code", "customer_key"]], on="customer_code")
    orders["total_amount"] = orders["total_amount"].astype(float)
    orders = orders[orders["total_amount"] >= 0]
    orders["order_date"] = pd.to_datetime(orders["order_date"]).dt.date
    responses = frames["crm.campaign_responses"].rename(columns={"account_id": "customer_key"})
    tickets = (
        frames["service.tickets"].dropna(subset=["crm_account_id"]).rename(columns={"crm_account_id": "customer_key"})
    )
    local = pd.to_datetime(tickets["created_at"], utc=True).dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    tickets = tickets.assign(created_at=local, satisfaction_score=tickets["satisfaction_score"].astype(float))
    customers = pd.concat(
        [accounts[["account_id"]].rename(columns={"account_id": "customer_key"}), orders[["customer_key"]]]
    )
    return ref.segments(customers, orders, END_DATE, responses, tickets)


def test_every_planted_segment_is_present(generated):
    out, manifest = generated
    segments = segment_frame(out)
    expected = {
        "rfm_segment": set(ref.GRID[5].values()) | {s for row in ref.GRID.values() for s in row.values()},
        "rfm_segment_cn8": set(ref.CN8.values()),
        "lifecycle_stage": {"prospect", "new", "one_time", "repeat", "loyal", "declining", "churned"},
        "value_tier": {"strategic", "key", "ordinary"},
        "strategy_group": {"high_value", "growth", "potential", "risk"},
        "abc_class": {"A", "B", "C"},
    }
    for column, values in expected.items():
        assert set(segments[column].dropna()) == values, column
    assert manifest["planted_customers"] > 0


def test_top_fifth_carries_most_revenue(tmp_path):
    make_sources(tmp_path, customers=20_000, seed=3, dirty_rate=0)
    with duck.connect() as con:
        share = con.execute(
            f"""WITH spend AS (
                    SELECT customer_code, sum(total_amount::DECIMAL(18, 2)) AS amount
                    FROM sqlite_scan('{tmp_path}/erp.sqlite', 'sales_orders')
                    WHERE status = 'completed' GROUP BY ALL),
                ranked AS (SELECT amount, row_number() OVER (ORDER BY amount DESC) AS position, count(*) OVER () AS n
                           FROM spend)
                SELECT sum(amount) FILTER (position <= n / 5) / sum(amount) FROM ranked"""
        ).fetchone()[0]
    assert 0.70 <= share <= 0.85, share


@pytest.mark.parametrize("kind", sorted(dirty.KINDS))
def test_every_dirty_kind_is_planted_at_the_rate(generated, kind):
    out, manifest = generated
    frames = read_sources(out)
    for qualified, columns in dirty.KINDS[kind].items():
        frame = frames[qualified]
        total = manifest["rows"][qualified]
        planted = sum(n for where, n in manifest["dirty"][kind].items() if where.startswith(qualified))
        # the rate of the table's rows, rounded once per chunk and column
        assert abs(planted - 0.02 * total) <= len(columns) + 1, (qualified, planted, total)
        assert planted > 0
        assert observed(kind, qualified, frame) >= planted, (kind, qualified)


def observed(kind: str, qualified: str, frame: pd.DataFrame) -> int:
    """How many rows of the kind the data itself shows, found without the manifest."""
    table = contract.table(qualified)
    if kind == "duplicate_rows":
        return int(frame.duplicated(keep="first").sum())
    if kind == "null_keys":
        return int(frame[list(table.key)].isna().any(axis=1).sum())
    if kind == "messy_contacts":
        text = frame.filter(regex="email|phone").fillna("")
        messy = text.apply(lambda c: c.str.contains(r"^\s|\s$|[A-Z]|\+86|0086|[０-９]", regex=True))
        return int(messy.sum().sum())
    if kind == "malformed_contacts":
        emails = frame.filter(regex="email").fillna("x@y.cn")
        phones = frame.filter(regex="phone").fillna("")
        bad = (
            emails.apply(lambda c: ~c.str.strip().str.contains(r"^[^@\s#]+@[^@\s]+\.[^@\s]+$", case=False)).sum().sum()
        )
        bad += phones.apply(lambda c: c.str.len().between(1, 6)).sum().sum()
        if "tax_id" in frame:
            bad += int(sum(not ref_tax_id_valid(v) for v in frame["tax_id"].dropna()))
        return int(bad)
    if kind == "unknown_enums":
        return int(sum((~frame[c.name].dropna().isin(c.accepted)).sum() for c in table.columns if c.accepted))
    if kind == "future_dates":
        column = "order_date" if "order_date" in frame else "created_at"
        days = pd.to_datetime(frame[column], utc=True, format="mixed").dt.tz_convert("Asia/Shanghai").dt.date
        return int((days > END_DATE).sum())
    if kind == "negative_amounts":
        return int((frame["total_amount"].astype(float) < 0).sum())
    if kind == "unknown_customer_orders":
        return int(frame["customer_code"].str.startswith("C9").sum())
    if kind == "tickets_without_identifier":
        return int(frame[["crm_account_id", "customer_email", "customer_phone"]].isna().all(axis=1).sum())
    raise AssertionError(kind)


USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def ref_tax_id_valid(code: str) -> bool:
    """GB 32100-2015 check character, written from the standard."""
    if len(code) != 18 or any(c not in USCC_CHARSET for c in code):
        return False
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31] == code[17]


def test_a_directory_gets_the_same_tables_as_parquet_folders_the_pipeline_reads(tmp_path, monkeypatch):
    """`--crm-url DIR --erp-url DIR`: a folder of Parquet files per table, a file per chunk of customers, holding
    the rows SQLite gets, each in its contract type; the landing reads each folder as its table."""
    monkeypatch.setattr(crmseg.generate, "CHUNK_SIZE", 150)  # 400 customers: three chunks
    make_sources(tmp_path / "sqlite", customers=400, seed=11, dirty_rate=0.02)
    folders = {source: str(tmp_path / "parquet" / source) for source in ("crm", "erp")}
    manifest = make_sources(
        tmp_path / "parquet", customers=400, seed=11, dirty_rate=0.02, crm_url=folders["crm"], erp_url=folders["erp"]
    )
    assert not list((tmp_path / "parquet").glob("*.sqlite"))
    with duck.connect() as con:
        for table in contract.TABLES:
            if table.source == "service":
                continue
            parts = sorted(p.name for p in (Path(folders[table.source]) / table.name).iterdir())
            assert parts == (
                ["part-00000.parquet"] if table.name == "campaigns" else [f"part-0000{n}.parquet" for n in range(3)]
            )
            location = SourceLocation.parse(table.source, folders[table.source])
            typed = ", ".join(f"CAST({c.name} AS {PARQUET_TYPES[c.type]})" for c in table.columns)
            in_sqlite = f"SELECT {typed} FROM sqlite_scan('{tmp_path}/sqlite/{table.source}.sqlite', '{table.name}')"
            in_parquet = f"SELECT {typed} FROM {location.relation(con, table.name)}"
            assert (
                con.execute(f"SELECT count(*) FROM ({in_parquet})").fetchone()[0] == manifest["rows"][table.qualified]
            )
            for one, other in ((in_sqlite, in_parquet), (in_parquet, in_sqlite)):
                assert con.execute(f"SELECT count(*) FROM ({one} EXCEPT ALL {other})").fetchone()[0] == 0, table.name
