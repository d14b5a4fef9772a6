"""Errors of scheduled imports; each is a DatasetError, so the API answers it as a 4xx."""

from csvhub.datasets.errors import DatasetError


class SourceError(DatasetError):
    """A source that cannot be saved as sent."""


class SourceNotFound(SourceError):
    status_code = 404


class SourceBusy(SourceError):
    """A run of this source is already going on (single flight)."""

    status_code = 409


class SourceRefused(SourceError):
    """A URL or endpoint pointing into a private network."""


class FetchFailed(Exception):
    """A download that failed in a way a later attempt may not (network, 5xx, limits)."""
