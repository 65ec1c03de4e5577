"""targets.beta_se: the standard error of the beta each stored hedge target was sized with

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 13:00:00+00:00

Written from bot.store.models (see 0001 for the conventions: DecimalText is sa.Text()).
Nullable: targets stored before it have none, and a target whose beta is not estimated (an
own-perp hedge, a ratio rule) has none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("targets") as batch:
        batch.add_column(sa.Column("beta_se", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("targets") as batch:
        batch.drop_column("beta_se")
