"""ledger_verification: each full verification of an organization's ledger by the scheduled
job (what it covered, whether intact, its first problems), which the compliance report states

Revises 0020 (export jobs).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 14:34:27.780041

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import consent_service.types

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ledger_verification',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('verified_at', consent_service.types.UTCDateTime(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('subjects', sa.BigInteger(), nullable=False),
    sa.Column('events', sa.BigInteger(), nullable=False),
    sa.Column('receipts', sa.BigInteger(), nullable=False),
    sa.Column('checkpoints', sa.Integer(), nullable=False),
    sa.Column('trail_entries', sa.BigInteger(), nullable=False),
    sa.Column('checkpoint_seq', sa.Integer(), nullable=True),
    sa.Column('checkpoint_hash', sa.String(length=64), nullable=True),
    sa.Column('problem_count', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_ledger_verification_org_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_verification'))
    )
    with op.batch_alter_table('ledger_verification', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_verification_org', ['org_id', 'verified_at'], unique=False)



def downgrade():
    with op.batch_alter_table('ledger_verification', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_verification_org')

    op.drop_table('ledger_verification')
