"""Turn a chunk of the simulated company into rows of the source tables, in DuckDB.

Each rendered table has the contract's columns plus `_row` (its order) and
`_customer` (whose row it is, so that dirt is never planted on the customers
that guarantee every segment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from crmseg import contract
from crmseg.duck import literal
from crmseg.generate import catalog
from crmseg.generate.company import HISTORY_DAYS, Chunk
from crmseg.generate.effect import EFFECT_ORDER_PREFIX


def sql_list(values) -> str:
    return "[" + ", ".join("NULL" if v is None else literal(v) for v in values) + "]"


def pick(values, index_sql: str) -> str:
    """values[index] for a 0-based index expression."""
    return f"{sql_list(values)}[({index_sql}) + 1]"


@dataclass
class Counters:
    """Running numbers, so that ids stay unique across chunks."""

    contacts: int = 0
    erp_customers: int = 0
    orders: int = 0
    responses: int = 0
    tickets: int = 0
    erp_only: int = 0  # customers known only to the ERP, numbered after the accounts


CITY = [c[1] for c in catalog.CITIES]
PROVINCE = [c[0] for c in catalog.CITIES]
TIER = [str(c[2]) for c in catalog.CITIES]
CITY_SHORT = [c[1].removesuffix("市") for c in catalog.CITIES]
PROVINCE_SHORT = [c[0].removesuffix("省").removesuffix("市") for c in catalog.CITIES]
SURNAME = [s for s, _ in catalog.SURNAMES]
SURNAME_PINYIN = [p for _, p in catalog.SURNAMES]
GIVEN = [g for g, _ in catalog.GIVEN_NAMES]
GIVEN_PINYIN = [p for _, p in catalog.GIVEN_NAMES]
BRAND = [b for b, _ in catalog.BRANDS]
BRAND_PINYIN = [p for _, p in catalog.BRANDS]
INDUSTRY = [i[0] for i in catalog.INDUSTRIES]
INDUSTRY_WORD = [i[1] for i in catalog.INDUSTRIES]
PRODUCT_CATEGORY = [c[0] for c in catalog.PRODUCT_CATEGORIES]
CAMPAIGN_TYPES = list(catalog.CAMPAIGN_THEMES)


def _timestamp(start: date, day_sql: str, second_sql: str) -> str:
    return f"(TIMESTAMP {literal(start.isoformat())} + to_days(({day_sql})::INTEGER) + to_seconds({second_sql}))"


def _iso_with_offset(ts_sql: str) -> str:
    """A local timestamp as ISO 8601 text with the zone's offset, as ticket exports write them."""
    text = f"strftime(CAST({ts_sql} AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S%z')"
    return f"regexp_replace({text}, '([+-][0-9][0-9])$', '\\1:00')"


def _mobile(prefix: str, number_sql: str, multiplier: int) -> str:
    """A unique mainland mobile number: the multiplier is odd and not a multiple of 5."""
    return f"'{prefix}' || lpad(((({number_sql}) + 1000003) * {multiplier} % 1000000000)::VARCHAR, 9, '0')"


def _person_name(surname: str, given: str) -> str:
    return f"{pick(SURNAME, surname)} || {pick(GIVEN, given)}"


def _company_name(city: str, brand: str, industry: str, suffix: str) -> str:
    words = f"{pick(CITY_SHORT, city)} || {pick(BRAND, brand)} || {pick(INDUSTRY_WORD, industry)}"
    return f"{words} || {pick(catalog.COMPANY_SUFFIXES, suffix)}"


def _institution_name(city: str, brand: str, institution_industry: str, number: str) -> str:
    cases = []
    for i, kind in enumerate(catalog.INSTITUTION_INDUSTRIES):
        templates = catalog.INSTITUTION_NAMES[kind]
        options = []
        for template in templates:
            parts = template.replace("{", "|{").replace("}", "}|").split("|")
            sql = []
            for part in parts:
                if part == "{city}":
                    sql.append(pick(CITY_SHORT, city))
                elif part == "{province}":
                    sql.append(pick(PROVINCE_SHORT, city))
                elif part == "{brand}":
                    sql.append(pick(BRAND, brand))
                elif part == "{n}":
                    sql.append(f"({number} % 9 + 1)::VARCHAR")
                elif part:
                    sql.append(literal(part))
            options.append(" || ".join(sql))
        cases.append(f"WHEN {i} THEN (CASE WHEN {number} % 2 = 0 THEN {options[0]} ELSE {options[1]} END)")
    return f"(CASE {institution_industry} {' '.join(cases)} END)"


def _base36(number_sql: str) -> str:
    return f"lower(to_base({number_sql}, 36))"


