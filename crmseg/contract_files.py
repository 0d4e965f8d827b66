"""The files written from the source contract: `make contract` (python -m crmseg.contract_files).

- `expectations/suites/<source>.<table>.json`: the Great Expectations suite of
  each raw table. Each expectation carries its check name, its severity and,
  for the table-level checks, its scope and setting in `meta`; the runner and
  the Dagster asset checks read them there.
- `dbt_project/macros/source_contract.sql`: the keys, accepted values,
  format patterns and full-width characters the staging models use.

A test fails when a committed file differs from what the contract gives, so
neither can drift from `crmseg/contract.py`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from crmseg.contract import DATE, FORMAT_PATTERNS, FULL_WIDTH, HALF_WIDTH, PRESENT_MOSTLY, SEVERITY, TABLES, Table

ROOT = Path(__file__).resolve().parent.parent
SUITES_DIR = ROOT / "expectations" / "suites"
DBT_MACRO = ROOT / "dbt_project" / "macros" / "source_contract.sql"


def suite(table: Table) -> dict:
    """Every check of the table: presence, keys, values, formats, dates, order, volume and freshness."""
    required = list(table.required)
    checks = [check("required_columns", "expect_table_columns_to_match_set", column_set=required, exact_match=False)]
    # keys and required values: present and keys unique in all but a small share of a load
    present = {"mostly": PRESENT_MOSTLY}
    for name in required:
        checks.append(
            check(f"{name}_not_null", "expect_column_values_to_not_be_null", "not_null", column=name, **present)
        )
    if len(table.key) == 1:
        unique = check(f"{table.key[0]}_unique", "expect_column_values_to_be_unique", "unique", column=table.key[0])
    else:
        unique = check("key_unique", "expect_compound_columns_to_be_unique", "unique", column_list=list(table.key))
    unique["kwargs"].update(present)
    checks.append(unique)
    for c in table.columns:
        if c.accepted:
            checks.append(
                check(
                    f"{c.name}_accepted",
                    "expect_column_values_to_be_in_set",
                    "accepted",
                    column=c.name,
                    value_set=list(c.accepted),
                )
            )
        if c.has_range:
            bounds = {k: v for k, v in (("min_value", c.minimum), ("max_value", c.maximum)) if v is not None}
            checks.append(
                check(f"{c.name}_range", "expect_column_values_to_be_between", "range", column=c.name, **bounds)
            )
        if c.format:
            checks.append(
                check(
                    f"{c.name}_format",
                    "expect_column_values_to_match_regex",
                    "format",
                    column=c.name,
                    regex=f"^(?:{FORMAT_PATTERNS[c.format]})$",
                )
            )
    for c in table.columns:
        if c.happened:
            load = "_loaded_on" if c.type == DATE else "_loaded_at"
            checks.append(pair(f"{c.name}_not_after_load", "not_after_load", earlier=c.name, later=load))
    for earlier, later in table.in_order:
        checks.append(pair(f"{earlier}_not_after_{later}", "in_order", earlier=earlier, later=later))
    checks.append(check("volume", "expect_table_row_count_to_be_between", min_value={"$PARAMETER": "min_rows"}))
    checks[-1]["meta"].update(scope="table", max_drop_share=table.max_drop_share)
    if table.fresh_column:
        # the newest change that has happened: a date typed a decade ahead says nothing of freshness
        checks.append(
            check(
                "freshness",
                "expect_column_max_to_be_between",
                column=table.fresh_column,
                min_value={"$PARAMETER": "fresh_after"},
                condition_parser="pandas",
                row_condition=f"{table.fresh_column} <= _loaded_at",
            )
        )
        checks[-1]["meta"].update(scope="table", max_age_days=table.max_age_days)
    return {
        "name": f"raw_{table.source}.{table.name}",
        "description": f"Quality gate of {table.qualified} as landed; written from crmseg/contract.py.",
        "expectations": checks,
    }


def check(name: str, type_: str, kind: str | None = None, **kwargs) -> dict:
    """One expectation; its severity is the contract's for its kind of check (by default, its name)."""
    return {"type": type_, "kwargs": kwargs, "meta": {"severity": SEVERITY[kind or name], "check": name}}


def pair(name: str, kind: str, earlier: str, later: str) -> dict:
    """`earlier` must not come after `later` where both are given."""
    return check(
        name,
        "expect_column_pair_values_a_to_be_greater_than_b",
        kind,
        column_A=later,
        column_B=earlier,
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )


def dbt_macro() -> str:
    """The rules staging checks, as a Jinja literal that the macros in source_rules.sql read."""
    lines = ["    {{ return({", "        'tables': {"]
    for table in TABLES:
        accepted = [f"'{c.name}': {json.dumps(list(c.accepted))}" for c in table.columns if c.accepted]
        ranges = [f"'{c.name}': [{_jinja(c.minimum)}, {_jinja(c.maximum)}]" for c in table.columns if c.has_range]
        lines.append(f"            '{table.qualified}': {{")
        lines.append(f"                'key': {json.dumps(list(table.key))},")
        for name, rules in (("accepted", accepted), ("ranges", ranges)):
            inner = "".join(f"\n                    {rule}," for rule in rules)
            lines.append(f"                '{name}': {{{inner}{chr(10) + ' ' * 16 if rules else ''}}},")
        lines.append("            },")
    lines += ["        },", "        'formats': {"]
    lines += [f"            '{name}': {json.dumps(pattern)}," for name, pattern in FORMAT_PATTERNS.items()]
    lines += ["        },", f"        'full_width': {json.dumps(FULL_WIDTH, ensure_ascii=False)},"]
    lines += [f"        'half_width': {json.dumps(HALF_WIDTH)},", "    }) }}"]
    return "\n".join(
        [
            "{#- Written from crmseg/contract.py (SPEC section 4) by `make contract`: change the contract,",
            "    not this file. The staging models read it through macros/source_rules.sql. -#}",
            "{% macro source_contract() -%}",
            *lines,
            "{%- endmacro %}",
            "",
        ]
    )


def _jinja(bound: int | None) -> str:
    return "none" if bound is None else str(bound)


def files() -> dict[Path, str]:
    """Every file the contract writes, with its content."""
    written = {SUITES_DIR / f"{table.qualified}.json": json.dumps(suite(table), indent=2) + "\n" for table in TABLES}
    written[DBT_MACRO] = dbt_macro()
    return written


if __name__ == "__main__":
    for path, text in files().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
