"""Staff of an organization and what each may do in the console (PIPL 51, 52; GB/T 35273 11.7).

- ``roles``: the roles (admin, officer, auditor) and the permissions each holds, as data.
"""
