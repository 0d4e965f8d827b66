"""One place for every source rule: crmseg/contract.py, the files written from it and the staging checked against it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crmseg import contract, duck
from crmseg.contract_files import ROOT, files

STAGING = ROOT / "dbt_project" / "models" / "staging"
# the warehouse type each contract type is staged as
STAGED_TYPES = {
    contract.TEXT: "VARCHAR",
    contract.INTEGER: "INTEGER",
    contract.DECIMAL: "DECIMAL(18,2)",
    contract.BOOLEAN: "BOOLEAN",
    contract.DATE: "DATE",
    contract.TIMESTAMP: "TIMESTAMP WITH TIME ZONE",
}
# when the row was landed, and staged: the start of the dbt build that staged it
LOAD_COLUMNS = [("_load_id", "VARCHAR"), ("_loaded_at", "TIMESTAMP WITH TIME ZONE"), ("_staged_at", "TIMESTAMP")]


def test_the_files_written_from_the_contract_are_current():
    stale = [
        str(path.relative_to(ROOT)) for path, text in files().items() if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"run `make contract`: {stale} differ from what crmseg/contract.py gives"


def staging_checks(table: contract.Table) -> dict[str, str]:
    """Each reason code the table's base staging model gives, with the condition that gives it."""
    sql = (STAGING / table.source / "base" / f"base_{table.source}__{table.name}.sql").read_text()
    checks = re.findall(r"case\s+when\s+(.*?)\s+then\s+'([^']+)'\s+end", sql, re.DOTALL)
    return {code: " ".join(condition.split()) for condition, code in checks}


@pytest.mark.parametrize("table", contract.TABLES, ids=lambda t: t.qualified)
def test_staging_gives_exactly_the_reasons_the_contract_names(table):
    checks = staging_checks(table)
    assert set(checks) == contract.reject_reasons(table)
    null_key = checks[f"null_key:{','.join(table.key)}"]
    assert all(re.search(rf"\b{name}(__text)? is null", null_key) for name in table.key), null_key
    for c in table.columns:
        if c.required and not c.key:
            assert re.search(rf"\b{c.name}(__text)? is null$", checks[f"missing_required:{c.name}"]), c.name
        if c.accepted:
            assert (
                f"not in {{{{ accepted_values('{table.qualified}', '{c.name}') }}}}"
                in checks[f"unknown_value:{c.name}"]
            )
        if c.has_range:
            assert f"in_range('{table.qualified}', '{c.name}')" in checks[f"out_of_range:{c.name}"]
        if c.format == contract.TAX_ID:
            assert f"valid_tax_id('{c.name}')" in checks[f"invalid_format:{c.name}"]
        elif c.format:
            assert f"format_pattern('{c.format}')" in checks[f"invalid_format:{c.name}"]
        if c.type != contract.TEXT:
            assert checks[f"invalid_type:{c.name}"] == f"{c.name}__text is not null and {c.name} is null"
        if c.references:
            assert checks[f"unknown_parent:{c.name}"].startswith(f"{c.name} is not null and not is_")


def test_the_staged_tables_have_the_contract_columns_and_types(built_two_dates):
    with duck.connect(built_two_dates.warehouse, read_only=True) as con:
        for table in contract.TABLES:
            staged = con.execute(
                f"SELECT column_name, column_type FROM (DESCRIBE staging.stg_{table.source}__{table.name})"
            ).fetchall()
            expected = [(c.name, STAGED_TYPES[c.type]) for c in table.columns] + LOAD_COLUMNS
            assert staged == expected, table.qualified


def test_the_suites_and_staging_find_the_same_malformed_emails_and_phones(built_two_dates):
    """The suites judge formats on values normalised as staging normalises them: on the first (full) load, each
    format check fails for exactly the rows staging rejects for that format."""
    checked = 0
    with duck.connect(built_two_dates.warehouse, read_only=True) as con:
        for table in contract.TABLES:
            for column in (c for c in table.columns if c.format in (contract.EMAIL, contract.PHONE)):
                suite = con.execute(
                    "SELECT unexpected_count FROM _crmseg.data_quality_results WHERE table_name = ? AND check_name = ? "
                    "ORDER BY checked_at LIMIT 1",
                    [table.qualified, f"{column.name}_format"],
                ).fetchone()[0]
                staging = con.execute(
                    "SELECT count(*) FROM quality.rejected_rows WHERE source_table = ? "
                    "AND list_contains(string_split(reject_reasons, ';'), ?)",
                    [table.qualified, f"invalid_format:{column.name}"],
                ).fetchone()[0]
                assert suite == staging, (table.qualified, column.name)
                checked += suite
    assert checked > 0  # the demo plants malformed e-mails and phones


def test_a_value_added_to_the_contract_reaches_every_file_written_from_it(monkeypatch):
    """What `make contract` writes follows the contract: one new lead source, every place that lists them."""
    accounts = contract.table("crm.accounts")
    lead_source = accounts.column("lead_source")
    widened = contract.Column(lead_source.name, accepted=(*lead_source.accepted, "partner_portal"))
    columns = tuple(widened if c.name == "lead_source" else c for c in accounts.columns)
    tables = tuple(
        contract.Table(**{**t.__dict__, "columns": columns}) if t is accounts else t for t in contract.TABLES
    )
    monkeypatch.setattr("crmseg.contract_files.TABLES", tables)
    changed = {path.relative_to(ROOT) for path, text in files().items() if path.read_text() != text}
    assert changed == {Path("expectations/suites/crm.accounts.json"), Path("dbt_project/macros/source_contract.sql")}
    assert all("partner_portal" in files()[ROOT / path] for path in changed)
