"""Organizations, the PI category catalogue, purposes and privacy policies.

- ``models``: Organization, PICategory, Purpose, PurposeVersion, PolicyVersion;
- ``schemas``: marshmallow input schemas;
- ``service``: create and change them; publishing checks PIPL 17 / GB/T 5.5;
- ``views``: the public pages of published policies.
"""

from flask import Blueprint

bp = Blueprint("policies", __name__)

from consent_service.policies import views  # noqa: E402,F401  (registers routes)
