"""Regroup `api/` and `infrastructure/` into folders that show the layers (issue 22, item 4).

A codemod, run from the repository's root on a checkout with every branch merged:

    python tools/regroup.py            # moves with `git mv`, rewrites every reference
    python tools/regroup.py --check    # says what it would do, changes nothing (exit 1 if any)

It is idempotent: a second run finds nothing to move and nothing to rewrite. The one table
`MOVES` says where each module goes (old dotted name -> new dotted name); a package moves
with everything in it, so modules added to `api/routers/` (say) since the table was written
move too. A module added at the top of `api/` or `infrastructure/` that the table does not
name is reported at the end (add it to `MOVES`, or to `STAYS`, and run again).

What it rewrites, in every file git tracks (this script excepted):
- Python: `import x.y`, `from x.y import z`, `from x import y` (y a moved module: split out
  of the statement, with `as` where the module's last name changes); the dotted names in
  strings and comments (monkeypatch targets, "module:attr" topics, uvicorn/dramatiq/logging
  names); dotted names in code where the file does `import api...`/`import infrastructure...`
  (elsewhere `api.app` may be a fixture's attribute, e.g. tests' `api.app.routes`).
- Every other text file (pyproject.toml, Makefile, Dockerfile, compose, deploy/, .ci/, docs/,
  README.md, bench/, ops/): dotted names and paths (`api/routers/`, `infrastructure/keys.py`).
Then `ruff check --select I --fix` and `ruff format` on the Python files it changed, so the
moved imports are sorted and wrapped like the rest.

What it leaves alone: `domain/` (event topics are stored in the database: none of them
names a module moved here), `application/`, `projections/`, `api/cli/`, `api/console/`,
`api/storefront/`, `api/sandbox_provider/`. No topic of a moved module is persisted: the
stored events' topics are `domain.*` (and the bench's `bench.writers:RawEvent`), the
transcodings are stored by name (`money`, `order_line`, ...), and the recorder, key store,
persistence module and key-wrapper topics are written in code (rewritten here), never in
data. So no compatibility alias is left behind.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Callable, Iterable
from pathlib import Path

# old dotted module (or package) -> new dotted module (or package)
MOVES: dict[str, str] = {
    # api/http: the HTTP edge (app, middlewares, errors, schemas) and its routers
    "api.access_log": "api.http.access_log",
    "api.app": "api.http.app",
    "api.auth": "api.http.auth",
    "api.deps": "api.http.deps",
    "api.docs_offline": "api.http.docs_offline",
    "api.edge": "api.http.edge",
    "api.errors": "api.http.errors",
    "api.etag": "api.http.etag",
    "api.http_cache": "api.http.http_cache",
    "api.idempotency": "api.http.idempotency",
    "api.metrics": "api.http.metrics",
    "api.middleware": "api.http.middleware",
    "api.openapi": "api.http.openapi",
    "api.ops_metrics": "api.http.ops_metrics",
    "api.ops_server": "api.http.ops_server",
    "api.owned_reads": "api.http.owned_reads",
    "api.payment_input": "api.http.payment_input",
    "api.query_guard": "api.http.query_guard",
    "api.ratelimit": "api.http.ratelimit",
    "api.routes": "api.http.routes",
    "api.schemas": "api.http.schemas",
    "api.schemas_auth": "api.http.schemas_auth",
    "api.schemas_back_office": "api.http.schemas_back_office",
    "api.schemas_catalog": "api.http.schemas_catalog",
    "api.schemas_catalog_media": "api.http.schemas_catalog_media",
    "api.schemas_customers": "api.http.schemas_customers",
    "api.schemas_search": "api.http.schemas_search",
    "api.search_cache": "api.http.search_cache",
    "api.fast_path": "api.http.fast_path",
    "api.stored": "api.http.stored",
    "api.text": "api.http.text",
    "api.tracing": "api.http.tracing",
    "api.routers": "api.http.routers",
    # infrastructure/store: the write side in PostgreSQL
    "infrastructure.event_store": "infrastructure.store.event_store",
    "infrastructure.event_log": "infrastructure.store.event_log",
    "infrastructure.setup": "infrastructure.store.setup",
    "infrastructure.memory": "infrastructure.store.memory",
    "infrastructure.backup": "infrastructure.store.backup",
    "infrastructure.backup_proof": "infrastructure.store.backup_proof",
    "infrastructure.account_store": "infrastructure.store.account_store",
    # infrastructure/read_stores: Redis documents and the search index, and operating them
    "infrastructure.redis_keys": "infrastructure.read_stores.redis_keys",
    "infrastructure.redis_views": "infrastructure.read_stores.redis_views",
    "infrastructure.stored_documents": "infrastructure.read_stores.stored_documents",
    "infrastructure.lean_redis": "infrastructure.read_stores.lean_redis",
    "infrastructure.search_postgres": "infrastructure.read_stores.search_postgres",
    "infrastructure.search_elasticsearch": "infrastructure.read_stores.search_elasticsearch",
    "infrastructure.projection_admin": "infrastructure.read_stores.projection_admin",
    "infrastructure.parked_retry": "infrastructure.read_stores.parked_retry",
    # infrastructure/keys: data keys, the master key and its wrappers, signing keys
    "infrastructure.keys": "infrastructure.keys.data_keys",
    "infrastructure.master_key": "infrastructure.keys.master_key",
    "infrastructure.key_wrappers": "infrastructure.keys.wrappers",
    "infrastructure.vault_transit": "infrastructure.keys.vault_transit",
    "infrastructure.key_custody": "infrastructure.keys.custody",
    "infrastructure.signing_keys": "infrastructure.keys.signing_keys",
    "infrastructure.erasure_ledger": "infrastructure.keys.erasure_ledger",
    # infrastructure/gateways: the outside world's services, and the sandbox that plays them
    "infrastructure.gateways.http": "infrastructure.gateways.payments.http",
    "infrastructure.gateways.mercadopago": "infrastructure.gateways.payments.mercadopago",
    "infrastructure.gateways.pagseguro": "infrastructure.gateways.payments.pagseguro",
    "infrastructure.gateways.registry": "infrastructure.gateways.payments.registry",
    "infrastructure.gateways.stripe": "infrastructure.gateways.payments.stripe",
    "infrastructure.payments": "infrastructure.gateways.payments.sandbox",
    "infrastructure.carriers": "infrastructure.gateways.carriers",
    "infrastructure.fiscal": "infrastructure.gateways.fiscal",
    "infrastructure.settlement_reports": "infrastructure.gateways.settlement_reports",
    "infrastructure.notifications": "infrastructure.gateways.notifications",
    "infrastructure.mail_outbox": "infrastructure.gateways.mail_outbox",
    "infrastructure.webhook_signing": "infrastructure.gateways.webhook_signing",
    "infrastructure.object_stores": "infrastructure.gateways.object_stores",
    "infrastructure.integration_publisher": "infrastructure.gateways.integration_publisher",
    # infrastructure/runtime: embedded servers, the worker and its runners
    "infrastructure.embedded": "infrastructure.runtime.embedded",
    "infrastructure.private_files": "infrastructure.runtime.private_files",
    "infrastructure.actors": "infrastructure.runtime.actors",
    "infrastructure.followers": "infrastructure.runtime.followers",
    "infrastructure.feed": "infrastructure.runtime.feed",
    "infrastructure.fanout": "infrastructure.runtime.fanout",
    "infrastructure.runners": "infrastructure.runtime.runners",
    "infrastructure.saga_partitions": "infrastructure.runtime.saga_partitions",
    "infrastructure.processing": "infrastructure.runtime.processing",
    "infrastructure.allocator": "infrastructure.runtime.allocator",
    # infrastructure/observability
    "infrastructure.tracing": "infrastructure.observability.tracing",
}

# What stays at the top of api/ and infrastructure/: the wiring and the one Settings.
STAYS = {
    "api",
    "api.cli",
    "api.console",
    "api.storefront",
    "api.sandbox_provider",
    "infrastructure",
    "infrastructure.bootstrap",
    "infrastructure.settings",
    "infrastructure.hardening",
    "infrastructure.aftersale_settings",
    "infrastructure.cache_settings",
    "infrastructure.catalog_settings",
    "infrastructure.integration_settings",
    "infrastructure.media_settings",
    "infrastructure.payment_settings",
    "infrastructure.search_settings",
    "infrastructure.accounts_wiring",
    "infrastructure.catalog_media_wiring",
    "infrastructure.reconciliation_run",
    "infrastructure.gateways",
}

# The new packages, with the docstring of their __init__.py (written when it is missing or empty).
PACKAGES: dict[str, str] = {
    "api.http": "The HTTP edge: the FastAPI app, its middlewares (app.py lists them outermost"
    " first), the error mapping, the schemas, and the routers (each route one application"
    " call or one reader query).",
    "infrastructure.store": "The write side in PostgreSQL: the event store and its recorder,"
    " the raw log for auditors, the schema set-up (`ecovarejo migrate`), backups, the account"
    " store, and the in-memory store of the fast tests.",
    "infrastructure.read_stores": "The read side's stores: Redis documents (one key layout,"
    " generations, the position written with the documents), the product search index"
    " (PostgreSQL or Elasticsearch), and operating them (status, rebuilds, parked events).",
    "infrastructure.keys": "Keys: per-subject data keys, the master key and its wrappers (local"
    " or Vault Transit), our token-signing keys, the erasure ledger, and what must travel with"
    " a backup.",
    "infrastructure.gateways": "Gateways to the services outside: payment providers (payments/),"
    " carriers, fiscal providers, settlement reports, e-mail and notifications, object stores,"
    " the integration-event publisher.",
    "infrastructure.gateways.payments": "Payment providers behind the `PaymentGateway` port:"
    " the sandbox, Stripe, Mercado Pago, PagBank, and the registry that builds them.",
    "infrastructure.runtime": "What runs: the embedded PostgreSQL and Redis, the data dir's"
    " permissions, the dramatiq actors, the follower registry, the one feed per worker, the"
    " supervised runners and the life cycle of a process's background work.",
    "infrastructure.observability": "Observability: OpenTelemetry traces.",
}

# Moves of a whole folder (a package), and old names that are also new packages.
PACKAGE_MOVES = {"api.routers", "infrastructure.carriers", "infrastructure.fiscal"}
AMBIGUOUS = {
    old for old in MOVES if old in PACKAGES or any(n.startswith(old + ".") for n in MOVES.values())
}

ROOTS = ("api", "infrastructure")
SKIP = {"tools/regroup.py", "tools/lighthouse/package-lock.json"}


def _path(module: str) -> Path:
    return Path(*module.split("."))


class Rewriter:
    """Old names -> new names in text, in one pass (a replaced name is never matched again).

    An old name that is also a new package (`infrastructure.keys`, a module that becomes the
    keys/ folder) is rewritten only while the old module still exists, before its move: after
    it, `infrastructure.keys` means the package, and a second run leaves it alone."""

    def __init__(self, moves: dict[str, str], ambiguous_active: bool) -> None:
        self.moves = {
            old: new for old, new in moves.items() if ambiguous_active or old not in AMBIGUOUS
        }
        self.paths: dict[str, str] = {}
        for old, new in self.moves.items():
            if old in PACKAGE_MOVES:  # a folder: `api/routers/`, `api/routers`
                self.paths[str(_path(old))] = str(_path(new))
            else:
                self.paths[str(_path(old)) + ".py"] = str(_path(new)) + ".py"
        olds = sorted(self.moves, key=len, reverse=True)
        self.dotted = re.compile(
            r"(?<![\w.])(" + "|".join(re.escape(o) for o in olds) + r")(?![\w])"
        )
        self.pathed = re.compile(
            r"(?<![\w.-])("
            + "|".join(re.escape(p) for p in sorted(self.paths, key=len, reverse=True))
            + r")(?![\w-])"
        )

    def name(self, dotted: str) -> str:
        """The new name of a module (or of an attribute path under one)."""
        return self.dotted.sub(lambda m: self.moves[m.group(1)], dotted)

    def text(self, text: str, keep: Callable[[re.Match[str]], bool] | None = None) -> str:
        def dotted(m: re.Match[str]) -> str:
            if keep is not None and keep(m):
                return m.group(0)
            return self.moves[m.group(1)]

        text = self.dotted.sub(dotted, text)
        return self.pathed.sub(lambda m: self.paths[m.group(1)], text)


def _offsets(text: str) -> list[int]:
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _split_from_imports(source: str, rw: Rewriter) -> str:
    """`from api import owned_reads, sandbox_provider` -> `from api.http import owned_reads`
    and `from api import sandbox_provider`: a name that is a moved module leaves the statement
    when its parent changes differently from the statement's module."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        if node.module.split(".")[0] not in ROOTS:
            continue
        staying: list[ast.alias] = []
        moved: list[str] = []
        for alias in node.names:
            full = f"{node.module}.{alias.name}"
            new_full = rw.name(full)
            if new_full == f"{rw.name(node.module)}.{alias.name}":
                staying.append(alias)
                continue
            parent, base = new_full.rsplit(".", 1)
            local = alias.asname or alias.name
            moved.append(f"from {parent} import {base}" + (f" as {local}" if local != base else ""))
        if not moved:
            continue
        indent = re.match(r"\s*", lines[node.lineno - 1]).group(0)  # type: ignore[union-attr]
        statements = moved
        if staying:
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in staying)
            statements = [f"from {node.module} import {names}", *moved]
        ending = "\n"
        new = "".join(f"{indent}{s}{ending}" for s in statements)
        edits.append((node.lineno - 1, node.end_lineno or node.lineno, new))
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = [new]
    return "".join(lines)


