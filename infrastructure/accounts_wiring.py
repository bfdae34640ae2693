"""Wiring of accounts and sign-in: built on first use in a process (the API, the CLI),
from the container's settings, event store, key store and Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, cast

from eventsourcing.utils import Environment

from application.account_ports import Links
from application.accounts import AccountPolicy, Accounts
from application.keys import key_store_from
from application.passwords import Argon2Parameters, Passwords
from application.signin import SignInService
from infrastructure.gateways.mail_outbox import OUTBOX_DIR, MailOutbox, SmtpMailer
from infrastructure.keys.signing_keys import SigningKeys
from infrastructure.settings import Settings
from infrastructure.store.account_store import PostgresEmailIndex, RedisThrottle, RedisTokenStore

LINKS_KEY_SUBJECT = "server:account-links"


class Container(Protocol):
    """What of the bootstrap's container this needs (not imported: bootstrap imports this)."""

    settings: Settings
    services: Any
    env: dict[str, str]
    database_url: str
    redis: Any


_ATTRIBUTE = "_accounts_wiring"


@dataclass
class AccountSystem:
    accounts: Accounts
    signin: SignInService
    signing_keys: SigningKeys
    outbox: MailOutbox


def policy_of(settings: Settings) -> AccountPolicy:
    return AccountPolicy(
        access_ttl_s=min(settings.access_token_ttl_s, settings.jwt_max_ttl_s),
        refresh_ttl_s=settings.refresh_token_ttl_s,
        password_min_length=settings.password_min_length,
        lock_after=settings.signin_lock_after,
        lock_s=settings.signin_lock_s,
        issuer=settings.jwt_issuer or "ecovarejo",
        audience=settings.jwt_audience,
        public_url=settings.public_url.rstrip("/"),
    )


def outbox_of(settings: Settings) -> MailOutbox:
    return MailOutbox(settings.data_dir / OUTBOX_DIR)


def account_system(container: Container) -> AccountSystem:
    """This process's account system (built once per container)."""
    found: AccountSystem | None = getattr(container, _ATTRIBUTE, None)
    if found is not None:
        return found
    settings = container.settings
    keys = key_store_from(Environment(container.services.store.name, cast(Any, container.env)))
    outbox = outbox_of(settings)
    accounts = Accounts(
        container.services.store,
        index=PostgresEmailIndex(container.database_url, keys),
        tokens=RedisTokenStore(container.redis),
        links=Links(keys.key_for(LINKS_KEY_SUBJECT)),
        mailer=outbox,
        passwords=Passwords(
            Argon2Parameters(
                settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
            )
        ),
        policy=policy_of(settings),
    )
    if settings.smtp_url:
        accounts.mailer = SmtpMailer(settings.smtp_url, accounts.email_of)
    signing_keys = SigningKeys(container.database_url, keys)
    signin = SignInService(
        accounts,
        signing_keys,
        RedisThrottle(container.redis),
        failure_floor_s=settings.signin_failure_floor_ms / 1000,
    )
    found = AccountSystem(accounts, signin, signing_keys, outbox)
    setattr(container, _ATTRIBUTE, found)
    return found


class LazyAccountHooks:
    """What LGPD requests need of accounts (export, erasure), built only when asked: the
    data-subject service is given these hooks when it is built, before the container that
    the account system is made from exists (`install_accounts` binds it)."""

    def __init__(self) -> None:
        self.container: Container | None = None

    def export(self, customer_id: str) -> dict[str, Any] | None:
        if self.container is None:  # not bound yet (erasures completed at start): none
            return None
        return account_system(self.container).accounts.export(customer_id)

    def erase(self, customer_id: str, requested_by: str) -> bool:
        if self.container is None:  # not bound yet: as before accounts are installed
            return False
        system = account_system(self.container)
        system.outbox.purge_subject(customer_id)  # mails kept before SMTP was configured
        return system.accounts.erase(customer_id, requested_by)


def install_accounts(container: Container, hooks: LazyAccountHooks) -> None:
    """The tables now (a restore needs them in its target), the rest on first use."""
    from infrastructure.keys.signing_keys import create_signing_keys_table
    from infrastructure.store.account_store import create_index_table

    create_index_table(container.database_url)
    create_signing_keys_table(container.database_url)
    hooks.container = container
