"""webhooks: named queries per partner, subscription tokens sealed (issue 13, items 11 and 15)

``epcis_query`` was keyed by ``name`` alone, so one partner's name was taken for every
other partner (409 on create, 404 on read). It is now keyed by (``partner_id``,
``name``), and a subscription names its query by (``partner_id``, ``query_name``):
``epcis_subscription.partner_id`` already is the query's owner.

``epcis_subscription.secret`` held each subscriber's ``signatureToken`` in clear. It
becomes ``sealed_token``: AES-GCM under ``$MICS_HOME/webhooks.key``
(``mics.trace.webhook_tokens``). The key lives outside the database, so this
migration cannot seal: it marks the existing tokens ``clear:<token>``, and the first
``mics db upgrade`` or delivery round seals them in place.

SQLite rebuilds a table to change its keys (batch mode), and with foreign keys on it
refuses to drop a parent that rows still point to: so the subscription's foreign key to
the query goes first, the query table is rebuilt, then the composite key comes back.

Downgrade: names held by several partners cannot go back to one namespace (refused,
naming one); sealed tokens cannot be unsealed without the key, so their subscriptions
are dropped (their subscribers subscribe again), clear ones are restored.

Revision ID: 0006_webhooks
Revises: 0005_product_texts
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_webhooks"
down_revision: str | tuple[str, ...] | None = "0005_product_texts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_FK = "fk_epcis_subscription_query_name_epcis_query"
_NEW_FK = "fk_epcis_subscription_query_epcis_query"
_CLEAR = "clear:"  # mics.trace.webhook_tokens.CLEAR: a token from before this revision


def upgrade() -> None:
    with op.batch_alter_table("epcis_subscription") as batch:
        batch.drop_constraint(_OLD_FK, type_="foreignkey")
        batch.drop_index("ix_epcis_subscription_query_name")
        batch.alter_column(
            "secret",
            new_column_name="sealed_token",
            existing_type=sa.String(length=200),
            type_=sa.Text(),
            existing_nullable=False,
        )
    op.execute(f"UPDATE epcis_subscription SET sealed_token = '{_CLEAR}' || sealed_token")
    with op.batch_alter_table("epcis_query") as batch:
        batch.drop_constraint("pk_epcis_query", type_="primary")
        batch.create_primary_key("pk_epcis_query", ["partner_id", "name"])
    with op.batch_alter_table("epcis_subscription") as batch:
        batch.create_foreign_key(
            _NEW_FK, "epcis_query", ["partner_id", "query_name"], ["partner_id", "name"]
        )
        batch.create_index("ix_epcis_subscription_query", ["partner_id", "query_name"])


def downgrade() -> None:
    shared = (
        op.get_bind()
        .execute(sa.text("SELECT name FROM epcis_query GROUP BY name HAVING COUNT(*) > 1"))
        .first()
    )
    if shared is not None:
        raise RuntimeError(
            f"several partners hold a query named {shared[0]!r}: rename or delete all but one "
            "before downgrading below 0006_webhooks (names were global then)"
        )
    op.execute(f"DELETE FROM epcis_subscription WHERE sealed_token NOT LIKE '{_CLEAR}%'")
    op.execute(
        f"UPDATE epcis_subscription SET sealed_token = SUBSTR(sealed_token, {len(_CLEAR) + 1})"
    )
    with op.batch_alter_table("epcis_subscription") as batch:
        batch.drop_index("ix_epcis_subscription_query")
        batch.drop_constraint(_NEW_FK, type_="foreignkey")
        batch.alter_column(
            "sealed_token",
            new_column_name="secret",
            existing_type=sa.Text(),
            type_=sa.String(length=200),
            existing_nullable=False,
        )
    with op.batch_alter_table("epcis_query") as batch:
        batch.drop_constraint("pk_epcis_query", type_="primary")
        batch.create_primary_key("pk_epcis_query", ["name"])
    with op.batch_alter_table("epcis_subscription") as batch:
        batch.create_foreign_key(_OLD_FK, "epcis_query", ["query_name"], ["name"])
        batch.create_index("ix_epcis_subscription_query_name", ["query_name"])
