"""Canonical JSON: sorted keys, no spaces, UTF-8. What is hashed and signed is written this way.

:class:`Template` writes the same bytes for documents that share most of their content (the
receipts of one purpose version, say): the shared part is encoded once and the values that
differ are put into their slots, each encoded exactly as :func:`canonical_json` would.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

#: The string encoder ``json.dumps(..., ensure_ascii=False)`` uses.
_encode_string = json.encoder.encode_basestring


def canonical_json(value: Any) -> bytes:
    """Serialize deterministically: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def json_value(value: Any) -> str:
    """One value exactly as :func:`canonical_json` writes it (scalars without its overhead)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _encode_string(value)
    if isinstance(value, int):
        return int.__repr__(value)
    return canonical_json(value).decode()


def _slot(index: int) -> str:
    # NUL never reaches a stored document (input with NUL is refused) and json escapes it, so
    # the encoded marker cannot occur in the shared content.
    return f"\x00slot{index}\x00"


class Template:
    """The canonical JSON of ``document`` with slots: ``paths`` name the values that differ,
    each a tuple of keys into nested objects. ``render(values)`` fills them in order."""

    def __init__(self, document: dict[str, Any], paths: Sequence[tuple[str, ...]]) -> None:
        marked = _with_slots(document, paths)
        text = canonical_json(marked).decode()
        found = sorted((text.index(json_value(_slot(i))), i) for i in range(len(paths)))
        self._chunks: list[str] = []
        self._order: list[int] = []
        position = 0
        for start, index in found:
            self._chunks.append(text[position:start])
            self._order.append(index)
            position = start + len(json_value(_slot(index)))
        self._chunks.append(text[position:])

    def render(self, values: Sequence[Any]) -> bytes:
        """The canonical JSON of the document with ``values`` in its slots."""
        parts = [self._chunks[0]]
        for chunk, index in zip(self._chunks[1:], self._order, strict=True):
            parts.append(json_value(values[index]))
            parts.append(chunk)
        return "".join(parts).encode()


def _with_slots(document: dict[str, Any], paths: Sequence[tuple[str, ...]]) -> dict[str, Any]:
    out = dict(document)
    for index, path in enumerate(paths):
        target = out
        for key in path[:-1]:
            target[key] = dict(target.get(key) or {})
            target = target[key]
        target[path[-1]] = _slot(index)
    return out
