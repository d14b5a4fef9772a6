"""Errors of bulk edits, answered with their status code and message (csvhub.api)."""

from csvhub.datasets.errors import DatasetError


class EditInvalid(DatasetError):
    """An action or selection the user can fix: the message says what to change."""

    status_code = 400


class EditConflict(DatasetError):
    """The edit cannot run as asked now (the count changed, already undone, ...)."""

    status_code = 409


class EditNotFound(DatasetError):
    status_code = 404
