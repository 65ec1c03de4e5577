"""position adoptions: the origin of the daemon's ledger of positions per symbol

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 19:00:00+00:00

Written from bot.store.ledger_models (see 0001 for the conventions: DecimalText is sa.Text()).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "position_adoptions"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("contracts", sa.Text(), nullable=False),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("account", sa.String(length=64), server_default="default", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    op.create_index(
        "ix_position_adoptions_account_symbol", TABLE, ["account", "symbol"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_position_adoptions_account_symbol", table_name=TABLE)
    op.drop_table(TABLE)
