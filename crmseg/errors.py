"""Errors a user can act on: each renders as one line naming what failed."""

from __future__ import annotations


class CrmsegError(Exception):
    """An expected failure, reported as one line and a non-zero exit."""


class SourceError(CrmsegError):
    """A source that cannot be read as the contract says.

    The message names the source and table (and column, where there is one),
    e.g. "erp.sales_orders.total_amount: 3 values are not decimal (first: 'abc')".
    """

    def __init__(
        self, source: str, table: str | None, message: str, column: str | None = None, transient: bool = False
    ):
        self.source, self.table, self.column, self.detail = source, table, column, _one_line(message)
        self.transient = transient  # the server did not answer: worth trying again
        where = ".".join(p for p in (source, table, column) if p)
        super().__init__(f"{where}: {self.detail}")

    def for_table(self, table: str) -> SourceError:
        """The same error, said of the table being extracted when it happened."""
        return self if self.table else SourceError(self.source, table, self.detail, self.column, self.transient)


def _one_line(text: str) -> str:
    # DuckDB appends the offending SQL ("LINE 1: ..."): the user needs the cause, not our query.
    return " ".join(str(text).split()).split(" LINE 1: ")[0]
