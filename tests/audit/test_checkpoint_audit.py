"""Checkpoints that vanish, fall behind, or are rewritten; heads exported to keep elsewhere.

Before: deleting every checkpoint gave ``OK — 0 checkpoints``; the first gap in the sequence
ended the checks; deleting the newest events with the checkpoints after them went unseen.
Now events no checkpoint covers may be only so old (``CHECKPOINT_INTERVAL_MINUTES`` plus
``CHECKPOINT_GRACE_MINUTES``; a quiet organization is never flagged), every gap is named and the
rest still checked, and a head exported with ``flask audit export-head`` must still be there,
unchanged, under every later checkpoint (``flask audit verify --head FILE``).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from consent_service.audit.heads import FORMAT
from consent_service.audit.models import LedgerCheckpoint
from consent_service.audit.verify import allowed_checkpoint_age, verify_organization
from consent_service.consent.hashing import iso_utc
from tests.audit.tampering import drop_last_event, events_of, tamper
from tests.factories import act, grant, make_org, make_subject


def problems(result) -> list[str]:
    """The problem lines of a ``flask audit verify`` answer."""
    return [line.strip() for line in result.output.splitlines() if line.startswith("  ")]


def checkpoint(audit) -> str:
    result = audit("checkpoint")
    assert result.exit_code == 0, result.output
    return result.output.strip()


def delete_checkpoints(db, org, *seqs: int) -> None:
    """Delete these checkpoints of ``org`` (all of them when none is named)."""
    where = f" AND seq IN ({', '.join(str(s) for s in seqs)})" if seqs else ""
    tamper(db, f"DELETE FROM ledger_checkpoint WHERE org_id = :org{where}", org=org.id)  # noqa: S608


def later_than_allowed(clock) -> None:
    """Move the clock past the age an unchecked event may reach."""
    clock.advance(seconds=allowed_checkpoint_age().total_seconds() + 60)


# --- checkpoints deleted or late --------------------------------------------------------------


def test_deleting_every_checkpoint_is_found(db, audit, clock, org, alice, bob):
    checkpoint(audit)
    delete_checkpoints(db, org)
    later_than_allowed(clock)

    result = audit("verify")

    assert result.exit_code == 1, result.output
    assert f"{org.slug}: BROKEN — 2 chains, 4 events, 0 checkpoints" in result.output
    first = events_of(db, alice)[0]
    assert problems(result) == [
        f"no checkpoint, yet subject 'alice' (id {alice.id}), event #1 ({first.uuid}) was recorded at "
        f"{iso_utc(first.recorded_at)}, more than 75 minutes ago (checkpoints deleted, or the checkpoint "
        "job is not running)"
    ]


def test_events_younger_than_a_checkpoint_interval_need_no_checkpoint_yet(db, audit, org, alice, bob):
    """A new organization before the scheduler's first run: nothing false is reported."""
    assert audit("verify").exit_code == 0


def test_a_quiet_organization_is_never_flagged(db, audit, clock, org, alice, bob):
    checkpoint(audit)
    clock.advance(days=90)  # no event since
    result = audit("verify")
    assert result.exit_code == 0, result.output


def test_deleting_the_newest_checkpoint_is_found_by_the_events_it_covered(db, audit, clock, org, alice, bob):
    checkpoint(audit)
    clock.advance(minutes=15)
    withdrawal = act(org, bob, clock.now(), "withdraw", "analytics").events[0]
    assert checkpoint(audit).endswith("checkpoint #2")
    delete_checkpoints(db, org, 2)
    first = db.session.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.org_id == org.id)).one()

    assert audit("verify").exit_code == 0  # within the interval: it could be the job's next run
    later_than_allowed(clock)
    result = audit("verify")

    assert result.exit_code == 1
    assert problems(result) == [
        f"checkpoint #1 ({iso_utc(first.created_at)}) is the newest, yet subject 'bob' (id {bob.id}), "
        f"event #2 ({withdrawal.uuid}), recorded at {iso_utc(withdrawal.recorded_at)}, is in none: more "
        "than 75 minutes without a checkpoint (later checkpoints deleted, or the checkpoint job is not "
        "running)"
    ]


def test_the_allowed_age_is_the_interval_and_the_grace(app, db, clock, org, alice):
    assert allowed_checkpoint_age().total_seconds() == 60 * (15 + 60)
    app.config["CHECKPOINT_GRACE_MINUTES"] = 0
    try:
        clock.advance(minutes=16)
        assert "no checkpoint, yet" in verify_organization(org).problems[0]
    finally:
        app.config["CHECKPOINT_GRACE_MINUTES"] = 60


