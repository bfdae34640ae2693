"""The one configuration object. Every entry point (API, worker, CLI, tests) builds it."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infrastructure.aftersale_settings import AfterSaleSettings
from infrastructure.cache_settings import CacheSettings
from infrastructure.catalog_settings import CatalogSettings
from infrastructure.integration_settings import IntegrationEventSettings
from infrastructure.log_settings import default_data_dir
from infrastructure.media_settings import MediaSettings
from infrastructure.payment_settings import PaymentSettings
from infrastructure.search_settings import SearchSettings


class Settings(
    BaseSettings,
    PaymentSettings,
    AfterSaleSettings,
    IntegrationEventSettings,
    CacheSettings,
    MediaSettings,
    SearchSettings,
    CatalogSettings,
):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    elasticsearch_url: str | None = Field(default=None, validation_alias="ELASTICSEARCH_URL")
    broker_url: str | None = Field(default=None, validation_alias="BROKER_URL")
    # The dramatiq queue: deployments (or test runs) sharing one RabbitMQ vhost use their own.
    broker_queue: str = Field(
        default="ecovarejo",
        pattern=r"^[A-Za-z0-9_.-]{1,100}$",
        validation_alias="ECOVAREJO_BROKER_QUEUE",
    )
    # Not relative to the working directory: every command finds the same system.
    data_dir: Path = Field(
        default_factory=lambda: default_data_dir(), validation_alias="ECOVAREJO_DATA_DIR"
    )
    jwt_secret: SecretStr | None = Field(default=None, validation_alias="ECOVAREJO_JWT_SECRET")
    # Wraps every customer's data key; never stored in the database (see infrastructure/keys).
    master_key: SecretStr | None = Field(default=None, validation_alias="ECOVAREJO_MASTER_KEY")
    # Which adapter holds the key-encryption key (infrastructure/key_wrappers.KEY_WRAPPERS):
    # `local` (the master key above) or `vault` (HashiCorp Vault's Transit engine).
    key_wrapper: str = Field(default="local", validation_alias="ECOVAREJO_KEY_WRAPPER")
    vault_addr: str | None = Field(
        default=None, validation_alias=AliasChoices("ECOVAREJO_VAULT_ADDR", "VAULT_ADDR")
    )
    vault_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ECOVAREJO_VAULT_TOKEN", "VAULT_TOKEN")
    )
    vault_transit_key: str = Field(
        default="ecovarejo",
        pattern=r"^[A-Za-z0-9_.-]{1,128}$",
        validation_alias="ECOVAREJO_VAULT_TRANSIT_KEY",
    )
    vault_transit_mount: str = Field(
        default="transit",
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
        validation_alias="ECOVAREJO_VAULT_TRANSIT_MOUNT",
    )
    # Which data keys erasures destroyed, outside the database and its backups (restore
    # re-applies them); default `erasure-ledger.jsonl` in the data dir, beside the master key.
    erasure_ledger: Path | None = Field(default=None, validation_alias="ECOVAREJO_ERASURE_LEDGER")
    jwks_url: str | None = Field(default=None, validation_alias="ECOVAREJO_JWKS_URL")
    # Seconds a query with X-Consistency-Token waits for its read model before a 503.
    consistency_wait_s: float = Field(
        default=5.0, gt=0, le=30, validation_alias="ECOVAREJO_CONSISTENCY_WAIT_S"
    )
    # Seconds a checkout may wait for its payment decision before it is cancelled.
    payment_timeout_s: float = Field(
        default=60.0, gt=0, validation_alias="ECOVAREJO_PAYMENT_TIMEOUT_S"
    )
    smtp_url: str | None = Field(default=None, validation_alias="ECOVAREJO_SMTP_URL")
    webhook_url: str | None = Field(default=None, validation_alias="ECOVAREJO_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_WEBHOOK_SECRET"
    )
    worker_threads: int = Field(default=4, ge=1, le=64, validation_alias="ECOVAREJO_WORKER_THREADS")
    pool_size: int = Field(default=5, ge=1, le=100, validation_alias="ECOVAREJO_DB_POOL_SIZE")
    # One subscription per worker for every follower it holds (infrastructure/runtime/feed.py); off:
    # one subscription per follower, as before issue 24 (for comparison).
    shared_feed: bool = Field(default=True, validation_alias="ECOVAREJO_SHARED_FEED")
    cors_origins: list[str] = Field(default=[], validation_alias="ECOVAREJO_CORS_ORIGINS")
    # Host names the console answers to (JSON list; "*" any); unset: localhost names on the
    # embedded default, any otherwise (api/console/hosts.py).
    allowed_hosts: list[str] | None = Field(
        default=None, validation_alias="ECOVAREJO_ALLOWED_HOSTS"
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, validation_alias=AliasChoices("ECOVAREJO_MAX_BODY_BYTES")
    )
    # Optional claims an external identity provider's tokens must carry (checked when set).
    jwt_audience: str | None = Field(default=None, validation_alias="ECOVAREJO_JWT_AUDIENCE")
    jwt_issuer: str | None = Field(default=None, validation_alias="ECOVAREJO_JWT_ISSUER")
    # Tokens expiring further away than this are refused (401): every token has a lifetime.
    jwt_max_ttl_s: int = Field(
        default=24 * 3600, ge=60, le=366 * 86400, validation_alias="ECOVAREJO_JWT_MAX_TTL_S"
    )
    # Peers whose X-Forwarded-For is believed (IPs or CIDRs, comma-separated); none by default.
    trusted_proxies: str = Field(default="", validation_alias="ECOVAREJO_TRUSTED_PROXIES")
    # /metrics (and /ready's details) need this bearer token or an admin JWT on the API port;
    # ECOVAREJO_METRICS_BIND (host:port) also serves them, without a token, on its own listener.
    metrics_token: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_METRICS_TOKEN"
    )
    metrics_bind: str | None = Field(default=None, validation_alias="ECOVAREJO_METRICS_BIND")
    # Per-client request budgets (token buckets in Redis; the client is the JWT subject, or
    # the IP without a valid token), by route group as the seed's API gateway had them.
    ratelimit_enabled: bool = Field(default=True, validation_alias="ECOVAREJO_RATELIMIT_ENABLED")
    ratelimit_orders_per_minute: int = Field(
        default=60, ge=1, validation_alias="ECOVAREJO_RATELIMIT_ORDERS_PER_MINUTE"
    )
    ratelimit_reads_per_minute: int = Field(
        default=1200, ge=1, validation_alias="ECOVAREJO_RATELIMIT_READS_PER_MINUTE"
    )
    ratelimit_default_per_minute: int = Field(
        default=600, ge=1, validation_alias="ECOVAREJO_RATELIMIT_DEFAULT_PER_MINUTE"
    )
    # Idempotency-Key: how long a response is kept for replay, how long a claim holds while
    # the first copy runs, and how long a concurrent copy waits for it before a 409.
    idempotency_ttl_s: int = Field(
        default=24 * 3600, ge=1, validation_alias="ECOVAREJO_IDEMPOTENCY_TTL_S"
    )
    idempotency_lock_s: float = Field(
        default=30.0, gt=0, le=600, validation_alias="ECOVAREJO_IDEMPOTENCY_LOCK_S"
    )
    idempotency_wait_s: float = Field(
        default=10.0, ge=0, le=60, validation_alias="ECOVAREJO_IDEMPOTENCY_WAIT_S"
    )

    @field_validator("database_url", "redis_url", "elasticsearch_url", "broker_url", "jwks_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ip_network(part, strict=False)  # ValueError names the bad entry
        return value

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        parts = (p.strip() for p in self.trusted_proxies.split(","))
        return tuple(ip_network(p, strict=False) for p in parts if p)

    @field_validator("metrics_bind")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if not value:
            return None
        host, _, port = value.rpartition(":")
        if not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("ECOVAREJO_METRICS_BIND must be host:port, e.g. 0.0.0.0:9464")
        return value

    @field_validator("key_wrapper")
    @classmethod
    def _known_wrapper(cls, value: str) -> str:
        from infrastructure.keys.wrappers import KEY_WRAPPERS

        if value not in KEY_WRAPPERS:
            raise ValueError(f"ECOVAREJO_KEY_WRAPPER must be one of {', '.join(KEY_WRAPPERS)}")
        return value

    @field_validator("vault_addr")
    @classmethod
    def _vault_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("ECOVAREJO_VAULT_ADDR must start with https:// (or http://)")
        return value or None

    @model_validator(mode="after")
    def _vault_configured(self) -> Settings:
        if self.key_wrapper == "vault" and (self.vault_addr is None or self.vault_token is None):
            raise ValueError(
                "ECOVAREJO_KEY_WRAPPER=vault needs ECOVAREJO_VAULT_ADDR and ECOVAREJO_VAULT_TOKEN"
            )
        return self

    @field_validator("master_key", "vault_token", mode="before")
    @classmethod
    def _blank_key_is_unset(cls, value: object) -> object:
        return value or None

    @field_validator("jwt_audience", "jwt_issuer")
    @classmethod
    def _blank_claim_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("database_url")
    @classmethod
    def _postgres_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("DATABASE_URL must start with postgresql://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL must start with redis://, rediss:// or unix://")
        return value

    # The back office (issue 26): the zone times are shown in (with the zone named), the
    # stock at or below which a product is "low", the largest catalog file an import takes.
    timezone: str = Field(default="America/Sao_Paulo", validation_alias="ECOVAREJO_TIMEZONE")
    low_stock_at: int = Field(default=5, ge=0, validation_alias="ECOVAREJO_LOW_STOCK_AT")
    catalog_import_max_bytes: int = Field(
        default=5_000_000, ge=1, validation_alias="ECOVAREJO_CATALOG_IMPORT_MAX_BYTES"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"ECOVAREJO_TIMEZONE: unknown time zone {value!r}") from None
        return value

    # Production refuses insecure defaults at start (compose sets it): see insecure_defaults.
    production: bool = Field(default=False, validation_alias="ECOVAREJO_PRODUCTION")

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Settings:
        from infrastructure.hardening import insecure_defaults

        problems = insecure_defaults(self) if self.production else []
        if problems:
            raise ValueError("ECOVAREJO_PRODUCTION refuses: " + "; ".join(problems))
        return self

    @property
    def erasure_ledger_path(self) -> Path:
        from infrastructure.keys.erasure_ledger import LEDGER_FILE

        return (self.erasure_ledger or self.data_dir / LEDGER_FILE).resolve()

    @property
    def embedded(self) -> bool:
        """True when some server has to be started from the data dir."""
        return self.database_url is None or self.redis_url is None

    # Accounts and sign-in (issue 25; docs/accounts.md) ----------------------------------------
    access_token_ttl_s: int = Field(
        default=900, ge=60, le=86400, validation_alias="ECOVAREJO_ACCESS_TOKEN_TTL_S"
    )
    refresh_token_ttl_s: int = Field(
        default=30 * 86400, ge=300, le=366 * 86400, validation_alias="ECOVAREJO_REFRESH_TOKEN_TTL_S"
    )
    password_min_length: int = Field(
        default=10, ge=8, le=128, validation_alias="ECOVAREJO_PASSWORD_MIN_LENGTH"
    )
    # argon2id cost (default: OWASP's first choice, m=19 MiB, t=2, p=1, so memory per sign-in
    # in flight stays small); a hash made with other values is re-hashed at its next sign-in.
    argon2_time_cost: int = Field(
        default=2, ge=1, le=20, validation_alias="ECOVAREJO_ARGON2_TIME_COST"
    )
    argon2_memory_kib: int = Field(
        default=19 * 1024,
        ge=1024,
        le=4 * 1024 * 1024,
        validation_alias="ECOVAREJO_ARGON2_MEMORY_KIB",
    )
    argon2_parallelism: int = Field(
        default=1, ge=1, le=16, validation_alias="ECOVAREJO_ARGON2_PARALLELISM"
    )
    signin_lock_after: int = Field(
        default=10, ge=3, le=100, validation_alias="ECOVAREJO_SIGNIN_LOCK_AFTER"
    )
    signin_lock_s: int = Field(
        default=900, ge=60, le=86400, validation_alias="ECOVAREJO_SIGNIN_LOCK_S"
    )
    # A failed sign-in answers no sooner than this after it began, whatever failed (unknown
    # e-mail, wrong password, locked account): the work a known account adds stays hidden.
    signin_failure_floor_ms: int = Field(
        default=400, ge=0, le=5000, validation_alias="ECOVAREJO_SIGNIN_FAILURE_FLOOR_MS"
    )
    # The data protection officer (LGPD art. 41) the storefront's privacy policy names.
    dpo_contact: str = Field(
        default="dpo@ecovarejo.com.br",
        min_length=3,
        max_length=200,
        validation_alias="ECOVAREJO_DPO_CONTACT",
    )
    # Where links in account mails point (the storefront or the API).
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        pattern=r"^https?://[^\s]+$",
        validation_alias="ECOVAREJO_PUBLIC_URL",
    )
