"""dashboard_sign_in_code: signing in to the dashboard with a code mailed to the person

One row per address asked for in an organization, known or not (so that neither the answer
nor its time tells which): the address, the code and the browser's pending sign-in are kept
as hashes only; the person it opens is NULL for an address nobody has.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 07:08:56.695574

"""
from alembic import op
import sqlalchemy as sa

import consent_service.types


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dashboard_sign_in_code',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('subject_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('pending_hash', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', consent_service.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', consent_service.types.UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.Column('window_started_at', consent_service.types.UTCDateTime(), nullable=False),
    sa.Column('last_sent_at', consent_service.types.UTCDateTime(), nullable=False),
    sa.Column('used_at', consent_service.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_dashboard_sign_in_code_org_id_organization')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_dashboard_sign_in_code_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_sign_in_code')),
    sa.UniqueConstraint('org_id', 'address_hash', name=op.f('uq_dashboard_sign_in_code_org_id_address_hash')),
    sa.UniqueConstraint('pending_hash', name=op.f('uq_dashboard_sign_in_code_pending_hash'))
    )
    with op.batch_alter_table('dashboard_sign_in_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_sign_in_code_subject_id'), ['subject_id'], unique=False)



def downgrade():
    with op.batch_alter_table('dashboard_sign_in_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_sign_in_code_subject_id'))

    op.drop_table('dashboard_sign_in_code')
