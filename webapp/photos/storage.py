"""The S3 backend for photo files (VISAGE_STORAGE=s3; local disk is Django's own).

Web servers and workers on different hosts share the photos through one bucket, reached
only through Django's storage API (the app never uses a filesystem path).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ImproperlyConfigured
from storages.backends.s3 import S3Storage


class PrivateS3Storage(S3Storage):
    """S3 storage whose objects are never reachable by URL and whose failures look like
    a disk's.

    Photos are served by the app's own login-checked views, so a configuration that would
    make objects public (a public ACL, unsigned URLs, a CDN domain) is refused. Store and
    network errors surface as OSError, which the upload and processing code already
    treat as "could not store / read the file", exactly as with a full or missing disk.
    """

    def __init__(self, **settings):
        super().__init__(**settings)
        if self.default_acl not in (None, "private"):
            raise ImproperlyConfigured(f"photo objects must stay private, not {self.default_acl!r}")
        if not self.querystring_auth or self.custom_domain:
            raise ImproperlyConfigured("photo objects must not get unsigned or custom-domain URLs")

    def _save(self, name, content):
        with _as_oserror("store", name):
            return super()._save(name, content)

    def _open(self, name, mode="rb"):
        with _as_oserror("open", name):
            return super()._open(name, mode)

    def delete(self, name):
        with _as_oserror("delete", name):
            super().delete(name)

    def exists(self, name):
        with _as_oserror("look up", name):
            return super().exists(name)

    def listdir(self, path):
        with _as_oserror("list", path):
            return super().listdir(path)

    def size(self, name):
        with _as_oserror("measure", name):
            return super().size(name)


@contextmanager
def _as_oserror(action: str, name: str) -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise OSError(f"the object store could not {action} {name}: {exc}") from exc
