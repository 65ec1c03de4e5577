"""beta_estimates.beta_se: the standard error of each stored beta

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 12:00:00+00:00

Written from bot.store.rule_models (see 0001 for the conventions). Nullable: estimates stored
before it have none, and an estimate that is not ok has none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("beta_estimates") as batch:
        batch.add_column(sa.Column("beta_se", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("beta_estimates") as batch:
        batch.drop_column("beta_se")
