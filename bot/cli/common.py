"""What every ``hedgebot`` command shares: exit codes, the ``--config`` option, the stderr
console and ``load_or_exit`` (load and validate a config, or print its problems and exit 2).

Imports only typer and rich at module level, like the rest of the CLI's start-up path
(see ``bot.cli.main``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from bot.config.models import Config

EXIT_CONFIG = 2
EXIT_REFUSED = 3  # the account or key is not fit to trade (hedge mode, withdraw key, auth)
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="YAML config file.")]
err = Console(stderr=True)


def load_or_exit(path: Path, *, trading: bool = True, startup_checks: bool = False) -> Config:
    """Load and validate a config; on any problem print them all and exit 2.

    ``startup_checks``: also what ``run`` checks as it starts, where the file alone tells
    (``bot.config.loader.load_config``): for ``check-config`` and ``run``."""
    from bot.config.loader import ConfigError, load_config
    from bot.config.secrets import LiveTradingRefused, check_live_allowed

    try:
        config = load_config(path, startup_checks=startup_checks)
        if trading:
            check_live_allowed(config, os.environ)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    except LiveTradingRefused as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    return config
