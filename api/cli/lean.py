"""`ecovarejo replay --all`: the auditors' stream, started without the rest of the CLI.

The full CLI imports the whole wiring before it does anything (typer and rich, the
bootstrap, gateways, Redis, httpx: about half a second, and more on a loaded machine). A
stream of the log needs none of it: the settings, the database (attaching to the embedded
one when no DATABASE_URL is set), the key wrapper that opens personal data, and the log's
application (its transcodings and upcasters). Not even pydantic or the domain's event
classes: the settings the log needs are read as `Settings` reads them
(infrastructure/log_settings.py, which leaves what it cannot tell to `Settings`), and
`LogReader` (application/log_reader.py) resolves each event class and value decoder when
the first row needing it is read. This path handles exactly the well-formed
`replay --all [--since N] [--type T] [--json]`; anything else — help, a usage error, an
unknown type, a configuration the settings refuse, a system without a log yet — goes to the
full CLI, which answers as it always did. The rows are the same (`application.audit.stream`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from api.cli.rows import write_rows

FLAGS = {"--all", "--json"}
VALUED = {"--since", "--type"}


def parse(argv: Sequence[str]) -> tuple[int, str | None, bool] | None:
    """(since, type, json) of a well-formed `replay --all …`; None for anything else."""
    seen: dict[str, str] = {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, has_value, value = arg.partition("=")
        if name in FLAGS and not has_value and name not in seen:
            seen[name] = ""
        elif name in VALUED and name not in seen:
            if not has_value:
                if not args:
                    return None
                value = args.pop(0)
            seen[name] = value
        else:
            return None
    since = seen.get("--since", "0")
    if "--all" not in seen or not since.isascii() or not since.isdigit():
        return None
    return int(since), seen.get("--type"), "--json" in seen


@contextmanager
def opened_log(settings: Any) -> Iterator[Any]:
    """The log's application, read-only (one connection, no DDL), on the configured or
    embedded database; None when there is no log to read yet."""
    from application.log_reader import LogReader
    from infrastructure.keys.wrappers import key_wrapper_of
    from infrastructure.store.event_store import eventsourcing_env

    embedded = None
    database_url = settings.database_url
    if database_url is None:
        from infrastructure.runtime.embedded import EmbeddedServers

        embedded = EmbeddedServers(settings.data_dir)
        database_url = embedded.start(need_postgres=True, need_redis=False)[0]
    try:
        if not _log_exists(database_url):
            yield None
            return
        env = {
            **eventsourcing_env(database_url, 1),
            **key_wrapper_of(settings).as_env(),
            "ECOVAREJO_ERASURE_LEDGER": str(settings.erasure_ledger_path),
            "POSTGRES_MAX_OVERFLOW": "1",
            "CREATE_TABLE": "n",
        }
        app = LogReader(env=env)
        try:
            yield app
        finally:
            app.close()
    finally:
        if embedded is not None:
            embedded.stop()


def _log_exists(database_url: str) -> bool:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass('ecovarejo_events')").fetchone()
    return row is not None and row[0] is not None


def settings_of_log() -> Any | None:
    """The settings the log needs: read cheaply when they can be (see
    infrastructure/log_settings.py), else `Settings`; None when those refuse."""
    from infrastructure.log_settings import log_settings

    settings = log_settings()
    if settings is not None:
        return settings
    from pydantic import ValidationError

    from infrastructure.settings import Settings

    try:
        return Settings()
    except ValidationError:
        return None  # the full CLI reports it, its way


def replay_all(since: int, type_: str | None, as_json: bool) -> bool:
    """Stream the log to stdout; False (nothing written) when the full CLI should answer."""
    from application.audit_rows import stream
    from infrastructure.runtime.collector import fewer_collections

    settings = settings_of_log()
    if settings is None:
        return False
    topics: tuple[str, ...] = ()
    if type_ is not None:
        from application.audit import event_types

        known = event_types()
        if type_ not in known:
            return False
        topics = (known[type_],)
    try:
        with opened_log(settings) as app:
            if app is None:
                return False
            rows = stream(
                app.mapper, app.recorder.select_notification_rows, since=since, topics=topics
            )
            with fewer_collections():  # the pages' rows set off no cycle collections
                write_rows(rows, as_json)
    except Exception as error:  # a key wrapper that refuses, a database that is not there
        from application.keys import KeyWrapperUnavailableError
        from infrastructure.keys.master_key import MasterKeyError

        if isinstance(error, MasterKeyError | KeyWrapperUnavailableError):
            return False  # nothing written yet: the full CLI says what is wrong
        raise
    return True


def run_lean(argv: Sequence[str]) -> None:
    """Exit after a lean `replay --all`; return when the command is for the full CLI."""
    parsed = parse(argv)
    if parsed is not None and replay_all(*parsed):
        sys.exit(0)


def main() -> None:
    """The `ecovarejo` entry point: the lean replay when it applies, else the full CLI."""
    if sys.argv[1:2] == ["replay"]:
        run_lean(sys.argv[2:])
    from api.cli.root import main as full

    full()
