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

    enabled: bool = False
    host: Annotated[str, Field(min_length=1, max_length=253)] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65_535)] = 1883
    tls: bool = False
    ca_file: ConfigPath | None = None  # CA bundle for tls; default: the system's
    username: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    password_env: EnvVarName | None = None
    prefix: Annotated[str, Field(min_length=1, max_length=128)] = "hedgebot"
    instance: str = "default"
    max_rows: Annotated[int, Field(ge=10, le=10_000_000)] = 10_000
    apprise_urls: list[str] = Field(default_factory=list)
    apprise_urls_env: EnvVarName | None = None
    keepalive_seconds: Annotated[int, Field(ge=5, le=3600)] = 30
    publish_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    reconnect_min_seconds: Annotated[float, Field(gt=0, le=3600)] = 1.0
    reconnect_max_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    poll_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0  # outbox rows staged elsewhere
    stop_timeout_seconds: Annotated[float, Field(ge=0, le=300)] = 5.0  # drain before exiting
    rules: AlertRulesConfig = Field(default_factory=AlertRulesConfig)

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
