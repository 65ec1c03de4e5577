"""The sandbox gate: an exchange without a sandbox may be read but never traded as a "testnet".

Built from a profile's ``sandbox`` kind (``bot.exchange.profiles``); used at start-up
(``check_venue``) and when the port is built (``venue_refusal``: a read-only port, whose orders
raise ``NoSandboxError``).
"""

from __future__ import annotations

from bot.exchange.errors import PermanentExchangeError
from bot.exchange.profile_model import ExchangeProfile


class NoSandboxError(PermanentExchangeError):
    """A sandbox was asked for on an exchange that has none, and the action would trade."""


def venue_refusal(profile: ExchangeProfile, *, testnet: bool, url: str | None) -> str | None:
    """Why this port may read but never trade, or None.

    ``testnet: true`` on an exchange without a sandbox (``sandbox: none``, e.g. MEXC) cannot be
    honoured: the only API is the live one. Reading it is allowed (plan-only, ``--dry-run``);
    trading needs ``testnet: false`` (and ``HEDGEBOT_LIVE=1``). A base-URL override (a local
    emulator) is its own venue and is never refused.
    """
    if not testnet or profile.sandbox != "none" or url:
        return None
    return (
        f"{profile.ccxt_id} has no sandbox or demo API, so 'testnet: true' cannot be honoured: "
        "only plan-only and --dry-run may run against it. To trade live, set "
        "'exchange.testnet: false' and HEDGEBOT_LIVE=1"
    )


def check_venue(profile: ExchangeProfile, *, testnet: bool, url: str | None, dry_run: bool) -> None:
    """Raise ``NoSandboxError`` when a trading (not dry-run) start asks for a sandbox the
    exchange does not have. For the start-up path: call it before building the port."""
    refusal = venue_refusal(profile, testnet=testnet, url=url)
    if refusal is not None and not dry_run:
        raise NoSandboxError(refusal)