@pytest.mark.parametrize(
    ("deleted", "message"),
    [
        ((2,), "checkpoint #3: checkpoint #2 is missing before it (deleted)"),
        ((2, 3), "checkpoint #4: checkpoints #2 to #3 are missing before it (deleted)"),
        ((1,), "checkpoint #2: checkpoint #1 is missing before it (deleted)"),
    ],
)
def test_every_gap_in_the_checkpoints_is_named_and_the_rest_still_checked(
    db, audit, clock, org, alice, bob, deleted, message
):
    for n in range(4):
        checkpoint(audit)
        clock.advance(minutes=15)
        grant(org, make_subject(org, clock.now(), f"p{n}"), clock.now(), "analytics")
    checkpoint(audit)
    delete_checkpoints(db, org, *deleted)
    signature = db.session.scalar(
        select(LedgerCheckpoint.signature).where(LedgerCheckpoint.org_id == org.id, LedgerCheckpoint.seq == 5)
    )
    forged = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BA")
    tamper(  # a later checkpoint forged too: still found past the gap
        db, "UPDATE ledger_checkpoint SET signature = :s WHERE org_id = :o AND seq = 5", s=forged, o=org.id
    )

    assert problems(audit("verify")) == [
        message,
        "checkpoint #5: signature does not verify: the signature is not valid",
    ]


# --- exported heads ------------------------------------------------------------------------------


@pytest.fixture
def head_file(audit, org, tmp_path):
    """Export the newest checkpoint to a file; return its path."""

    def export():
        path = tmp_path / "heads.json"
        result = audit("export-head", "--output", str(path))
        assert result.exit_code == 0, result.output
        return path

    return export


def test_export_head_writes_the_newest_signed_checkpoint(db, audit, clock, org, alice, bob, head_file):
    checkpoint(audit)
    clock.advance(minutes=15)
    act(org, bob, clock.now(), "withdraw", "analytics")
    checkpoint(audit)
    newest = db.session.scalars(
        select(LedgerCheckpoint).where(LedgerCheckpoint.org_id == org.id, LedgerCheckpoint.seq == 2)
    ).one()

    printed = audit("export-head")
    path = head_file()

    assert printed.exit_code == 0
    document = json.loads(printed.output)
    assert document == json.loads(path.read_text())
    assert document["format"] == FORMAT
    assert document["exported_at"] == iso_utc(clock.now())
    assert document["heads"] == [
        {
            "org": org.slug,
            "seq": 2,
            "created_at": iso_utc(newest.created_at),
            "merkle_root": newest.merkle_root,
            "hash": newest.hash,
            "kid": newest.kid,
            "jws": newest.signature,
        }
    ]
    assert audit("export-head", "--output", str(path)).output == (
        f"{org.slug}: checkpoint #2 ({newest.hash}) written to {path}\n"
    )


def test_an_honest_ledger_extends_its_exported_head(db, cli, audit, clock, org, alice, bob, head_file):
    checkpoint(audit)
    path = head_file()
    clock.advance(minutes=15)
    act(org, bob, clock.now(), "withdraw", "analytics")
    checkpoint(audit)

    result = audit("verify", "--head", str(path))

    assert result.exit_code == 0, result.output
    assert f"{org.slug}: OK — 2 chains, 5 events, 2 checkpoints, 3 receipts, extends exported head #1" in (
        result.output
    )


def test_newest_events_deleted_with_their_checkpoints_are_found_by_the_head(
    db, audit, clock, org, alice, bob, head_file
):
    """The newest checkpoint and the events only it covered are deleted, heads and states rewound:
    the ledger is exactly what it was at checkpoint #1. Only the exported head knows better."""
    checkpoint(audit)
    clock.advance(minutes=15)
    act(org, bob, clock.now(), "withdraw", "analytics")
    checkpoint(audit)
    path = head_file()
    drop_last_event(db, bob)
    delete_checkpoints(db, org, 2)
    head = json.loads(path.read_text())["heads"][0]

    result = audit("verify", "--head", str(path))

    assert result.exit_code == 1
    assert problems(result) == [
        f"checkpoint #2 of the exported head (created {head['created_at']}) is gone; the newest is #1 "
        "(checkpoints deleted, or history truncated and signed again)"
    ]


