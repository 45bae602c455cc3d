"""signing_key: at most one active key (a partial unique index)

Two first grants at the same moment could each create a signing key; the second insert must
fail so that its request uses the first key. The index was first written into revision 0001,
which databases already past 0001 never ran again; it now has a revision of its own, and one
that created it with 0001 keeps it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 10:35:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'uq_signing_key_one_active', 'signing_key', ['is_active'], unique=True,
        sqlite_where=sa.text('is_active'), postgresql_where=sa.text('is_active'), if_not_exists=True,
    )


def downgrade():
    op.drop_index('uq_signing_key_one_active', table_name='signing_key', if_exists=True)
