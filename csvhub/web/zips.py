"""Many stored files as one ZIP, streamed: each file is read and compressed block by block and
the archive's bytes leave as they are made, so memory stays flat however large the files.

zipfile writes to a stream it cannot seek (it then puts each member's sizes in a data
descriptor after the data), so the archive is the standard library's, not a hand-made one.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import IO

BLOCK_BYTES = 1024 * 1024
# Level 1: CSV shrinks about as much as at the default level, at a fraction of the CPU.
COMPRESS_LEVEL = 1

type Opener = Callable[[], AbstractContextManager[IO[bytes]]]


class _Outbox(io.RawIOBase):
    """Where zipfile writes; the stream takes what has been written since it last looked."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        taken = b"".join(self._parts)
        self._parts.clear()
        return taken


def zip_stream(members: Iterable[tuple[str, datetime, Opener]]) -> Iterator[bytes]:
    """The ZIP of `(name in the archive, modified time, opener of the content)`, as chunks."""
    outbox = _Outbox()
    deflated = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(outbox, "w", deflated, compresslevel=COMPRESS_LEVEL) as archive:
        for name, modified, opener in members:
            info = zipfile.ZipInfo(name, modified.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            with opener() as source, archive.open(info, "w", force_zip64=True) as target:
                while block := source.read(BLOCK_BYTES):
                    target.write(block)
                    if chunk := outbox.take():
                        yield chunk
            if chunk := outbox.take():
                yield chunk
    yield outbox.take()  # the central directory, written on close


def unique_names(names: Iterable[str]) -> list[str]:
    """`a.csv`, `a.csv` → `a.csv`, `a (2).csv`: one archive may hold two files of one name."""
    seen: set[str] = set()
    unique = []
    for name in names:
        stem, dot, suffix = name.rpartition(".")
        if not dot or "/" in suffix:
            stem, dot, suffix = name, "", ""
        candidate, number = name, 1
        while candidate in seen:
            number += 1
            candidate = f"{stem} ({number}){dot}{suffix}"
        seen.add(candidate)
        unique.append(candidate)
    return unique
