"""An export's life: queued, claimed once, written with its progress reported, done with its
file's size and SHA-256; a failure kept as a fixed reason; the file deleted when it expires."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timedelta

import pytest

from consent_service.consent.hashing import iso_utc
from consent_service.errors import InvalidInput
from consent_service.exports import jobs, service
from consent_service.exports.models import ExportJob
from consent_service.exports.rows import export_period
from consent_service.receipts import keys
from consent_service.records.document import RECORD_TYPE
from consent_service.records.verify import verify_record
from tests.exports.support import fill_events
from tests.factories import make_org, make_purpose, make_subject

PERIOD = {"from": "2026-11-01", "to": "2026-11-02"}


@pytest.fixture
def folder(app, tmp_path):
    app.config["EXPORT_FOLDER"] = str(tmp_path / "exports")
    yield tmp_path / "exports"
    app.config["EXPORT_FOLDER"] = None


@pytest.fixture
def shop(db, clock):
    org = make_org(clock.now(), "shop")
    purpose = make_purpose(org, clock.now(), "marketing")
    person = make_subject(org, clock.now(), "u-1")
    fill_events(db, org, person, purpose, 3_000, clock.now() - timedelta(hours=1))
    return org


def _queue(org, clock, kind="consent_events", file_format="csv") -> ExportJob:
    period = export_period(PERIOD, org.timezone)
    return service.request_export(org, kind, file_format, period, None, clock.now())


def test_an_unknown_kind_or_format_is_refused(db, shop, clock):
    with pytest.raises(InvalidInput) as refused:
        service.request_export(shop, "people", "xml", export_period(PERIOD, shop.timezone), None, clock.now())
    assert set(refused.value.details) == {"kind", "format"}


def test_a_queued_export_is_claimed_once(db, shop, clock):
    job = _queue(shop, clock)
    assert job.status == "queued"
    assert service.claim_next(clock.now()) == job.id
    assert (job.status, job.started_at) == ("running", clock.now())
    assert service.claim_next(clock.now()) is None  # a second claimer gets nothing


def test_the_job_writes_the_file_with_its_progress(db, shop, clock, folder):
    job = _queue(shop, clock)
    job_id = service.claim_next(clock.now())
    seen: list[int] = []

    def progress(rows):
        seen.append(rows)
        service.record_progress(job_id, rows)
        assert db.session.get(ExportJob, job_id).rows_written == rows

    written = service.write_export(job_id, progress, every=1)
    service.finish(job_id, written, clock.now())
    assert seen and seen == sorted(seen) and seen[-1] <= 3_000
    path = folder / job.file_name
    data = path.read_bytes()
    assert (job.status, job.rows_written, job.size_bytes) == ("done", 3_000, len(data))
    assert job.sha256 == hashlib.sha256(data).hexdigest()
    assert job.expires_at == clock.now() + timedelta(hours=72)
    assert len(list(csv.DictReader(io.StringIO(data.decode())))) == 3_000
    assert not list(folder.glob("*.part"))


def test_the_scheduler_job_runs_what_is_queued(db, shop, clock, folder):
    first, second = _queue(shop, clock), _queue(shop, clock, "rights_requests", "jsonl")
    assert jobs.run_exports() == {"done": 2, "failed": 0}
    assert (first.status, first.rows_written) == ("done", 3_000)
    assert (second.status, second.rows_written) == ("done", 0)
    assert jobs.run_exports() == {"done": 0, "failed": 0}


def test_a_failure_keeps_a_fixed_reason_and_no_file(db, shop, clock, folder, monkeypatch):
    job = _queue(shop, clock)

    def broken(*args, **kwargs):
        raise RuntimeError("row u-1 li@example.cn could not be written")
        yield  # a generator, as the real one

    monkeypatch.setattr(service, "export_bytes", broken)
    assert jobs.run_exports() == {"done": 0, "failed": 1}
    assert (job.status, job.error, job.file_name) == ("failed", "export_error", None)
    assert job.finished_at == clock.now()
    assert not folder.exists() or not list(folder.iterdir())


def test_an_unwritable_folder_is_a_storage_error(db, shop, clock, app, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    app.config["EXPORT_FOLDER"] = str(blocker / "exports")
    try:
        job = _queue(shop, clock)
        assert jobs.run_exports()["failed"] == 1
        assert job.error == "storage_error"
    finally:
        app.config["EXPORT_FOLDER"] = None


def test_an_expired_file_is_deleted(db, shop, clock, folder):
    job = _queue(shop, clock)
    jobs.run_exports()
    path = folder / job.file_name
    assert path.is_file()
    clock.at = clock.now() + timedelta(hours=71)
    assert jobs.purge_exports() == {"purged": 0, "abandoned": 0}
    assert path.is_file()
    clock.at = clock.now() + timedelta(hours=1)
    assert jobs.purge_exports() == {"purged": 1, "abandoned": 0}
    assert not path.exists() and job.status == "expired" and job.sha256
    assert service.file_path(job) is None


def test_a_compliance_report_is_written_in_the_background(db, shop, clock, folder):
    with pytest.raises(InvalidInput) as refused:
        _queue(shop, clock, service.REPORT, "csv")
    assert refused.value.details == {"format": ["is not one of pdf"]}
    job = _queue(shop, clock, service.REPORT, "pdf")
    claimed_at = clock.now()
    job_id = service.claim_next(claimed_at)
    clock.advance(minutes=5)
    seen: list[int] = []
    service.finish(job_id, service.write_export(job_id, seen.append), clock.now())
    assert seen[-1] == 3_000
    path = folder / job.file_name
    assert job.file_name.startswith("compliance_report-2026-11-01-2026-11-02-") and path.suffix == ".pdf"
    data = path.read_bytes()
    assert (job.status, job.rows_written, job.size_bytes) == ("done", 3_000, len(data))
    assert job.sha256 == hashlib.sha256(data).hexdigest()
    check = verify_record(path)
    assert check.ok and check.kind == "compliance_report", check.messages
    source = json.loads(check.attachments["record.json"])
    assert source["data"]["attached"][0]["rows"] == 3_000
    token = check.attachments["record.jws"].decode()
    signed = json.loads(keys.KeyRing(keys.jwks()).verify(token, RECORD_TYPE)[1])
    assert signed["generated_at"] == iso_utc(claimed_at)  # written as of its claim
    assert not [p for p in folder.iterdir() if p != path]  # its working files are gone


def test_an_export_its_worker_left_running_is_failed(db, shop, clock, folder):
    job = _queue(shop, clock)
    service.claim_next(clock.now())
    folder.mkdir(parents=True, exist_ok=True)
    job.file_name = "consent_events-x.csv"
    (folder / "consent_events-x.csv.part").write_bytes(b"half")
    clock.advance(minutes=119)
    assert jobs.purge_exports() == {"purged": 0, "abandoned": 0}
    assert job.status == "running"
    clock.advance(minutes=2)
    assert jobs.purge_exports() == {"purged": 0, "abandoned": 1}
    assert (job.status, job.error, job.file_name) == ("failed", "abandoned", None)
    assert not list(folder.iterdir())


def test_a_job_given_up_stays_given_up_when_its_worker_comes_back(db, shop, clock, folder):
    job = _queue(shop, clock)
    job_id = service.claim_next(clock.now())
    written = service.write_export(job_id, lambda rows: None)  # the worker, slow
    clock.advance(hours=3)
    assert service.fail_abandoned(clock.now()) == 1
    service.finish(job_id, written, clock.now())  # it comes back
    assert (job.status, job.error, job.file_name) == ("failed", "abandoned", None)
    assert not list(folder.iterdir())  # what it wrote is deleted
    service.fail(job_id, "storage_error", clock.now())
    assert job.error == "abandoned"
