"""Regenerate the CJK font shipped for PDF records (static/fonts/).

Takes the Simplified Chinese face of the system's Noto Sans CJK collection (Debian's
fonts-noto-cjk, SIL OFL 1.1), keeps the characters of GB 2312 (every valid two-byte code: the
6,763 hanzi and the symbols) with ASCII, Latin-1, general punctuation and the CJK punctuation
and full-width forms, and the half-width forms of ASCII (feature ``hwid``); and renames the
family "Record Sans SC" (the OFL's Reserved Font Name rule, and so that a test can tell the
shipped font from the system's in a PDF).

    .venv/bin/python scripts/subset_font.py [--source-dir /usr/share/fonts/opentype/noto]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "static" / "fonts"
FAMILY = "Record Sans SC"
FACES = {"Regular": "NotoSansCJK-Regular.ttc"}  # a Bold subset is as large again: headings use synthetic bold


def gb2312_characters() -> set[int]:
    """Every character of GB 2312: each two-byte code (rows 0xA1-0xF7, cells 0xA1-0xFE) that decodes."""
    found = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                found.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return found


def wanted_characters() -> set[int]:
    """GB 2312, ASCII, Latin-1, general punctuation, CJK punctuation and full-width forms."""
    ranges = [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x3000, 0x303F), (0xFF00, 0xFFEF)]
    chars = gb2312_characters()
    for first, last in ranges:
        chars.update(range(first, last + 1))
    return chars


def sc_face(collection: TTCollection):
    """The Simplified Chinese face of a Noto Sans CJK collection."""
    for font in collection.fonts:
        if font["name"].getDebugName(1).endswith(" SC"):
            return font
    raise SystemExit("no SC face in the collection")


def rename(font, style: str) -> None:
    """Name the subset "Record Sans SC <style>" in every record of the name table."""
    names = {
        1: FAMILY if style == "Regular" else f"{FAMILY} {style}",
        2: "Regular" if style == "Regular" else style,
        3: f"RecordSansSC-{style}",
        4: f"{FAMILY} {style}",
        6: f"RecordSansSC-{style}",
        16: FAMILY,
        17: style,
    }
    table = font["name"]
    for record in list(table.names):
        if record.nameID in names:
            value = names[record.nameID]
            table.setName(value, record.nameID, record.platformID, record.platEncID, record.langID)
    # The CFF font's own names, which PDF readers show.
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [f"RecordSansSC-{style}"]
        top = cff.topDictIndex[0]
        top.FullName = f"{FAMILY} {style}"
        top.FamilyName = FAMILY


def subset_face(source: Path, style: str, chars: set[int]) -> Path:
    """Subset the SC face of ``source`` to ``chars`` and write ``RecordSansSC-<style>.otf``."""
    font = sc_face(TTCollection(str(source)))
    options = subset.Options()
    # hwid: the half-width forms of ASCII, which the text tables of the records use to set every
    # Latin character in one cell and every hanzi in two (consent_service/records/text_table.py).
    options.layout_features = ["locl", "kern", "palt", "vert", "liga", "ccmp", "hwid"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["DSIG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(chars))
    subsetter.subset(font)
    rename(font, style)
    out = OUT / f"RecordSansSC-{style}.otf"
    font.save(str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=Path("/usr/share/fonts/opentype/noto"))
    args = parser.parse_args()
    chars = wanted_characters()
    OUT.mkdir(parents=True, exist_ok=True)
    for style, name in FACES.items():
        out = subset_face(args.source_dir / name, style, chars)
        print(f"{out.relative_to(ROOT)}: {out.stat().st_size:,} bytes, {len(chars):,} characters asked")


if __name__ == "__main__":
    main()