def _python(source: str, rw: Rewriter) -> str:
    """The dotted names first, then the `from x import module` statements: the statements
    this writes are never rewritten again."""
    return _split_from_imports(_dotted_names(source, rw), rw)


def _dotted_names(source: str, rw: Rewriter) -> str:
    try:
        tree = ast.parse(source)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (SyntaxError, tokenize.TokenError):
        return rw.text(source)
    starts = _offsets(source)

    def at(row: int, col: int) -> int:
        return starts[row - 1] + col

    free: list[tuple[int, int]] = []  # strings, comments and import statements
    for tok in tokens:
        if tok.type in (tokenize.STRING, tokenize.COMMENT):
            free.append((at(*tok.start), at(*tok.end)))
    imported_roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            end = (node.end_lineno or node.lineno, node.end_col_offset or 0)
            free.append((at(node.lineno, node.col_offset), at(*end)))
        if isinstance(node, ast.Import):
            imported_roots |= {a.name.split(".")[0] for a in node.names if "." in a.name}
    roots_in_code = imported_roots & set(ROOTS)

    def keep(m: re.Match[str]) -> bool:
        """Leave a name in code alone unless its root is a module this file imports."""
        if any(a <= m.start() < b for a, b in free):
            return False
        return m.group(1).split(".")[0] not in roots_in_code

    return rw.text(source, keep)


