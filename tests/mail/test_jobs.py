"""The scheduled delivery: sends through the configured transport, once, in its own unit of work."""

from __future__ import annotations

import json

from consent_service.mail import jobs
from consent_service.mail.models import MailMessage
from consent_service.mail.service import queue_mail
from tests.mail.conftest import PERSON, SUBJECT, TEXT


def test_mail_is_sent_once_however_often_the_job_runs(app, db, clock, outbox):
    message = queue_mail(PERSON, SUBJECT, TEXT, kind="rights.acknowledgement", now=clock.now())
    db.session.commit()
    runner = app.extensions["scheduler_runner"]

    assert runner.run(app, "mail") == {"sent": 1, "retrying": 0, "failed": 0, "deferred": 0}
    assert runner.run(app, "mail") == {"sent": 0, "retrying": 0, "failed": 0, "deferred": 0}
    assert jobs.deliver() == {"sent": 0, "retrying": 0, "failed": 0, "deferred": 0}

    assert [m["Message-ID"] for m in outbox.messages] == [f"<{message.public_id}@consent.localhost>"]
    db.session.expire_all()
    assert db.session.get(MailMessage, message.id).status == "sent"


def test_the_job_runs_at_its_configured_interval(app):
    [job] = jobs.JOBS
    assert (job.name, job.interval_setting, job.unit) == ("mail", "MAIL_POLL_SECONDS", "seconds")
    assert app.extensions["scheduler"]["mail"] is job
    assert list(app.extensions["scheduler"])[-1] == "mail", "after the webhooks"


def test_scheduler_run_once_reports_the_mail(cli, db, clock, outbox):
    queue_mail(PERSON, SUBJECT, TEXT, kind="dashboard.sign_in_code", now=clock.now())
    db.session.commit()

    result = cli.invoke(args=["scheduler", "run", "--once"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["mail"] == {"sent": 1, "retrying": 0, "failed": 0, "deferred": 0}
    assert len(outbox.messages) == 1
