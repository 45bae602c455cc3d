"""PDF rendering (compliance records) behind one function.

- ``render``: the :class:`PdfRenderer` interface; :class:`WeasyPrintRenderer` (Jinja
  templates of ``templates/pdf/`` with plain data, WeasyPrint), :class:`FakeRenderer`;
  :func:`from_config` (``PDF_RENDERER``);
- ``fetcher``: what a PDF may load: the static folder, never a local file or a host.
"""

from consent_service.pdf.render import FakeRenderer, PdfRenderer, WeasyPrintRenderer, from_config

__all__ = ["FakeRenderer", "PdfRenderer", "WeasyPrintRenderer", "from_config"]
