"""`ecovarejo keys ...` (the master key) and the LGPD request log (`ecovarejo lgpd requests`).

Installed by `api/cli/root.py` through `install`; errors are a one-line message, exit 2.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import connected, emit, fail

if TYPE_CHECKING:
    from infrastructure.settings import Settings

keys_app = typer.Typer(
    help="The master key that wraps every customer's data key.", no_args_is_help=True
)


@keys_app.command("generate")
def keys_generate(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print a new random master key (for ECOVAREJO_MASTER_KEY or `rotate --new-key-file`)."""
    from infrastructure.keys.data_keys import generate_master_key

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
    from application.operations.keys import (
        RotationRefusedError,
        RotationRequest,
        check_rotation,
        rotate_master_key,
    )
    from infrastructure.keys.master_key import MasterKeyError, MasterKeys
    from infrastructure.settings import Settings

    settings = Settings()
    request = RotationRequest(
        wrapper=settings.key_wrapper,
        new_key_file_given=new_key_file is not None,
        retire_old_versions=retire_old_versions,
        to_vault=to_vault,
        vault_configured=settings.vault_addr is not None and settings.vault_token is not None,
    )
    try:
        check_rotation(request)
    except RotationRefusedError as e:
        fail(str(e))
    if request.kind == "local" and new_key_file is not None:
        try:
            request = replace(request, new_key_text=new_key_file.read_text())
        except OSError as e:
            fail(f"cannot read --new-key-file: {e.strerror}")
    vault = _vault_to_move_into(settings) if request.kind == "to_vault" else None
    with connected() as container:  # refuses a current key that is not the one on record
        try:
            done = rotate_master_key(MasterKeys(settings, container.database_url, vault), request)
        except MasterKeyError as e:
            fail(str(e))
    if as_json:
        emit(done.as_dict())
    else:
        typer.echo(done.summary())


def _vault_to_move_into(settings: Settings) -> Any:
    """The Transit key a `--to-vault` moves into, checked usable before connecting."""
    from application.keys import KeyWrapperUnavailableError
    from infrastructure.keys.vault_transit import VaultTransitKey

    try:
        return VaultTransitKey.from_settings(settings)
    except KeyWrapperUnavailableError as e:
        fail(str(e))


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
