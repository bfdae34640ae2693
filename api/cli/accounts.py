"""`ecovarejo users ...` (staff accounts), `ecovarejo mail outbox` (the embedded default's
account mails) and `ecovarejo keys rotate-signing` (our token-signing keys).

Installed by `api/cli/root.py` through `install`."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.common import cli_actor, connected, emit, fail

users_app = typer.Typer(
    help="Staff accounts: invite, change roles, deactivate.", no_args_is_help=True
)
mail_app = typer.Typer(
    help="Account mails kept locally (no SMTP configured).", no_args_is_help=True
)


@users_app.command("invite")
def users_invite(
    email: str,
    role: Annotated[str, typer.Option("--role", help="admin or auditor")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help="auditor:pii")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a staff account and mail (and print) its one-time set-password link; the
    staff member then enrols a TOTP authenticator when setting the password."""
    from domain.account import STAFF_ROLES, STAFF_SCOPES

    if role not in STAFF_ROLES:
        fail(f"--role must be one of {', '.join(STAFF_ROLES)}")
    if any(s not in STAFF_SCOPES for s in scope or []):
        fail(f"--scope must be among {', '.join(STAFF_SCOPES)}")
    from infrastructure.accounts_wiring import account_system

    with connected() as container:
        link = account_system(container).accounts.invite(email, role, scope or [], cli_actor())
    if as_json:
        emit({"invited": True, "role": role, "scopes": scope or [], "link": link})
    else:
        typer.echo(f"invited as {role}; one-time link (72 h): {link}")


def _customer_id(container: object, who: str) -> str:
    from infrastructure.accounts_wiring import account_system

    accounts = account_system(container).accounts  # type: ignore[arg-type]
    if "@" in who:
        found = accounts.index.find(who)
        if found is None:
            fail("no account with that e-mail")
        return found
    return who


@users_app.command("role")
def users_role(
    who: Annotated[str, typer.Argument(help="e-mail or account id")],
    role: Annotated[str, typer.Option("--role")],
    scope: Annotated[list[str] | None, typer.Option("--scope")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Change a staff account's role and scopes (an event); its sessions end."""
    from domain.account import STAFF_ROLES

    if role not in STAFF_ROLES:
        fail(f"--role must be one of {', '.join(STAFF_ROLES)}")
    from infrastructure.accounts_wiring import account_system

    with connected() as container:
        customer_id = _customer_id(container, who)
        changed = account_system(container).accounts.change_role(
            customer_id, role, scope or [], cli_actor()
        )
    emit({"account": customer_id, "changed": changed}) if as_json else typer.echo(
        f"{customer_id}: {'changed' if changed else 'unchanged'}"
    )


@users_app.command("deactivate")
def users_deactivate(
    who: Annotated[str, typer.Argument(help="e-mail or account id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Deactivate an account: its refresh families and access tokens stop at once."""
    from infrastructure.accounts_wiring import account_system

    with connected() as container:
        customer_id = _customer_id(container, who)
        changed = account_system(container).accounts.deactivate(customer_id, cli_actor())
    emit({"account": customer_id, "deactivated": changed}) if as_json else typer.echo(
        f"{customer_id}: {'deactivated' if changed else 'was not active'}"
    )


@mail_app.command("outbox")
def mail_outbox(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The account mails of the last 72 hours (verification, reset, invitation), newest
    last, each with its recipient looked up now (none once erased)."""
    from infrastructure.accounts_wiring import account_system

    with connected() as container:
        system = account_system(container)
        mails = [
            {
                "sent_at": mail["sent_at"],
                "to": system.accounts.email_of(mail["customer_id"]),
                "kind": mail["kind"],
                "subject": mail["subject"],
                "body": mail["body"],
            }
            for mail in system.outbox.mails()
        ]
    if as_json:
        emit(mails)
        return
    for mail in mails:
        typer.echo(
            f"To: {mail['to'] or '(erased)'}\nSubject: {mail['subject']}\n\n{mail['body']}\n"
        )
    if not mails:
        typer.echo("the outbox is empty")


def keys_rotate_signing(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Make a new Ed25519 key sign access tokens; the old one still verifies until its
    last token expires, then it is removed (its private key destroyed)."""
    from infrastructure.accounts_wiring import account_system

    with connected() as container:
        system = account_system(container)
        outcome = system.signing_keys.rotate(system.accounts.policy.access_ttl_s)
    if as_json:
        emit(outcome)
    else:
        typer.echo(
            f"signing with {outcome['current']}; older keys honoured until "
            f"{outcome['honoured_until']}; removed: {', '.join(outcome['removed']) or 'none'}"
        )


def install(app: typer.Typer, keys_app: typer.Typer) -> None:
    if any(group.typer_instance is users_app for group in app.registered_groups):
        return
    app.add_typer(users_app, name="users")
    app.add_typer(mail_app, name="mail")
    keys_app.command("rotate-signing")(keys_rotate_signing)