def _wrap_comments(text: str, before: str, width: int = 100) -> str:
    """A comment line a longer path made too long, in two (ruff format leaves comments)."""
    out, old = [], set(before.splitlines())
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        match = re.match(r"(\s*# )(.*)", body)
        if len(body) <= width or match is None or "noqa" in body or body in old:
            out.append(line)
            continue
        cut = body.rfind(" ", len(match.group(1)), width + 1)
        if cut <= len(match.group(1)):
            out.append(line)
            continue
        out.append(body[:cut] + "\n")
        out.append(match.group(1) + body[cut + 1 :] + line[len(body) :])
    return "".join(out)


def _tracked(root: Path) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True, text=True
    ).stdout
    return [p for p in out.split("\0") if p and p not in SKIP]


def _read(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    if b"\0" in data or len(data) > 2_000_000:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True)


def move(root: Path, check: bool) -> list[str]:
    """`git mv` each old module still there to its new place; the new packages get an
    `__init__.py` with their docstring."""
    done: list[str] = []
    for package, doc in PACKAGES.items():
        init = root / _path(package) / "__init__.py"
        if init.exists() and init.read_text().strip():
            continue
        done.append(f"write {init.relative_to(root)}")
        if not check:
            init.parent.mkdir(parents=True, exist_ok=True)
            init.write_text(f'"""{_wrap(doc)}"""\n')
            _git(root, "add", str(init.relative_to(root)))
    for old, new in MOVES.items():
        source = root / _path(old)
        if old not in PACKAGE_MOVES:
            source = source.with_suffix(".py")
        if not source.exists():
            continue  # moved already
        target = root / _path(new)
        if source.suffix == ".py":
            target = target.with_suffix(".py")
        if target.exists():
            raise SystemExit(f"regroup: both {source} and {target} exist; merge them by hand")
        done.append(f"git mv {source.relative_to(root)} {target.relative_to(root)}")
        if not check:
            target.parent.mkdir(parents=True, exist_ok=True)
            _git(root, "mv", str(source.relative_to(root)), str(target.relative_to(root)))
    return done


