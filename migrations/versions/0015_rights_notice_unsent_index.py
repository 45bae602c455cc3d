"""rights_notice: a partial index on the notices still to send

The deadline sweep reads the notices due and not yet sent. The index on (sent_at, due_at)
held every notice ever sent as well, and PostgreSQL's planner walked the unique key instead
and filtered every row. The same columns, for the unsent notices alone, are what the sweep's
range needs (SQLite's planner, without statistics, takes it by its equality on sent_at), and
the index stays as small as the work still to do.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 07:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rights_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_rights_notice_due')
        batch_op.create_index(
            'ix_rights_notice_unsent',
            ['sent_at', 'due_at'],
            unique=False,
            sqlite_where=sa.text('sent_at IS NULL'),
            postgresql_where=sa.text('sent_at IS NULL'),
        )


def downgrade():
    with op.batch_alter_table('rights_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_rights_notice_unsent')
        batch_op.create_index('ix_rights_notice_due', ['sent_at', 'due_at'], unique=False)
