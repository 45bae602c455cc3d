"""export_job: exports of consent events and rights requests asked for in the console and
written in the background (what was asked, by whom, progress, the file's name, size, SHA-256
and expiry); consent_event (org_id, occurred_at), the index an export of a period reads in order

Revises 0019 (checkpoints cover the service trail).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 20:14:19.047374

"""
from alembic import op
import sqlalchemy as sa

import consent_service.types


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('export_job',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('from_day', sa.Date(), nullable=False),
    sa.Column('to_day', sa.Date(), nullable=False),
    sa.Column('starts_at', consent_service.types.UTCDateTime(), nullable=False),
    sa.Column('ends_at', consent_service.types.UTCDateTime(), nullable=False),
    sa.Column('requested_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rows_written', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=64), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('created_at', consent_service.types.UTCDateTime(), nullable=False),
    sa.Column('started_at', consent_service.types.UTCDateTime(), nullable=True),
    sa.Column('finished_at', consent_service.types.UTCDateTime(), nullable=True),
    sa.Column('expires_at', consent_service.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_export_job_org_id_organization')),
    sa.ForeignKeyConstraint(['requested_by'], ['staff_member.id'], name=op.f('fk_export_job_requested_by_staff_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_job')),
    sa.UniqueConstraint('public_id', name=op.f('uq_export_job_public_id'))
    )
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.create_index('ix_export_job_org', ['org_id', 'created_at'], unique=False)
        batch_op.create_index('ix_export_job_status', ['status', 'created_at'], unique=False)

    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.create_index('ix_consent_event_org_occurred', ['org_id', 'occurred_at'], unique=False)



def downgrade():
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_event_org_occurred')

    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_index('ix_export_job_status')
        batch_op.drop_index('ix_export_job_org')

    op.drop_table('export_job')
