"""The console's exports (PIPL 54; GB/T 35273 11.7): consent events and rights requests of a
period, as CSV or JSON Lines, written in the background by the ``exports`` job and downloaded
from here. Asking for an export and downloading its file are each recorded in the trail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from flask import Response, abort, render_template, request
from flask_babel import gettext

from consent_service.console import export_work, pages
from consent_service.console.acting import staff_action
from consent_service.errors import InvalidInput, NotFound
from consent_service.exports import service
from consent_service.exports.rows import KINDS, export_period
from consent_service.exports.writers import FORMATS
from consent_service.organizations.models import Organization

bp = pages.blueprint("console_exports", __name__)

_FIELDS = ("kind", "format", "from", "to")
#: Bytes of the file read at a time while it is sent.
_PIECE = 256 * 1024


def _page(
    org: Organization, lang: str, status: int = 200, errors: dict | None = None, form: dict | None = None
):
    queued = request.args.get("done") == "queued"
    notice = gettext("The export is queued: it is written in the background.") if queued else None
    page = render_template(
        "console/exports/index.html", lang=lang, org=pages.org_view(org, lang), active="exports",
        kinds=export_work.kinds(), formats=export_work.formats(), errors=errors or {},
        form=form or {"kind": "consent_events", "format": "csv", "from": "", "to": ""},
        notice=notice, **export_work.exports(org, lang),
    )  # fmt: skip
    return page, status


@bp.get("/<slug>/exports")
def exports(slug: str):
    """The form that asks for an export, and the organization's exports with their progress."""
    lang, org, _ = pages.begin(slug, "records:export")
    return _page(org, lang)


@bp.post("/<slug>/exports")
def request_export(slug: str):
    """Queue an export of a kind, in a format, for a period of days in the organization's zone."""
    lang, org, member = pages.begin(slug, "records:export")
    form = {name: request.form.get(name, "").strip() for name in _FIELDS}
    problems: dict[str, list[str]] = {}
    if form["kind"] not in KINDS:
        problems["kind"] = ["is not a kind of export"]
    if form["format"] not in FORMATS:
        problems["format"] = ["is not a format"]
    try:
        period = export_period(form, org.timezone)
    except InvalidInput as exc:
        problems.update(exc.details or {})
    if problems:
        return _page(org, lang, 400, export_work.form_errors(problems), form)
    export_work.queue(org, member, form["kind"], form["format"], period)
    return pages.done(".exports", org, lang, "queued")


@bp.get("/<slug>/exports/<export_id>/download")
def download(slug: str, export_id: str):
    """The export's file, as an attachment; the download is recorded in the trail. Another
    organization's export, one not ready or one whose file was deleted: 404."""
    _, org, member = pages.begin(slug, "records:export")
    try:
        job = service.get_export(org, export_id)
    except NotFound:
        abort(404)
    path = service.file_path(job)
    if path is None:
        abort(404)
    name, file_format = job.file_name, job.format
    with staff_action(org, member, "export.download", f"export_job:{job.public_id}") as change:
        change.extra = {"kind": job.kind, "format": file_format, "sha256": job.sha256}
    response = Response(_file_chunks(path), mimetype=service.MEDIA_TYPES[file_format])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Content-Length"] = str(path.stat().st_size)
    return response


def _file_chunks(path: Path) -> Iterator[bytes]:
    """The file a piece at a time; closed when read to its end or when the answer is dropped
    (a generator's ``with``, where ``send_file``'s wrapper waits for the answer to be closed)."""
    with path.open("rb") as file:
        while piece := file.read(_PIECE):
            yield piece
