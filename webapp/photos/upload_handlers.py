"""Upload handler that streams every file to a temporary file and drops oversized ones.

Django parses the whole multipart body before the view runs; enforcing the size limit
while the bytes arrive means a 10 GB file is never written in full, and the other files
of the same request still arrive. Dropped files are reported by name on the request.
"""
from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler


def skipped_uploads(request) -> list[tuple[str, str]]:
    """(file name, reason) of every file the handler refused for this request."""
    if not hasattr(request, "_visage_skipped_uploads"):
        request._visage_skipped_uploads = []
    return request._visage_skipped_uploads


def size_limit_for(file_name: str) -> int:
    if file_name.lower().endswith(".zip"):
        return settings.VISAGE_MAX_ZIP_BYTES
    return settings.VISAGE_MAX_UPLOAD_FILE_BYTES


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self._received = 0
        self._limit = size_limit_for(self.file_name or "")

    def receive_data_chunk(self, raw_data, start):
        self._received += len(raw_data)
        if self._received > self._limit:
            skipped_uploads(self.request).append(
                (self.file_name, f"too large: over the {self._limit // (1024 * 1024)} MB limit")
            )
            raise SkipFile()
        return super().receive_data_chunk(raw_data, start)
