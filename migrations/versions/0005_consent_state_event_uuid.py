"""consent_state.event_uuid: the uuid of the event a state rests on

Every decision answers with the consent event it rests on, by its public uuid. Reading it
from the event cost one more random read of the largest table per decision (a thousand for a
batch). The state now keeps it, written with the state.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 09:50:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_uuid', sa.String(length=36), nullable=True))
    op.execute(
        "UPDATE consent_state SET event_uuid = "
        "(SELECT consent_event.uuid FROM consent_event WHERE consent_event.id = consent_state.event_id)"
    )
    with op.batch_alter_table('consent_state', schema=None) as batch_op:
        batch_op.alter_column('event_uuid', existing_type=sa.String(length=36), nullable=False)


def downgrade():
    with op.batch_alter_table('consent_state', schema=None) as batch_op:
        batch_op.drop_column('event_uuid')
