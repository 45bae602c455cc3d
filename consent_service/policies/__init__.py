"""Organizations, the PI category catalogue, purposes and privacy policies.

- ``models``: Organization, PICategory, Purpose, PurposeVersion, PolicyVersion;
- ``schemas``: marshmallow input schemas;
- ``organizations``: handlers and the PI catalogue;
- ``service``: purposes and policies; publishing checks PIPL 17 / GB/T 5.5;
- ``api``: purposes and policies over the API;
- ``views``: the public pages of published policies.
"""
