"""The requester's side of a rights request on the web: the package's download link (PIPL 45,
GB/T 35273 8.1, 8.6).

The link is the only credential, so the answer is never cached, an unknown link is a plain 404
and an expired one a 410 that says what to do. Log lines name the route's pattern, never the
path (it holds the token).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from consent_service.clock import utcnow
from consent_service.rights.packages import PackageGone, PackageNotFound, download
from consent_service.unit_of_work import unit_of_work
from consent_service.web.errors import error_page
from consent_service.web.security import no_store

bp = Blueprint("rights", __name__, url_prefix="/rights")

#: What an expired link's page says, in the request's language.
GONE = {
    "zh": "此下载链接已过期，文件已按规定删除。如仍需要您的个人信息副本，请重新提出请求。",
    "en": "This download link has expired and the file has been deleted. "
    "To get a copy of your personal information again, please make a new request.",
}


@bp.after_request
def _never_cached(response: Response) -> Response:
    """A package, or the page saying it is gone: nothing a cache may keep."""
    return no_store(response)


@bp.get("/packages/<token>")
def package(token: str):
    """Download the package behind the link (``<request id>.zip``); each download is a step
    on the request's timeline (a HEAD, which a link checker may send, is not one)."""
    try:
        with unit_of_work():
            fetched = download(token, utcnow(), is_counted=request.method != "HEAD")
    except PackageNotFound:
        return error_page(404)
    except PackageGone as exc:
        return error_page(410, GONE["en" if exc.language.lower().startswith("en") else "zh"])
    return Response(
        fetched.content,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{fetched.request_public_id}.zip"'},
    )
