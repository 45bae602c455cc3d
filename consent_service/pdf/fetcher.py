"""What WeasyPrint may load while rendering: the project's static files, and nothing else.

A record is rendered from our own templates, but its data (an organization's name, a
purpose's text) comes from users: an ``<img src>`` or a CSS ``url()`` in it must not read the
server's files or make the server fetch from anywhere (SSRF). :class:`StaticFilesOnly` serves
files under the static folder, named ``static:pdf/record.css`` or by the application's own
``/static/...`` path (relative, or absolute under ``BASE_URL``), straight from disk; ``data:``
URLs are decoded in memory; any other URL is refused with :class:`UrlRefused`, which WeasyPrint
reports as an error and renders without. Nothing here opens a socket.

Importing this module imports WeasyPrint (and Pango): :mod:`consent_service.pdf.render`
imports it only when a PDF is rendered.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

#: The URL scheme of the static folder in PDF templates: ``static:pdf/record.css``.
STATIC_SCHEME = "static:"


class UrlRefused(ValueError):
    """A URL the PDF renderer does not load: outside the static folder, a local file, a host."""


class StaticFilesOnly(URLFetcher):
    """A WeasyPrint URL fetcher that answers from the static folder alone."""

    def __init__(self, static_folder: str | Path, base_url: str, static_url_path: str = "/static") -> None:
        """Serve ``static_folder``, also known as ``static_url_path`` under ``base_url``."""
        # The parent fetches only what this class hands it: data: URLs, never a redirect.
        super().__init__(allowed_protocols=("data",), allow_redirects=False, fail_on_errors=False)
        self.static_folder = Path(static_folder).resolve()
        self.static_url = base_url.rstrip("/") + "/" + static_url_path.strip("/") + "/"
        parts = urlsplit(self.static_url)
        self._origin = (parts.scheme, parts.netloc.lower())
        self._static_path = parts.path

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        """Answer ``url`` from the static folder (or decode a ``data:`` URL); refuse the rest."""
        if url[:5].lower() == "data:":
            return super().fetch(url, headers)
        relative = self.static_name(url)
        if relative is None:
            raise UrlRefused(f"only static files are loaded into PDFs, not {_shorten(url)}")
        path = (self.static_folder / relative).resolve()
        if not path.is_relative_to(self.static_folder) or not path.is_file():
            raise UrlRefused(f"no static file {relative!r}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        # The answer's URL is the application's own, so that a stylesheet's relative url()
        # resolves to another static file (and comes back here).
        return URLFetcherResponse(
            self.static_url + relative, body=path.read_bytes(), headers={"Content-Type": content_type}
        )

    def static_name(self, url: str) -> str | None:
        """The file name under the static folder that ``url`` names, or None if it names none."""
        if url[: len(STATIC_SCHEME)].lower() == STATIC_SCHEME:
            name = url[len(STATIC_SCHEME) :]
        else:
            parts = urlsplit(url)
            if (parts.scheme.lower(), parts.netloc.lower()) != self._origin:
                return None
            if not parts.path.startswith(self._static_path):
                return None
            name = parts.path[len(self._static_path) :]
        name = unquote(name.split("#", 1)[0].split("?", 1)[0]).lstrip("/")
        return name if name and "\0" not in name else None


def _shorten(url: str, limit: int = 120) -> str:
    """``url`` cut to a length fit for a log line (a data: or long URL can be huge)."""
    return url if len(url) <= limit else url[:limit] + "..."
