"""Credentials from the environment or files, never shown; mainnet only with HEDGEBOT_LIVE=1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config.loader import ConfigError
from bot.config.models import Config, ExchangeConfig
from bot.config.secrets import (
    Credentials,
    LiveTradingRefused,
    check_live_allowed,
    resolve_credentials,
)

KEY = "kX8pQ2mLv9RtZ4"
SECRET = "S3cr3t-9f8e7d6c5b4a3210ffee"


def exchange(**fields: Any) -> ExchangeConfig:
    return ExchangeConfig.model_validate({"id": "bybit", **fields})


def config(**exchange_fields: Any) -> Config:
    return Config.model_validate(
        {"exchange": {"id": "bybit", **exchange_fields}, "rules": [{"asset": "BTC", "ratio": 1}]}
    )


def error_text(cfg: ExchangeConfig, environ: dict[str, str]) -> tuple[str, list[str]]:
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(cfg, environ)
    return str(caught.value), [problem.path for problem in caught.value.problems]


def revealed(text: str) -> bool:
    return KEY in text or SECRET in text


# --- credentials ---------------------------------------------------------------------------------


def test_sim_uses_its_own_fake_credentials() -> None:
    sim = ExchangeConfig.model_validate({"id": "sim", "sim": {"prices": {"BTC": 1}}})
    assert resolve_credentials(sim, {}) == Credentials(
        SecretStr("test-key"), SecretStr("test-secret")
    )
    custom = ExchangeConfig.model_validate(
        {"id": "sim", "sim": {"prices": {"BTC": 1}, "api_key": "k", "secret": "s"}}
    )
    credentials = resolve_credentials(custom, {"HEDGEBOT_API_KEY": KEY})
    assert credentials.api_key.get_secret_value() == "k"
    assert credentials.secret.get_secret_value() == "s"


def test_from_the_default_environment_variables() -> None:
    credentials = resolve_credentials(
        exchange(), {"HEDGEBOT_API_KEY": KEY, "HEDGEBOT_API_SECRET": f"  {SECRET}\n"}
    )
    assert credentials.api_key.get_secret_value() == KEY
    assert credentials.secret.get_secret_value() == SECRET  # whitespace stripped


def test_from_named_environment_variables() -> None:
    cfg = exchange(api_key_env="BYBIT_KEY", secret_env="BYBIT_SECRET")
    environ = {"BYBIT_KEY": KEY, "BYBIT_SECRET": SECRET, "HEDGEBOT_API_KEY": "other"}
    credentials = resolve_credentials(cfg, environ)
    assert credentials.api_key.get_secret_value() == KEY
    assert credentials.secret.get_secret_value() == SECRET


def test_from_files(tmp_path: Path) -> None:
    (tmp_path / "api.key").write_text(f"{KEY}\n")
    (tmp_path / "api.secret").write_text(f"\n  {SECRET}  \n\n")
    cfg = exchange(api_key_file=tmp_path / "api.key", secret_file=tmp_path / "api.secret")
    environ = {"HEDGEBOT_API_KEY": "ignored", "HEDGEBOT_API_SECRET": "ignored"}
    credentials = resolve_credentials(cfg, environ)
    assert credentials.api_key.get_secret_value() == KEY
    assert credentials.secret.get_secret_value() == SECRET


def test_key_from_a_file_secret_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "api.key").write_text(KEY)
    credentials = resolve_credentials(
        exchange(api_key_file=tmp_path / "api.key"), {"HEDGEBOT_API_SECRET": SECRET}
    )
    assert credentials == Credentials(SecretStr(KEY), SecretStr(SECRET))


def test_missing_variables_are_named_and_no_secret_is_shown() -> None:
    text, paths = error_text(exchange(secret_env="BYBIT_SECRET"), {"HEDGEBOT_API_SECRET": SECRET})
    assert paths == ["exchange.api_key_env", "exchange.secret_env"]
    assert text == (
        "exchange.api_key_env: environment variable HEDGEBOT_API_KEY is not set: it should hold "
        "the exchange API key (or give exchange.api_key_file)\n"
        "exchange.secret_env: environment variable BYBIT_SECRET is not set: it should hold "
        "the exchange API secret (or give exchange.secret_file)"
    )
    assert not revealed(text)


def test_empty_variable_is_named_and_the_other_value_not_shown() -> None:
    text, paths = error_text(exchange(), {"HEDGEBOT_API_KEY": KEY, "HEDGEBOT_API_SECRET": "  "})
    assert paths == ["exchange.secret_env"]
    assert "environment variable HEDGEBOT_API_SECRET is empty" in text
    assert not revealed(text)


def test_missing_file_names_field_and_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.key"
    text, paths = error_text(exchange(api_key_file=missing), {"HEDGEBOT_API_SECRET": SECRET})
    assert paths == ["exchange.api_key_file"]
    assert text == (
        f"exchange.api_key_file: cannot read the API key from {missing}: it does not exist"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("  \n", "it is empty"),
        (f"{KEY}\n{SECRET}\n", "it has more than one line; it should hold only the API secret"),
    ],
)
def test_bad_secret_file_content_is_never_shown(tmp_path: Path, content: str, reason: str) -> None:
    (tmp_path / "secret").write_text(content)
    text, paths = error_text(exchange(secret_file=tmp_path / "secret"), {"HEDGEBOT_API_KEY": KEY})
    assert paths == ["exchange.secret_file"]
    assert (
        text
        == f"exchange.secret_file: cannot read the API secret from {tmp_path / 'secret'}: {reason}"
    )
    assert not revealed(text)


def test_unreadable_secret_file(tmp_path: Path) -> None:
    text, paths = error_text(exchange(secret_file=tmp_path), {"HEDGEBOT_API_KEY": KEY})
    assert paths == ["exchange.secret_file"]
    assert text.startswith(f"exchange.secret_file: cannot read the API secret from {tmp_path}: ")


def test_secret_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "secret").write_bytes(b"\xff\xfe" + SECRET.encode())
    text, _ = error_text(exchange(secret_file=tmp_path / "secret"), {"HEDGEBOT_API_KEY": KEY})
    assert text.endswith(": it is not UTF-8 text")
    assert not revealed(text)


def test_credentials_never_reveal_the_secrets() -> None:
    credentials = resolve_credentials(
        exchange(), {"HEDGEBOT_API_KEY": KEY, "HEDGEBOT_API_SECRET": SECRET}
    )
    for shown in (repr(credentials), str(credentials), f"{credentials}", repr(credentials.secret)):
        assert not revealed(shown), shown
    assert "**********" in repr(credentials)


def test_credentials_are_frozen() -> None:
    credentials = Credentials(SecretStr(KEY), SecretStr(SECRET))
    with pytest.raises(AttributeError):
        credentials.api_key = SecretStr("x")  # type: ignore[misc]


# --- the mainnet guard ---------------------------------------------------------------------------


def test_testnet_needs_no_opt_in() -> None:
    check_live_allowed(config(), {})
    check_live_allowed(config(testnet=True), {"HEDGEBOT_LIVE": "0"})


def test_sim_is_never_mainnet() -> None:
    sim = Config.model_validate(
        {
            "exchange": {"id": "sim", "testnet": False, "sim": {"prices": {"BTC": 1}}},
            "rules": [{"asset": "BTC", "ratio": 1}],
        }
    )
    check_live_allowed(sim, {})


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"HEDGEBOT_LIVE": "0"},
        {"HEDGEBOT_LIVE": "true"},
        {"HEDGEBOT_LIVE": ""},
        {"HEDGEBOT_LIVE_TRADING": "1"},
    ],
)
def test_mainnet_is_refused_without_hedgebot_live_1(environ: dict[str, str]) -> None:
    with pytest.raises(LiveTradingRefused) as caught:
        check_live_allowed(config(testnet=False), environ)
    message = str(caught.value)
    assert "bybit MAINNET" in message
    assert "HEDGEBOT_LIVE=1" in message
    assert "Testnet is the default" in message


@pytest.mark.parametrize("value", ["1", " 1\n"])
def test_mainnet_is_allowed_with_hedgebot_live_1(value: str) -> None:
    check_live_allowed(config(testnet=False), {"HEDGEBOT_LIVE": value})