def _wrap(doc: str, width: int = 95) -> str:
    words, lines, line = doc.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def rewrite(root: Path, rw: Rewriter, check: bool) -> list[str]:
    changed: list[str] = []
    for rel in _tracked(root):
        path = root / rel
        text = _read(path)
        if text is None:
            continue
        new = _wrap_comments(_python(text, rw), text) if rel.endswith(".py") else rw.text(text)
        if new != text:
            changed.append(rel)
            if not check:
                path.write_text(new)
    return changed


def tidy(root: Path, files: Iterable[str]) -> None:
    """Sort and wrap the rewritten imports like the rest of the code."""
    python = [f for f in files if f.endswith(".py")]
    ruff = shutil.which("ruff") or str(root / ".venv" / "bin" / "ruff")
    if not python or not Path(ruff).exists():
        print("regroup: ruff not found: run `ruff check --select I --fix . && ruff format .`")
        return
    subprocess.run([ruff, "check", "--quiet", "--select", "I", "--fix", *python], cwd=root)
    subprocess.run([ruff, "format", "--quiet", *python], cwd=root)


def unmapped(root: Path) -> list[str]:
    """Top-level modules of api/ and infrastructure/ (and of the gateways folder) that the
    table neither moves nor keeps: added since it was written."""
    known = set(MOVES) | set(MOVES.values()) | STAYS | set(PACKAGES)
    found = []
    for folder in ("api", "infrastructure", "infrastructure/gateways"):
        for child in sorted((root / folder).iterdir()):
            if child.name.startswith(("_", ".")):
                continue
            if child.suffix == ".py" or (child / "__init__.py").exists():
                name = ".".join((*Path(folder).parts, child.stem))
                if name not in known:
                    found.append(name)
    return found


