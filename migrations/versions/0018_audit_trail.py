"""audit_entry and audit_head: the audit trail, a hash chain per organization; checkpoints
sign the trail's head (trail_seq, trail_hash)

Who did what (an API client, a command, a job), in an append-only chain per organization
(org_id NULL: the service's own trail); audit_head holds each trail's newest entry and is the
row a writer locks.

Revises 0017 (the staff members).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 07:51:41.429640

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import consent_service.types


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_head',
    sa.Column('trail', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('trail', name=op.f('pk_audit_head'))
    )
    op.create_table('audit_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('at', consent_service.types.UTCDateTime(), nullable=False),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=200), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=True),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_audit_entry_org_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry')),
    sa.UniqueConstraint('org_id', 'seq', name=op.f('uq_audit_entry_org_id_seq'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(
            'uq_audit_entry_service_seq',
            ['seq'],
            unique=True,
            sqlite_where=sa.text('org_id IS NULL'),
            postgresql_where=sa.text('org_id IS NULL'),
        )
    with op.batch_alter_table('ledger_checkpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trail_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('trail_hash', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('ledger_checkpoint', schema=None) as batch_op:
        batch_op.drop_column('trail_hash')
        batch_op.drop_column('trail_seq')

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('uq_audit_entry_service_seq')
    op.drop_table('audit_entry')
    op.drop_table('audit_head')
