"""Settings, read once from ``CITYOS_*`` environment variables.

Every setting is documented here, and ``docs/settings.md`` is checked against this module by a test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
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

    notify_enabled: bool = Field(
        True,
        description="Deliver subscription notifications from this process (set `false` on extra "
        "server processes sharing one database: exactly one should deliver).",
    )
    notify_concurrency: int = Field(
        8, ge=1, description="Most notifications being delivered at the same time."
    )
    notify_timeout_s: float = Field(
        10.0, gt=0, description="Longest wait for a receiver to answer a notification [s]."
    )
    notify_max_attempts: int = Field(
        6, ge=1, description="Delivery attempts of a notification before it is dead-lettered."
    )
    notify_backoff_base_s: float = Field(
        1.0, gt=0, description="Delay before the first retry; it doubles with each attempt [s]."
    )
    notify_backoff_max_s: float = Field(
        300.0, gt=0, description="Longest delay between two delivery attempts [s]."
    )
    notify_poll_interval_s: float = Field(
        1.0, gt=0, description="How often the sender looks at the outbox when not woken [s]."
    )
    notify_max_batch: int = Field(
        1000,
        ge=1,
        description="Most entities in one notification when queued notifications of a "
        "subscription are sent together.",
    )
    notify_sse_keepalive_s: float = Field(
        15.0,
        gt=0,
        description="Idle time before an SSE notification stream sends a keep-alive [s].",
    )

    temporal_enabled: bool = Field(
        True, description="Record the history of every attribute change (temporal API)."
    )
    temporal_retention_days: float = Field(
        90.0,
        ge=0,
        description="Days the history is kept, by recording time (`0` keeps it forever).",
    )
    temporal_retention_overrides: str = Field(
        "",
        description="Per-tenant retention in days, e.g. `tenantA=30,tenantB=365` "
        "(`0` keeps a tenant's history forever).",
    )
    temporal_purge_interval_s: float = Field(
        3600.0,
        ge=0,
        description="Seconds between history purges by the server (`0`: the server never purges; "
        "`cityos hub purge-history` still does).",
    )
    temporal_max_instances: int = Field(
        1000,
        ge=1,
        description="Most instances (or aggregation periods) per attribute in one temporal "
        "response; more answer 206 with `Content-Range`.",
    )

    # -- privacy and access control (cityos.privacy; docs/privacy.md) --------------------------
    mode: Literal["demo", "production"] = Field(
        "demo",
        description="`demo`: the API is open to anonymous callers; `production`: every endpoint "
        "but `/health` needs a bearer token, and consent is enforced on every read.",
    )
    auth_issuer: str = Field(
        "urn:cityos:issuer", description="`iss` of the access tokens the city issues."
    )
    auth_audience: str = Field(
        "urn:cityos:api", description="`aud` an access token must carry to be accepted."
    )
    auth_token_ttl_s: int = Field(
        3600, ge=60, le=31 * 86400, description="Default lifetime of a minted access token [s]."
    )
    rate_limit_per_minute: int | None = Field(
        None,
        ge=0,
        description="Requests per minute per client (token subject, else IP address); unset: "
        "1200 in production and no limit in demo mode; `0`: no limit.",
    )
    privacy_personal_types: str = Field(
        "Person,Household,HealthMeasurement,Trip,Payment",
        description="Entity types (short names, comma-separated) that hold personal data.",
    )
    privacy_subject_attribute: str = Field(
        "dataSubject",
        description="Attribute (Relationship or Property) naming the pseudonymous data subject(s) "
        "of a personal entity; a `Person` without it is its own subject.",
    )
    privacy_pseudonymise_rules: str = Field(
        "",
        description="Purposes for which personal entities without consent are released "
        "pseudonymised instead of withheld, e.g. "
        "`Trip=mobility-planning|research,Household=census`.",
    )

    privacy_dp_epsilon_budget: float = Field(
        5.0,
        gt=0,
        le=100,
        description="Differential-privacy budget (total epsilon) of each consumer on each "
        "dataset; releases beyond it are refused.",
    )

    # -- ledger (cityos.ledger; docs/ledger.md) --------------------------------------------------
    ledger_witness_logs: str = Field(
        "",
        description="Verifier keys (C2SP note verifier strings, comma-separated) of other logs, "
        "e.g. other cities', that this server witnesses at "
        "`POST /ledger/v1/witness/add-checkpoint`; empty: it witnesses none.",
    )
    ledger_witnesses: str = Field(
        "",
        description="Witnesses this server publishes its checkpoints to: `URL VERIFIER-KEY` "
        "pairs (a C2SP tlog-witness base URL and its cosignature key), comma-separated.",
    )
    ledger_anchor_interval_s: float = Field(
        0.0,
        ge=0,
        description="Seconds between the server's anchoring of the privacy audit head on the "
        "ledger and publication of the latest checkpoint to the witnesses (`0`: never; "
        "`POST /ledger/v1/publish` and `cityos ledger anchor-audit` still do it).",
    )
    # -- IoT (cityos.iot; docs/iot.md) ---------------------------------------------------------
    mqtt_url: str = Field(
        "mqtt://127.0.0.1:1883",
        description="MQTT broker (Mosquitto) the IoT agent and the simulated fleet connect to.",
    )
    iot_client_id: str = Field(
        "cityos-iot-agent",
        description="MQTT client id of the IoT agent; its persistent session keeps the messages "
        "published while the agent is down.",
    )
    iot_batch_size: int = Field(
        1000, ge=1, description="Most device messages the IoT agent writes in one hub batch."
    )
    iot_queue_size: int = Field(
        5000,
        ge=1,
        description="Device messages received but not yet written before the IoT agent stops "
        "reading from the broker (back-pressure).",
    )

    @field_validator("temporal_retention_overrides")
    @classmethod
    def _check_overrides(cls, value: str) -> str:
        parse_retention_overrides(value)
        return value

    def retention_days(self, tenant: str) -> float:
        """The history retention of ``tenant`` in days (``0``: kept forever)."""
        return parse_retention_overrides(self.temporal_retention_overrides).get(
            tenant, self.temporal_retention_days
        )

    def resolved_database_url(self) -> str:
        """The storage URL, defaulting to an SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hub.db').as_posix()}"


def parse_retention_overrides(text: str) -> dict[str, float]:
    """Parse ``tenantA=30,tenantB=365`` into tenant -> days.

    Raises
    ------
    ValueError
        For an item that is not ``tenant=days`` with a number of days >= 0.
    """
    overrides: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        tenant, sep, days = item.partition("=")
        tenant = tenant.strip()
        try:
            value = float(days)
        except ValueError:
            value = -1.0
        if not sep or not tenant or not value >= 0:
            raise ValueError(
                f"invalid retention override {item!r}: use tenant=days (days >= 0), "
                "separated by commas"
            )
        overrides[tenant] = value
    return overrides


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with keyword overrides taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]
