"""alerts: the outbox and the rule conditions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 10:00:00+00:00

Written from bot.store.alert_models (see 0001 for the conventions: UTCDateTime is
sa.DateTime(timezone=True), check constraints are frozen as of this revision).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _account() -> sa.Column:
    return sa.Column("account", sa.String(length=64), server_default="default", nullable=False)


def _utc(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _check(table: str, column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{column}"))


def upgrade() -> None:
    delivery = ("pending", "delivered", "off")
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("condition", sa.String(length=256), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("numbers", JSON_DOC, nullable=False),
        sa.Column("asset", sa.String(length=20), nullable=True),
        sa.Column("instrument", sa.String(length=64), nullable=True),
        _utc("raised_at"),
        _utc("created_at"),
        sa.Column("mqtt_state", sa.String(length=16), nullable=False),
        _utc("mqtt_delivered_at", nullable=True),
        sa.Column("apprise_state", sa.String(length=16), nullable=False),
        _utc("apprise_delivered_at", nullable=True),
        _account(),
        _check("alert_outbox", "severity", ("info", "warning", "critical")),
        _check("alert_outbox", "status", ("raised", "repeated", "cleared", "event")),
        _check("alert_outbox", "mqtt_state", delivery),
        _check("alert_outbox", "apprise_state", delivery),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_outbox")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_alert_outbox_alert_id")),
    )
    op.create_index(
        "ix_alert_outbox_account_mqtt_state", "alert_outbox", ["account", "mqtt_state", "id"]
    )
    op.create_index(
        "ix_alert_outbox_account_apprise_state",
        "alert_outbox",
        ["account", "apprise_state", "id"],
    )

    op.create_table(
        "alert_conditions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("condition_key", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        _utc("since", nullable=True),
        sa.Column("notified", sa.Boolean(), nullable=False),
        _utc("last_notified_at", nullable=True),
        sa.Column("asset", sa.String(length=20), nullable=True),
        sa.Column("instrument", sa.String(length=64), nullable=True),
        _utc("updated_at"),
        _account(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_conditions")),
        sa.UniqueConstraint(
            "account", "condition_key", name=op.f("uq_alert_conditions_account_condition_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("alert_conditions")
    op.drop_index("ix_alert_outbox_account_apprise_state", table_name="alert_outbox")
    op.drop_index("ix_alert_outbox_account_mqtt_state", table_name="alert_outbox")
    op.drop_table("alert_outbox")
