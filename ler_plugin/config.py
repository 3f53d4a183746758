"""Every knob of the service, read once from ``LER_*`` environment variables.

`Settings` is the one settings object: the app factory, the CLI and the tests build it and
pass it down; nothing else reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class SettingsError(Exception):
    """Raised at start-up when a setting is invalid; the message names the setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LER_", extra="ignore", frozen=True)

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'ler.sqlite3'}",
        description="SQLAlchemy URL. sqlite+aiosqlite:///path or postgresql+psycopg://...",
    )
    database_schema: str | None = Field(
        default=None,
        description="PostgreSQL only: the schema to use (search_path). Tests use one per run.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The public URL of the tool, as the LMS and browsers reach it.",
    )
    secret_key: str = Field(
        default="dev-insecure-secret-key-change-me",
        description="Signs sessions, CSRF tokens and share links. At least 32 characters.",
    )
    allow_insecure_loopback: bool = Field(
        default=False,
        description="Allow platforms and badge hosts on 127.0.0.1 over plain http (tests, demo).",
    )
    environment: str = Field(
        default="development",
        description="development, production or demo. Production turns off GraphiQL.",
    )
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="Where local files live.")
    log_level: str = Field(default="INFO")
    log_format: str = Field(default="text", description="text or json (one JSON object per line).")
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed.",
    )
    token_requests_per_minute: int = Field(
        default=20, ge=1, description="Provider token requests per client id (and 3x per address)."
    )
    launches_per_minute: int = Field(
        default=120, ge=1, description="LTI logins and launches per client address."
    )
    badge_posts_per_minute: int = Field(
        default=600, ge=1, description="postBadge calls per provider."
    )
    max_body_bytes: int = Field(
        default=12 * 1024 * 1024, ge=1024, description="Largest request body accepted, in bytes."
    )
    graphql_arbitrary_roles: str | None = Field(
        default=None,
        description="Comma-separated roles that may send free-form GraphQL queries in production "
        "(others send only the published persisted operations), or * for everyone. "
        "Default: operator,district_admin in production, * elsewhere.",
    )

    smtp_url: str | None = Field(
        default=None,
        description="Where reminders are mailed: smtp://[user:password@]host[:port] (STARTTLS when "
        "offered; a password only over TLS), smtps://host[:465], or file:///folder (one .eml per "
        "message). Unset: file:// under the data folder, except in production.",
    )
    mail_from: str | None = Field(
        default=None,
        description="The From of reminders; default Teacher Wallet <wallet@host of LER_BASE_URL>.",
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("smtp", "smtps", "file"):
            raise ValueError("must be an smtp://, smtps:// or file:// URL")
        if parts.scheme != "file" and not parts.hostname:
            raise ValueError("names no mail server host")
        try:
            parts.port  # noqa: B018 (a bad port raises here)
        except ValueError:
            raise ValueError("has a port that is not a number") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        # Tests and operators may give the plain driver names; we always run async drivers.
        if scheme in ("sqlite", "sqlite+pysqlite"):
            value = "sqlite+aiosqlite" + value[len(scheme) :]
        elif scheme in ("postgresql", "postgres", "postgresql+psycopg2"):
            value = "postgresql+psycopg" + value[len(scheme) :]
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://wallet.example.org")
        return value.rstrip("/")

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str) -> str:
        if value not in ("development", "production", "demo", "test"):
            raise ValueError("must be one of development, production, demo, test")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        import ipaddress

        for item in filter(None, (v.strip() for v in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR") from None
        return value

    @field_validator("graphql_arbitrary_roles")
    @classmethod
    def _arbitrary_roles(cls, value: str | None) -> str | None:
        from ler_plugin.principal import Role

        known = {role.value for role in Role} | {"*"}
        for item in filter(None, (v.strip() for v in (value or "").split(","))):
            if item not in known:
                raise ValueError(f"{item!r} is not a role (one of {', '.join(sorted(known))})")
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value not in ("text", "json"):
            raise ValueError("must be text or json")
        return value

    @field_validator("database_schema")
    @classmethod
    def _schema(cls, value: str | None) -> str | None:
        if value is not None and not value.replace("_", "").isalnum():
            raise ValueError("must be letters, digits and underscores")
        return value

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if len(self.secret_key) < 32:
            raise ValueError("LER_SECRET_KEY must be at least 32 characters")
        if self.is_production:
            if self.secret_key.startswith("dev-insecure"):
                raise ValueError("LER_SECRET_KEY must be set to a random value in production")
            if self.allow_insecure_loopback:
                raise ValueError("LER_ALLOW_INSECURE_LOOPBACK must be off in production")
            if not self.base_url.startswith("https://"):
                raise ValueError("LER_BASE_URL must be https in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def arbitrary_operation_roles(self) -> frozenset[str]:
        """Who may send a free-form `query`; "*" in the set means anyone."""
        spec = self.graphql_arbitrary_roles
        if spec is None:
            spec = "operator,district_admin" if self.is_production else "*"
        return frozenset(v.strip() for v in spec.split(",") if v.strip())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus overrides); turn a validation failure into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            name = f"LER_{field.upper()}" if field != "settings" else "settings"
            problems.append(f"{name}: {err['msg'].removeprefix('Value error, ')}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
