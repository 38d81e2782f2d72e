"""Every setting Sotto reads, in one class.

Settings come from ``SOTTO_*`` environment variables and an optional ``.env`` file.
A missing or malformed value stops start-up with a message naming the setting; nothing
silently falls back to a default it was not given.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "SOTTO_"


class SettingsError(RuntimeError):
    """Raised when the configuration is unusable; the message is meant for an operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Field(default=Path("var/data"), description="Database file and encrypted blobs.")
    key_file: Path = Field(
        default=Path("var/keys/sotto.key"),
        description="Key-encryption keys; created with mode 0600 on first start, outside data_dir.",
    )
    outbox_dir: Path = Field(default=Path("var/outbox"), description="Where the outbox mail backend drops .eml files.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite in data_dir.")

    public_url: str = Field(
        default="", description="Address used in links sent by e-mail; empty means http://HOST:PORT of this server."
    )
    trusted_proxies: str = Field(
        default="",
        description="Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (comma-separated "
        "addresses, * for any); empty believes none. Behind the proxy that serves HTTPS, name it here: otherwise "
        "every visitor has the proxy's address, in the sign-in limits and in the consent record alike.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    mail: Literal["outbox", "smtp"] = "outbox"
    mail_from: str = "Sotto <sotto@localhost>"
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)

    jobs: Literal["threads"] = "threads"
    worker_threads: int = Field(default=2, ge=1, le=32)
    worker_processing: bool = Field(
        default=True,
        description="Whether this process's workers process recorded sessions; off where other workers do it.",
    )

    invitation_ttl_days: int = Field(default=7, ge=1, le=90)
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=72)
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)

    max_upload_mb: int = Field(default=20, ge=1, le=4096, description="Largest PDF accepted by the verify page.")
    max_recording_mb: int = Field(default=1024, ge=1, le=16384, description="Largest recording accepted.")
    max_recording_hours: float = Field(default=4.0, gt=0, le=24, description="Longest recording accepted.")
    max_chunk_mb: int = Field(default=16, ge=1, le=256, description="Largest single upload request.")
    blobs: Literal["local"] = "local"
    whisper_model_dir: str = Field(
        default="", description="A CTranslate2 Whisper model directory; empty means the bundled tiny.en."
    )
    whisper_threads: int = Field(default=0, ge=0, le=64, description="CPU threads for transcription; 0: one per core.")
    sentence_model_dir: str = Field(
        default="",
        description="A directory with model.safetensors and tokenizer.json for the passage model; "
        "empty means the bundled all-MiniLM-L6-v2.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) address, such as https://sotto.example.org")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_is_supported(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        return value

    @model_validator(mode="before")
    @classmethod
    def _public_url_from_host_and_port(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("public_url"):
            return data
        # A server listening on every address is reached on loopback from this machine; links that
        # must work from elsewhere need SOTTO_PUBLIC_URL.
        host = str(data.get("host") or cls.model_fields["host"].default)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - compared, not bound
        port = data.get("port") or cls.model_fields["port"].default
        return {**data, "public_url": f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"}

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.mail == "smtp" and not self.smtp_host:
            raise ValueError("SOTTO_SMTP_HOST is required when SOTTO_MAIL=smtp")
        data = self.data_dir.resolve()
        key = self.key_file.resolve()
        if key == data or data in key.parents:
            raise ValueError("SOTTO_KEY_FILE must lie outside SOTTO_DATA_DIR, so a copy of the data holds no key")
        if data == self.outbox_dir.resolve() or data in self.outbox_dir.resolve().parents:
            raise ValueError("SOTTO_OUTBOX_DIR must lie outside SOTTO_DATA_DIR")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'sotto.db'}"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


def _unknown_variables() -> list[str]:
    # Names are matched without regard to case, as pydantic-settings reads them.
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    return sorted(k for k in os.environ if k.upper().startswith(ENV_PREFIX) and k.upper() not in known)


def load_settings(**overrides: object) -> Settings:
    """Read and check the settings, or raise SettingsError with a plain explanation."""
    unknown = _unknown_variables()
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)} (a typo would otherwise be ignored)")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper() if err["loc"] else "settings"
            where = name if name.startswith(ENV_PREFIX) or name == "settings" else ENV_PREFIX + name
            problems.append(f"{where}: {err['msg']}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
