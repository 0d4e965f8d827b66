"""The source contract of SPEC section 4, as data.

Extraction, the demo generator and the tests all read the tables from here, so
a column added to the contract is added everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Column:
    name: str
    type: str = TEXT
    required: bool = False
    key: bool = False
    accepted: tuple[str, ...] = ()
    # e-mail, phone, tax id or a person's or customer's name: never shown in a
    # quality sample, never in a serving table
    personal: bool = False


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


def _key(name: str, type_: str = TEXT) -> Column:
    return Column(name, type_, required=True, key=True)


def _req(name: str, type_: str = TEXT, accepted: tuple[str, ...] = (), personal: bool = False) -> Column:
    return Column(name, type_, required=True, accepted=accepted, personal=personal)


def _opt(name: str, type_: str = TEXT, accepted: tuple[str, ...] = (), personal: bool = False) -> Column:
    return Column(name, type_, accepted=accepted, personal=personal)


CUSTOMER_TYPES = ("individual", "enterprise", "institution")
COMPANY_SIZES = ("large", "medium", "small", "micro")
OWNERSHIPS = ("state_owned", "private", "foreign", "joint_venture", "public_institution")
CITY_TIERS = ("1", "2", "3", "4", "5")
LEAD_SOURCES = ("advertising", "social_media", "trade_show", "referral", "website", "cold_call")
CAMPAIGN_TYPES = ("promotion", "product_launch", "webinar", "trade_show", "newsletter")
CAMPAIGN_CHANNELS = ("email", "sms", "wechat", "offline", "web")
RESPONSE_TYPES = ("delivered", "opened", "clicked", "registered", "attended", "converted")
ORDER_STATUSES = ("completed", "cancelled", "returned", "open")
TICKET_CHANNELS = ("phone", "email", "online_chat", "wechat", "onsite")
TICKET_TYPES = ("inquiry", "complaint", "repair", "return_request", "consultation")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATUSES = ("open", "resolved", "closed")
SATISFACTION_SCORES = ("1", "2", "3", "4", "5")

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
            _opt("city_tier", INTEGER, accepted=CITY_TIERS),
            _opt("tax_id", personal=True),
            _opt("email", personal=True),
            _opt("phone", personal=True),
            _opt("lead_source", accepted=LEAD_SOURCES),
            _opt("marketing_consent", BOOLEAN),
            _req("created_at", TIMESTAMP),
            _req("updated_at", TIMESTAMP),
            _opt("is_deleted", BOOLEAN),
        ),
        incremental_column="updated_at",
        description="CRM accounts: one row per account (individual, enterprise or institution).",
    ),
    Table(
        "crm",
        "contacts",
        (
            _key("contact_id"),
            _req("account_id"),
            _opt("full_name", personal=True),
            _opt("email", personal=True),
            _opt("phone", personal=True),
            _opt("created_at", TIMESTAMP),
            _req("updated_at", TIMESTAMP),
        ),
        incremental_column="updated_at",
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
        description="CRM marketing campaigns.",
    ),
    Table(
        "crm",
        "campaign_responses",
        (
            _key("response_id"),
            _req("campaign_id"),
            _req("account_id"),
            _opt("response_type", accepted=RESPONSE_TYPES),
            _req("responded_at", TIMESTAMP),
        ),
        # Responses are events: once written they do not change.
        incremental_column="responded_at",
        description="CRM campaign responses: one row per response event.",
    ),
    Table(
        "erp",
        "customers",
        (
            _key("customer_code"),
            _req("customer_name", personal=True),
            _opt("tax_id", personal=True),
            _opt("email", personal=True),
            _opt("phone", personal=True),
            _opt("crm_account_id"),
            _opt("province"),
            _opt("city"),
            _opt("created_at", TIMESTAMP),
            _req("updated_at", TIMESTAMP),
        ),
        incremental_column="updated_at",
        description="ERP customers (bill-to parties).",
    ),
    Table(
        "erp",
        "sales_orders",
        (
            _key("order_id"),
            _req("customer_code"),
            _req("order_date", DATE),
            _req("status", accepted=ORDER_STATUSES),
            _req("total_amount", DECIMAL),
            _req("updated_at", TIMESTAMP),
        ),
        incremental_column="updated_at",
        description="ERP sales order headers; total_amount in CNY.",
    ),
    Table(
        "erp",
        "sales_order_lines",
        (
            _key("order_id"),
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
            _opt("customer_email", personal=True),
            _opt("customer_phone", personal=True),
            _opt("channel", accepted=TICKET_CHANNELS),
            _opt("ticket_type", accepted=TICKET_TYPES),
            _opt("priority", accepted=TICKET_PRIORITIES),
            _opt("status", accepted=TICKET_STATUSES),
            _req("created_at", TIMESTAMP),
            _opt("resolved_at", TIMESTAMP),
            _opt("satisfaction_score", INTEGER, accepted=SATISFACTION_SCORES),
            _opt("updated_at", TIMESTAMP),
        ),
        # updated_at is optional in the ticket export; created_at always grows
        # and a ticket without updated_at is found through it.
        incremental_column="updated_at",
        incremental_fallback="created_at",
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
