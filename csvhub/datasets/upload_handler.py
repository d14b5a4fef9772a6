"""How uploaded files reach disk."""

from django.core.files.uploadhandler import TemporaryFileUploadHandler


class SpoolingUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler, reading the request body in 512 KiB pieces.

    The default 64 KiB pieces cost more than the parsing: gunicorn receives up to 1 MiB at a
    time and copies what is left of it after each smaller read, so an 850 MB upload spent
    seconds in memcpy. From 1 MiB up, Django's multipart parser slows down instead.
    """

    chunk_size = 512 * 1024
