"""From the uploaded bytes to text: gzip, encoding detection, decoding in blocks of whole lines."""

import codecs
import gzip
import io
import re
import threading
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import charset_normalizer

from csvhub.csvread.errors import CsvFormatError

SAMPLE_SIZE = 1 << 20  # bytes used to detect the encoding (and the delimiter, from its start)
BLOCK_SIZE = 1 << 20  # bytes decoded at a time after the sample
GZIP_ERRORS = (OSError, EOFError, zlib.error)  # gzip.BadGzipFile is an OSError

_BOMS = [  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_WESTERN = "cp1252"
# Languages written in Windows-1252: text detected as one of them is read as Windows-1252.
_WESTERN_LANGUAGES = frozenset(
    {"English", "French", "German", "Spanish", "Portuguese", "Italian", "Dutch", "Danish"}
    | {"Swedish", "Norwegian", "Finnish", "Catalan", "Indonesian", "Malay"}
)
# How much messier than the cleanest candidate a Windows-1252 reading may be and still win.
_WESTERN_CHAOS_MARGIN = 0.15

# --- undecodable bytes ----------------------------------------------------------------------
# Undecodable bytes become lone surrogates (U+DC00 + byte), which valid text never contains, so
# rows holding them can be found after csv parsing. The handler also counts its calls, so a
# block without errors is known clean without scanning it.
UNDECODABLE = "csvhub-undecodable"
MARKED = re.compile("[\x00\ud800-\udfff]")  # undecodable bytes, and NULs (no database stores them)
_errors = threading.local()


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    _errors.count = _error_count() + 1
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + byte) for byte in bad), error.end


def _error_count() -> int:
    count: int = getattr(_errors, "count", 0)
    return count


codecs.register_error(UNDECODABLE, _mark_undecodable)


def printable(text: str) -> str:
    """`text` with undecodable bytes and NULs shown as U+FFFD, safe to store and display."""
    return MARKED.sub("\ufffd", text)


# --- bytes ----------------------------------------------------------------------------------
class CountingStream:
    """The upload's bytes, counted as read (compressed bytes, for a gzip file)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._pushed_back = b""
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        if self._pushed_back:
            cut = len(self._pushed_back) if size < 0 else size
            data, self._pushed_back = self._pushed_back[:cut], self._pushed_back[cut:]
            return data
        data = self._stream.read(size)
        self.bytes_read += len(data)
        return data

    def push_back(self, data: bytes) -> None:
        self._pushed_back = data + self._pushed_back


def read_fully(source: "BinaryIO | CountingStream", size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the stream (reads may return short)."""
    parts, total = [], 0
    while total < size:
        data = source.read(size - total)
        if not data:
            break
        parts.append(data)
        total += len(data)
    return b"".join(parts)


def open_source(
    stream: BinaryIO, filename: str | None
) -> tuple["BinaryIO | CountingStream", CountingStream]:
    """The byte source to decode (gunzipped if needed) and the counter of raw bytes read."""
    counting = CountingStream(stream)
    head = read_fully(counting, 4)
    counting.push_back(head)
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=counting, mode="rb"), counting  # type: ignore[arg-type]
    if head.startswith(b"PK\x03\x04"):
        name = filename or "This file"
        raise CsvFormatError(
            f"{name} is a ZIP archive or an Excel workbook, not CSV text. "
            "Export the sheet as CSV (or unzip the file) and upload that."
        )
    return counting, counting


def read_sample(source: "BinaryIO | CountingStream") -> bytes:
    try:
        return read_fully(source, SAMPLE_SIZE)
    except GZIP_ERRORS as error:
        raise corrupt_gzip(error) from error


def corrupt_gzip(error: Exception) -> CsvFormatError:
    return CsvFormatError(
        f"The gzip data of this file is damaged or cut short ({error}). "
        "Compress the CSV again, or upload it uncompressed."
    )


# --- encoding -------------------------------------------------------------------------------
def detect_encoding(sample: bytes, *, complete: bool) -> str:
    """The codec name for the file whose first bytes are `sample`.

    A BOM decides; otherwise UTF-8 if the sample is valid UTF-8; otherwise charset-normalizer,
    nudged towards Windows-1252 (see `_guess_legacy`).
    """
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    if _looks_binary(sample):
        raise CsvFormatError(
            "This file holds binary data (NUL bytes), not CSV text. If it is UTF-16 text, "
            "save it as UTF-8, or as UTF-16 with a byte order mark."
        )
    if _is_utf8(sample, complete=complete):
        return "utf-8"
    return _guess_legacy(sample)


def _looks_binary(sample: bytes) -> bool:
    """NULs in the first line or in more than 1% of the bytes: a stray NUL in a text file
    only costs its row (see MARKED), but binary formats and BOM-less UTF-16 are full of them."""
    first_line = sample[: sample.find(b"\n")]
    return b"\x00" in first_line or sample.count(b"\x00") * 100 > len(sample)


