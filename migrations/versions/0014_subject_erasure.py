"""subject_erasure, subject.erased_at, consent_receipt.jws nullable with jws_sha256

Erasure of a person's information (PIPL 47, GB/T 35273 8.3, 8.5): the person's row is
pseudonymized and marked ``erased_at``; their consent events are redacted and a signed
``subject_erasure`` row keeps the digest of each redacted event; their receipts' tokens are
replaced by NULL, keeping the SHA-256 of each in ``jws_sha256``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import consent_service.types


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('subject_erasure',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('erased_at', consent_service.types.UTCDateTime(), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('events', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('receipts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('jws', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], ),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject_id')
    )
    with op.batch_alter_table('subject_erasure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subject_erasure_org_id'), ['org_id'], unique=False)

    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', consent_service.types.UTCDateTime(), nullable=True))

    with op.batch_alter_table('consent_receipt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('jws_sha256', sa.String(length=64), nullable=True))
        batch_op.alter_column('jws', existing_type=sa.Text(), nullable=True)


def downgrade():
    # A receipt whose token was erased cannot get it back: its row goes, as the token did.
    op.execute("DELETE FROM consent_receipt WHERE jws IS NULL")
    with op.batch_alter_table('consent_receipt', schema=None) as batch_op:
        batch_op.alter_column('jws', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('jws_sha256')

    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.drop_column('erased_at')

    with op.batch_alter_table('subject_erasure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subject_erasure_org_id'))

    op.drop_table('subject_erasure')
