"""Errors of cleaning a person can act on; the API turns each into a 4xx/5xx with its message."""

from csvhub.datasets.errors import DatasetError


class CleaningError(DatasetError):
    """A rule, step or cluster that cannot be used: the message says what to fix."""


class StoredRowsUnavailable(DatasetError):
    """Changing the rows already stored needs the journaled bulk edits (csvhub.edits), which
    this build does not have yet: the recipe is kept for future uploads, the rows untouched."""

    status_code = 501