def _is_utf8(sample: bytes, *, complete: bool) -> bool:
    if not complete:
        # A line break is never inside a multi-byte character: cutting there keeps the last
        # character whole, where cutting at SAMPLE_SIZE may split it.
        end = sample.rfind(b"\n")
        sample = sample[: end + 1] if end > 0 else sample
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _guess_legacy(sample: bytes) -> str:
    """A legacy 8-bit (or CJK) encoding, from the lines that are not plain ASCII.

    charset-normalizer tells scripts apart well (Cyrillic, Greek, Japanese...) but often
    picks a random Latin code page for Western text (cp1250 or cp1257 for French). So when a
    candidate about as clean as the best one decodes to the same text as Windows-1252, or the
    detector found a Western language or none at all, we choose Windows-1252 (in practice a
    superset of Latin-1), provided the sample decodes in it.
    """
    lines = sample.split(b"\n")
    focus = b"\n".join(line for line in lines if not line.isascii())[: SAMPLE_SIZE // 16]
    matches = list(charset_normalizer.from_bytes(focus))
    if not matches:
        raise CsvFormatError(
            "This file is neither UTF-8 text nor text in an encoding csvhub can recognise. "
            "Save it as CSV UTF-8 and upload it again."
        )
    cleanest = min(match.chaos for match in matches)
    for match in matches:
        if match.chaos <= cleanest + _WESTERN_CHAOS_MARGIN and (
            _WESTERN in match.could_be_from_charset
        ):
            return _WESTERN
    best = matches[0]
    if (best.coherence == 0 or best.language in _WESTERN_LANGUAGES) and _decodes(sample, _WESTERN):
        return _WESTERN
    return codecs.lookup(best.encoding).name


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


# --- text -----------------------------------------------------------------------------------
def text_blocks(
    source: "BinaryIO | CountingStream",
    first: bytes,
    encoding: str,
    *,
    line_limit: int | None = None,
) -> Iterator[tuple[str, bool]]:
    """The decoded file as blocks that end at a line break, each with a "has marks" flag.

    A flagged block holds undecodable bytes or NULs (see MARKED). Lines never straddle two
    blocks, so the csv module can be fed each block's lines. A line longer than `line_limit`
    characters keeps only its first `line_limit + 1` (so the reader still sees it is too long
    and rejects it) and the rest, up to its line break, is dropped as it is read: a file
    without line breaks is never held whole.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors=UNDECODABLE)
    pending: list[str] = []  # text after the last line break, possibly over several blocks
    pending_dirty = False
    skipping = False  # dropping the rest of a line cut at line_limit
    data = first
    while True:
        final = not data
        errors = _error_count()
        text = decoder.decode(data, final=final)
        if skipping:
            text, skipping = _from_line_break(text)
        dirty = _error_count() != errors or "\x00" in text
        cut = len(text) if final else _after_last_break(text)
        if cut or (final and pending):
            yield "".join([*pending, text[:cut]]), dirty or pending_dirty
            pending, pending_dirty = [], False
        if cut < len(text):
            pending.append(text[cut:])
            pending_dirty = pending_dirty or dirty
            if line_limit is not None:
                pending, skipping = _cut_long_line(pending, line_limit)
        if final:
            return
        data = source.read(BLOCK_SIZE)


def _cut_long_line(pending: list[str], limit: int) -> tuple[list[str], bool]:
    """The unfinished line cut to `limit + 1` characters if longer, and whether its rest
    must be dropped (not when it has already ended with a '\r' kept back for a '\n')."""
    ended = pending[-1].endswith("\r")
    if sum(map(len, pending)) - ended <= limit + 1:
        return pending, False
    return ["".join(pending)[: limit + 1] + "\r" * ended], not ended


def _from_line_break(text: str) -> tuple[str, bool]:
    """`text` from its first line break on, and whether there was none (skip on)."""
    breaks = [i for i in (text.find("\n"), text.find("\r")) if i >= 0]
    return (text[min(breaks) :], False) if breaks else ("", True)


def _after_last_break(text: str) -> int:
    # A '\r' at the very end may be the first half of '\r\n': keep it for the next block.
    return max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1)) + 1


# str.splitlines is the fastest splitter but also breaks at these, where csv does not.
_OTHER_BREAKS = "\x0b\x0c\x1c\x1d\x1e"
_OTHER_BREAKS_BEYOND_ASCII = "\x85\u2028\u2029"


def split_lines(block: str) -> list[str]:
    """The lines of `block` with their endings, broken only at \\r, \\n and \\r\\n."""
    odd = _OTHER_BREAKS if block.isascii() else _OTHER_BREAKS + _OTHER_BREAKS_BEYOND_ASCII
    if any(char in block for char in odd):
        return list(io.StringIO(block, newline=""))
    return block.splitlines(keepends=True)
