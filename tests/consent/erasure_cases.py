"""A person with a history that holds personal data everywhere it can, for the erasure tests:
contact details, a birth date and a guardian on the row; grants, a withdrawal, a guardian's
separate consent and an officer's paper record with evidence (ip, user agent, note, document)."""

from __future__ import annotations

from sqlalchemy import text

from tests.factories import act, grant, make_purpose, make_sensitive_purpose, make_subject

EXTERNAL_ID = "alice-7781-ext"
EMAIL = "alice.li@example.cn"
PHONE = "+86 138 0013 8000"
IP = "203.0.113.77"
USER_AGENT = "Mozilla/5.0 (AliceBrowser 9.1)"
GUARDIAN = "Li Guardian-Zhang"
GUARDIAN_CONTACT = "li.guardian@example.cn"
NOTE = "asked on the phone, case 4411"
DOCUMENT = "paper-form-ALICE-0042"
OFFICER_REASON = f"paper form signed by {GUARDIAN}"
#: Every value above: none may be left in the person's rows after the erasure.
PERSONAL = (EXTERNAL_ID, EMAIL, PHONE, IP, USER_AGENT, GUARDIAN, GUARDIAN_CONTACT, NOTE, DOCUMENT)
#: The tables that hold a person's consent records.
TABLES = ("subject", "consent_event", "consent_receipt")


def purposes(org, now) -> None:
    """The purposes the history uses (those of the audit fixtures' organization, and face)."""
    for code in ("marketing", "analytics"):
        make_purpose(org, now, code)
    make_sensitive_purpose(org, now, "face")


def person_with_history(org, clock, external_id: str = EXTERNAL_ID):
    """The person, with five events on three purposes, all three granted at the end: a bundle
    of two grants and a withdrawal by the person, a guardian's separate consent, an officer's
    record of a guardian's paper form."""
    subject = make_subject(
        org,
        clock.now(),
        external_id,
        email=EMAIL,
        phone=PHONE,
        birth_date="1990-05-06",
        guardian={"name": GUARDIAN, "contact": GUARDIAN_CONTACT, "relationship": "mother"},
    )
    evidence = {"ip": IP, "user_agent": USER_AGENT, "locale": "zh-CN"}
    grant(org, subject, clock.now(), "marketing", "analytics", evidence=evidence)
    clock.advance(minutes=10)
    act(org, subject, clock.now(), "withdraw", "marketing", evidence=evidence | {"note": NOTE})
    clock.advance(minutes=10)
    grant(
        org,
        subject,
        clock.now(),
        "face",
        consent_type="separate",
        actor={"kind": "guardian", "name": GUARDIAN, "relationship": "mother"},
        evidence={"ip": IP},
    )
    clock.advance(minutes=10)
    grant(
        org,
        subject,
        clock.now(),
        "marketing",
        method="paper",
        actor={"kind": "officer", "name": "Officer Wang", "relationship": "mother", "reason": OFFICER_REASON},
        evidence={"document_ref": DOCUMENT},
    )
    return subject


def values_found(db, values=PERSONAL) -> list[tuple[str, str, str]]:
    """Every (table, column, value) where one of ``values`` appears in any row of :data:`TABLES`."""
    found = []
    for table in TABLES:
        result = db.session.execute(text(f"SELECT * FROM {table}"))  # noqa: S608 (constant names)
        columns = list(result.keys())
        for row in result:
            for column, cell in zip(columns, row, strict=True):
                for value in values:
                    if cell is not None and value in str(cell):
                        found.append((table, column, value))
    return found


def rows_of(db, subject_id: int) -> dict[str, list[tuple]]:
    """A person's rows in every table that holds their records, to compare before and after."""
    queries = {
        "subject": "SELECT * FROM subject WHERE id = :s",
        "consent_event": "SELECT * FROM consent_event WHERE subject_id = :s ORDER BY seq",
        "consent_state": "SELECT * FROM consent_state WHERE subject_id = :s ORDER BY purpose_id",
        "consent_receipt": (
            "SELECT r.* FROM consent_receipt r JOIN consent_event e ON e.id = r.event_id "
            "WHERE e.subject_id = :s ORDER BY r.id"
        ),
        "subject_erasure": "SELECT * FROM subject_erasure WHERE subject_id = :s",
        "dashboard_link": "SELECT * FROM dashboard_link WHERE subject_id = :s ORDER BY id",
    }
    db.session.expire_all()
    return {
        name: [tuple(r) for r in db.session.execute(text(sql), {"s": subject_id})]
        for name, sql in queries.items()
    }
