"""CollateralRecords on SQLite and PostgreSQL: idempotent inserts, states, caps usage, listings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.core.types import CollateralAction, CollateralUsage, WalletKind
from bot.store.collateral_repo import (
    CollateralActionRecord,
    CollateralRecords,
    UnknownCollateralActionError,
)
from bot.store.repo import Store
from tests.store.conftest import T0

HOUR = timedelta(hours=1)


def transfer(
    action_id: str,
    amount: str = "0.1",
    usd: str = "5000",
    coin: str = "BTC",
    to: WalletKind = "margin",
) -> CollateralAction:
    return CollateralAction(
        action_id=action_id,
        kind="transfer",
        coin=coin,
        amount=Decimal(amount),
        usd_value=Decimal(usd),
        source="spot" if to == "margin" else "margin",
        destination=to,
        reason=f"top up {coin}",
    )


def sell(action_id: str, amount: str = "100", usd: str = "15000") -> CollateralAction:
    return CollateralAction(
        action_id=action_id,
        kind="spot_sell",
        coin="SOL",
        amount=Decimal(amount),
        usd_value=Decimal(usd),
        symbol="SOL/USDT",
        side="sell",
        reason="convert SOL for BTC margin",
    )


def buy(action_id: str, amount: str = "0.3", usd: str = "15000") -> CollateralAction:
    return CollateralAction(
        action_id=action_id,
        kind="spot_buy",
        coin="BTC",
        amount=Decimal(amount),
        usd_value=Decimal(usd),
        symbol="BTC/USDT",
        side="buy",
        reason="convert SOL for BTC margin",
    )


@pytest.fixture
def records(store: Store) -> CollateralRecords:
    return CollateralRecords(store.engine)


async def test_actions_round_trip_exactly(store: Store, records: CollateralRecords) -> None:
    tick_id = await store.start_tick("default", False, T0)
    actions = [
        transfer("t-1", amount="0.123456789012345678", usd="6172.83945061728390"),
        sell("hb-s-1"),
        buy("hb-b-1"),
    ]
    await records.add_actions(tick_id, "default", actions, "PENDING", T0)
    stored = await records.unfinished("default")
    assert [record.to_action() for record in stored] == actions
    assert stored[0] == CollateralActionRecord(
        id=stored[0].id,
        account="default",
        tick_id=tick_id,
        action_id="t-1",
        kind="transfer",
        coin="BTC",
        amount=Decimal("0.123456789012345678"),
        usd_value=Decimal("6172.8394506172839"),
        source="spot",
        destination="margin",
        symbol=None,
        side=None,
        state="PENDING",
        reason="top up BTC",
        error=None,
        created_at=T0,
        updated_at=T0,
    )
    assert stored[1].side == "sell"
    assert stored[1].source is None
    assert stored[1].symbol == "SOL/USDT"
    assert all(record.is_unfinished for record in stored)


async def test_reinserting_an_action_id_is_ignored(records: CollateralRecords) -> None:
    await records.add_actions(None, "default", [transfer("t-1", amount="0.1")], "PENDING", T0)
    await records.set_state("default", "t-1", "SUCCESS", T0 + HOUR)
    later = T0 + 2 * HOUR
    await records.add_actions(
        None, "default", [transfer("t-1", amount="9"), transfer("t-2")], "PENDING", later
    )
    await records.add_actions(None, "default", [transfer("t-3"), transfer("t-3")], "PENDING", later)
    recent = await records.recent("default", 10)
    assert sorted(record.action_id for record in recent) == ["t-1", "t-2", "t-3"]
    first = next(record for record in recent if record.action_id == "t-1")
    assert (first.amount, first.state, first.created_at) == (Decimal("0.1"), "SUCCESS", T0)


async def test_action_id_is_unique_per_account_only(records: CollateralRecords) -> None:
    await records.add_actions(None, "default", [transfer("t-1")], "PENDING", T0)
    await records.add_actions(None, "second", [transfer("t-1", amount="2")], "PENDING", T0)
    (default,) = await records.unfinished("default")
    (second,) = await records.unfinished("second")
    assert (default.amount, second.amount) == (Decimal("0.1"), Decimal(2))


async def test_empty_batch_writes_nothing(records: CollateralRecords) -> None:
    await records.add_actions(None, "default", [], "PENDING", T0)
    assert await records.recent("default", 10) == []


async def test_set_state_records_outcome_and_error(records: CollateralRecords) -> None:
    await records.add_actions(None, "default", [transfer("t-1"), sell("hb-s-1")], "PENDING", T0)
    await records.set_state("default", "t-1", "UNKNOWN", T0 + HOUR, error="timeout")
    await records.set_state("default", "hb-s-1", "FAILED", T0 + HOUR, error="insufficient")
    (unknown,) = await records.unfinished("default")
    assert (unknown.action_id, unknown.state, unknown.error) == ("t-1", "UNKNOWN", "timeout")
    assert (unknown.created_at, unknown.updated_at) == (T0, T0 + HOUR)
    await records.set_state("default", "t-1", "SUCCESS", T0 + 2 * HOUR)
    assert await records.unfinished("default") == []
    by_id = {record.action_id: record for record in await records.recent("default", 10)}
    assert (by_id["t-1"].state, by_id["t-1"].error) == ("SUCCESS", None)
    assert (by_id["hb-s-1"].state, by_id["hb-s-1"].error) == ("FAILED", "insufficient")


async def test_set_state_of_an_unknown_action_raises(records: CollateralRecords) -> None:
    await records.add_actions(None, "default", [transfer("t-1")], "PENDING", T0)
    with pytest.raises(UnknownCollateralActionError, match="'t-1' for account 'second'"):
        await records.set_state("second", "t-1", "SUCCESS", T0)
    with pytest.raises(UnknownCollateralActionError):
        await records.set_state("default", "nope", "SUCCESS", T0)


async def test_unknown_states_are_refused(records: CollateralRecords) -> None:
    with pytest.raises(ValueError, match="unknown collateral action state 'DONE'"):
        await records.add_actions(None, "default", [transfer("t-1")], "DONE", T0)
    await records.add_actions(None, "default", [transfer("t-1")], "PENDING", T0)
    with pytest.raises(ValueError, match="'pending'"):
        await records.set_state("default", "t-1", "pending", T0)


async def test_database_refuses_bad_values(store: Store) -> None:
    """The check constraints hold on both backends, whatever writes the table."""
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO collateral_actions (account, action_id, kind, coin, amount,"
                    " usd_value, state, reason, created_at, updated_at) VALUES ('default', 'x',"
                    " 'withdraw', 'BTC', '1', '1', 'PENDING', '', :at, :at)"
                ),
                {"at": T0},
            )


async def test_unfinished_oldest_first_and_per_account(records: CollateralRecords) -> None:
    await records.add_actions(None, "default", [transfer("late")], "PENDING", T0 + HOUR)
    await records.add_actions(None, "default", [transfer("early")], "UNKNOWN", T0)
    await records.add_actions(
        None, "default", [transfer("a"), transfer("b")], "PENDING", T0 + 2 * HOUR
    )
    await records.add_actions(None, "default", [transfer("dry")], "DRY_RUN", T0)
    await records.add_actions(None, "second", [transfer("other")], "PENDING", T0)
    unfinished = await records.unfinished("default")
    assert [record.action_id for record in unfinished] == ["early", "late", "a", "b"]


async def test_usage_sums_counted_actions_in_the_window(records: CollateralRecords) -> None:
    since = T0
    account = "default"
    await records.add_actions(None, account, [transfer("old")], "SUCCESS", since - HOUR)
    await records.add_actions(
        None,
        account,
        [
            transfer("in", amount="0.1", usd="5000"),
            transfer("out", amount="0.05", usd="2600", to="spot"),
            transfer("eth", amount="2", usd="6000", coin="ETH"),
            sell("hb-s-1", usd="15000"),
            buy("hb-b-1", usd="14990"),
        ],
        "PENDING",
        since,  # at `since` exactly: counted
    )
    await records.add_actions(
        None, account, [transfer("lost", amount="0.2", usd="10000")], "PENDING", since + HOUR
    )
    await records.add_actions(None, account, [transfer("failed")], "PENDING", since + HOUR)
    await records.add_actions(None, account, [transfer("dry"), sell("dry-s")], "DRY_RUN", since)
    await records.add_actions(None, "second", [transfer("other")], "SUCCESS", since)
    await records.set_state(account, "in", "SUCCESS", since + HOUR)
    await records.set_state(account, "lost", "UNKNOWN", since + HOUR, error="timeout")
    await records.set_state(account, "failed", "FAILED", since + HOUR)

    usage = await records.usage(account, since)
    assert usage == CollateralUsage(
        transferred_usd=Decimal(5000 + 2600 + 6000 + 10000),
        transferred_coins={"BTC": Decimal("0.35"), "ETH": Decimal(2)},
        converted_usd=Decimal(15000),
    )
    assert await records.usage(account, since + 2 * HOUR) == CollateralUsage()
    assert await records.usage("nobody", since - HOUR) == CollateralUsage()


async def test_recent_newest_first_with_limit(records: CollateralRecords) -> None:
    for index in range(5):
        await records.add_actions(
            None, "default", [transfer(f"t-{index}")], "PENDING", T0 + index * HOUR
        )
    await records.add_actions(None, "second", [transfer("other")], "PENDING", T0 + 9 * HOUR)
    recent = await records.recent("default", 3)
    assert [record.action_id for record in recent] == ["t-4", "t-3", "t-2"]


async def test_rows_outlive_their_tick(store: Store, records: CollateralRecords) -> None:
    tick_id = await store.start_tick("default", False, T0)
    await records.add_actions(tick_id, "default", [transfer("t-1")], "PENDING", T0)
    async with store.engine.begin() as connection:
        await connection.execute(text("DELETE FROM ticks WHERE id = :id"), {"id": tick_id})
    (record,) = await records.unfinished("default")
    assert record.tick_id is None


async def test_tick_must_exist(records: CollateralRecords) -> None:
    with pytest.raises(IntegrityError):
        await records.add_actions(999, "default", [transfer("t-1")], "PENDING", T0)