def test_history_truncated_before_the_head_is_found_even_when_every_checkpoint_is_new(
    db, audit, clock, org, alice, bob, head_file
):
    """All checkpoints deleted, a withdrawal removed, and the service itself made to sign a fresh
    checkpoint #1 over what is left: every signature is genuine, only the head disagrees."""
    checkpoint(audit)
    path = head_file()
    drop_last_event(db, alice)
    delete_checkpoints(db, org)
    checkpoint(audit)

    assert audit("verify").exit_code == 0  # nothing in the database can tell
    result = audit("verify", "--head", str(path))

    assert result.exit_code == 1
    assert problems(result) == [
        "checkpoint #1 is not the exported head: its hash or signature differs (checkpoints rewritten)"
    ]


def test_a_head_whose_leaves_were_shortened_is_found(db, audit, org, alice, bob, head_file):
    """The head's own row is kept, but its leaves are edited to fit a truncated chain."""
    checkpoint(audit)
    path = head_file()
    drop_last_event(db, alice)
    cp = db.session.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.org_id == org.id)).one()
    cp.leaves = [[sid, seq - 1 if sid == alice.id else seq] for sid, seq in cp.leaves]
    db.session.flush()

    assert problems(audit("verify", "--head", str(path))) == [
        "checkpoint #1: Merkle root does not match the chains (history rewritten)"
    ]


def test_export_head_names_organizations_without_a_checkpoint(audit, org, alice):
    result = audit("export-head")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["heads"] == []
    assert f"{org.slug}: no checkpoint yet, nothing to export" in result.stderr


def test_export_head_refuses_a_forged_checkpoint(db, audit, org, alice):
    checkpoint(audit)
    tamper(db, "UPDATE ledger_checkpoint SET merkle_root = :r WHERE org_id = :o", r="0" * 64, o=org.id)
    result = audit("export-head")
    assert result.exit_code == 1
    assert f"{org.slug}: checkpoint #1 differs from what was signed; run flask audit verify" in result.output


def test_export_head_of_an_unknown_organization_fails_cleanly(cli):
    result = cli.invoke(args=["audit", "export-head", "--org", "nowhere"])
    assert result.exit_code == 1
    assert "no organization 'nowhere'" in result.output


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param(lambda doc: "{", "not JSON", id="not-json"),
        pytest.param(lambda doc: json.dumps({"heads": []}), "not an exported head document", id="format"),
        pytest.param(
            lambda doc: json.dumps(doc | {"heads": [doc["heads"][0] | {"seq": 7}]}),
            "does not match the checkpoint its JWS carries",
            id="seq-edited",
        ),
        pytest.param(
            lambda doc: json.dumps(doc | {"heads": [doc["heads"][0] | {"jws": "x"}]}),
            "a head is malformed",
            id="jws-edited",
        ),
    ],
)
def test_a_bad_head_file_fails_cleanly(audit, org, alice, head_file, edit, message):
    checkpoint(audit)
    path = head_file()
    path.write_text(edit(json.loads(path.read_text())))
    result = audit("verify", "--head", str(path))
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_head_file_without_the_organization_asked_for_fails_cleanly(
    db, cli, clock, audit, org, alice, head_file
):
    other = make_org(clock.now())
    checkpoint(audit)
    path = head_file()
    result = cli.invoke(args=["audit", "verify", "--org", other.slug, "--head", str(path)])
    assert result.exit_code == 1
    assert f"has no head of organization {other.slug!r}" in result.output


def test_an_organization_of_the_head_file_that_is_gone_is_reported(db, cli, clock, tmp_path):
    gone = make_org(clock.now())
    kept = make_org(clock.now())
    gone_id, gone_slug, kept_slug = gone.id, gone.slug, kept.slug
    assert cli.invoke(args=["audit", "checkpoint"]).exit_code == 0
    path = tmp_path / "heads.json"
    assert cli.invoke(args=["audit", "export-head", "--output", str(path)]).exit_code == 0
    tamper(db, "DELETE FROM ledger_checkpoint WHERE org_id = :o", o=gone_id)
    tamper(db, "DELETE FROM organization WHERE id = :o", o=gone_id)

    result = cli.invoke(args=["audit", "verify", "--head", str(path)])

    assert result.exit_code == 1
    assert f"{kept_slug}: OK" in result.output
    assert f"{gone_slug}: BROKEN — the organization of an exported head is gone" in result.output


def test_events_of_a_person_created_after_the_head_are_fine(db, audit, clock, org, alice, head_file):
    checkpoint(audit)
    path = head_file()
    clock.advance(minutes=5)
    grant(org, make_subject(org, clock.now(), "newcomer"), clock.now(), "marketing")
    assert audit("verify", "--head", str(path)).exit_code == 0
