"""`ecovarejo keys ...` (the master key) and the LGPD request log (`ecovarejo lgpd requests`).

Installed by `api/cli/root.py` through `install`; errors are a one-line message, exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import connected, emit, fail
from application.keys import KeyWrapperUnavailableError
from infrastructure.key_wrappers import key_wrapper_of
from infrastructure.master_key import MasterKeyError, master_key_of, rotate
from infrastructure.settings import Settings

keys_app = typer.Typer(
    help="The master key that wraps every customer's data key.", no_args_is_help=True
)


@keys_app.command("generate")
def keys_generate(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print a new random master key (for ECOVAREJO_MASTER_KEY or `rotate --new-key-file`)."""
    from infrastructure.keys import generate_master_key

    key = generate_master_key()
    if as_json:
        emit({"master_key": key})
    else:
        typer.echo(key)


@keys_app.command("rotate")
def keys_rotate(
    new_key_file: Annotated[
        Path | None,
        typer.Option(help="file holding the new key [default: generate one into the data dir]"),
    ] = None,
    retire_old_versions: Annotated[
        bool,
        typer.Option(
            "--retire-old-versions",
            help="with Vault: then raise min_decryption_version to the new version",
        ),
    ] = False,
    to_vault: Annotated[
        bool,
        typer.Option(
            "--to-vault",
            help="re-wrap from the local master key into Vault (ECOVAREJO_VAULT_ADDR, _TOKEN)",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-wrap every data key under a new master key, in one transaction. A wrong current
    key changes nothing. Afterwards destroy the old key: dumps and backups taken before
    the rotation cannot be opened without it. With ECOVAREJO_KEY_WRAPPER=vault: rotate the
    Transit key and re-wrap every data key with Vault's rewrap endpoint; older key versions
    stop opening once retired (--retire-old-versions, or min_decryption_version in Vault).
    --to-vault moves a system from the local master key into Vault."""
    settings = Settings()
    if to_vault:
        _move_into_vault(settings, new_key_file, retire_old_versions, as_json)
        return
    if settings.key_wrapper == "vault":
        _rotate_in_vault(settings, new_key_file, retire_old_versions, as_json)
        return
    if retire_old_versions:
        fail(
            "--retire-old-versions is for ECOVAREJO_KEY_WRAPPER=vault; a local master key "
            "retires by destroying every copy of the old key"
        )
    new_text = None
    if new_key_file is not None:
        try:
            new_text = new_key_file.read_text()
        except OSError as e:
            fail(f"cannot read --new-key-file: {e.strerror}")
    with connected() as container:  # refuses a current key that is not the one on record
        try:
            done = rotate(container.database_url, master_key_of(settings), new_text)
        except MasterKeyError as e:
            fail(str(e))
    if as_json:
        emit(
            {
                "keys": done.keys,
                "old_master_key_id": done.old_id,
                "new_master_key_id": done.new_id,
                "new_key_path": str(done.new_key_path) if done.new_key_path else None,
            }
        )
        return
    where = (
        f"the new key replaced {done.new_key_path}"
        if done.new_key_path
        else "set ECOVAREJO_MASTER_KEY to the new key and restart every process"
    )
    typer.echo(
        f"re-wrapped {done.keys} data keys: master key {done.old_id} -> {done.new_id}; "
        f"{where}; now destroy every copy of the old key"
    )


def _move_into_vault(
    settings: Settings, new_key_file: Path | None, retire: bool, as_json: bool
) -> None:
    from infrastructure.master_key import move_into_kms
    from infrastructure.vault_transit import VaultTransitKey

    if settings.key_wrapper != "local":
        fail("--to-vault runs with the local master key still in use (ECOVAREJO_KEY_WRAPPER=local)")
    if new_key_file is not None or retire:
        fail("--to-vault takes neither --new-key-file nor --retire-old-versions")
    if settings.vault_addr is None or settings.vault_token is None:
        fail(
            "--to-vault needs ECOVAREJO_VAULT_ADDR and ECOVAREJO_VAULT_TOKEN (and the Transit key)"
        )
    try:
        kms = VaultTransitKey.from_settings(settings)
    except KeyWrapperUnavailableError as e:
        fail(str(e))
    with connected() as container:  # refuses a local key that is not the one on record
        try:
            done = move_into_kms(container.database_url, master_key_of(settings), kms)
        except MasterKeyError as e:
            fail(str(e))
    if as_json:
        emit(
            {"keys": done.keys, "old_master_key_id": done.old_id, "new_master_key_id": done.new_id}
        )
        return
    typer.echo(
        f"re-wrapped {done.keys} data keys: master key {done.old_id} -> {done.new_id}; set "
        "ECOVAREJO_KEY_WRAPPER=vault, restart every process, then destroy every copy of the "
        "old master key (and the data dir's master-key file)"
    )


def _rotate_in_vault(
    settings: Settings, new_key_file: Path | None, retire: bool, as_json: bool
) -> None:
    from infrastructure.master_key import rotate_in_kms
    from infrastructure.vault_transit import VaultTransitKey

    if new_key_file is not None:
        fail(
            "with ECOVAREJO_KEY_WRAPPER=vault the new key version is made in Vault; "
            "--new-key-file is for a local master key"
        )
    with connected() as container:  # refuses a Vault key that is not the one on record
        kms = key_wrapper_of(settings)
        assert isinstance(kms, VaultTransitKey)
        try:
            done = rotate_in_kms(container.database_url, kms, retire=retire)
        except MasterKeyError as e:
            fail(str(e))
    if as_json:
        emit(
            {
                "keys": done.keys,
                "key_id": done.key_id,
                "old_version": done.old_version,
                "new_version": done.new_version,
                "old_versions_retired": done.retired,
            }
        )
        return
    after = (
        f"versions below {done.new_version} no longer decrypt"
        if done.retired
        else f"retire the old versions with `vault write {kms.mount}/keys/{kms.key_name}/config "
        f"min_decryption_version={done.new_version}` (or rerun with --retire-old-versions)"
    )
    typer.echo(
        f"re-wrapped {done.keys} data keys: {done.key_id} version {done.old_version} -> "
        f"{done.new_version}; {after}"
    )


def lgpd_requests(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every data-subject request: received, completed, the 15-day deadline, time taken."""
    with connected() as container:
        items = container.services.data_subjects.lgpd_requests(pseudonymous=False)
    if as_json:
        emit(items)
        return
    if not items:
        typer.echo("no data-subject requests")
    for r in items:
        took = (
            f"completed in {r['seconds_to_complete']:.1f} s"
            if r["completed_at"]
            else f"OPEN, due {r['deadline']}"
        )
        typer.echo(f"{r['received_at']}  {r['type']:<12} {r['subject']:<24} {took}")


marketing_app = typer.Typer(
    help="Marketing sends, only to customers who consented.", no_args_is_help=True
)
send_app = typer.Typer(help="Send a newsletter or a back-in-stock alert.", no_args_is_help=True)
marketing_app.add_typer(send_app, name="send")


def _report(done: Any, as_json: bool) -> None:
    if as_json:
        emit({"kind": done.kind, "sent": done.sent, "skipped": done.skipped})
    else:
        typer.echo(
            f"{done.kind}: sent to {done.sent} customers; skipped {done.skipped} "
            "without the marketing_email consent"
        )


@send_app.command("newsletter")
def send_newsletter(
    subject: Annotated[str, typer.Option(help="the subject line")],
    body: Annotated[str, typer.Option(help="the text")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A newsletter to every customer who consented to marketing e-mail."""
    if not subject.strip():
        fail("--subject must not be empty")
    with connected() as container:
        _report(
            container.services.customers.send_marketing("newsletter", subject.strip(), body),
            as_json,
        )


@send_app.command("back-in-stock")
def send_back_in_stock(
    sku: Annotated[str, typer.Option(help="the product back in stock")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Tell consenting customers a product is available again."""
    with connected() as container:
        _report(container.services.customers.send_back_in_stock(sku), as_json)


def install(app: typer.Typer, lgpd_app: typer.Typer) -> None:
    if any(group.typer_instance is keys_app for group in app.registered_groups):
        return  # installed already
    app.add_typer(keys_app, name="keys")
    app.add_typer(marketing_app, name="marketing")
    lgpd_app.command("requests")(lgpd_requests)
