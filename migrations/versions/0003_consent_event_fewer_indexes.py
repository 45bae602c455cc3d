"""consent_event: drop two indexes that other indexes cover

Every event written maintains each index of ``consent_event``. ``ix_consent_event_org_id`` is
covered by the (org_id, idempotency_key) unique constraint, whose first column is org_id, and
``ix_consent_event_bundle_id`` by (subject_id, seq): a bundle is consecutive in its person's
chain.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:05:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_event_org_id')
        batch_op.drop_index('ix_consent_event_bundle_id')


def downgrade():
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.create_index('ix_consent_event_bundle_id', ['bundle_id'], unique=False)
        batch_op.create_index('ix_consent_event_org_id', ['org_id'], unique=False)
