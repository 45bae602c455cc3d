"""Rights requests over the API: what a call sends and what it answers (marshmallow)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from consent_service.rights.grounds import REFUSAL_GROUNDS
from consent_service.rights.types import REQUEST_TYPES
from consent_service.rights.workflow import STATUSES

Text = fields.String


class RequesterIn(Schema):
    """Who asks, when it is not the person (a guardian, a close relative, an officer)."""

    kind = Text(
        load_default="subject", validate=validate.OneOf(("subject", "guardian", "relative", "officer"))
    )
    name = Text(load_default=None, allow_none=True, validate=validate.Length(1, 200))
    relationship = Text(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    proof = Text(load_default=None, allow_none=True, validate=validate.Length(1, 2000))
    interest = Text(load_default=None, allow_none=True, validate=validate.Length(1, 2000))
    contact = Text(load_default=None, allow_none=True, validate=validate.Length(3, 320))


class CorrectionsIn(Schema):
    """What this service holds of the person and a correction changes (``null`` erases it)."""

    email = Text(allow_none=True, validate=validate.Length(3, 320))
    phone = Text(allow_none=True, validate=validate.Length(3, 64))


class RightsRequestIn(Schema):
    """A new request: the person (the company's own id), the right, and who asks."""

    subject = Text(required=True, validate=validate.Length(1, 200))
    type = Text(required=True, validate=validate.OneOf(tuple(REQUEST_TYPES)))
    regime = Text(load_default=None, allow_none=True, validate=validate.OneOf(("PIPL", "GDPR")))
    identity_verified_by = Text(load_default=None, allow_none=True, validate=validate.OneOf(("company",)))
    requester = fields.Nested(RequesterIn, load_default=None, allow_none=True)
    channel = Text(
        load_default="api", validate=validate.OneOf(("api", "dashboard", "paper", "phone", "email"))
    )
    entered_by = Text(load_default=None, allow_none=True, validate=validate.Length(1, 200))
    details = Text(load_default=None, allow_none=True, validate=validate.Length(1, 20000))
    corrections = fields.Nested(CorrectionsIn, load_default=None, allow_none=True)
    language = Text(load_default="zh-CN", validate=validate.OneOf(("zh-CN", "en")))


class VerifyIn(Schema):
    """The mailed code, or ``by: company`` when the company vouches for the requester."""

    code = Text(load_default=None, allow_none=True, validate=validate.Regexp(r"^\s*[0-9]{6}\s*$"))
    by = Text(load_default="code", validate=validate.OneOf(("code", "company")))


class ReasonIn(Schema):
    reason = Text(required=True, validate=validate.Length(1, 5000))


class NoteIn(Schema):
    note = Text(load_default=None, allow_none=True, validate=validate.Length(1, 5000))


class AssignIn(Schema):
    officer = Text(required=True, validate=validate.Length(1, 200))


class RefuseIn(Schema):
    """GB/T 8.7's ground, the explanation and the complaint channel (PIPL 50): all three."""

    ground = Text(required=True, validate=validate.OneOf(tuple(REFUSAL_GROUNDS)))
    explanation = Text(required=True, validate=validate.Length(1, 5000))
    complaint_channel = Text(required=True, validate=validate.Length(1, 5000))


class RequestQuery(Schema):
    status = Text(validate=validate.OneOf(STATUSES))
    type = Text(validate=validate.OneOf(tuple(REQUEST_TYPES)))
    due_before = fields.AwareDateTime()
    overdue = fields.Boolean()
    at_risk = fields.Boolean()
    cursor = Text(validate=validate.Regexp(r"^[0-9]{1,18}$"))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class RightsEventOut(Schema):
    seq = fields.Integer()
    at = fields.AwareDateTime()
    action = Text()
    from_status = Text(allow_none=True)
    to_status = Text()
    actor_kind = Text()
    actor = Text(allow_none=True)
    note = Text(allow_none=True)


class DeadlineOut(Schema):
    """The deadline explained: the rule, when the clock started, what was added back."""

    amount = fields.Integer()
    unit = Text()
    starts_at = Text()
    clause = Text()
    clock_started_at = fields.AwareDateTime(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    due_day = fields.Date(allow_none=True)
    provisional = fields.Boolean()
    paused_days = fields.Integer()
    extended = fields.Boolean()
    warning = Text(allow_none=True)


class RightsRequestOut(Schema):
    id = Text()
    subject = Text()
    type = Text()
    clauses = fields.List(Text())
    regime = Text()
    status = Text()
    channel = Text()
    requester = fields.Dict()
    received_at = fields.AwareDateTime()
    identity_verified_at = fields.AwareDateTime(allow_none=True)
    identity_verified_by = Text(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    provisional = fields.Boolean()
    paused_days = fields.Integer()
    deadline = fields.Nested(DeadlineOut)
    assigned_to = Text(allow_none=True)
    at_risk = fields.Boolean()
    overdue = fields.Boolean()
    refusal = fields.Dict(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    allowed_actions = fields.List(Text())
    details = Text(allow_none=True)
    timeline = fields.List(fields.Nested(RightsEventOut))
    tasks = fields.List(fields.Nested(lambda: TaskOut(exclude=("asked", "result"))))


class RightsRequestListOut(Schema):
    requests = fields.List(fields.Nested(RightsRequestOut(exclude=("timeline", "details", "tasks"))))
    next_cursor = Text(allow_none=True)


class DataSystemIn(Schema):
    """A data system: its name, who answers for it, the PI categories it holds, and the URL
    its tasks are sent to (none: they are answered by hand)."""

    name = Text(required=True, validate=validate.Length(1, 200))
    owner = Text(required=True, validate=validate.Length(1, 200))
    categories = fields.List(
        Text(validate=validate.Length(1, 32)), required=True, validate=validate.Length(1, 200)
    )
    webhook_url = Text(load_default=None, allow_none=True, validate=validate.Length(1, 2000))


class DataSystemOut(Schema):
    id = Text()
    name = Text()
    owner = Text()
    categories = fields.List(Text())
    delivery = Text()
    webhook = Text(allow_none=True)
    created_at = fields.AwareDateTime()


class DataSystemCreatedOut(DataSystemOut):
    #: The signing secret of the system's webhook deliveries: in this answer only.
    secret = Text(allow_none=True)


class DataSystemListOut(Schema):
    systems = fields.List(fields.Nested(DataSystemOut))


class TaskOut(Schema):
    id = Text()
    system = Text()
    system_name = Text()
    request = Text(allow_none=True)
    subject = Text()
    action = Text()
    categories = fields.List(Text())
    status = Text()
    opened_at = fields.AwareDateTime()
    answered_at = fields.AwareDateTime(allow_none=True)
    carried_out_at = fields.AwareDateTime(allow_none=True)
    answered_by = Text(allow_none=True)
    note = Text(allow_none=True)
    #: What the request asks (its details, the correction's values): for the system only.
    asked = fields.Dict()
    result = fields.Raw(allow_none=True)


class TaskListOut(Schema):
    tasks = fields.List(fields.Nested(TaskOut(exclude=("asked", "result"))))
    next_cursor = Text(allow_none=True)


class TaskQuery(Schema):
    status = Text(validate=validate.OneOf(("open", "done", "no_data", "cancelled")))
    system = Text(validate=validate.Length(1, 40))
    request = Text(validate=validate.Length(1, 40))
    cursor = Text(validate=validate.Regexp(r"^[0-9]{1,18}$"))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class TaskResultIn(Schema):
    """A system's answer: ``done`` with the data (access) or the time it was carried out
    (deletion, correction, restriction), or ``no_data``."""

    outcome = Text(required=True, validate=validate.OneOf(("done", "no_data")))
    data = fields.Raw(load_default=None, allow_none=True)
    carried_out_at = fields.AwareDateTime(load_default=None, allow_none=True)
    note = Text(load_default=None, allow_none=True, validate=validate.Length(1, 5000))
