"""Tables set as lines of text: each row one line, its columns padded with spaces.

A long history drawn as an HTML table costs the PDF renderer a box, a style, a line breaker and
a layout pass for every cell; set as lines of text, many lines to a block, it costs a line
breaker per line and little else. The columns line up because the records'
font sets every ASCII character in one cell (its half-width forms, OpenType feature ``hwid``:
``.text-table`` in ``static/pdf/record.css``) and every wide character (a hanzi, CJK
punctuation, a full-width form: East Asian Width W or F) in two. Other characters (an accented
letter, a dash) keep their own widths: a table puts free text in its last column, which is not
padded, and which wraps under itself when a line would be wider than the page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence
from functools import lru_cache

#: The spaces between two columns.
GAP = 2
#: The fewest cells the last column keeps on a line, however wide the others.
MIN_ROOM = 20


def is_wide(char: str) -> bool:
    """Whether ``char`` takes two cells (East Asian Width W or F)."""
    return unicodedata.east_asian_width(char) in "WF"


def cells(text: str) -> int:
    """The width of ``text`` in cells: two for a wide character, none for a combining mark, one
    for any other."""
    return len(text) if text.isascii() else _cells(text)


@lru_cache(maxsize=4096)
def _cells(text: str) -> int:
    """:func:`cells` of a text with other than ASCII: a table's purposes and acts come again and
    again."""
    return sum(0 if unicodedata.combining(char) else 2 if is_wide(char) else 1 for char in text)


def wrap(text: str, room: int) -> list[str]:
    """``text`` in lines of at most ``room`` cells, broken at spaces and between wide
    characters; a word longer than a line is cut."""
    units: list[str] = []  # words, single spaces and single wide characters
    word = ""
    for char in text:
        if char == " " or is_wide(char):
            if word:
                units.append(word)
                word = ""
            units.append(char)
        else:
            word += char
    if word:
        units.append(word)
    lines: list[str] = []
    line, used = "", 0
    for unit in units:
        pieces = [unit[i : i + room] for i in range(0, len(unit), room)] if cells(unit) > room else [unit]
        for piece in pieces:
            size = cells(piece)
            if piece != " " and used + size > room and line.strip():
                lines.append(line.rstrip())
                line, used = "", 0
            if piece == " " and not line:
                continue
            line += piece
            used += size
    lines.append(line.rstrip())
    return lines


def text_table(
    headings: Sequence[Sequence[str]],
    rows: Sequence[Sequence[str]],
    right: Collection[int] = (),
    width: int | None = None,
) -> dict[str, list[str]]:
    """``{"head": [...], "lines": [...]}``: the heading lines (one per row of ``headings``, e.g.
    the Chinese and the English words) and the lines of the rows, every column as wide as its
    widest cell, those in ``right`` (their indexes) aligned to the right, the last unpadded.

    With ``width`` (in cells), a row wider than that goes on over further lines, its last column
    wrapped under itself: a line per row, but for the rows too long for the page."""
    table = [*headings, *rows]
    count = max((len(row) for row in table), default=0)
    widths = [max((cells(row[i]) for row in table if i < len(row)), default=0) for i in range(count)]

    def padded(i: int, text: str) -> str:
        room = " " * (widths[i] - cells(text))
        return room + text if i in right else text + room

    start = sum(widths[:-1]) + GAP * (count - 1)  # where the last column starts

    def lines(row: Sequence[str]) -> list[str]:
        if len(row) < count or count == 0:
            return [(" " * GAP).join(padded(i, text) for i, text in enumerate(row)).rstrip()]
        prefix = "".join(padded(i, text) + " " * GAP for i, text in enumerate(row[:-1]))
        last = padded(count - 1, row[-1]) if count - 1 in right else row[-1]
        if width is None or start + cells(last) <= width:
            return [(prefix + last).rstrip()]
        first, *more = wrap(last, max(width - start, MIN_ROOM))
        return [(prefix + first).rstrip()] + [" " * start + piece for piece in more]

    return {
        "head": [line for row in headings for line in lines(row)],
        "lines": [line for row in rows for line in lines(row)],
    }
