"""The ``alerts:`` config section (the rules' own thresholds are in alert_params)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from bot.config.alert_params import AlertRulesConfig
from bot.config.fields import (
    ConfigPath,
    EnvVarName,
    Strict,
    error_at,
)

_MQTT_INSTANCE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_URL_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://.+")


class AlertsConfig(Strict):
    """``alerts:``: alerts kept in a database outbox, published over MQTT (and Apprise).

    Off by default, so a config without this section needs no broker. Topics start with
    ``{prefix}/{instance}/``. The broker password never appears in the file: ``password_env``
    names the environment variable holding it. ``max_rows`` bounds the outbox (per account):
    delivered rows go first, then undelivered info alerts, then warnings; criticals are kept.
    Apprise URLs often embed tokens: prefer ``apprise_urls_env`` (a variable holding them,
    separated by spaces or commas) to ``apprise_urls``.
    """

    enabled: bool = Field(False, description="Publish alerts (off: no broker needed).")
    host: Annotated[str, Field(min_length=1, max_length=253)] = Field(
        "127.0.0.1", description="The MQTT broker's host."
    )
    port: Annotated[int, Field(ge=1, le=65_535)] = Field(
        1883, description="The MQTT broker's port."
    )
    tls: bool = Field(False, description="Connect to the broker over TLS.")
    ca_file: ConfigPath | None = Field(
        None, description="CA bundle for tls (default: the system's CAs)."
    )
    username: Annotated[str, Field(min_length=1, max_length=256)] | None = Field(
        None, description="Broker user name."
    )
    password_env: EnvVarName | None = Field(
        None, description="Environment variable holding the broker password (needs username)."
    )
    prefix: Annotated[str, Field(min_length=1, max_length=128)] = Field(
        "hedgebot", description="First topic levels: topics are {prefix}/{instance}/..."
    )
    instance: str = Field(
        "default", description="Topic level naming this daemon (1 to 64 of A-Z a-z 0-9 _ . -)."
    )
    max_rows: Annotated[int, Field(ge=10, le=10_000_000)] = Field(
        10_000,
        description="Outbox rows kept per account; past it, delivered rows go first, criticals "
        "never.",
    )
    apprise_urls: list[str] = Field(
        default_factory=list, description="Apprise URLs, a second channel (e.g. ntfy://topic)."
    )
    apprise_urls_env: EnvVarName | None = Field(
        None,
        description="Environment variable holding Apprise URLs (spaces or commas between).",
    )
    keepalive_seconds: Annotated[int, Field(ge=5, le=3600)] = Field(
        30, description="MQTT keepalive interval."
    )
    publish_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = Field(
        10.0, description="How long one publish may wait for the broker's acknowledgement."
    )
    reconnect_min_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        1.0, description="First delay of the reconnect backoff (jittered, exponential)."
    )
    reconnect_max_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        60.0, description="Longest delay of the reconnect backoff."
    )
    poll_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        5.0, description="How often the outbox is polled for rows staged elsewhere."
    )
    stop_timeout_seconds: Annotated[float, Field(ge=0, le=300)] = Field(
        5.0, description="On stop, how long to keep draining the outbox before exiting."
    )
    rules: AlertRulesConfig = Field(
        default_factory=AlertRulesConfig, description="Thresholds and cooldowns per alert rule."
    )

    @field_validator("prefix")
    @classmethod
    def _topic_prefix(cls, prefix: str) -> str:
        levels = prefix.split("/")
        if any(not level or "+" in level or "#" in level for level in levels):
            raise ValueError(
                "expected MQTT topic levels separated by '/', without wildcards (+ #) or "
                "empty levels, like 'hedgebot' or 'home/hedgebot'"
            )
        if prefix.startswith("$"):
            raise ValueError("topics starting with '$' are reserved by the broker")
        return prefix

    @field_validator("instance")
    @classmethod
    def _instance(cls, instance: str) -> str:
        if not _MQTT_INSTANCE.fullmatch(instance):
            raise ValueError("expected one topic level: 1 to 64 of A-Z, a-z, 0-9, '_', '.', '-'")
        return instance

    @field_validator("apprise_urls")
    @classmethod
    def _apprise_urls(cls, urls: list[str]) -> list[str]:
        for index, url in enumerate(urls):
            if not _URL_SCHEME.fullmatch(url.strip()):
                raise error_at("expected an Apprise URL like 'ntfy://topic'", index)
        return urls

    @model_validator(mode="after")
    def _consistent(self) -> AlertsConfig:
        if self.ca_file is not None and not self.tls:
            raise error_at("ca_file needs tls: true", "ca_file")
        if self.password_env is not None and self.username is None:
            raise error_at("a broker password needs a username (MQTT 3.1.1)", "password_env")
        if self.reconnect_min_seconds > self.reconnect_max_seconds:
            raise error_at("must not exceed reconnect_max_seconds", "reconnect_min_seconds")
        return self
