"""Alerts on the wire (topics, payload) and the ``alerts:`` config section."""

from __future__ import annotations

import json
import random
import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import certifi
import pytest

from bot.alerts import AlertStatus, Severity, Topics, alert_payload, make_alert
from bot.alerts.model import number_text, state_payload
from bot.alerts.mqtt import MqttSettings, backoff_delay, resolve_password
from bot.config.loader import ConfigError, parse_config
from bot.config.models import AlertsConfig

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
PAYLOAD_KEYS = {
    "alert_id",
    "kind",
    "severity",
    "status",
    "condition",
    "message",
    "values",
    "account",
    "asset",
    "instrument",
    "raised_at",
    "published_at",
}
BASE = """\
exchange:
  id: sim
  sim:
    prices: {BTC: 50000}
rules:
  - {asset: BTC, ratio: 1}
"""


def test_topics() -> None:
    topics = Topics("home/hedgebot", "main")
    assert topics.alert(Severity.CRITICAL, "margin_ratio") == (
        "home/hedgebot/main/alerts/critical/margin_ratio"
    )
    assert topics.status == "home/hedgebot/main/status"
    assert topics.state == "home/hedgebot/main/state"
    assert topics.all_alerts == "home/hedgebot/main/alerts/#"
    with pytest.raises(ValueError, match="snake case"):
        topics.alert("info", "Bad/Kind")


def test_payload_schema_keeps_numbers_exact_and_the_raise_time() -> None:
    alert = make_alert(
        "margin_ratio",
        "critical",
        "margin ratio 0.83",
        raised_at=T0,
        values={"margin_ratio": Decimal("0.830"), "big": Decimal("1E+3"), "n": 2},
        asset="BTC",
        instrument="BTC/USD:BTC",
        status=AlertStatus.RAISED,
        condition="margin_ratio.critical:BTC/USD:BTC",
    )
    published = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    document = json.loads(alert_payload(alert, published))
    assert set(document) == PAYLOAD_KEYS
    assert document["values"] == {"margin_ratio": "0.83", "big": "1000", "n": "2"}
    assert document["raised_at"] == "2026-03-01T12:00:00.123456+00:00"
    assert document["published_at"] == "2026-03-01T13:00:00+00:00"
    assert (document["severity"], document["status"], document["account"]) == (
        "critical",
        "raised",
        "default",
    )
    assert len(document["alert_id"]) == 32
    assert "published_at" not in json.loads(alert_payload(alert))


def test_alerts_need_aware_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_alert("x", "info", "m", raised_at=datetime(2026, 1, 1))


def test_state_payload() -> None:
    summary = {"exposures": {"BTC": Decimal("1.50")}, "at": T0, "symbols": ("A", "B")}
    document = json.loads(state_payload(summary, account="acct", updated_at=T0))
    assert document == {
        "account": "acct",
        "updated_at": "2026-03-01T12:00:00.123456+00:00",
        "exposures": {"BTC": "1.5"},
        "at": "2026-03-01T12:00:00.123456+00:00",
        "symbols": ["A", "B"],
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("1.10"), "1.1"), (Decimal("-0E-5"), "0"), (Decimal("2.5E-7"), "0.00000025"),
     (3, "3"), (0.1, "0.1"), ("x", "x")],
)  # fmt: skip
def test_number_text(value: Decimal | int | float | str, text: str) -> None:
    assert number_text(value) == text


def test_backoff_is_capped_and_jittered() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, base=1.0, cap=60.0, rng=rng) for n in range(12)]
    assert 0.5 <= delays[0] <= 1.0
    assert 4.0 <= delays[3] <= 8.0
    assert all(30.0 <= delay <= 60.0 for delay in delays[6:])
    assert len(set(delays[6:])) == len(delays[6:])  # jittered


