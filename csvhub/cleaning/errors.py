"""Errors of cleaning a person can act on; the API turns each into a 4xx/5xx with its message."""

from csvhub.datasets.errors import DatasetError


class CleaningError(DatasetError):
    """A rule, step or cluster that cannot be used: the message says what to fix."""
