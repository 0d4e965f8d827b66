"""DuckDB connections with the scanner extensions available offline.

DuckDB's INSTALL downloads extensions. The PyPI packages
duckdb-extension-{postgres,mysql,sqlite} ship the same files; DuckDB finds
them once they sit in its extension directory under their canonical names.
"""

from __future__ import annotations

import fcntl
import importlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path

import duckdb

# canonical extension name -> (PyPI module, file stem inside it)
_EXTENSIONS = {
    "postgres_scanner": ("duckdb_extension_postgres", "postgres"),
    "mysql_scanner": ("duckdb_extension_mysql", "mysql"),
    "sqlite_scanner": ("duckdb_extension_sqlite", "sqlite"),
}


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "crmseg" / "duckdb_extensions"


@cache
def extension_directory() -> str:
    """A DuckDB extension directory holding the packaged scanner extensions."""
    version = "v" + duckdb.__version__
    platform = duckdb.connect().execute("PRAGMA platform").fetchone()[0]
    root = _cache_root()
    target = root / version / platform
    target.mkdir(parents=True, exist_ok=True)
    for canonical, (module_name, stem) in _EXTENSIONS.items():
        dest = target / f"{canonical}.duckdb_extension"
        if dest.exists():
            continue
        module = importlib.import_module(module_name)
        src = Path(module.__file__).parent / "extensions" / version / f"{stem}.duckdb_extension"
        if not src.exists():
            raise RuntimeError(
                f"{module_name} does not ship {src.name} for DuckDB {duckdb.__version__}; "
                "install the duckdb-extension-* version equal to duckdb's"
            )
        # a file of this process's own, renamed whole: processes starting together on an empty cache each copy
        fd, tmp = tempfile.mkstemp(dir=target, prefix=f"{canonical}.", suffix=".tmp")
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return str(root)


# What one DuckDB instance may use: its memory (beyond it, large work spills to the temporary directory) and
# threads. dbt's DuckDB has a limit of its own (dbt_project/profiles.yml reads the variables with the same
# defaults): it works while the crmseg process waits holding about 0.5 GB.
MEMORY_LIMIT_VAR, DBT_MEMORY_LIMIT_VAR, SUITES_MEMORY_LIMIT_VAR, THREADS_VAR, TEMP_DIR_VAR = (
    "CRMSEG_DUCKDB_MEMORY_LIMIT",
    "CRMSEG_DBT_MEMORY_LIMIT",
    "CRMSEG_SUITES_MEMORY_LIMIT",
    "CRMSEG_DUCKDB_THREADS",
    "CRMSEG_DUCKDB_TEMP_DIR",
)
# dbt's is lower: its process holds about 0.7 GB besides, and the crmseg process waits beside it (at 1M customers
# the two together peaked at 4,135 MiB with 3GB, 3,651 MiB with 2.5GB, no slower). The quality suites lower
# crmseg's own while they run: they type the load's rows and aggregate them, and at 1M customers took as long
# within 512MB as within 1GB (35.6 and 34.9 s), the process peaking at 1,328 MiB with 768MB and 1,560 MiB with 1GB.
DEFAULT_MEMORY_LIMIT, DEFAULT_DBT_MEMORY_LIMIT, DEFAULT_SUITES_MEMORY_LIMIT = "3GB", "2.5GB", "768MB"
SETTING_VARS = {"memory_limit": MEMORY_LIMIT_VAR, "threads": THREADS_VAR, "temp_directory": TEMP_DIR_VAR}
# an amount of memory as DuckDB reads it: 3GB is 3 * 1000^3 bytes, 500MiB 500 * 1024^2
MEMORY_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT])(i?)B", re.IGNORECASE)


