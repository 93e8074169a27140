"""Settings, read once from ``CITYOS_*`` environment variables.

Every setting is documented here, and ``docs/settings.md`` is checked against this module by a test.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The one settings object. Each field is read from ``CITYOS_<FIELD>`` (upper case)."""

    model_config = SettingsConfigDict(env_prefix="CITYOS_", extra="ignore")

    data_dir: Path = Field(Path("./var"), description="Directory for databases and caches.")
    database_url: str | None = Field(
        None,
        description="Storage URL: `sqlite:///path/to/file.db` (default: `<data_dir>/hub.db`) "
        "or `postgresql://...`.",
    )
    host: str = Field("127.0.0.1", description="Address `cityos serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `cityos serve` listens on.")
    log_level: str = Field("INFO", description="Logging level (DEBUG, INFO, WARNING, ERROR).")
    log_format: str = Field("json", description="Log line format: `json` or `console`.")
    default_limit: int = Field(20, ge=1, description="Entities per page when `limit` is absent.")
    max_limit: int = Field(1000, ge=1, description="Largest `limit` a query may ask for.")
    max_body_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Largest accepted request body [bytes]."
    )
    max_batch_entities: int = Field(
        10_000, ge=1, description="Most entities accepted in one batch operation."
    )
    context_fetch_timeout_s: float = Field(
        3.0, gt=0, description="Timeout for fetching a remote JSON-LD @context [s]."
    )
    context_max_bytes: int = Field(
        512 * 1024, ge=1024, description="Largest remote JSON-LD @context accepted [bytes]."
    )
    context_cache_ttl_s: float = Field(
        3600.0, ge=0, description="How long a fetched @context is reused before refetching [s]."
    )

    def resolved_database_url(self) -> str:
        """The storage URL, defaulting to an SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hub.db').as_posix()}"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with keyword overrides taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]
