"""webhook_delivery.last_reason: why an attempt failed, in fixed words

Deliveries kept the text of the connection error, and the API returned it: a caller who can
register URLs could map the service's network with it. An attempt now records a reason from a
fixed list and its fixed description. Rows written before are given the reason their text
shows, and the text is replaced by the description: it is not kept.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: The reasons and their descriptions as this revision knows them (webhooks/outcomes.py).
DESCRIPTIONS = {
    'address_not_allowed': 'address not allowed',
    'dns_failure': 'host name did not resolve',
    'connection_refused': 'connection refused',
    'connection_failed': 'connection failed',
    'timeout': 'timed out',
    'tls_error': 'TLS handshake or certificate verification failed',
    'endpoint_deleted': 'endpoint deleted',
}


def upgrade():
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_reason', sa.String(length=32), nullable=True))
    # The old texts: "HTTP <code>", "endpoint deleted", or "<exception class>: <message>".
    op.execute(
        "UPDATE webhook_delivery SET last_reason = CASE"
        " WHEN last_error LIKE 'HTTP %' THEN 'http_error'"
        " WHEN last_error = 'endpoint deleted' THEN 'endpoint_deleted'"
        " WHEN last_error LIKE 'SSLError%' THEN 'tls_error'"
        " WHEN last_error LIKE '%Timeout%' OR last_error LIKE '%timed out%' THEN 'timeout'"
        " WHEN last_error LIKE '%NameResolution%' OR last_error LIKE '%resolve%' THEN 'dns_failure'"
        " WHEN last_error LIKE '%refused%' THEN 'connection_refused'"
        " ELSE 'connection_failed' END"
        " WHERE last_error IS NOT NULL"
    )
    for reason, description in DESCRIPTIONS.items():
        op.execute(
            sa.text("UPDATE webhook_delivery SET last_error = :description WHERE last_reason = :reason")
            .bindparams(description=description, reason=reason)
        )
    op.execute(
        "UPDATE webhook_delivery SET last_error = 'HTTP ' || CAST(last_status_code AS VARCHAR(3))"
        " WHERE last_reason = 'http_error' AND last_status_code IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_column('last_reason')