def render_campaigns(con: duckdb.DuckDBPyConnection, campaigns: pd.DataFrame, start: date) -> None:
    con.register("campaigns_df", campaigns)
    theme_cases = " ".join(
        f"WHEN {i} THEN {pick(catalog.CAMPAIGN_THEMES[t], 'theme')}" for i, t in enumerate(CAMPAIGN_TYPES)
    )
    channel_cases = " ".join(
        f"WHEN {i} THEN {pick(catalog.CAMPAIGN_CHANNELS_BY_TYPE[t], 'channel')}" for i, t in enumerate(CAMPAIGN_TYPES)
    )
    day0 = f"DATE {literal(start.isoformat())}"
    con.execute(
        f"""CREATE OR REPLACE TABLE gen_campaigns AS SELECT
            'CMP' || lpad((campaign + 1)::VARCHAR, 4, '0') AS campaign_id,
            year({day0} + start_day::INTEGER)::VARCHAR || ' ' || (CASE kind {theme_cases} END) AS campaign_name,
            {pick(CAMPAIGN_TYPES, "kind")} AS campaign_type,
            (CASE kind {channel_cases} END) AS channel,
            {day0} + start_day::INTEGER AS start_date,
            {day0} + end_day::INTEGER AS end_date,
            campaign AS _row, -1 AS _customer
        FROM campaigns_df ORDER BY campaign"""
    )
    con.unregister("campaigns_df")


