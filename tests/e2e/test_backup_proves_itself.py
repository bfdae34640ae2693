"""Issue 21: a backup proves itself. A tampered, chain-less or malformed backup is refused by
`restore --force` with one `error:` line and exit 2, and the system is left as it was."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from domain.base import event_context
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.keys.data_keys import MASTER_KEY_FILE, generate_master_key
from infrastructure.keys.erasure_ledger import LEDGER_FILE
from infrastructure.settings import Settings
from infrastructure.store.event_log import EventLog
from tests.checkout import register
from tests.conftest import JWT_SECRET, Servers, new_database
from tests.e2e.test_backup_restore import ADMIN, env_of
from tests.e2e.test_cli import run

Members = dict[str, bytes]


@pytest.fixture(scope="module")
def made(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`ecovarejo backup` of two chained events, run once for the module in a system of its
    own (database, data dir, master key): the tests only read the file, or a changed copy."""
    data_dir = tmp_path_factory.mktemp("made")
    (data_dir / MASTER_KEY_FILE).write_text(generate_master_key())
    with new_database(servers) as database_url:
        settings = Settings(
            DATABASE_URL=database_url,
            REDIS_URL=servers.redis_url,
            ECOVAREJO_DATA_DIR=data_dir,
            ECOVAREJO_JWT_SECRET=JWT_SECRET,
        )
        built = bootstrap(settings)
        try:
            with event_context(ADMIN):
                register(built.services, "ECO-1", 5, price="50.00")
                register(built.services, "ECO-2", 5, price="12.50")
        finally:
            built.close()
        EventLog(database_url).extend_chain_fully()
        file = data_dir / "good.backup"
        made = run("backup", str(file), "--json", env=env_of(settings))
        assert made.returncode == 0, made.stderr
    return file


@pytest.fixture
def settings(settings: Settings, made: Path) -> Settings:
    """The test's own data dir as the backup left its own: the master key the backup was
    made under, and the erasure ledger `backup` starts (no erasures on it)."""
    for name in (MASTER_KEY_FILE, LEDGER_FILE):
        shutil.copy(made.parent / name, settings.data_dir / name)
    return settings


@pytest.fixture
def system(settings: Settings) -> Iterator[Container]:
    built = bootstrap(settings)  # nothing processing: restore may run
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def good(made: Path, system: Container, tmp_path: Path) -> Path:
    """A copy of the backup of two chained events; the system holds the same two, chained,
    and a third event written after them."""
    with event_context(ADMIN):
        register(system.services, "ECO-1", 5, price="50.00")
        register(system.services, "ECO-2", 5, price="12.50")
    EventLog(system.database_url).extend_chain_fully()
    with event_context(ADMIN):
        register(system.services, "ECO-3", 5)
    return Path(shutil.copy(made, tmp_path / "good.backup"))


def members_of(path: Path) -> Members:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def write(path: Path, members: Members) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def manifest(members: Members) -> dict:
    return json.loads(members["manifest.json"])


def with_manifest(members: Members, document: object) -> Members:
    return {**members, "manifest.json": json.dumps(document).encode()}


def tampered_events(members: Members) -> Members:
    """An amount changed in the events' COPY stream, same length (the attack)."""
    events = members["tables/ecovarejo_events.copy"]
    assert b"12.50" in events
    return {**members, "tables/ecovarejo_events.copy": events.replace(b"12.50", b"92.50")}


def redigested(members: Members) -> Members:
    """The manifest's digests made to agree with the (changed) streams."""
    document = manifest(members)
    for table, spec in document["tables"].items():
        spec["sha256"] = hashlib.sha256(members[f"tables/{table}.copy"]).hexdigest()
    return with_manifest(members, document)


def without_chain(members: Members) -> Members:
    document = manifest(members)
    for table in ("ecovarejo_chain_links", "ecovarejo_chain_global"):
        del document["tables"][table]
        del members[f"tables/{table}.copy"]
    return with_manifest(members, document)


def deeply_nested(members: Members) -> Members:
    deep = b'{"format": "ecovarejo-backup/2", "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    return {**members, "manifest.json": deep}


def member_missing(members: Members) -> Members:
    return {k: v for k, v in members.items() if k != "tables/ecovarejo_subject_keys.copy"}


def no_created_at(members: Members) -> Members:
    document = manifest(members)
    del document["created_at"]
    return with_manifest(members, document)


CASES: dict[str, tuple[Callable[[Members], Members], str]] = {
    "events changed": (tampered_events, "does not match its digest"),
    "events changed, digests redone": (
        lambda m: redigested(tampered_events(m)),
        "does not match its chain link",
    ),
    "events changed, chain dropped": (
        lambda m: redigested(without_chain(tampered_events(m))),
        "not the hash chain",
    ),
    "manifest nested 200k deep": (deeply_nested, "nested too deeply"),
    "member missing from the tar": (member_missing, "not in the archive"),
    "no created_at": (no_created_at, "no valid created_at"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_backup_that_does_not_prove_itself_is_refused_and_nothing_changes(
    case, system, settings, good, tmp_path
):
    change, message = CASES[case]
    bad = write(tmp_path / "bad.backup", change(members_of(good)))
    result = run("restore", str(bad), "--force", env=env_of(settings), timeout=300)
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith("error: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert "nothing was changed" in result.stderr or "nothing changed" in result.stderr
    assert system.head_position() == 3  # the events written after the backup are still there
    log = EventLog(system.database_url)
    log.extend_chain_fully()
    assert log.verify_chain().ok


def test_the_untampered_backup_restores(system, settings, good):
    assert manifest(members_of(good))["chain"]["position"] == 2  # the chain head it carries
    result = run("restore", str(good), "--force", "--json", env=env_of(settings), timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["chain_ok"] is True
    assert system.head_position() == 2


def test_a_format_1_backup_without_digests_still_restores_with_its_chain_checked(
    system, settings, good, tmp_path
):
    members = members_of(good)
    document = manifest(members)
    document["format"] = "ecovarejo-backup/1"
    del document["chain"]
    for spec in document["tables"].values():
        del spec["sha256"]
    old = write(tmp_path / "old.backup", with_manifest(members, document))
    result = run("restore", str(old), "--force", "--json", env=env_of(settings), timeout=300)
    assert result.returncode == 0, result.stderr
    assert system.head_position() == 2
    tampered = write(tmp_path / "old-bad.backup", tampered_events(with_manifest(members, document)))
    refused = run("restore", str(tampered), "--force", env=env_of(settings), timeout=300)
    assert refused.returncode == 2
    assert "does not match its chain link" in refused.stderr
