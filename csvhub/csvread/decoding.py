"""From the uploaded bytes to text: gzip, encoding detection, decoding in blocks of whole lines."""

import codecs
import gzip
import io
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import Protocol

import charset_normalizer

from csvhub.csvread.errors import CsvFormatError, LimitExceeded, ReadAgain, StoredFileUnreadable

SAMPLE_SIZE = 1 << 20  # the first block: the encoding's first decision, the delimiter's sniff
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
UNDECODED = re.compile("[\ud800-\udfff]")
_errors = threading.local()


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    _errors.count = _error_count() + 1
    _errors.bytes = _invalid_bytes() + len(bad)
    return "".join(chr(0xDC00 + byte) for byte in bad), error.end


def _error_count() -> int:
    count: int = getattr(_errors, "count", 0)
    return count


codecs.register_error(UNDECODABLE, _mark_undecodable)


def printable(text: str) -> str:
    """`text` with undecodable bytes and NULs shown as U+FFFD, safe to store and display."""
    # Runs of marks in one match each: a legacy row read as UTF-8 is full of them.
    return _MARKED_RUNS.sub(lambda run: "\ufffd" * len(run.group()), text)


_MARKED_RUNS = re.compile(MARKED.pattern + "+")


# --- bytes ----------------------------------------------------------------------------------
class ByteSource(Protocol):
    """What the upload's bytes are read from: the uploaded file, or one of the wrappers below
    (counting, gunzipping, bounding)."""

    def read(self, size: int = -1, /) -> bytes: ...


class StoredReads:
    """The file's own bytes, with their read errors made StoredFileUnreadable (see there)."""

    def __init__(self, stream: ByteSource) -> None:
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._stream.read(size)
        except OSError as error:
            raise StoredFileUnreadable(str(error)) from error


class CountingStream:
    """The upload's bytes, counted as read (compressed bytes, for a gzip file)."""

    def __init__(self, stream: ByteSource) -> None:
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

    def seek(self, offset: int, /) -> int:
        # gzip only seeks to rewind (a backward seek on the GzipFile), which csvhub never does;
        # an upload is read once, front to back.
        raise io.UnsupportedOperation("an upload is read once, front to back")


