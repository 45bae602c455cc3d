"""Public ids that index well: UUID version 7 (RFC 9562), time-ordered.

Events and receipts are found by a unique uuid. Random (version 4) uuids land anywhere in
their index, so with millions of rows nearly every insert reads and dirties a page that is not
in memory. Version 7 puts the time in milliseconds first, so new ids go to the end of the index.
The time they carry is no secret: an event states when it was recorded.
"""

from __future__ import annotations

import os
import time
import uuid

_MS_BITS = (1 << 48) - 1
_RAND_A = (1 << 12) - 1
_RAND_B = (1 << 62) - 1


def uuid7() -> str:
    """A new version 7 UUID as text: 48 bits of Unix time in ms, then 74 random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (ms & _MS_BITS) << 80
        | 0x7 << 76  # version
        | ((rand >> 62) & _RAND_A) << 64
        | 0b10 << 62  # variant (RFC 9562)
        | (rand & _RAND_B)
    )
    return str(uuid.UUID(int=value))
