"""collateral actions: transfers and conversion legs of the collateral policy

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 10:00:00+00:00

Written from bot.store.collateral_models (see 0001 for the conventions: DecimalText is sa.Text(),
UTCDateTime is sa.DateTime(timezone=True), check constraints are frozen as of this revision).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "collateral_actions"


def _account() -> sa.Column:
    return sa.Column("account", sa.String(length=64), server_default="default", nullable=False)


def _utc(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _decimal(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _check(column: str, values: tuple[str, ...], nullable: bool = False) -> sa.CheckConstraint:
    listed = f"{column} IN ({', '.join(repr(value) for value in values)})"
    condition = f"{column} IS NULL OR {listed}" if nullable else listed
    return sa.CheckConstraint(condition, name=op.f(f"ck_{TABLE}_{column}"))


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action_id", sa.String(length=128), nullable=False),
        sa.Column("tick_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("coin", sa.String(length=20), nullable=False),
        _decimal("amount"),
        _decimal("usd_value"),
        sa.Column("source", sa.String(length=8), nullable=True),
        sa.Column("destination", sa.String(length=8), nullable=True),
        sa.Column("symbol", sa.String(length=64), nullable=True),
        sa.Column("side", sa.String(length=4), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _utc("created_at"),
        _utc("updated_at"),
        _account(),
        _check("kind", ("transfer", "spot_sell", "spot_buy")),
        _check("state", ("PENDING", "UNKNOWN", "SUCCESS", "FAILED", "DRY_RUN")),
        _check("source", ("spot", "margin"), nullable=True),
        _check("destination", ("spot", "margin"), nullable=True),
        _check("side", ("buy", "sell"), nullable=True),
        sa.ForeignKeyConstraint(
            ["tick_id"],
            ["ticks.id"],
            name=op.f(f"fk_{TABLE}_tick_id_ticks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("account", "action_id", name=op.f(f"uq_{TABLE}_account_action_id")),
    )
    op.create_index(op.f(f"ix_{TABLE}_tick_id"), TABLE, ["tick_id"])
    op.create_index("ix_collateral_actions_account_state", TABLE, ["account", "state"])
    op.create_index("ix_collateral_actions_account_created_at", TABLE, ["account", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_collateral_actions_account_created_at", table_name=TABLE)
    op.drop_index("ix_collateral_actions_account_state", table_name=TABLE)
    op.drop_index(op.f(f"ix_{TABLE}_tick_id"), table_name=TABLE)
    op.drop_table(TABLE)
