"""The one error that means "this upload cannot be read as CSV at all"."""


class CsvFormatError(ValueError):
    """The file is unusable as a whole; the message tells the end user what to fix."""