def resource_config(environ: os._Environ | dict | None = None) -> dict[str, str | int]:
    """DuckDB's memory_limit, threads and temp_directory from the environment (threads: every core, the
    temporary directory: DuckDB's own `<database>.tmp` beside the file, unless set)."""
    env = os.environ if environ is None else environ
    config: dict[str, str | int] = {"memory_limit": env.get(MEMORY_LIMIT_VAR) or DEFAULT_MEMORY_LIMIT}
    config["threads"] = int(env.get(THREADS_VAR) or os.cpu_count() or 1)
    if env.get(TEMP_DIR_VAR):
        config["temp_directory"] = env[TEMP_DIR_VAR]
    return config


def dbt_memory_limit() -> str:
    """The memory limit of dbt's DuckDB (CRMSEG_DBT_MEMORY_LIMIT)."""
    return os.environ.get(DBT_MEMORY_LIMIT_VAR) or DEFAULT_DBT_MEMORY_LIMIT


@contextmanager
def memory_lowered(con: duckdb.DuckDBPyConnection, limit: str) -> Iterator[None]:
    """The connection's DuckDB (opened by `connect`) within `limit` while the block runs, if that is lower than its
    own limit; its own limit again after."""
    own = resource_config()["memory_limit"]
    if memory_bytes(limit) >= memory_bytes(own):
        yield
        return
    con.execute(f"SET memory_limit = {literal(limit)}")
    try:
        yield
    except BaseException:
        # an aborted transaction takes no setting: the lower limit stays until the connection's owner, which rolls
        # the transaction back and fails, closes it
        with suppress(duckdb.TransactionException):
            con.execute(f"SET memory_limit = {literal(own)}")
        raise
    con.execute(f"SET memory_limit = {literal(own)}")


def suites_memory_limit() -> str:
    """The memory limit of crmseg's DuckDB while the quality suites run (CRMSEG_SUITES_MEMORY_LIMIT)."""
    return os.environ.get(SUITES_MEMORY_LIMIT_VAR) or DEFAULT_SUITES_MEMORY_LIMIT


def resource_environment() -> dict[str, str]:
    """What dbt's profile reads (dbt_project/profiles.yml): dbt's memory limit, and the threads and temporary
    directory of crmseg's own connections."""
    config = resource_config()
    environment = {DBT_MEMORY_LIMIT_VAR: dbt_memory_limit(), THREADS_VAR: str(config["threads"])}
    if "temp_directory" in config:
        environment[TEMP_DIR_VAR] = str(config["temp_directory"])
    return environment


def memory_bytes(amount: str) -> int:
    """An amount of memory (MEMORY_AMOUNT) in bytes."""
    number, unit, binary = MEMORY_AMOUNT.fullmatch(amount.strip()).groups()
    return int(float(number) * (1024 if binary else 1000) ** (" KMGT".index(unit.upper())))


def connect(
    path: str | os.PathLike = ":memory:",
    *,
    read_only: bool = False,
    timezone: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open DuckDB with the offline extension directory, the resource limits and the session time zone.

    The time zone matters: timestamps without an offset are local time in
    CRMSEG_TIMEZONE, and DuckDB reads them in its session time zone.
    """
    config = {
        "extension_directory": extension_directory(),
        "autoinstall_known_extensions": False,
        **resource_config(),
    }
    if str(path) != ":memory:" and not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    if timezone:
        con.execute("SET TimeZone = ?", [timezone])
    return con


def column_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """A table's or query's columns: name -> DuckDB type."""
    return dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {relation})").fetchall())


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


class WriterLock:
    """One writer of a warehouse at a time, across processes: a second run waits for the first.

    DuckDB lets one process open a file for writing and fails the next at once;
    this lock, on `<warehouse>.lock`, turns that failure into a wait. The
    operating system releases it when the holder exits, however it exits.
    """

    def __init__(self, guarded: str | Path):
        self.path = Path(f"{guarded}.lock")  # beside the file (or the thing) it guards
        self._file = None

    def acquire(self, on_wait=None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait(self.path)
            fcntl.flock(self._file, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the lock
            self._file = None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
