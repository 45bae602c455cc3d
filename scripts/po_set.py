"""Put translations into the Chinese catalogue: ``scripts/po_set.py FILE.json`` where the file
maps English message ids to their Chinese text (a plural message by its singular id; Chinese
has one form for every number). Ids not in the catalogue (run ``make translations-update``
first) are reported and skipped; the rest are written, not fuzzy. ``--missing`` lists the ids
still untranslated instead."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "consent_service/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


def main(argv: list[str]) -> int:
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    if argv == ["--missing"]:
        missing = [_key(m.id) for m in catalog if m.id and (not _translated(m.string) or m.fuzzy)]
        print(json.dumps(dict.fromkeys(missing, ""), ensure_ascii=False, indent=1))
        return 0
    given = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    unknown = []
    plural = {m.id[0]: m.id for m in catalog if isinstance(m.id, tuple)}
    for msgid, text in given.items():
        message = catalog.get(plural.get(msgid, msgid))
        if message is None:
            unknown.append(msgid)
            continue
        message.string = (text,) if message.pluralizable else text
        message.flags.discard("fuzzy")
    with PO.open("wb") as handle:
        write_po(handle, catalog, sort_output=True, no_location=True)
    for msgid in unknown:
        print(f"not in the catalogue: {msgid!r}", file=sys.stderr)
    return 1 if unknown else 0


def _key(msgid: str | tuple[str, ...]) -> str:
    return msgid[0] if isinstance(msgid, tuple) else msgid


def _translated(string: str | tuple[str, ...]) -> bool:
    return all(string) if isinstance(string, tuple) else bool(string)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