def render_chunk(
    con: duckdb.DuckDBPyConnection, chunk: Chunk, campaigns: pd.DataFrame, end_date: date, counters: Counters
) -> None:
    """Create gen_<source>_<table> tables for this chunk in `con`."""
    start = end_date - timedelta(days=HISTORY_DAYS)
    accounts = chunk.accounts.assign(_row=np.arange(len(chunk.accounts)))
    con.register("accounts_df", accounts)
    email = (
        f"CASE WHEN ctype = 0 THEN {pick(SURNAME_PINYIN, 'surname')} || {pick(GIVEN_PINYIN, 'given')} || '.' "
        f"|| {_base36('customer')} || '@' || {pick(catalog.PERSONAL_MAIL_DOMAINS, 'mail_domain')} "
        f"ELSE 'info@' || {pick(BRAND_PINYIN, 'brand')} || {_base36('customer')} || '.com.cn' END"
    )
    name = (
        f"CASE ctype WHEN 0 THEN {_person_name('surname', 'given')} "
        f"WHEN 1 THEN {_company_name('city', 'brand', 'industry', 'suffix')} "
        f"ELSE {_institution_name('city', 'brand', 'institution_industry', 'customer')} END"
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE gen_crm_accounts AS SELECT
            'ACC' || lpad(customer::VARCHAR, 7, '0') AS account_id,
            {name} AS account_name,
            {pick(contract.CUSTOMER_TYPES, "ctype")} AS customer_type,
            CASE ctype WHEN 1 THEN {pick(INDUSTRY, "industry")}
                       WHEN 2 THEN {pick(catalog.INSTITUTION_INDUSTRIES, "institution_industry")} END AS industry,
            CASE ctype WHEN 1 THEN {pick(contract.COMPANY_SIZES, "size")}
                       WHEN 2 THEN {pick(("large", "medium"), "size % 2")} END AS company_size,
            CASE ctype WHEN 1 THEN {pick(contract.OWNERSHIPS[:4], "ownership")}
                       WHEN 2 THEN 'public_institution' END AS ownership,
            {pick(PROVINCE, "city")} AS province,
            {pick(CITY, "city")} AS city,
            CAST({pick(TIER, "city")} AS INTEGER) AS city_tier,
            uscc AS tax_id,
            CASE WHEN has_email THEN {email} END AS email,
            CASE WHEN has_phone THEN {_mobile("13", "customer", 982451653)} END AS phone,
            {pick(contract.LEAD_SOURCES, "lead_source")} AS lead_source,
            CASE consent WHEN 0 THEN true WHEN 1 THEN false END AS marketing_consent,
            {_timestamp(start, "created_day", "created_second")} AS created_at,
            greatest({_timestamp(start, "updated_day", "created_second + 3600")},
                     {_timestamp(start, "created_day", "created_second")}) AS updated_at,
            deleted AS is_deleted,
            _row, customer AS _customer
        FROM accounts_df ORDER BY _row"""
    )

    contacts = chunk.contacts.assign(
        _row=np.arange(len(chunk.contacts)), _id=counters.contacts + np.arange(len(chunk.contacts))
    )
    counters.contacts += len(contacts)
    con.register("contacts_df", contacts)
    con.execute(
        f"""CREATE OR REPLACE TABLE gen_crm_contacts AS SELECT
            'CT' || lpad(c._id::VARCHAR, 8, '0') AS contact_id,
            'ACC' || lpad(c.account::VARCHAR, 7, '0') AS account_id,
            {_person_name("c.surname", "c.given")} AS full_name,
            CASE WHEN c.has_email THEN {pick(SURNAME_PINYIN, "c.surname")} || '.' || {pick(GIVEN_PINYIN, "c.given")}
                || {_base36("c._id")} || '@' || {pick(BRAND_PINYIN, "a.brand")} || {_base36("c.account")}
                || '.com.cn' END AS email,
            CASE WHEN c.has_phone THEN {_mobile("15", "c._id", 715827883)} END AS phone,
            {_timestamp(start, "c.created_day", "36000")} AS created_at,
            {_timestamp(start, "greatest(c.updated_day, c.created_day)", "39600")} AS updated_at,
            c._row, c.account AS _customer
        FROM contacts_df c JOIN accounts_df a ON a.customer = c.account ORDER BY c._row"""
    )

    erp = chunk.erp_customers.assign(
        _row=np.arange(len(chunk.erp_customers)), _id=counters.erp_customers + np.arange(len(chunk.erp_customers))
    )
    counters.erp_customers += len(erp)
    con.register("erp_df", erp)
    account_phone = _mobile("13", "a.customer", 982451653)
    styled_phone = (
        f"CASE e.phone_style WHEN 0 THEN {account_phone} "
        f"WHEN 1 THEN regexp_replace({account_phone}, '^(...)(....)(....)$', '\\1-\\2-\\3') "
        f"ELSE regexp_replace({account_phone}, '^(...)(....)(....)$', '\\1 \\2 \\3') END"
    )
    own_name = (
        f"CASE WHEN e.ctype = 0 THEN {_person_name('e.surname', 'e.given')} "
        f"ELSE {_company_name('e.city', 'e.brand', 'e.brand % 10', 'e.brand % 4')} END"
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE gen_erp_customers AS SELECT
            'C' || lpad(e._id::VARCHAR, 8, '0') AS customer_code,
            CASE WHEN e.account THEN a_name.account_name ELSE {own_name} END AS customer_name,
            CASE WHEN e.account AND e.link IN (0, 1) THEN a_name.tax_id END AS tax_id,
            CASE WHEN e.link = 2 OR (e.link = 0 AND e.copy = 0) THEN a_name.email
                 WHEN NOT e.account THEN 'buyer' || {_base36("e._id")} || '@'
                     || {pick(catalog.PERSONAL_MAIL_DOMAINS, "e._id % 6")} END AS email,
            CASE WHEN e.link = 3 AND a.has_phone THEN {styled_phone}
                 WHEN NOT e.account THEN {_mobile("17", "e._id", 613651349)} END AS phone,
            CASE WHEN e.link = 0 THEN a_name.account_id END AS crm_account_id,
            coalesce(a_name.province, {pick(PROVINCE, "e.city")}) AS province,
            coalesce(a_name.city, {pick(CITY, "e.city")}) AS city,
            {_timestamp(start, "e.created_day", "32400")} AS created_at,
            {_timestamp(start, "greatest(e.updated_day, e.created_day)", "43200")} AS updated_at,
            e._row, e.owner AS _customer
        -- a plain equality (null for customers without an account) keeps these hash joins
        FROM (SELECT *, CASE WHEN account THEN owner END AS account_owner FROM erp_df) e
        LEFT JOIN accounts_df a ON a.customer = e.account_owner
        LEFT JOIN gen_crm_accounts a_name ON a_name._customer = e.account_owner
        ORDER BY e._row"""
    )

    order_prefix = f"CASE WHEN effect THEN {literal(EFFECT_ORDER_PREFIX)} ELSE 'SO' END"  # planted effect: SE
    orders = chunk.orders.assign(_row=np.arange(len(chunk.orders)), _id=counters.orders + np.arange(len(chunk.orders)))
    counters.orders += len(orders)
    orders["code"] = erp["_id"].to_numpy()[orders["customer"].to_numpy()]
    con.register("orders_df", orders)
    con.execute(
        f"""CREATE OR REPLACE TABLE gen_erp_sales_orders AS SELECT
            {order_prefix} || lpad(_id::VARCHAR, 9, '0') AS order_id,
            'C' || lpad(code::VARCHAR, 8, '0') AS customer_code,
            DATE {literal(start.isoformat())} + day::INTEGER AS order_date,
            {pick(contract.ORDER_STATUSES, "status")} AS status,
            amount::DECIMAL(18, 2) AS total_amount,
            {_timestamp(start, "updated_day", "updated_second")} AS updated_at,
            _row, owner AS _customer
        FROM orders_df ORDER BY _row"""
    )

    lines = chunk.lines.assign(_row=np.arange(len(chunk.lines)))
    lines["order_id"] = orders["_id"].to_numpy()[lines["order"].to_numpy()]
    lines["owner"] = orders["owner"].to_numpy()[lines["order"].to_numpy()]
    lines["effect"] = orders["effect"].to_numpy()[lines["order"].to_numpy()]
    con.register("lines_df", lines)
    con.execute(
        f"""CREATE OR REPLACE TABLE gen_erp_sales_order_lines AS SELECT
            {order_prefix} || lpad(order_id::VARCHAR, 9, '0') AS order_id,
            line_no::INTEGER AS line_no,
            upper(left({pick(PRODUCT_CATEGORY, "category")}, 3)) || '-'
                || lpad(product::VARCHAR, 4, '0') AS product_code,
            {pick(PRODUCT_CATEGORY, "category")} AS product_category,
            quantity::DECIMAL(18, 2) AS quantity,
            unit_price::DECIMAL(18, 2) AS unit_price,
            discount::DECIMAL(18, 2) AS discount_amount,
            line_amount::DECIMAL(18, 2) AS line_amount,
            _row, owner AS _customer
        FROM lines_df ORDER BY _row"""
    )

    responses = chunk.responses.assign(
        _row=np.arange(len(chunk.responses)), _id=counters.responses + np.arange(len(chunk.responses))
    )
    counters.responses += len(responses)
    # a response belongs to one of the campaigns that started shortly before it
    starts = campaigns["start_day"].to_numpy()
    latest = np.searchsorted(starts, responses["day"].to_numpy(), side="right") - 1
    responses["campaign"] = np.maximum(latest - (responses["pick"].to_numpy() * 3).astype(int), 0)
    responses["day"] = np.maximum(responses["day"].to_numpy(), starts[responses["campaign"].to_numpy()])
    con.register("responses_df", responses)
    con.execute(
        f"""CREATE OR REPLACE TABLE gen_crm_campaign_responses AS SELECT
            'R' || lpad(_id::VARCHAR, 10, '0') AS response_id,
            'CMP' || lpad((campaign + 1)::VARCHAR, 4, '0') AS campaign_id,
            'ACC' || lpad(account::VARCHAR, 7, '0') AS account_id,
            {pick(contract.RESPONSE_TYPES, "kind")} AS response_type,
            {_timestamp(start, "day", "second")} AS responded_at,
            _row, account AS _customer
        FROM responses_df ORDER BY _row"""
    )

    tickets = chunk.tickets.assign(
        _row=np.arange(len(chunk.tickets)), _id=counters.tickets + np.arange(len(chunk.tickets))
    )
    counters.tickets += len(tickets)
    con.register("tickets_df", tickets)
    created = _timestamp(start, "t.day", "t.second")
    resolved = f"({created} + to_seconds(t.resolve_seconds))"
    con.execute(
        f"""CREATE OR REPLACE TABLE gen_service_tickets AS
        WITH chosen AS (
            SELECT t.*, a.account_id, a.email AS account_email, a.phone AS account_phone,
                   c.email AS contact_email, c.phone AS contact_phone
            FROM tickets_df t
            JOIN gen_crm_accounts a ON a._customer = t.account
            LEFT JOIN gen_crm_contacts c ON c._row = t.contact_row
        )
        SELECT
            'TK' || lpad(t._id::VARCHAR, 9, '0') AS ticket_id,
            CASE WHEN t.identify = 0 OR coalesce(t.contact_email, t.account_email) IS NULL AND t.identify = 1
                      OR coalesce(t.contact_phone, t.account_phone) IS NULL AND t.identify = 2
                 THEN t.account_id END AS crm_account_id,
            CASE WHEN t.identify = 1 THEN coalesce(t.contact_email, t.account_email) END AS customer_email,
            CASE WHEN t.identify = 2 THEN coalesce(t.contact_phone, t.account_phone) END AS customer_phone,
            {pick(contract.TICKET_CHANNELS, "t.channel")} AS channel,
            {pick(contract.TICKET_TYPES, "t.kind")} AS ticket_type,
            {pick(contract.TICKET_PRIORITIES, "t.priority")} AS priority,
            {pick(contract.TICKET_STATUSES, "t.status")} AS status,
            {_iso_with_offset(created)} AS created_at,
            CASE WHEN t.status > 0 THEN {_iso_with_offset(resolved)} END AS resolved_at,
            CASE WHEN t.rated THEN t.score END AS satisfaction_score,
            CASE WHEN NOT t.no_updated_at THEN
                {_iso_with_offset(f"CASE WHEN t.status > 0 THEN {resolved} ELSE {created} + INTERVAL 5 MINUTE END")}
            END AS updated_at,
            t._row, t.account AS _customer
        FROM chosen t ORDER BY t._row"""
    )
    for name in ("accounts_df", "contacts_df", "erp_df", "orders_df", "lines_df", "responses_df", "tickets_df"):
        con.unregister(name)
