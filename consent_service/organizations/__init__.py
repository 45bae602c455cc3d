"""Organizations (personal-information handlers, 个人信息处理者) and the PI catalogue.

- ``models``: Organization, PICategory;
- ``service``: create and find organizations; load and look up the GB/T 35273 Annex A/B
  catalogue;
- ``cli``: ``flask orgs``.
"""
