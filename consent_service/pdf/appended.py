"""Files too large to hold in memory, embedded in a PDF after it is drawn.

A record that carries millions of rows (the compliance report's full data) cannot hand them
to WeasyPrint as text. Instead each file is written, as it is produced, into a
:class:`DeflatedFile`: compressed (``FlateDecode``) into a file on disk while its SHA-256,
MD5 and size are counted. Once the PDF is drawn, :func:`append_files` writes it out followed
by an *incremental update* (ISO 32000-1 7.5.6, allowed in PDF/A-3): an embedded file stream
and a file specification per file, copied from disk a piece at a time, the catalog again with
the files added to its ``EmbeddedFiles`` name tree and its ``AF`` array
(``AFRelationship /Data``, as WeasyPrint writes its own attachments), and a cross-reference
stream pointing back to the drawn PDF's. Readers see one document whose attachments are the
drawn ones and these; memory holds a piece of a file, never the file.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pypdf
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    TextStringObject,
)

#: Bytes copied from disk at a time.
PIECE = 1024 * 1024
#: zlib's level: the fastest, since the data is counted in hundreds of megabytes.
LEVEL = 1

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")


@dataclass(frozen=True)
class Packed:
    """A file written into a :class:`DeflatedFile`: where its compressed bytes are, and what
    they hold (the uncompressed size, SHA-256 and MD5)."""

    name: str
    media_type: str
    path: Path
    size: int
    compressed_size: int
    sha256: str
    md5: str


class DeflatedFile:
    """A file of the PDF, written a chunk at a time: compressed into ``path`` as it comes,
    its digests and size counted on the uncompressed bytes. :meth:`close` gives the
    :class:`Packed` file."""

    def __init__(self, path: Path, name: str, media_type: str) -> None:
        """A new file at ``path`` (replaced if there), to be attached as ``name``."""
        self.path, self.name, self.media_type = path, name, media_type
        self._out = path.open("wb")
        self._deflate = zlib.compressobj(LEVEL)
        self._sha256, self._md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        self.size = self._compressed = 0

    def write(self, data: bytes) -> None:
        """Add ``data`` to the file."""
        self._sha256.update(data)
        self._md5.update(data)
        self.size += len(data)
        packed = self._deflate.compress(data)
        self._compressed += len(packed)
        self._out.write(packed)

    def close(self) -> Packed:
        """The file, whole."""
        tail = self._deflate.flush()
        self._compressed += len(tail)
        self._out.write(tail)
        self._out.close()
        return Packed(
            self.name, self.media_type, self.path, self.size, self._compressed,
            self._sha256.hexdigest(), self._md5.hexdigest(),
        )  # fmt: skip

    def discard(self) -> None:
        """Close and delete the file (what was being written is not wanted)."""
        self._out.close()
        self.path.unlink(missing_ok=True)


def _pdf_date(moment: datetime) -> str:
    return moment.strftime("D:%Y%m%d%H%M%SZ")


def _serialized(obj: PdfObject) -> bytes:
    out = io.BytesIO()
    obj.write_to_stream(out)
    return out.getvalue()


class _Update:
    """The objects of an incremental update, written in order with their offsets kept."""

    def __init__(self, out: BinaryIO, offset: int) -> None:
        self.out, self.offset = out, offset
        self.offsets: dict[int, int] = {}

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.offset += len(data)

    def begin(self, number: int) -> None:
        self.write(b"\n")
        self.offsets[number] = self.offset
        self.write(b"%d 0 obj\n" % number)

    def obj(self, number: int, obj: PdfObject) -> None:
        self.begin(number)
        self.write(_serialized(obj) + b"\nendobj\n")


def append_files(pdf: bytes, files: Sequence[Packed], out: BinaryIO, now: datetime) -> int:
    """Write ``pdf`` to ``out``, then an incremental update embedding ``files`` beside its own
    attachments; return the bytes written. ``now`` is each file's creation and change date.
    ``ValueError`` if ``pdf`` is not one WeasyPrint drew (a readable PDF, its last
    cross-reference at its end, its embedded files a flat name tree)."""
    found = _STARTXREF.search(pdf[-64:])
    if found is None:
        raise ValueError("the PDF does not end with its cross-reference")
    previous = int(found.group(1))
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    trailer = reader.trailer
    root = trailer.raw_get("/Root")
    catalog = trailer["/Root"]
    names = catalog.get("/Names", DictionaryObject())
    tree = names.get("/EmbeddedFiles", DictionaryObject())
    if "/Kids" in tree:
        raise ValueError("the PDF's embedded files are not a flat name tree")
    entries = list(tree.get("/Names", ArrayObject()))
    af = list(catalog.raw_get("/AF").get_object()) if "/AF" in catalog else []
    out.write(pdf)
    update = _Update(out, len(pdf))
    number = int(trailer["/Size"])
    moment = TextStringObject(_pdf_date(now))
    added: list[tuple[str, IndirectObject]] = []
    for packed in files:
        stream_number, spec_number = number, number + 1
        number += 2
        params = DictionaryObject(
            {
                NameObject("/CheckSum"): ByteStringObject(bytes.fromhex(packed.md5)),
                NameObject("/Size"): NumberObject(packed.size),
                NameObject("/CreationDate"): moment,
                NameObject("/ModDate"): moment,
            }
        )
        header = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/EmbeddedFile"),
                NameObject("/Subtype"): NameObject("/" + packed.media_type),
                NameObject("/Params"): params,
                NameObject("/Filter"): NameObject("/FlateDecode"),
                NameObject("/Length"): NumberObject(packed.compressed_size),
            }
        )
        update.begin(stream_number)
        update.write(_serialized(header) + b"\nstream\n")
        with packed.path.open("rb") as source:
            shutil.copyfileobj(source, out, PIECE)
        update.offset += packed.compressed_size
        update.write(b"\nendstream\nendobj\n")
        spec = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Filespec"),
                NameObject("/F"): TextStringObject(packed.name),
                NameObject("/UF"): TextStringObject(packed.name),
                NameObject("/EF"): DictionaryObject(
                    {NameObject("/F"): IndirectObject(stream_number, 0, reader)}
                ),
                NameObject("/Desc"): TextStringObject(""),
                NameObject("/AFRelationship"): NameObject("/Data"),
            }
        )
        update.obj(spec_number, spec)
        added.append((packed.name, IndirectObject(spec_number, 0, reader)))
    pairs = [(str(entries[i]), entries[i + 1]) for i in range(0, len(entries) - 1, 2)] + added
    flat = ArrayObject()
    for name, spec_ref in sorted(pairs, key=lambda pair: pair[0].encode("utf-16-be")):
        flat += [TextStringObject(name), spec_ref]
    new_names = DictionaryObject({NameObject(key): names.raw_get(key) for key in names})
    new_names[NameObject("/EmbeddedFiles")] = DictionaryObject({NameObject("/Names"): flat})
    new_catalog = DictionaryObject({NameObject(key): catalog.raw_get(key) for key in catalog})
    new_catalog[NameObject("/Names")] = new_names
    new_catalog[NameObject("/AF")] = ArrayObject([*af, *(ref for _name, ref in added)])
    update.obj(root.idnum, new_catalog)
    _cross_reference(update, number, previous, trailer, root)
    return update.offset


def _cross_reference(
    update: _Update, number: int, previous: int, trailer: DictionaryObject, root: IndirectObject
) -> None:
    """The update's cross-reference stream (object ``number``), then ``startxref``."""
    update.offsets[number] = update.offset + 1
    numbers = sorted(update.offsets)
    rows = b"".join(b"\x01" + update.offsets[n].to_bytes(8, "big") + b"\x00" for n in numbers)
    index = ArrayObject()
    for start, count in _runs(numbers):
        index += [NumberObject(start), NumberObject(count)]
    header = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/XRef"),
            NameObject("/Size"): NumberObject(number + 1),
            NameObject("/Index"): index,
            NameObject("/W"): ArrayObject([NumberObject(1), NumberObject(8), NumberObject(1)]),
            NameObject("/Prev"): NumberObject(previous),
            NameObject("/Root"): root,
            NameObject("/Length"): NumberObject(len(rows)),
        }
    )
    for key in ("/Info", "/ID"):
        if key in trailer:
            header[NameObject(key)] = trailer.raw_get(key)
    start = update.offsets[number]
    update.begin(number)
    update.write(_serialized(header) + b"\nstream\n" + rows + b"\nendstream\nendobj\n")
    update.write(b"startxref\n%d\n%%%%EOF\n" % start)


def _runs(numbers: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted object numbers as ``(first, count)`` runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and runs[-1][0] + runs[-1][1] == n:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((n, 1))
    return runs