def read_fully(source: ByteSource, size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the stream (reads may return short)."""
    parts, total = [], 0
    while total < size:
        data = source.read(size - total)
        if not data:
            break
        parts.append(data)
        total += len(data)
    return b"".join(parts)


RATIO_FREE_BYTES = 16 << 20  # decompressed bytes read before the ratio is checked


class BoundedStream:
    """Decompressed bytes, refused past `limit`, or past `max_ratio` times the compressed bytes
    read (after the first RATIO_FREE_BYTES): a few KiB of gzip can hold gigabytes."""

    def __init__(
        self,
        stream: ByteSource,
        limit: int | None,
        *,
        compressed: "CountingStream | None" = None,
        max_ratio: int | None = None,
    ) -> None:
        self._stream = stream
        self._limit = limit
        self._compressed = compressed
        self._max_ratio = max_ratio
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        # Never more than one byte past the limit, even for read(-1): that is enough to know.
        # (Without a limit, read(-1) is still cut to blocks so the ratio is checked as it goes.)
        cap = (self._limit if self._limit is not None else BLOCK_SIZE - 1) + 1
        data = self._stream.read(cap if size < 0 else min(size, cap))
        self.bytes_read += len(data)
        if self._limit is not None and self.bytes_read > self._limit:
            raise LimitExceeded(
                f"This file holds more than {self._limit:,} bytes once decompressed, more than "
                "csvhub takes from one compressed upload, so nothing was loaded. Split it into "
                "smaller files.",
                limit="max_decompressed_bytes",
            )
        self._check_ratio()
        return data

    def _check_ratio(self) -> None:
        if not self._max_ratio or self._compressed is None or self.bytes_read <= RATIO_FREE_BYTES:
            return
        compressed = max(self._compressed.bytes_read, 1)
        if self.bytes_read > self._max_ratio * compressed:
            raise LimitExceeded(
                f"This file grows more than {self._max_ratio:,} times when decompressed "
                f"({compressed:,} bytes gave more than {self.bytes_read:,}), which CSV data "
                "does not, so nothing was loaded. Upload the file uncompressed, or compressed "
                "less tightly if its values repeat that much.",
                limit="max_decompression_ratio",
            )


def open_source(
    stream: ByteSource,
    filename: str | None,
    *,
    max_decompressed_bytes: int | None = None,
    max_decompression_ratio: int | None = None,
) -> tuple[ByteSource, CountingStream]:
    """The byte source to decode (gunzipped if needed) and the counter of raw bytes read."""
    counting = CountingStream(stream)
    head = read_fully(counting, 4)
    counting.push_back(head)
    if head.startswith(b"\x1f\x8b"):
        gunzipped = gzip.GzipFile(fileobj=counting, mode="rb")
        if max_decompressed_bytes is None and not max_decompression_ratio:
            return gunzipped, counting
        return BoundedStream(
            gunzipped,
            max_decompressed_bytes,
            compressed=counting,
            max_ratio=max_decompression_ratio,
        ), counting
    if head.startswith(b"PK\x03\x04"):
        name = filename or "This file"
        raise CsvFormatError(
            f"{name} is a ZIP archive or an Excel workbook, not CSV text. "
            "Export the sheet as CSV (or unzip the file) and upload that."
        )
    return counting, counting


def read_sample(source: ByteSource) -> bytes:
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
# The encoding holds for the whole file. A BOM, or the caller, decides it outright; otherwise
# the file is UTF-8 if it has no invalid UTF-8, or if one line of non-ASCII text in it is all
# valid UTF-8 (see Utf8Evidence); its bad bytes then cost their rows. Otherwise it is in a
# legacy encoding (see `_guess_legacy`). While every character read so far is ASCII (the same
# in every encoding csvhub reads without a BOM), the reading switches in place. A line of
# valid UTF-8 found after text was read in a legacy encoding settles it: the rest is counted
# and the caller is asked to read the file again as UTF-8 (ReadAgain).
LEGACY_SAMPLE_SIZE = SAMPLE_SIZE // 16  # lines with non-ASCII bytes given to charset detection
_ASCII = bytes(range(128))


def _non_ascii_bytes_in_python(data: bytes) -> int:
    return len(data.translate(None, _ASCII))


def _non_ascii_counter() -> Callable[[bytes], int]:
    """The C splitter's count of bytes 0x80 and above (a tenth of the reader's time went to
    deleting the ASCII bytes of every block to count the rest), else that deletion."""
    try:
        from csvhub.csvread._splitter import non_ascii_bytes
    except ImportError:
        return _non_ascii_bytes_in_python
    return non_ascii_bytes


_NON_ASCII_BYTES = _non_ascii_counter()
MIN_DETECTION_BYTES = 16  # non-ASCII bytes charset detection needs to choose anything else


def check_not_binary(sample: bytes) -> None:
    if _looks_binary(sample):
        raise CsvFormatError(
            "This file holds binary data (NUL bytes), not CSV text. If it is UTF-16 text, "
            "save it as UTF-8, or as UTF-16 with a byte order mark."
        )


def bom_encoding(sample: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    return None


def _looks_binary(sample: bytes) -> bool:
    """NULs in the first line or in more than 1% of the bytes: a stray NUL in a text file
    only costs its row (see MARKED), but binary formats and BOM-less UTF-16 are full of them."""
    first_line = sample[: sample.find(b"\n")]
    return b"\x00" in first_line or sample.count(b"\x00") * 100 > len(sample)


class Utf8Evidence:
    """Multi-byte characters that are valid UTF-8, and invalid UTF-8 sequences, read so far;
    and whether some line is valid UTF-8 with non-ASCII text in it.

    That line decides: in a file in a legacy encoding, a line only passes as UTF-8 if every
    one of its non-ASCII bytes happens to pair up into valid UTF-8 (in Windows-1252, an
    accented capital followed by a symbol, and nothing else accented on the line), which real
    text all but never does, while a UTF-8 file with pasted legacy rows has many such lines.
    Counting sequences instead let a few pasted rows outvote the UTF-8 ones, turning every
    "é" into "Ã©" without a single reject.
    """

    def __init__(self) -> None:
        self.valid = 0
        self.invalid = 0
        self.utf8_line = False

    def add(self, data: bytes, text: str, *, replaced: int, errors: int) -> None:
        """Count `data`, decoded as UTF-8 into `text`, where `replaced` characters stand for
        the bytes of `errors` invalid sequences (as lone surrogates or U+FFFD).

        ASCII bytes decode to one character each, so the characters left are the valid
        multi-byte ones. A character cut at the end of `data` is counted with the next block.
        """
        if data.isascii() and len(text) == len(data):
            return
        ascii_bytes = len(data) - _NON_ASCII_BYTES(data)
        valid = len(text) - ascii_bytes - replaced
        self.valid += valid
        self.invalid += errors
        if valid and not self.utf8_line:
            self.utf8_line = not errors or _has_utf8_line(text)

    @property
    def seen_non_ascii(self) -> bool:
        return bool(self.valid or self.invalid)

    def says_utf8(self) -> bool:
        # A handful of invalid bytes says nothing of the encoding (see _guess_legacy), while
        # beside them, valid UTF-8 would turn into gibberish in any legacy reading.
        few_invalid = self.invalid < MIN_DETECTION_BYTES
        return self.invalid == 0 or self.utf8_line or (few_invalid and self.valid > 0)

    def describe(self) -> str:
        return (
            f"{_count(self.valid, 'valid UTF-8 multi-byte character')}, "
            f"{_count(self.invalid, 'invalid UTF-8 sequence')}"
        )


_REPLACED = re.compile("[\ud800-\udfff\ufffd]")  # invalid UTF-8, as marked or replaced


def _has_utf8_line(text: str) -> bool:
    """Whether a line of `text` holds non-ASCII characters and no invalid UTF-8."""
    return any(not line.isascii() and not _REPLACED.search(line) for line in text.split("\n"))


def _count(number: int, thing: str) -> str:
    return f"{number:,} {thing}{'' if number == 1 else 's'}"


def _guess_legacy(sample: bytes) -> str:
    """A legacy 8-bit (or CJK) encoding, from the lines that are not plain ASCII.

    charset-normalizer tells scripts apart well (Cyrillic, Greek, Japanese...) but often
    picks a random Latin code page for Western text (cp1250 or cp1257 for French). So when a
    candidate about as clean as the best one decodes to the same text as Windows-1252, or the
    detector found a Western language or none at all, we choose Windows-1252 (in practice a
    superset of Latin-1), provided the sample decodes in it.

    On a handful of non-ASCII bytes detection is a coin toss, and a multi-byte guess (one
    stray 0x81 read as Shift-JIS) eats the ASCII byte after it: those files are read as
    Windows-1252, where a byte it leaves undefined costs its row instead.
    """
    focus = _non_ascii_lines(sample, LEGACY_SAMPLE_SIZE)
    if len(focus.translate(None, _ASCII)) < MIN_DETECTION_BYTES:
        return _WESTERN
    matches = [m for m in charset_normalizer.from_bytes(focus) if _keeps_ascii(m.encoding)]
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
    if (best.coherence == 0 or best.language in _WESTERN_LANGUAGES) and _decodes(focus, _WESTERN):
        return _WESTERN
    return codecs.lookup(best.encoding).name


def _keeps_ascii(encoding: str) -> bool:
    """Whether ASCII bytes mean ASCII in `encoding` (not so in EBCDIC or UTF-7): the text read
    before a switch to it, and the delimiters and quotes, must stay what they were."""
    try:
        return _ASCII.decode(encoding) == _ASCII.decode("ascii")
    except UnicodeDecodeError:
        return False


def _non_ascii_lines(data: bytes, size: int) -> bytes:
    return b"\n".join(line for line in data.split(b"\n") if not line.isascii())[:size]


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


# --- text -----------------------------------------------------------------------------------
class TextDecoder:
    """The decoded file as blocks that end at a line break, and the encoding it is read in.

    `encoding` is known once `start()` has decoded the first block; `reason` says why it was
    chosen, and is final (like `encoding`) once the blocks are read to the end.
    """

    def __init__(
        self,
        source: ByteSource,
        first: bytes,
        *,
        encoding: str | None = None,
        reason: str = "",
    ) -> None:
        self._fixed = encoding or bom_encoding(first)  # not open to evidence
        if not self._fixed:
            check_not_binary(first)
        self._source = source
        self._data = first
        self.encoding = self._fixed or "utf-8"
        self._reason = reason or (f"{self._fixed} byte order mark" if self._fixed else "")
        self._decoder = _marking_decoder(self.encoding)
        self._watcher = codecs.getincrementaldecoder("utf-8")(errors="replace")  # see _watch
        self._evidence = Utf8Evidence()
        self._legacy_sample: list[bytes] = []  # non-ASCII lines of blocks that are not UTF-8
        self._legacy_sample_size = 0
        self._first: tuple[str, bool] | None = None

    @property
    def reason(self) -> str:
        if self._fixed:
            return self._reason
        evidence = self._evidence
        if evidence.invalid == 0:
            return "plain ASCII" if evidence.valid == 0 else "valid UTF-8 throughout"
        if self.encoding == "utf-8":
            return f"{evidence.describe()}: UTF-8 with bad bytes (their rows are rejected)"
        return f"{evidence.describe()}: not UTF-8, charset detection chose {self.encoding}"

    def start(self) -> str:
        """Decode the first block (deciding the encoding on it); its text, to sniff."""
        if self._first is None:
            self._first = self._decode(self._data, final=not self._data)
        return self._first[0]

    def blocks(self, *, line_limit: int | None = None) -> Iterator[tuple[str, bool]]:
        """Blocks of whole lines, each with a "has marks" flag.

        A flagged block holds undecodable bytes or NULs (see MARKED). Lines never straddle
        two blocks, so the csv module can be fed each block's lines. A line longer than
        `line_limit` characters keeps only its first `line_limit + 1` (so the reader still sees
        it is too long and rejects it) and the rest, up to its line break, is dropped as it is
        read: a file without line breaks is never held whole (its bytes still count as
        evidence for the encoding). At the end, raises ReadAgain if the whole file turned out
        to be in another encoding.
        """
        self.start()
        assert self._first is not None
        pending: list[str] = []  # text after the last line break, possibly over several blocks
        pending_dirty = False
        skipping = False  # dropping the rest of a line cut at line_limit
        data = self._data
        (text, dirty), self._first = self._first, None
        while True:
            final = not data
            if skipping:
                text, skipping = _from_line_break(text)
            if pending and pending[-1].endswith("\r") and text and text[0] != "\n":
                # The '\r' kept back ended its line: pass the line on, or the next line's
                # text would be measured with it against line_limit and cut short.
                yield "".join(pending), pending_dirty
                pending, pending_dirty = [], False
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
                self._check_whole_file()
                return
            data = self._source.read(BLOCK_SIZE)
            text, dirty = self._decode(data, final=not data)

    def _decode(self, data: bytes, *, final: bool) -> tuple[str, bool]:
        if self._fixed:
            return _decode_marking(self._decoder, data, final=final)
        if self.encoding != "utf-8":  # read in a legacy encoding: UTF-8 is only watched
            self._watch(data, final=final)
            if self._evidence.says_utf8():
                self._read_again_as_utf8(final=final)
            return _decode_marking(self._decoder, data, final=final)
        undecoded = self._decoder.getstate()[0]
        all_ascii_so_far = not self._evidence.seen_non_ascii
        text, dirty = self._read_utf8(data, final=final)
        if all_ascii_so_far and not self._evidence.says_utf8():
            return self._switch(undecoded + data, final=final)
        return text, dirty

    def _read_utf8(self, data: bytes, *, final: bool) -> tuple[str, bool]:
        """`data` read as UTF-8, undecodable bytes marked, and counted as evidence."""
        text, dirty = _decode_marking(self._decoder, data, final=final)
        # Each undecodable byte is one mark (see _marking_decoder), counted as one sequence.
        replaced = len(text) - len(UNDECODED.sub("", text)) if dirty else 0
        self._count(data, text, replaced=replaced, errors=replaced)
        return text, dirty

    def _watch(self, data: bytes, *, final: bool) -> None:
        """Count `data` as UTF-8 evidence. The "replace" handler runs at C speed, where ours
        would be called from C for each of a legacy file's many invalid sequences."""
        text = self._watcher.decode(data, final)
        replaced = text.count("\ufffd") - data.count("\ufffd".encode())  # minus U+FFFD as written
        self._count(data, text, replaced=replaced, errors=replaced)

    def _count(self, data: bytes, text: str, *, replaced: int, errors: int) -> None:
        self._evidence.add(data, text, replaced=replaced, errors=errors)
        if errors and self._legacy_sample_size < LEGACY_SAMPLE_SIZE:
            lines = _non_ascii_lines(data, LEGACY_SAMPLE_SIZE - self._legacy_sample_size)
            self._legacy_sample.append(lines)
            self._legacy_sample_size += len(lines) + 1

    def _switch(self, data: bytes, *, final: bool) -> tuple[str, bool]:
        """Read on in a legacy encoding, from `data` on: everything before it was ASCII."""
        self.encoding = _guess_legacy(data)
        self._watcher.setstate(self._decoder.getstate())  # UTF-8 bytes cut at the block's end
        self._decoder = _marking_decoder(self.encoding)
        return _decode_marking(self._decoder, data, final=final)

    def _read_again_as_utf8(self, *, final: bool) -> None:
        """A line of valid UTF-8 settles it (see Utf8Evidence): decoding and loading more of
        the file would be wasted, so the rest is only counted, at C speed, for the reason."""
        while not final:
            data = self._source.read(BLOCK_SIZE)
            final = not data
            self._watch(data, final=final)
        self.encoding = "utf-8"
        raise ReadAgain(self.encoding, f"{self.reason}; decided on the whole file")

    def _check_whole_file(self) -> None:
        if self._fixed or self._evidence.says_utf8() == (self.encoding == "utf-8"):
            return
        if self._evidence.says_utf8():
            self.encoding = "utf-8"
        else:
            self.encoding = _guess_legacy(b"\n".join(self._legacy_sample))
        raise ReadAgain(self.encoding, f"{self.reason}; decided on the whole file")


