"""Security headers on every answer, and answers that no cache may keep.

Every answer says ``X-Content-Type-Options: nosniff``. Pages (``text/html``) also get a
Content-Security-Policy that allows only this origin's own files (no inline script or style,
no plugins, no framing, no ``<base>``, forms posting only here), ``X-Frame-Options: DENY`` for
browsers older than ``frame-ancestors``, and ``Referrer-Policy: same-origin``.

``same-origin`` rather than ``no-referrer``: no other site ever learns a page's address (a
dashboard or policy URL), while the service's own forms keep sending it, which Flask-WTF's
CSRF check requires over HTTPS (``WTF_CSRF_SSL_STRICT``: a POST without a same-origin
``Referer`` is refused).
"""

from __future__ import annotations

from flask import Flask, Response

#: Only this origin's own scripts, styles, images and fonts; nothing inline.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    )
)

#: Headers every HTML page carries (a view may set its own value first).
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    """Add ``nosniff`` to every answer, and :data:`PAGE_HEADERS` to HTML pages."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        for name, value in PAGE_HEADERS.items():
            headers.setdefault(name, value)
    return response


def no_store(response: Response) -> Response:
    """Forbid every cache (the browser's included) to keep ``response``: a signed-in page, a
    sign-in link, a token."""
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Add the headers to every answer of ``app``, error pages included."""
    app.after_request(add_security_headers)
