"""Quota refusals: each a DatasetError, so the API answers its status with the message, and
an IngestFailed, so a load refused at its commit fails as a whole with the message."""

from __future__ import annotations

from csvhub.datasets.errors import DatasetError, IngestFailed


class QuotaExceeded(IngestFailed):
    """Storing or loading this would take the organization past one of its quotas."""

    status_code = 409


class UploadQuotaExceeded(QuotaExceeded):
    """One file larger than the organization's largest upload."""

    status_code = 413


class StoredBytesQuotaExceeded(QuotaExceeded):
    """The original files would take more than the organization may store."""


class RowsQuotaExceeded(QuotaExceeded):
    """The warehouse would hold more of the organization's rows than it may."""


class RetentionError(Exception):
    """A retention setting that cannot be used; the message says what to fix (a 400)."""


class HeldByLegalHold(DatasetError):
    """Deleting this would delete data a legal hold keeps: nothing was deleted."""

    status_code = 409


class DatasetBeingDeleted(DatasetError):
    """A legal hold asked for on a dataset whose deletion already passed the hold check."""

    status_code = 409
