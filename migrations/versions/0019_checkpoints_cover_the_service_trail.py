"""ledger_checkpoint.service_trail_seq and service_trail_hash: every organization's checkpoints
also sign the head of the service's own audit trail (jobs and commands across organizations)

Revises 0018 (the audit trail).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 19:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ledger_checkpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_trail_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('service_trail_hash', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('ledger_checkpoint', schema=None) as batch_op:
        batch_op.drop_column('service_trail_hash')
        batch_op.drop_column('service_trail_seq')
