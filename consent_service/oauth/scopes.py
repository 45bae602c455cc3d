"""The scopes of the API."""

#: Every scope a client may hold, with what it allows; each API route names the one it needs.
SCOPE_DESCRIPTIONS = {
    "purposes:read": "Read purposes and policies",
    "purposes:write": "Create and change purposes",
    "policies:write": "Draft and publish privacy policies",
    "subjects:write": "Create and update subjects",
    "consents:read": "Read consent state and history; ask for decisions",
    "consents:write": "Record consent acts",
    "rights:read": "Read rights requests",
    "rights:write": "Create and work rights requests",
    "systems:manage": "Manage the registry of data systems",
    "records:read": "Export records",
    "webhooks:manage": "Manage webhook subscriptions",
    "dashboard:link": "Create dashboard sign-in links",
}
SCOPES = tuple(SCOPE_DESCRIPTIONS)
