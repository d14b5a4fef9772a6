"""How uploaded files reach disk, and when they never do.

A body is refused before its first byte is read when its Content-Length is over
CSVHUB_MAX_UPLOAD_BYTES, or when the caller may not upload (the view's `admit` check), and
reading stops as soon as the files it carries pass the limit. Without this, Django spools the
whole body to a temporary file first: the size was checked on the finished file, and session
authentication reads the body for its CSRF check before DRF checks the caller's role.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest

from csvhub.datasets.arrivals import Arrival
from csvhub.datasets.errors import UploadTooLarge

# Starts loading a file while it arrives (services.upload_begin_arriving): given the file's name
# and its spool's path, the Arrival to tell, or None when the file is not loaded early.
type BeginArrival = Callable[[str, str], Arrival | None]

# Room for the multipart envelope around the files: boundaries, part headers with their file
# names, and the small form fields (`dataset`).
ENVELOPE_BYTES = 64 * 1024

_ADVICE = "(CSVHUB_MAX_UPLOAD_BYTES). Split the file or compress it as .csv.gz."


class BodyTooLarge(UploadTooLarge, RequestDataTooBig):
    """413 with a JSON message in the API (an UploadTooLarge); a 400 page elsewhere, where
    Django answers its RequestDataTooBig."""


class SpoolingUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler, reading the request body in 512 KiB pieces, and
    refusing bodies and files over CSVHUB_MAX_UPLOAD_BYTES before or while reading them.

    The default 64 KiB pieces cost more than the parsing: gunicorn receives up to 1 MiB at a
    time and copies what is left of it after each smaller read, so an 850 MB upload spent
    seconds in memcpy. From 1 MiB up, Django's multipart parser slows down instead.
    """

    chunk_size = 512 * 1024

    def __init__(
        self,
        request: HttpRequest | None = None,
        admit: Callable[[HttpRequest], None] | None = None,
        begin: BeginArrival | None = None,
    ) -> None:
        super().__init__(request)
        self.admit = admit  # raises when the caller may not send files here
        self.limit = settings.CSVHUB_MAX_UPLOAD_BYTES
        self.received = 0
        self.begin = begin
        self.files = 0
        # The first file's Arrival when its load started while it arrives; `growing` while
        # its bytes are the ones being received. Whoever handles the request gives it up
        # unless the upload is kept (see apis.UploadCreateApi).
        self.arrival: Arrival | None = None
        self.growing: Arrival | None = None

    def handle_raw_input(
        self,
        input_data: object,
        META: Mapping[str, object],  # Django's name
        content_length: int,
        boundary: bytes | str,  # bytes from Django's parser; django-stubs says str
        encoding: str | None = None,
    ) -> None:
        if self.admit is not None and self.request is not None:
            self.admit(self.request)
        if content_length > self.limit + ENVELOPE_BYTES:
            raise BodyTooLarge(
                f"The request is {content_length:,} bytes; the largest upload accepted is "
                f"{self.limit:,} bytes {_ADVICE}"
            )

    def new_file(self, field_name: str, *args: object, **kwargs: object) -> None:
        super().new_file(field_name, *args, **kwargs)  # type: ignore[arg-type]
        self.files += 1
        self.growing = None
        if self.begin is not None and self.files == 1 and field_name == "file":
            self.arrival = self.growing = self.begin(
                self.file_name or "", self.file.temporary_file_path()
            )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        # Counted over all files of the request: together they must fit in the limit.
        self.received += len(raw_data)
        if self.received > self.limit:
            self.file.close()  # a NamedTemporaryFile: closing deletes it now
            raise BodyTooLarge(
                f"The files sent are larger than the largest upload accepted, {self.limit:,} "
                f"bytes {_ADVICE}"
            )
        if self.growing is None:
            return super().receive_data_chunk(raw_data, start)
        self.file.write(raw_data)
        self.file.flush()  # the load reads the spool through its own descriptor
        self.growing.grew(start + len(raw_data))
        return None

    def file_complete(self, file_size: int) -> UploadedFile[Any] | None:
        if self.growing is not None:
            self.growing.growth.complete()
            self.growing = None
        return super().file_complete(file_size)

    def upload_interrupted(self) -> None:
        # The body ended inside a file part (the client went away): the file is not whole.
        if self.growing is not None:
            self.growing.growth.abandon("the upload was cut short")
        super().upload_interrupted()
