"""What the dashboard's API answers (marshmallow)."""

from __future__ import annotations

from marshmallow import Schema, fields


class DashboardLinkOut(Schema):
    """A single-use sign-in link and when it stops working."""

    url = fields.String()
    expires_at = fields.AwareDateTime()
