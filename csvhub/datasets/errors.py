"""Errors a user can fix; the API turns each into a 4xx with its message."""


class DatasetError(Exception):
    """Base class: the message is written for the person who sent the request."""

    status_code = 400


class DatasetNotFound(DatasetError):
    status_code = 404


class UploadTooLarge(DatasetError):
    status_code = 413


class DatasetNotDiscardable(DatasetError):
    """Discarding is for datasets that hold nothing; this one has rows or a live upload."""

    status_code = 409


class OriginalDeleted(DatasetError):
    """The upload's original file was deleted under the retention policy; its rows remain."""

    status_code = 410


class IngestFailed(DatasetError):
    """The upload cannot be loaded as a whole: the job fails with this message."""


class QueryTooSlow(DatasetError):
    """A read stopped at its time limit: the server is fine, the question was too costly."""

    status_code = 503
