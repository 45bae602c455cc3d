"""consent_receipt.jws: stored without compression on PostgreSQL

A receipt is a compact JWS of about 2.4 kB: base64url text, which compresses poorly, yet is
above PostgreSQL's TOAST threshold, so every receipt written paid for a compression attempt.
EXTERNAL storage keeps it out of line, uncompressed. SQLite has no such setting.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE consent_receipt ALTER COLUMN jws SET STORAGE EXTERNAL")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE consent_receipt ALTER COLUMN jws SET STORAGE EXTENDED")
