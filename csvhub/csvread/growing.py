"""Reading a file while another thread of this process still writes it.

An upload's body is spooled to a temporary file as it arrives; a load that starts before the
body is complete reads that file through `GrowingFileReader`: what is there, then it waits for
more, and it sees the end of the file only once the writer said the file is complete. A file
the writer abandons (the client went away, the body was too large) raises `FileAbandoned` in
every reader, waiting or not, so that no reader takes a cut-off file for a whole one.

The writer and the readers share a `Growth` (a condition variable): both are threads of the
same process. The reader child (csvhub.csvread.child) is fed from such a thread, so it needs
nothing of this: its stdin simply stays open until the file is complete.
"""

from __future__ import annotations

import io
import os
import threading
from enum import Enum
from pathlib import Path

# How long a reader waits before looking again without being woken: only a safety net, every
# change of the file's state wakes the readers.
WAIT_SECONDS = 1.0


class FileAbandoned(RuntimeError):
    """The writer gave the file up before it was complete. Not an OSError on purpose: the
    reader takes those for damaged gzip data, a 4xx for the file, when nothing was wrong with
    what had arrived."""


class _State(Enum):
    GROWING = "growing"
    COMPLETE = "complete"
    ABANDONED = "abandoned"


class Growth:
    """How far a file has been written, and whether it is complete or abandoned: what the
    thread writing it tells the threads reading it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._size = 0
        self._state = _State.GROWING
        self._reason = ""

    def grew(self, size: int) -> None:
        """`size` bytes (in all) are written and flushed: readers may read them."""
        with self._changed:
            if self._state is not _State.GROWING:
                raise ValueError(f"a file {self._state.value} cannot grow")
            if size < self._size:
                raise ValueError(f"a file cannot shrink ({self._size} to {size} bytes)")
            self._size = size
            self._changed.notify_all()

    def complete(self) -> None:
        """Every byte is written: readers reaching the size read the end of the file."""
        with self._changed:
            if self._state is _State.ABANDONED:
                raise ValueError("an abandoned file cannot be completed")
            self._state = _State.COMPLETE
            self._changed.notify_all()

    def abandon(self, reason: str) -> None:
        """The file will never be complete: readers raise FileAbandoned(reason). Abandoning a
        complete file abandons it too (its upload was refused after its last byte)."""
        with self._changed:
            self._state = _State.ABANDONED
            self._reason = reason
            self._changed.notify_all()

    @property
    def size(self) -> int:
        with self._changed:
            return self._size

    @property
    def is_complete(self) -> bool:
        with self._changed:
            return self._state is _State.COMPLETE

    def readable_after(self, offset: int) -> int:
        """How many bytes may be read from `offset` on: at least one, or 0 at the end of a
        complete file; waits while the file is growing. Raises FileAbandoned."""
        with self._changed:
            while True:
                if self._state is _State.ABANDONED:
                    raise FileAbandoned(self._reason)
                if self._size > offset or self._state is _State.COMPLETE:
                    return max(self._size - offset, 0)
                self._changed.wait(WAIT_SECONDS)


class GrowingFileReader(io.RawIOBase):
    """The file at `source` (a path, or a file descriptor, duplicated), read front to back as it
    grows (see Growth).

    It opens the file itself, at once: the file may be renamed into storage or deleted by the
    writer afterwards, and this reader goes on reading the same bytes.
    """

    def __init__(self, source: str | Path | int, growth: Growth) -> None:
        super().__init__()
        self._fd = os.dup(source) if isinstance(source, int) else os.open(source, os.O_RDONLY)
        self._growth = growth
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._growth.readable_after(self._offset))
        if wanted == 0:
            return 0
        read = os.preadv(self._fd, [memoryview(buffer)[:wanted]], self._offset)
        if read < wanted:
            # The writer said these bytes were written: the file was cut behind its back.
            raise FileAbandoned(f"the file ended at byte {self._offset + read:,}")
        self._offset += read
        return read

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()
