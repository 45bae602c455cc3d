"""staff_member: the staff accounts of the officer's console

Passwords as argon2id, the TOTP secret encrypted, recovery codes and the one pending
enrolment or reset link as SHA-256 only.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-09 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import consent_service.types


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_member',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('totp_secret_encrypted', sa.Text(), nullable=True),
    sa.Column('totp_enabled_at', consent_service.types.UTCDateTime(), nullable=True),
    sa.Column('totp_last_step', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recovery_code_hashes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', consent_service.types.UTCDateTime(), nullable=True),
    sa.Column('last_sign_in_at', consent_service.types.UTCDateTime(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('token_purpose', sa.String(length=16), nullable=True),
    sa.Column('token_expires_at', consent_service.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', consent_service.types.UTCDateTime(), nullable=False),
    sa.Column('disabled_at', consent_service.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_staff_member_org_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_member')),
    sa.UniqueConstraint('org_id', 'email', name=op.f('uq_staff_member_org_id_email')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_member_token_hash'))
    )


def downgrade():
    op.drop_table('staff_member')
