"""The access, copy and transfer package (PIPL 45, GB/T 35273 8.1, 8.6): what the zip holds,
that it holds nobody else's data and no secrets, that its files are safe to open (CSV, HTML),
and the link: it works, expires after RIGHTS_PACKAGE_DAYS, and the content is then deleted."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, text

from consent_service.errors import NotFound
from consent_service.extensions import db as _db
from consent_service.rights import package, packages, service
from consent_service.rights.holdings import SystemResult
from consent_service.rights.jobs import purge_packages
from consent_service.rights.models import RightsPackage
from consent_service.rights.timeline import timeline
from consent_service.unit_of_work import unit_of_work
from tests.conftest import IS_POSTGRES, T0
from tests.factories import act, grant, make_org, make_purpose, make_subject, publish_policy

CLIENT = "cs_test_client"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def world(db, org, person, clock):
    """The person granted marketing, granted then withdrew analytics, and asked for a copy;
    another person of the same organization granted marketing and asked for access."""
    now = clock.now()
    make_purpose(org, now, "marketing", name_zh="营销推送", name_en="Marketing")
    make_purpose(org, now, "analytics", name_zh="统计分析", name_en="Analytics", pi_categories=["device"])
    publish_policy(org, now)
    grant(org, person, now, "marketing", policy_version="v1", evidence={"ip": "203.0.113.7"})
    grant(org, person, clock.advance(hours=1), "analytics", policy_version="v1")
    act(org, person, clock.advance(hours=1), "withdraw", "analytics")
    other = make_subject(org, now, "u-2", email="other@example.cn", phone="13900000000")
    grant(org, other, clock.now(), "marketing", policy_version="v1", evidence={"ip": "198.51.100.99"})
    service.create_request(
        org, "u-2", "access", clock.now(), identity_verified_by="company", client_id=CLIENT
    )
    request = service.create_request(
        org, "u-1", "copy", clock.advance(hours=1), identity_verified_by="company", client_id=CLIENT,
        details="please send me everything", language="zh-CN",
    )  # fmt: skip
    return {"org": org, "person": person, "other": other, "request": request}


def results(clock) -> list[SystemResult]:
    return [
        SystemResult("CRM", ("basic", "contact"), {"name": "张三", "orders": [1, 2]}, clock.now()),
        SystemResult("订单系统", ("transaction",), {"note": SCRIPT}, clock.now()),
    ]


def build(world, clock, *, language="zh-CN", system_results=None) -> bytes:
    return package.build(
        world["org"],
        world["person"],
        requests=[world["request"]],
        system_results=results(clock) if system_results is None else system_results,
        language=language,
        now=clock.now(),
    )


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def read_json(files, name):
    return json.loads(files[name])


# --- what the zip holds -----------------------------------------------------------------------


def test_the_zip_holds_the_files_in_order(world, clock):
    with zipfile.ZipFile(io.BytesIO(build(world, clock))) as archive:
        names = archive.namelist()
        assert archive.testzip() is None
        assert {info.date_time for info in archive.infolist()} == {(2026, 11, 2, 13, 0, 0)}  # Shanghai
    assert names == [
        "summary.html",
        "subject.json",
        "consent_state.json",
        "consent_state.csv",
        "consent_history.json",
        "consent_history.csv",
        "rights_requests.json",
        "rights_requests.csv",
        "systems/crm.json",
        "systems/system-2.json",
        "manifest.json",
    ]


def test_the_same_clock_gives_the_same_bytes(world, clock):
    assert build(world, clock) == build(world, clock)


def test_consent_state_says_granted_and_withdrawn_with_their_times(world, clock):
    states = read_json(unzip(build(world, clock)), "consent_state.json")
    by_code = {s["purpose"]: s for s in states}
    assert [s["purpose"] for s in states] == ["analytics", "marketing"]
    marketing, analytics = by_code["marketing"], by_code["analytics"]
    assert (marketing["status"], marketing["name_zh"]) == ("granted", "营销推送")
    assert marketing["policy_version"] == "v1"
    assert marketing["granted_at"] == "2026-11-02T02:00:00+00:00"
    assert marketing["withdrawn_at"] is None
    assert marketing["expires_at"] is None
    assert analytics["status"] == "withdrawn"
    assert analytics["granted_at"] == "2026-11-02T03:00:00+00:00"
    assert analytics["withdrawn_at"] == "2026-11-02T04:00:00+00:00"
    assert analytics["pi_categories"] == ["device"]


def test_consent_history_is_the_chain_with_its_receipts(world, clock):
    history = read_json(unzip(build(world, clock)), "consent_history.json")
    assert [(e["seq"], e["purpose"], e["action"]) for e in history] == [
        (1, "marketing", "grant"),
        (2, "analytics", "grant"),
        (3, "analytics", "withdraw"),
    ]
    assert history[0]["prev_hash"] is None
    assert [e["prev_hash"] for e in history[1:]] == [e["hash"] for e in history[:-1]]
    assert history[0]["evidence"] == {"ip": "203.0.113.7"}
    assert history[0]["method"] == "api" and history[0]["policy_version"] == "v1"
    for event in history[:2]:
        assert event["receipt"]["jws"].count(".") == 2
    assert history[2]["receipt"] is None


def test_rights_requests_hold_the_timeline_without_secrets(world, clock):
    files = unzip(build(world, clock))
    [record] = read_json(files, "rights_requests.json")
    request = world["request"]
    assert record["id"] == request.public_id
    assert (record["type"], record["status"]) == ("copy", "in_progress")
    assert record["received_at"] == "2026-11-02T05:00:00+00:00"
    assert record["due_at"] == request.due_at.isoformat()
    assert [(e["action"], e["to_status"], e["actor_kind"]) for e in record["timeline"]] == [
        ("receive", "received", "client"),
        ("verify", "in_progress", "client"),
        ("no_systems", "in_progress", "client"),
    ]
    everything = b"".join(files.values())
    assert CLIENT.encode() not in everything  # who did each step is not the person's data
    assert b"please send me everything" not in everything  # the details asked stay with the officers


def test_the_person_and_their_systems_are_in_it(world, clock):
    files = unzip(build(world, clock))
    assert read_json(files, "subject.json")["email"] == "person@example.cn"
    crm = read_json(files, "systems/crm.json")
    assert crm == {
        "system": "CRM",
        "categories": ["basic", "contact"],
        "answered_at": "2026-11-02T05:00:00+00:00",
        "data": {"name": "张三", "orders": [1, 2]},
    }


def test_nothing_of_another_person_is_in_it(world, clock):
    everything = b"".join(unzip(build(world, clock)).values())
    for value in ("u-2", "other@example.cn", "13900000000", "198.51.100.99"):
        assert value.encode() not in everything


def test_another_persons_request_is_refused(world, clock):
    others = service.create_request(
        world["org"], "u-2", "copy", clock.now(), identity_verified_by="company", client_id=CLIENT
    )
    with pytest.raises(ValueError, match="own person"):
        package.build(
            world["org"],
            world["person"],
            requests=[others],
            system_results=[],
            language="en",
            now=clock.now(),
        )


def test_the_manifest_hashes_every_other_file(world, clock):
    files = unzip(build(world, clock))
    manifest = read_json(files, "manifest.json")
    assert manifest["format_version"] == 1
    assert manifest["subject"] == "u-1"
    assert manifest["organization"]["slug"] == world["org"].slug
    assert manifest["requests"] == [world["request"].public_id]
    assert manifest["generated_at"] == "2026-11-02T05:00:00+00:00"
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json"}
    for name, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(files[name]).hexdigest()
        assert entry["size"] == len(files[name])


def test_system_file_names_are_slugs_without_repeats(clock):
    named = [SystemResult(name, (), None, clock.now()) for name in ("CRM", "crm", "订单", "../../etc/passwd")]
    assert package.system_file_names(named) == [
        "systems/crm.json",
        "systems/crm-2.json",
        "systems/system-3.json",
        "systems/etc-passwd.json",
    ]


# --- files that are safe to open --------------------------------------------------------------


def test_csv_files_start_with_a_bom_and_read_chinese(world, clock):
    files = unzip(build(world, clock))
    for name in ("consent_state.csv", "consent_history.csv", "rights_requests.csv"):
        assert files[name].startswith(b"\xef\xbb\xbf"), name
    assert "营销推送" in files["consent_state.csv"].decode("utf-8-sig")


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(db, org, person, clock):
    formula = '=HYPERLINK("http://x.example","点击")'
    make_purpose(org, clock.now(), "evil", name_zh=formula, name_en="@SUM(A1)")
    grant(org, person, clock.now(), "evil")
    request = service.create_request(
        org, "u-1", "copy", clock.now(), identity_verified_by="company", client_id=CLIENT
    )
    data = package.build(org, person, requests=[request], system_results=[], language="en", now=clock.now())
    csv_text = unzip(data)["consent_state.csv"].decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text and "'@SUM(A1)" in csv_text
    assert ",=HYPERLINK" not in csv_text and '"=HYPERLINK' not in csv_text
    for value in ("=1+1", "+1", "-1", "@x", "\tx", "\rx"):
        assert package.csv_cell(value) == "'" + value
    cells = [package.csv_cell(v) for v in (-1, None, True, ["a", "b"], "plain")]
    assert cells == ["-1", "", "true", "a; b", "plain"]


def test_the_summary_escapes_what_it_shows(db, org, person, clock):
    make_purpose(org, clock.now(), "evil", name_zh=SCRIPT, name_en=SCRIPT)
    grant(org, person, clock.now(), "evil")
    request = service.create_request(
        org, "u-1", "copy", clock.now(), identity_verified_by="company", client_id=CLIENT
    )
    evil = [SystemResult(f"CRM {SCRIPT}", ("basic",), {"note": SCRIPT, SCRIPT: 1}, clock.now())]
    for language in ("zh-CN", "en"):
        data = package.build(
            org, person, requests=[request], system_results=evil, language=language, now=clock.now()
        )
        html = unzip(data)["summary.html"].decode()
        assert "<script" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_summary_is_in_the_requesters_language(world, clock):
    zh = unzip(build(world, clock, language="zh-CN"))["summary.html"].decode()
    en = unzip(build(world, clock, language="en"))["summary.html"].decode()
    assert '<html lang="zh-CN">' in zh and "您的个人信息" in zh and "营销推送" in zh and "已撤回" in zh
    assert "复制" in zh  # the request's type, in Chinese
    assert "2026-11-02 13:00 Asia/Shanghai" in zh  # generated, in the organization's zone
    assert '<html lang="en">' in en and "Your personal information" in en and "Marketing" in en
    assert "withdrawn" in en and "Copy" in en and "您的个人信息" not in en
    assert "示例商店" in zh and "Example Shop" in en


# --- the link ---------------------------------------------------------------------------------


@pytest.fixture
def stored(world, clock):
    """A package stored for the request: (package, its link, the zip)."""
    data = build(world, clock)
    row, url = packages.create(world["org"], world["request"], data, clock.now())
    return row, url, data


def test_the_link_downloads_the_zip(client, world, stored, clock):
    row, url, data = stored
    assert url.startswith("https://consent.test/rights/packages/")
    clock.advance(days=3)
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    disposition = f'attachment; filename="{world["request"].public_id}.zip"'
    assert response.headers["Content-Disposition"] == disposition
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == data
    assert (row.downloads, row.last_downloaded_at) == (1, clock.now())
    steps = [(e.action, e.to_status, e.actor_kind, e.note) for e in timeline(world["request"])][-2:]
    assert steps == [
        ("package", "in_progress", "system", row.public_id),
        ("package_download", "in_progress", "link", row.public_id),
    ]


def test_a_head_is_not_a_download(client, world, stored):
    row, url, data = stored
    response = client.head(urlsplit(url).path)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(data))
    assert row.downloads == 0
    assert timeline(world["request"])[-1].action == "package"


def test_a_wrong_link_is_not_found(client, stored):
    _, url, _ = stored
    response = client.get("/rights/packages/" + "x" * 43)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get(urlsplit(url).path + "x").status_code == 404


def test_after_the_configured_days_the_link_is_gone_and_the_purge_deletes_the_content(
    app, client, stored, clock
):
    row, url, data = stored
    assert row.expires_at == clock.now() + timedelta(days=app.config["RIGHTS_PACKAGE_DAYS"])
    clock.advance(days=14, seconds=-1)
    assert packages.purge(clock.now()) == 0
    assert client.get(urlsplit(url).path).status_code == 200
    clock.advance(seconds=1)
    gone = client.get(urlsplit(url).path)
    assert gone.status_code == 410
    assert "已过期" in gone.get_data(as_text=True)
    assert gone.headers["Cache-Control"] == "no-store"

    assert purge_packages() == {"purged": 1}
    assert row.content_encrypted is None and row.purged_at == clock.now()
    assert row.sha256 == hashlib.sha256(data).hexdigest() and row.size == len(data)
    assert (row.request_id, row.created_at) == (stored[0].request_id, clock.now() - timedelta(days=14))
    assert packages.purge(clock.now()) == 0  # idempotent
    assert purge_packages() == {"purged": 0}
    assert client.get(urlsplit(url).path).status_code == 410


def test_an_english_request_is_told_in_english(db, org, person, clock, client):
    request = service.create_request(
        org, "u-1", "copy", clock.now(), identity_verified_by="company", client_id=CLIENT, language="en"
    )
    _, url = packages.create(org, request, b"PK", clock.now())
    clock.advance(days=15)
    packages.purge(clock.now())
    assert "has expired" in client.get(urlsplit(url).path).get_data(as_text=True)


def test_nothing_is_stored_in_the_clear(db, stored):
    row, url, data = stored
    token = url.rsplit("/", 1)[1]
    assert row.token_hash == packages.token_hash(token) and token not in row.token_hash
    raw = db.session.execute(text("SELECT * FROM rights_package WHERE id = :id"), {"id": row.id}).one()
    stored_text = " ".join(str(value) for value in raw)
    assert token not in stored_text
    assert base64.b64encode(data).decode()[:40] not in stored_text
    # (quoted: a short id alone can turn up in base64 by chance)
    for clear in ("manifest.json", "consent_state", "person@example.cn", '"u-1"'):  # zip headers, content
        assert clear not in stored_text
    # what is stored opens with the secret, and only with it
    assert packages.download(token, row.created_at).content == data


def test_a_package_of_another_organization_cannot_be_made(db, world, clock):
    stranger = make_org(clock.now())
    with pytest.raises(NotFound):
        packages.create(stranger, world["request"], b"PK", clock.now())


def test_the_row_is_found_only_by_its_hash(db, stored):
    row, url, _ = stored
    token = url.rsplit("/", 1)[1]
    found = db.session.scalars(select(RightsPackage).where(RightsPackage.token_hash == token)).first()
    assert found is None
    assert packages.download(token, datetime(2026, 11, 3, tzinfo=UTC)).package is row


# --- two purges at once (PostgreSQL) ----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(not IS_POSTGRES, reason="needs DATABASE_URL to point at PostgreSQL")
def test_a_package_another_purge_holds_is_skipped(app):
    """Committed for real: a second purge (another scheduler process) passes over the row the
    first has locked instead of waiting for it, and the first purges it once."""
    with app.app_context(), unit_of_work():
        org = make_org(T0)
        make_subject(org, T0, "u-purge")
        request = service.create_request(
            org, "u-purge", "copy", T0, identity_verified_by="company", client_id=CLIENT
        )
        row, _ = packages.create(org, request, b"PK", T0)
        ids = {"org": org.id, "request": request.id, "package": row.id}
    later = T0 + timedelta(days=15)
    try:
        with app.app_context():
            held = select(RightsPackage).where(RightsPackage.id == ids["package"]).with_for_update()
            _db.session.execute(held)
            with app.app_context(), unit_of_work():  # a context of its own: another connection
                _db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
                assert packages.purge(later) == 0
            assert packages.purge(later) >= 1  # (rows other runs left behind would count too)
            assert _db.session.get(RightsPackage, ids["package"]).purged_at == later
            _db.session.commit()
            assert packages.purge(later) == 0
            _db.session.commit()
    finally:
        with app.app_context(), unit_of_work():
            for table, column in (
                ("rights_package", "request_id"),
                ("rights_notice", "request_id"),
                ("rights_request_event", "request_id"),
            ):
                _db.session.execute(text(f"DELETE FROM {table} WHERE {column} = :id"), {"id": ids["request"]})
            for table in ("rights_request", "mail_message", "webhook_delivery", "subject", "organization"):
                column = "id" if table == "organization" else "org_id"
                _db.session.execute(text(f"DELETE FROM {table} WHERE {column} = :id"), {"id": ids["org"]})
