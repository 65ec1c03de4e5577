"""``hedgebot pause | resume | hedge-off``: manual overrides, recorded in the database.

pause: no order at all until resumed; hedge-off: every hedge is lifted with reduce-only
orders and kept at zero; resume: back to the rules. The daemon reads the newest override at the
start of every tick.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from bot.store.rule_repo import ControlMode

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="YAML config file.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded).")]
AccountOption = Annotated[str, typer.Option("--account", help="Account name.")]


def _set(config_path: Path, mode: ControlMode, reason: str, account: str) -> None:
    import asyncio

    from bot.cli.common import load_or_exit
    from bot.store.db import create_engine, upgrade
    from bot.store.rule_repo import RuleRecords

    config = load_or_exit(config_path, trading=False)

    async def main() -> None:
        await upgrade(config.database.url)
        engine = create_engine(config.database.url)
        try:
            await RuleRecords(engine).set_control(account, mode, datetime.now(UTC), reason)
        finally:
            await engine.dispose()

    asyncio.run(main())
    typer.echo(f"{account}: {mode} (recorded; the daemon applies it at its next tick)")


def pause(
    config_path: ConfigOption, reason: ReasonOption = "", account: AccountOption = "default"
) -> None:
    """Stop sending orders until `hedgebot resume`."""
    _set(config_path, "paused", reason, account)


def resume(
    config_path: ConfigOption, reason: ReasonOption = "", account: AccountOption = "default"
) -> None:
    """Back to the rules after pause or hedge-off."""
    _set(config_path, "active", reason, account)


def hedge_off(
    config_path: ConfigOption, reason: ReasonOption = "", account: AccountOption = "default"
) -> None:
    """Lift every hedge (reduce-only) and keep it at zero until `hedgebot resume`."""
    _set(config_path, "hedge_off", reason, account)
