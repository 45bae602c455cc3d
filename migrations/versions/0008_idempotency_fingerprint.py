"""A consent act's fingerprint beside its idempotency key.

A retry under an idempotency key must ask for the same act; the SHA-256 of the act as first
asked is kept on the act's first event so that a different request with the key is refused.
Events recorded before have none, and are compared by person, action and purposes.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_fingerprint', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.drop_column('idempotency_fingerprint')