def self_check(rw_before: Rewriter, rw_after: Rewriter) -> None:
    """The table is a function: each old name goes to its new one, and no new name is
    rewritten again (which is what makes a second run a no-op)."""
    for old, new in MOVES.items():
        assert rw_before.name(old) == new, (old, rw_before.name(old), new)
        assert rw_after.name(new) == new, (new, rw_after.name(new))
        assert rw_after.text(str(_path(new)) + ".py") == str(_path(new)) + ".py", new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="say what would change; change nothing"
    )
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parents[1]
    ambiguous_active = any((root / _path(old)).with_suffix(".py").is_file() for old in AMBIGUOUS)
    self_check(Rewriter(MOVES, True), Rewriter(MOVES, False))
    rw = Rewriter(MOVES, ambiguous_active)
    moved = move(root, args.check)
    changed = rewrite(root, rw, args.check)
    for line in moved:
        print(line)
    for rel in changed:
        print(f"rewrite {rel}")
    if changed and not args.check:
        tidy(root, changed)
    left = unmapped(root)
    for name in left:
        print(f"regroup: {name} is not in MOVES nor STAYS: add it and run again", file=sys.stderr)
    if not moved and not changed:
        print("regroup: nothing to do")
    if args.check:
        return 1 if moved or changed else 0
    return 2 if left else 0


if __name__ == "__main__":
    sys.exit(main())