def _invalid_bytes() -> int:
    count: int = getattr(_errors, "bytes", 0)
    return count


def _marking_decoder(encoding: str) -> codecs.IncrementalDecoder:
    """A decoder of `encoding` that marks undecodable bytes (see UNDECODABLE).

    UTF-8's undecodable bytes are all 0x80 or above, which Python's "surrogateescape" marks
    just as ours does (U+DC00 + byte) but in C: a UTF-8 file with millions of bad bytes is not
    slowed down by a Python call for each (16 times slower in a 13 MB example).
    """
    utf8 = codecs.lookup(encoding).name == "utf-8"
    return codecs.getincrementaldecoder(encoding)(errors="surrogateescape" if utf8 else UNDECODABLE)


def _decode_marking(
    decoder: codecs.IncrementalDecoder, data: bytes, *, final: bool
) -> tuple[str, bool]:
    """`data` decoded, and whether the text holds marks (undecodable bytes or NULs)."""
    if decoder.errors == "surrogateescape":
        return _decode_utf8_marking(decoder, data, final=final)
    errors = _error_count()
    text = decoder.decode(data, final=final)
    return text, _error_count() != errors or "\x00" in text


def _decode_utf8_marking(
    decoder: codecs.IncrementalDecoder, data: bytes, *, final: bool
) -> tuple[str, bool]:
    """`_decode_marking` for UTF-8. Valid UTF-8 decodes strictly at the same speed, and a
    strictly decoded text holds no surrogate (the decoder refuses encoded ones): only a block
    with an undecodable byte is decoded again, marking, and searched for the marks. Searching
    every block cost more than splitting it (7.5 ms per MB of text with a few accents)."""
    decoder.errors = "strict"
    try:
        text = decoder.decode(data, final=final)
        return text, "\x00" in text
    except UnicodeDecodeError:
        # Plain UTF-8's decoder (a BufferedIncrementalDecoder) keeps its state when it raises,
        # so the same bytes are decoded again; utf-8-sig's would not (it forgets its BOM), and
        # never comes here (_marking_decoder: surrogateescape is for plain UTF-8 alone).
        pass
    finally:
        decoder.errors = "surrogateescape"
    text = decoder.decode(data, final=final)
    marked = not text.isascii() and UNDECODED.search(text) is not None
    return text, marked or "\x00" in text


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
