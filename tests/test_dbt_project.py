"""The dbt project keeps DuckDB-only SQL in macros/cross_db/, so the same models can run on Spark or PostgreSQL.

Every model, snapshot, data test and macro outside macros/cross_db/ is read
without its Jinja and string literals, and must use none of the constructs
only DuckDB has: those go through a macro of macros/cross_db/ (adapter.dispatch
with the DuckDB SQL as default__), so another engine adds an implementation
instead of editing models. Every ORDER BY says where nulls go, since engines
differ on it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"
CROSS_DB = DBT_PROJECT / "macros" / "cross_db"

# construct -> the pattern that finds it in SQL without Jinja and string literals
DUCKDB_ONLY = {
    "QUALIFY": r"\bqualify\b",
    "try_cast": r"\btry_cast\s*\(",
    "list functions": r"\b(list_\w+|list|len|range|unnest|flatten|array_length)\s*\(",
    "list literals and indexes": r"\[",
    "infinite dates": r"\binfinity\b",
    "columns(...)": r"\bcolumns\s*\(",
    "* exclude / * replace": r"\*\s*(exclude|replace)\b",
    "regexp_full_match / regexp_matches": r"\bregexp_(full_match|matches)\b",
    "regexp_replace (the 'g' flag)": r"\bregexp_replace\b",
    "integer division //": r"//",
    "string_agg": r"\bstring_agg\b",
    "generate_series": r"\bgenerate_series\b",
    "date minus date": r"\b[\w.]*_(date|on)\s*-\s*[\w.]*_(date|on)\b",
    "arg_max / arg_min": r"\barg_(max|min)\b",
    "to_json": r"\bto_json\b",
    "group by all": r"\bgroup\s+by\s+all\b",
    ":: casts": r"::",
    "strlen": r"\bstrlen\b",
    "any_value": r"\bany_value\b",
    "varchar (a type name Spark lacks)": r"\bvarchar\b",
}

JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
STRING = re.compile(r"'(?:[^']|'')*'")
COMMENT = re.compile(r"--[^\n]*")


def checked_files() -> list[Path]:
    folders = ("models", "snapshots", "tests", "macros")
    files = [p for folder in folders for p in (DBT_PROJECT / folder).rglob("*.sql")]
    return sorted(p for p in files if CROSS_DB not in p.parents)


def bare_sql(text: str) -> str:
    """The SQL a reader writes by hand: no Jinja, no comments, no string literals."""
    return STRING.sub("''", COMMENT.sub("", JINJA.sub(" ", text)))


def duckdb_only(sql: str) -> list[str]:
    return [name for name, pattern in DUCKDB_ONLY.items() if re.search(pattern, sql, re.IGNORECASE)]


def order_items_without_nulls(sql: str) -> list[str]:
    """The items of every ORDER BY (inside a window or an aggregate) that do not say where nulls go."""
    missing = []
    for match in re.finditer(r"\border\s+by\b", sql, re.IGNORECASE):
        depth, position, items, current = 0, match.end(), [], ""
        while position < len(sql):
            char = sql[position]
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                items.append(current)
                current = ""
                position += 1
                continue
            elif depth == 0 and re.match(r"\s(rows|range|limit)\b", sql[position:], re.IGNORECASE):
                break
            current += char
            position += 1
        items.append(current)
        missing += [item.strip() for item in items if not re.search(r"\bnulls\s+(first|last)\b", item, re.IGNORECASE)]
    return missing


@pytest.mark.parametrize("path", checked_files(), ids=lambda p: str(p.relative_to(DBT_PROJECT)))
def test_no_duckdb_only_sql_outside_the_cross_db_macros(path):
    sql = bare_sql(path.read_text())
    assert not duckdb_only(sql), f"use a macro of macros/cross_db/ instead of {duckdb_only(sql)}"
    assert not order_items_without_nulls(sql), f"say where nulls go: {order_items_without_nulls(sql)}"


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("select * from t qualify row_number() over (partition by a order by b nulls last) = 1", "QUALIFY"),
        ("select try_cast(a as integer) from t", "try_cast"),
        ("select len(reasons) from t", "list functions"),
        ("select reasons[1] from t", "list literals and indexes"),
        ("select coalesce(valid_to, date 'infinity') from t", None),  # inside a string: the literal is checked below
        ("select * exclude (a) from t", "* exclude / * replace"),
        ("select columns(c -> c like 'a%') from t", "columns(...)"),
        ("select regexp_full_match(a, 'x') from t", "regexp_full_match / regexp_matches"),
        ("select a // 2 from t", "integer division //"),
        ("select string_agg(a, ',') from t", "string_agg"),
        ("select * from generate_series(1, 3)", "generate_series"),
        ("select as_of_date - first_order_date from t", "date minus date"),
        ("select arg_max(a, b) from t", "arg_max / arg_min"),
        ("select to_json(t) from t", "to_json"),
        ("select a, count(*) from t group by all", "group by all"),
        ("select a::varchar from t", ":: casts"),
        ("select as_of_date - 365 from t", None),
        ("select {{ try_cast('a', 'integer') }} from t", None),
    ],
)
def test_the_lint_finds_each_construct(sql, found):
    """The rules above must catch what they name, and only outside Jinja and string literals."""
    names = duckdb_only(bare_sql(sql))
    assert (found in names) if found else not names, names


def test_infinite_date_literals_are_found_before_strings_are_blanked():
    assert re.search(r"'-?infinity'", "select date '-infinity'")
    offending = [p for p in checked_files() if re.search(r"'-?infinity'", p.read_text(), re.IGNORECASE)]
    assert not offending, "infinite dates are DuckDB's: keep open bounds as null"


@pytest.mark.parametrize(
    ("sql", "missing"),
    [
        ("rank() over (partition by d order by recency_days desc nulls last)", []),
        ("row_number() over (partition by k order by a desc, b asc nulls last)", ["a desc"]),
        ("sum(x) over (partition by k order by d asc nulls last rows between unbounded preceding and 1 preceding)", []),
    ],
)
def test_order_by_items_must_say_where_nulls_go(sql, missing):
    assert order_items_without_nulls(sql) == missing


def test_every_cross_db_macro_dispatches_with_a_duckdb_default():
    for path in sorted(CROSS_DB.glob("*.sql")):
        text = path.read_text()
        name = path.stem
        assert f"adapter.dispatch('{name}', 'crmseg')" in text, path.name
        assert f"{{% macro default__{name}(" in text, path.name
        assert (DBT_PROJECT / "tests" / "cross_db" / f"assert_{name}.sql").exists(), f"{name} has no test"
