"""rules: beta estimates, per-tick position risk, manual controls

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 13:00:00+00:00

Written from bot.store.rule_models (conventions as in 0001).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _account() -> sa.Column:
    return sa.Column("account", sa.String(length=64), server_default="default", nullable=False)


def _utc(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _decimal(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "beta_estimates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("asset", sa.String(length=20), nullable=False),
        sa.Column("hedge", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("beta", sa.Float(), nullable=True),
        sa.Column("rho", sa.Float(), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("half_life", sa.Float(), nullable=True),
        sa.Column("horizon_seconds", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        _utc("data_start", nullable=True),
        _utc("data_end", nullable=True),
        _utc("estimated_at"),
        sa.Column("reason", sa.Text(), nullable=False),
        _account(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beta_estimates")),
    )
    op.create_index(
        "ix_beta_estimates_account_pair_at",
        "beta_estimates",
        ["account", "asset", "hedge", "estimated_at"],
    )
    op.create_table(
        "position_risk",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tick_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        _decimal("mark_price"),
        _decimal("entry_price"),
        _decimal("exchange_liquidation_price", nullable=True),
        _decimal("own_liquidation_price", nullable=True),
        sa.Column("formula", sa.String(length=64), nullable=False),
        _decimal("distance", nullable=True),
        _decimal("margin_ratio", nullable=True),
        _account(),
        sa.ForeignKeyConstraint(
            ["tick_id"], ["ticks.id"], name=op.f("fk_position_risk_tick_id_ticks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_risk")),
    )
    op.create_index(op.f("ix_position_risk_tick_id"), "position_risk", ["tick_id"])
    op.create_table(
        "controls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _utc("at"),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        _account(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_controls")),
    )
    op.create_index("ix_controls_account_at", "controls", ["account", "at"])


def downgrade() -> None:
    op.drop_index("ix_controls_account_at", table_name="controls")
    op.drop_table("controls")
    op.drop_index(op.f("ix_position_risk_tick_id"), table_name="position_risk")
    op.drop_table("position_risk")
    op.drop_index("ix_beta_estimates_account_pair_at", table_name="beta_estimates")
    op.drop_table("beta_estimates")