def test_config_defaults_need_no_broker() -> None:
    config = parse_config(BASE, Path())
    assert config.alerts == AlertsConfig()
    assert (config.alerts.enabled, config.alerts.prefix, config.alerts.instance) == (
        False,
        "hedgebot",
        "default",
    )
    assert (config.alerts.host, config.alerts.port, config.alerts.max_rows) == (
        "127.0.0.1",
        1883,
        10_000,
    )


def test_config_full_section(tmp_path: Path) -> None:
    text = BASE + textwrap.dedent(
        """\
        alerts:
          enabled: true
          host: broker.lan
          port: 8883
          tls: true
          ca_file: certs/ca.pem
          username: hedgebot
          password_env: HEDGEBOT_MQTT_PASSWORD
          prefix: home/hedgebot
          instance: main
          max_rows: 500
          apprise_urls: ["json://127.0.0.1:9/hook"]
          rules:
            margin_ratio: {warning: 0.4, critical: 0.7, repeat_after_seconds: 600}
            drift: {ticks: 5}
            carry: {max_cost_per_day_usd: 25}
        """
    )
    alerts = parse_config(text, tmp_path).alerts
    assert alerts.ca_file == tmp_path / "certs" / "ca.pem"
    assert alerts.rules.margin_ratio.critical == Decimal("0.7")
    assert alerts.rules.drift.ticks == 5
    assert alerts.rules.carry.max_cost_per_day_usd == Decimal(25)
    environ = {"HEDGEBOT_MQTT_PASSWORD": "s3cret-pw"}
    with pytest.raises(ConfigError, match=r"alerts.ca_file: cannot use .*ca.pem as a CA bundle"):
        MqttSettings.from_config(alerts, environ)
    bundle = Path(certifi.where())
    settings = MqttSettings.from_config(alerts.model_copy(update={"ca_file": bundle}), environ)
    assert settings.password is not None
    assert settings.password.get_secret_value() == "s3cret-pw"
    assert "s3cret-pw" not in repr(settings)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("  bogus: 1\n", "alerts.bogus (line 8): unknown key 'bogus'"),
        ("  prefixx: a\n", "alerts.prefixx (line 8): unknown key 'prefixx' (did you mean"),
        ("  prefix: a/+/b\n", "alerts.prefix (line 8): 'a/+/b' is not valid: expected MQTT topic"),
        ("  instance: a/b\n", "alerts.instance (line 8): 'a/b' is not valid: expected one topic"),
        ("  password_env: abc\n", "alerts.password_env (line 8): expected the NAME of an"),
        ("  password_env: PW\n", "alerts.password_env (line 8): a broker password needs a user"),
        ("  ca_file: ca.pem\n", "alerts.ca_file (line 8): ca_file needs tls: true"),
        ("  rules:\n    margin_ratio: {warning: 0.9, critical: 0.5}\n",
         "alerts.rules.margin_ratio (line 9): critical must not be below warning"),
        ("  rules: {daemon: {cooldown_secs: 1}}\n",
         "alerts.rules.daemon.cooldown_secs (line 8): unknown key 'cooldown_secs' (did you mean"),
    ],
)  # fmt: skip
def test_config_problems_name_their_path(section: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + "alerts:\n" + section, Path())
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), [
        str(problem) for problem in caught.value.problems
    ]


def test_missing_password_variable_is_a_config_error_naming_it() -> None:
    config = AlertsConfig(enabled=True, username="u", password_env="HB_TEST_MQTT_PW")
    with pytest.raises(ConfigError, match="HB_TEST_MQTT_PW is not set"):
        resolve_password(config, {})
    with pytest.raises(ConfigError, match="HB_TEST_MQTT_PW is empty"):
        resolve_password(config, {"HB_TEST_MQTT_PW": ""})


def test_the_readme_example_is_a_valid_alerts_section() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Alerts (MQTT)", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    alerts = parse_config(BASE + example, Path()).alerts
    assert alerts.enabled
    assert alerts.password_env == "HEDGEBOT_MQTT_PASSWORD"
    assert alerts.rules.carry.max_cost_per_month_usd == Decimal(1000)
