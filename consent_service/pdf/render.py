"""PDF rendering behind one function: a Jinja template and plain data in, PDF bytes out.

Templates live in ``templates/pdf/`` and receive plain data (strings, numbers, dates, lists
and mappings of them), never ORM objects: what a record shows is decided before it is drawn,
and a template cannot run a query. :class:`WeasyPrintRenderer` is the real thing;
:class:`FakeRenderer` stands in for code that only needs bytes. ``PDF_RENDERER`` chooses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from uuid import UUID

from flask import Flask, render_template

from consent_service.config import ConfigurationError
from consent_service.pdf.appended import Packed, append_files

#: The ``PDF_RENDERER`` settings :func:`from_config` knows.
RENDERERS = ("weasyprint", "fake")

#: What a template may be given, besides lists, tuples and mappings of these.
PLAIN_TYPES = (str, int, float, Decimal, date, datetime, time, UUID, type(None))


#: The PDF variant of a record that carries its data: PDF/A-3 allows embedded files.
ATTACHING_VARIANT = "pdf/a-3b"


class PdfRenderer(Protocol):
    """Renders a template of ``templates/`` with plain data into a PDF."""

    def render(
        self, template: str, data: Mapping[str, Any], attachments: Mapping[str, str] | None = None
    ) -> bytes:
        """The PDF of ``template`` (e.g. ``"pdf/base.html"``) filled with ``data``, with
        ``attachments`` (file name -> text) embedded as files of the document."""
        ...

    def append(self, pdf: bytes, files: Sequence[Packed], out: BinaryIO, now: datetime) -> int:
        """Write ``pdf`` (one :meth:`render` made) to ``out`` with ``files`` embedded besides,
        copied from disk as they are written (:mod:`~consent_service.pdf.appended`); the bytes
        written."""
        ...


class WeasyPrintRenderer:
    """Jinja (the application's environment) to HTML, WeasyPrint to PDF.

    Resources are loaded by :class:`~consent_service.pdf.fetcher.StaticFilesOnly`: files of
    ``static_folder`` named ``static:...`` or by the ``static_url_path`` under ``base_url``;
    nothing from the file system elsewhere or the network. Fonts come from fontconfig (the
    system's Noto CJK for Chinese). WeasyPrint is imported on the first render, not before.
    """

    def __init__(self, static_folder: str | Path, base_url: str, static_url_path: str = "/static") -> None:
        """Where the static files are, and the application's own address for them."""
        self.static_folder = Path(static_folder)
        self.base_url = base_url.rstrip("/") + "/"
        self.static_url_path = static_url_path

    def render(
        self, template: str, data: Mapping[str, Any], attachments: Mapping[str, str] | None = None
    ) -> bytes:
        """Render ``template`` with ``data`` (in an application context) and lay it out as PDF;
        with ``attachments``, a PDF/A-3b whose embedded files are their texts (UTF-8)."""
        check_plain(data)
        html = render_template(template, **data)
        # WeasyPrint loads Pango when imported: only processes that render pay for it.
        from weasyprint import HTML, Attachment

        from consent_service.pdf.fetcher import StaticFilesOnly

        fetcher = StaticFilesOnly(self.static_folder, self.base_url, self.static_url_path)
        document = HTML(string=html, base_url=self.base_url, url_fetcher=fetcher)
        if not attachments:
            return document.write_pdf()
        files = [
            Attachment(string=text, name=name, url_fetcher=fetcher, relationship="Data")
            for name, text in attachments.items()
        ]
        return document.write_pdf(attachments=files, pdf_variant=ATTACHING_VARIANT)

    def append(self, pdf: bytes, files: Sequence[Packed], out: BinaryIO, now: datetime) -> int:
        """``pdf``, then an incremental update embedding ``files`` (:func:`append_files`)."""
        return append_files(pdf, files, out, now)


class FakeRenderer:
    """A small deterministic stand-in: the same template and data give the same bytes.

    Not a drawn document: ``%PDF-`` and the template's name and a digest of its data, enough
    for code that stores, hashes or sends a PDF. ``rendered`` keeps what was asked, in order.
    """

    def __init__(self) -> None:
        """Nothing rendered yet."""
        self.rendered: list[tuple[str, dict[str, Any]]] = []
        #: The attachments of each rendering, in the same order.
        self.attached: list[dict[str, str]] = []

    def render(
        self, template: str, data: Mapping[str, Any], attachments: Mapping[str, str] | None = None
    ) -> bytes:
        """``%PDF-`` stand-in bytes naming ``template`` and a SHA-256 of ``data`` and ``attachments``."""
        check_plain(data)
        self.rendered.append((template, dict(data)))
        self.attached.append(dict(attachments or {}))
        content = [data, attachments] if attachments else data
        digest = hashlib.sha256(
            json.dumps(content, sort_keys=True, default=str, ensure_ascii=False).encode()
        ).hexdigest()
        return f"%PDF-1.7\n% fake rendering of {template} {digest}\n%%EOF\n".encode()

    def append(self, pdf: bytes, files: Sequence[Packed], out: BinaryIO, now: datetime) -> int:
        """``pdf``, then a line naming each file and its SHA-256."""
        listed = "".join(f"% file {packed.name} {packed.sha256}\n" for packed in files).encode()
        out.write(pdf + listed)
        return len(pdf) + len(listed)


def from_config(app: Flask) -> PdfRenderer:
    """The renderer ``PDF_RENDERER`` names: ``weasyprint`` (default) or ``fake``."""
    name = app.config.get("PDF_RENDERER", "weasyprint")
    if name == "weasyprint":
        if app.static_folder is None:
            raise ConfigurationError("PDF_RENDERER=weasyprint needs the application's static folder")
        return WeasyPrintRenderer(app.static_folder, app.config["BASE_URL"], app.static_url_path or "/static")
    if name == "fake":
        return FakeRenderer()
    raise ConfigurationError(f"PDF_RENDERER must be one of {', '.join(RENDERERS)}, not {name!r}")


def check_plain(data: Any, where: str = "data") -> None:
    """Refuse anything but plain values in template data (an ORM object, a session, a query)."""
    if isinstance(data, PLAIN_TYPES):
        return
    if isinstance(data, Mapping):
        for key, value in data.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: keys are strings, not {type(key).__name__}")
            check_plain(value, f"{where}.{key}")
        return
    if isinstance(data, list | tuple):
        for index, value in enumerate(data):
            check_plain(value, f"{where}[{index}]")
        return
    raise TypeError(f"{where}: templates receive plain data, not {type(data).__name__}")
