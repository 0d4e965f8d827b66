"""The source contract of SPEC section 4, as data: the one place for every source rule.

Extraction, the demo generator and the tests read the tables from here. The
Great Expectations suites (`expectations/suites/*.json`) and the values the
dbt staging models check (`dbt_project/macros/source_contract.sql`) are
written from it by `make contract`; a test fails when either is stale, and
another checks the hand-written staging models against it. A value added to
an accepted list here therefore reaches extraction, the suites, staging and
the generator at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from crmseg.quality import ERROR, WARN

# Logical types. Sources may hold any of them as text; extraction checks that
# required values can be read as their type and staging casts them.
TEXT, INTEGER, DECIMAL, BOOLEAN, DATE, TIMESTAMP = (
    "text",
    "integer",
    "decimal",
    "boolean",
    "date",
    "timestamp",
)

# The DuckDB type each logical type is read as.
DUCKDB_TYPES = {
    TEXT: "VARCHAR",
    INTEGER: "BIGINT",
    DECIMAL: "DECIMAL(18,2)",
    BOOLEAN: "BOOLEAN",
    DATE: "DATE",
    TIMESTAMP: "TIMESTAMPTZ",
}

# Text is compared normalised: trimmed, these full-width characters made
# half-width (what Chinese input methods type), e-mail in lower case, phone as
# digits without a leading 86 country code, tax id in upper case.
FULL_WIDTH = "０１２３４５６７８９＋－（）＠　"
HALF_WIDTH = "0123456789+-()@ "
# Formats, judged on the normalised value. Staging also verifies the tax id's
# check character.
EMAIL, PHONE, TAX_ID = "email", "phone", "tax_id"
FORMAT_PATTERNS = {
    EMAIL: r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+",
    PHONE: r"1[3-9][0-9]{9}|0[0-9]{9,11}",  # mainland mobile, or landline with its area code
    TAX_ID: r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}",  # unified social credit code, GB 32100-2015
}

# How a load is judged. Key and required values may be missing from at most
# this share of a load before the load is refused (error); the rows that miss
# them are rejected by staging with a reason either way.
PRESENT_MOSTLY = 0.95
# The severity of each kind of check: error stops the run, warn is recorded.
SEVERITY = {
    "required_columns": ERROR,
    "not_null": ERROR,
    "unique": ERROR,
    "accepted": WARN,
    "range": WARN,
    "format": WARN,
    "not_after_load": WARN,
    "in_order": WARN,
    "volume": ERROR,
    "freshness": WARN,
}
# Volume: a table may shrink by at most this share since its previous load.
MAX_DROP_SHARE = 0.2


@dataclass(frozen=True)
class Column:
    name: str
    type: str = TEXT
    required: bool = False
    key: bool = False
    accepted: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    format: str | None = None  # a key of FORMAT_PATTERNS
    # a moment that has happened: one after the load is a mistake (future_date)
    happened: bool = False
    # the parent table (same source) whose key this column names; a row naming
    # an unknown or rejected parent is rejected too
    references: str | None = None
    # e-mail, phone, tax id or a person's or customer's name: never shown in a
    # quality sample, never in a serving table
    personal: bool = False

    @property
    def has_range(self) -> bool:
        return self.minimum is not None or self.maximum is not None


@dataclass(frozen=True)
class Table:
    source: str
    name: str
    columns: tuple[Column, ...]
    # How a nightly run finds new and changed rows: a timestamp column that
    # only grows, the parent table whose changes bring this table's rows with
    # them, or neither (a small table reloaded whole).
    incremental_column: str | None = None
    # Used where incremental_column is null in a row.
    incremental_fallback: str | None = None
    parent: tuple[str, str] | None = None  # (parent table, join column)
    # (earlier, later): where both are given, earlier must not come after later
    in_order: tuple[tuple[str, str], ...] = ()
    # a row must carry at least one of these (else: no_identifier)
    identified_by: tuple[str, ...] = ()
    # Freshness: the newest value of this column may be at most max_age_days old (warn).
    fresh_column: str | None = None
    max_age_days: int | None = None
    max_drop_share: float = MAX_DROP_SHARE
    description: str = ""

    @property
    def qualified(self) -> str:
        return f"{self.source}.{self.name}"

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.key)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.key or c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.qualified} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _key(name: str, type_: str = TEXT, **rules) -> Column:
    return Column(name, type_, required=True, key=True, **rules)


def _req(name: str, type_: str = TEXT, **rules) -> Column:
    return Column(name, type_, required=True, **rules)


def _opt(name: str, type_: str = TEXT, **rules) -> Column:
    return Column(name, type_, **rules)


CUSTOMER_TYPES = ("individual", "enterprise", "institution")
COMPANY_SIZES = ("large", "medium", "small", "micro")
OWNERSHIPS = ("state_owned", "private", "foreign", "joint_venture", "public_institution")
LEAD_SOURCES = ("advertising", "social_media", "trade_show", "referral", "website", "cold_call")
CAMPAIGN_TYPES = ("promotion", "product_launch", "webinar", "trade_show", "newsletter")
CAMPAIGN_CHANNELS = ("email", "sms", "wechat", "offline", "web")
RESPONSE_TYPES = ("delivered", "opened", "clicked", "registered", "attended", "converted")
ORDER_STATUSES = ("completed", "cancelled", "returned", "open")
TICKET_CHANNELS = ("phone", "email", "online_chat", "wechat", "onsite")
TICKET_TYPES = ("inquiry", "complaint", "repair", "return_request", "consultation")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATUSES = ("open", "resolved", "closed")

TABLES: tuple[Table, ...] = (
    Table(
        "crm",
        "accounts",
        (
            _key("account_id"),
            _req("account_name", personal=True),
            _req("customer_type", accepted=CUSTOMER_TYPES),
            _opt("industry"),
            _opt("company_size", accepted=COMPANY_SIZES),
            _opt("ownership", accepted=OWNERSHIPS),
            _opt("province"),
            _opt("city"),
            _opt("city_tier", INTEGER, minimum=1, maximum=5),
            _opt("tax_id", format=TAX_ID, personal=True),
            _opt("email", format=EMAIL, personal=True),
            _opt("phone", format=PHONE, personal=True),
            _opt("lead_source", accepted=LEAD_SOURCES),
            _opt("marketing_consent", BOOLEAN),
            _req("created_at", TIMESTAMP, happened=True),
            _req("updated_at", TIMESTAMP, happened=True),
            _opt("is_deleted", BOOLEAN),
        ),
        incremental_column="updated_at",
        in_order=(("created_at", "updated_at"),),
        fresh_column="updated_at",
        max_age_days=7,
        description="CRM accounts: one row per account (individual, enterprise or institution).",
    ),
    Table(
        "crm",
        "contacts",
        (
            _key("contact_id"),
            _req("account_id", references="accounts"),
            _opt("full_name", personal=True),
            _opt("email", format=EMAIL, personal=True),
            _opt("phone", format=PHONE, personal=True),
            _opt("created_at", TIMESTAMP, happened=True),
            _req("updated_at", TIMESTAMP, happened=True),
        ),
        incremental_column="updated_at",
        in_order=(("created_at", "updated_at"),),
        fresh_column="updated_at",
        max_age_days=7,
        description="CRM contacts: people at an account.",
    ),
    Table(
        "crm",
        "campaigns",
        (
            _key("campaign_id"),
            _opt("campaign_name"),
            _opt("campaign_type", accepted=CAMPAIGN_TYPES),
            _opt("channel", accepted=CAMPAIGN_CHANNELS),
            _opt("start_date", DATE),
            _opt("end_date", DATE),
        ),
        in_order=(("start_date", "end_date"),),
        description="CRM marketing campaigns.",
    ),
    Table(
        "crm",
        "campaign_responses",
        (
            _key("response_id"),
            _req("campaign_id", references="campaigns"),
            _req("account_id", references="accounts"),
            _opt("response_type", accepted=RESPONSE_TYPES),
            _req("responded_at", TIMESTAMP, happened=True),
        ),
        # Responses are events: once written they do not change.
        incremental_column="responded_at",
        fresh_column="responded_at",
        max_age_days=3,
        description="CRM campaign responses: one row per response event.",
    ),
    Table(
        "erp",
        "customers",
        (
            _key("customer_code"),
            _req("customer_name", personal=True),
            _opt("tax_id", format=TAX_ID, personal=True),
            _opt("email", format=EMAIL, personal=True),
            _opt("phone", format=PHONE, personal=True),
            _opt("crm_account_id"),
            _opt("province"),
            _opt("city"),
            _opt("created_at", TIMESTAMP, happened=True),
            _req("updated_at", TIMESTAMP, happened=True),
        ),
        incremental_column="updated_at",
        in_order=(("created_at", "updated_at"),),
        fresh_column="updated_at",
        max_age_days=7,
        description="ERP customers (bill-to parties).",
    ),
    Table(
        "erp",
        "sales_orders",
        (
            _key("order_id"),
            _req("customer_code", references="customers"),
            _req("order_date", DATE, happened=True),
            _req("status", accepted=ORDER_STATUSES),
            # zero is a valid free order; a negative amount is rejected
            _req("total_amount", DECIMAL, minimum=0),
            _req("updated_at", TIMESTAMP, happened=True),
        ),
        incremental_column="updated_at",
        fresh_column="updated_at",
        max_age_days=3,
        description="ERP sales order headers; total_amount in CNY.",
    ),
    Table(
        "erp",
        "sales_order_lines",
        (
            _key("order_id", references="sales_orders"),
            _key("line_no", INTEGER),
            _opt("product_code"),
            _opt("product_category"),
            _opt("quantity", DECIMAL),
            _opt("unit_price", DECIMAL),
            _opt("discount_amount", DECIMAL),
            _opt("line_amount", DECIMAL),
        ),
        # Lines carry no timestamp: they change when their order does.
        parent=("sales_orders", "order_id"),
        description="ERP sales order lines.",
    ),
    Table(
        "service",
        "tickets",
        (
            _key("ticket_id"),
            _opt("crm_account_id"),
            _opt("customer_email", format=EMAIL, personal=True),
            _opt("customer_phone", format=PHONE, personal=True),
            _opt("channel", accepted=TICKET_CHANNELS),
            _opt("ticket_type", accepted=TICKET_TYPES),
            _opt("priority", accepted=TICKET_PRIORITIES),
            _opt("status", accepted=TICKET_STATUSES),
            _req("created_at", TIMESTAMP, happened=True),
            _opt("resolved_at", TIMESTAMP, happened=True),
            _opt("satisfaction_score", INTEGER, minimum=1, maximum=5),
            _opt("updated_at", TIMESTAMP, happened=True),
        ),
        # updated_at is optional in the ticket export; created_at always grows
        # and a ticket without updated_at is found through it.
        incremental_column="updated_at",
        incremental_fallback="created_at",
        in_order=(("created_at", "resolved_at"), ("created_at", "updated_at")),
        identified_by=("crm_account_id", "customer_email", "customer_phone"),
        fresh_column="created_at",
        max_age_days=3,
        description="Service desk tickets: inquiries, complaints, repairs and their ratings.",
    ),
)

SOURCES: tuple[str, ...] = ("crm", "erp", "service")

_BY_NAME = {t.qualified: t for t in TABLES}


def table(qualified: str) -> Table:
    """The contract table for 'source.table'."""
    try:
        return _BY_NAME[qualified]
    except KeyError:
        raise KeyError(f"no source table {qualified!r} in the contract") from None


def tables_of(source: str) -> tuple[Table, ...]:
    return tuple(t for t in TABLES if t.source == source)


def reject_reasons(t: Table) -> set[str]:
    """Every reason code staging may give a row of the table: the rules above, named.

    The test of the staging models compares this with the codes their SQL gives.
    """
    key = t.key
    reasons = {f"null_key:{','.join(key)}", "duplicate_key"}
    for c in t.columns:
        if c.required and not c.key:
            reasons.add(f"missing_required:{c.name}")
        if c.type != TEXT:
            reasons.add(f"invalid_type:{c.name}")
        if c.accepted:
            reasons.add(f"unknown_value:{c.name}")
        if c.has_range:
            reasons.add(f"out_of_range:{c.name}")
        if c.format:
            reasons.add(f"invalid_format:{c.name}")
        if c.happened:
            reasons.add(f"future_date:{c.name}")
        if c.references:
            reasons |= {f"unknown_parent:{c.name}", f"rejected_parent:{c.name}"}
    reasons |= {f"{earlier}_after_{later}" for earlier, later in t.in_order}
    if t.identified_by:
        reasons.add("no_identifier")
    return reasons
