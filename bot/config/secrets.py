"""Exchange credentials, and the guard that keeps the bot off mainnet unless asked twice.

Secrets never live in the config file: it names environment variables (``exchange.api_key_env``,
``exchange.secret_env``) or files (``exchange.api_key_file``, ``exchange.secret_file``) that hold
them. Errors name the variable or file and never contain a secret; ``Credentials`` holds them as
``SecretStr``, so neither ``repr`` nor ``str`` reveals them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from bot.config.loader import ConfigError, ConfigProblem
from bot.config.models import Config, ExchangeConfig

LIVE_ENV = "HEDGEBOT_LIVE"  # must be "1" to trade on a mainnet


@dataclass(frozen=True)
class Credentials:
    api_key: SecretStr
    secret: SecretStr


class LiveTradingRefused(Exception):
    """The config asks for mainnet but the environment does not confirm it."""


def resolve_credentials(cfg: ExchangeConfig, environ: Mapping[str, str]) -> Credentials:
    """The API key and secret for ``cfg``.

    ``id: sim``: the simulator's own ``exchange.sim.api_key``/``secret``. Otherwise each of the two
    comes from its file when ``exchange.api_key_file``/``secret_file`` is given (surrounding
    whitespace stripped), else from the environment variable named by
    ``exchange.api_key_env``/``secret_env``. Raises ``ConfigError`` listing every one that is
    missing, empty or unreadable.
    """
    if cfg.id == "sim" or cfg.embedded_emulator:
        if cfg.sim is None:  # the schema rejects this; a config built by hand may not have
            raise ConfigError(
                [ConfigProblem("exchange.sim", None, "exchange.id 'sim' needs this section")]
            )
        return Credentials(api_key=SecretStr(cfg.sim.api_key), secret=SecretStr(cfg.sim.secret))
    api_key = _secret("api_key", "API key", cfg.api_key_file, cfg.api_key_env, environ)
    secret = _secret("secret", "API secret", cfg.secret_file, cfg.secret_env, environ)
    if isinstance(api_key, ConfigProblem) or isinstance(secret, ConfigProblem):
        raise ConfigError([p for p in (api_key, secret) if isinstance(p, ConfigProblem)])
    return Credentials(api_key=SecretStr(api_key), secret=SecretStr(secret))


def check_live_allowed(cfg: Config, environ: Mapping[str, str]) -> None:
    """Raise ``LiveTradingRefused`` if any account trades on a mainnet and ``HEDGEBOT_LIVE=1``
    is not set."""
    mainnet = [(name, c) for name, c in cfg.account_configs() if c.is_mainnet]
    if not mainnet or environ.get(LIVE_ENV, "").strip() == "1":
        return
    name, account = mainnet[0]
    raise LiveTradingRefused(
        f"refusing to trade on {account.exchange.id} MAINNET (account {name!r}, "
        "exchange.testnet: false) with real "
        f"funds: {LIVE_ENV}=1 is not set. Testnet is the default: remove 'testnet: false' to "
        f"practise there; to trade live, keep it and also set {LIVE_ENV}=1 in the environment."
    )


def _secret(
    field: str, what: str, path: Path | None, env_name: str, environ: Mapping[str, str]
) -> str | ConfigProblem:
    """The secret's value, or the problem (naming the file or variable, never the content)."""
    if path is not None:
        return _read_secret_file(f"exchange.{field}_file", what, path)
    value = environ.get(env_name, "").strip()
    if not value:
        state = "is empty" if env_name in environ else "is not set"
        return ConfigProblem(
            f"exchange.{field}_env",
            None,
            f"environment variable {env_name} {state}: it should hold the exchange {what} "
            f"(or give exchange.{field}_file)",
        )
    return value


def _read_secret_file(config_path: str, what: str, path: Path) -> str | ConfigProblem:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        reason = "it does not exist"
    except UnicodeDecodeError:
        reason = "it is not UTF-8 text"
    except OSError as error:
        reason = error.strerror or type(error).__name__
    else:
        if not value:
            reason = "it is empty"
        elif "\n" in value:
            reason = f"it has more than one line; it should hold only the {what}"
        else:
            return value
    return ConfigProblem(config_path, None, f"cannot read the {what} from {path}: {reason}")
