"""margin state: wallet, required margin and shortfall per inverse hedge instrument per tick

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-12 10:00:00+00:00

Written from bot.store.margin_models (see 0001 for the conventions: DecimalText is sa.Text()).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "margin_state"


def _decimal(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=False)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tick_id", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=False),
        sa.Column("coin", sa.String(length=20), nullable=False),
        _decimal("balance"),
        _decimal("equity"),
        _decimal("required"),
        _decimal("short_usd"),
        _decimal("shortfall_usd"),
        _decimal("coins_missing"),
        sa.Column("account", sa.String(length=64), server_default="default", nullable=False),
        sa.ForeignKeyConstraint(
            ["tick_id"],
            ["ticks.id"],
            name=op.f(f"fk_{TABLE}_tick_id_ticks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("tick_id", "instrument", name=op.f(f"uq_{TABLE}_tick_id_instrument")),
    )
    op.create_index(op.f(f"ix_{TABLE}_tick_id"), TABLE, ["tick_id"])


def downgrade() -> None:
    op.drop_index(op.f(f"ix_{TABLE}_tick_id"), table_name=TABLE)
    op.drop_table(TABLE)
