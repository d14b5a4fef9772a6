"""The errors reading raises to its caller."""


class CsvFormatError(ValueError):
    """The file is unusable as a whole; the message tells the end user what to fix."""


class LimitExceeded(CsvFormatError):
    """The file is over a limit the caller set; `limit` names the option (e.g. "max_rows")."""

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


class ReadAgain(Exception):
    """The whole file showed that it is in another encoding than the one it was read in.

    Everything read so far is void: the caller discards it and reads the file again from the
    start with `open_csv(..., encoding=encoding, encoding_reason=reason)`.
    """

    def __init__(self, encoding: str, reason: str) -> None:
        super().__init__(f"read the file again as {encoding}: {reason}")
        self.encoding = encoding
        self.reason = reason


class StoredFileUnreadable(Exception):
    """Reading the stored file itself failed (a disk or network error): nothing the file's
    sender can fix. Not an OSError on purpose: the reader takes those for damaged gzip data, a
    4xx for the file."""
