"""Errors a user can act on: each renders as one line naming what failed."""

from __future__ import annotations


class CrmsegError(Exception):
    """An expected failure, reported as one line and a non-zero exit."""


class SourceError(CrmsegError):
    """A source that cannot be read as the contract says.

    The message names the source and table (and column, where there is one),
    e.g. "erp.sales_orders.total_amount: 3 values are not decimal (first: 'abc')".
    """

    def __init__(self, source: str, table: str | None, message: str, column: str | None = None):
        self.source, self.table, self.column = source, table, column
        where = ".".join(p for p in (source, table, column) if p)
        super().__init__(f"{where}: {_one_line(message)}")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
