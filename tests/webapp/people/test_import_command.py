from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from webapp.photos.models import Photo

pytestmark = pytest.mark.django_db


def test_import_folder_in_process(user, albums_dir):
    out = io.StringIO()
    folder = albums_dir / "obama_biden" / "train"
    call_command("import_photos", user="alice", album="Train", folder=str(folder), in_process=True, stdout=out, stderr=io.StringIO())

    photos = Photo.objects.filter(owner=user, album__name="Train")
    assert photos.count() == 9
    assert set(photos.values_list("status", flat=True)) == {Photo.Status.DONE}
    assert sum(p.faces.count() for p in photos) >= 9
    assert "9 added, 0 duplicates, 0 refused." in out.getvalue()

    again = io.StringIO()
    call_command("import_photos", user="alice", album="Train", folder=str(folder), in_process=True, stdout=again)
    assert "0 added, 9 duplicates" in again.getvalue()
    assert Photo.objects.filter(owner=user).count() == 9


def test_import_refuses_unknown_user_and_missing_folder(user, tmp_path):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("import_photos", user="nobody", album="A", folder=str(tmp_path))
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("import_photos", user="alice", album="A", folder=str(tmp_path / "missing"))
    with pytest.raises(CommandError, match="No images"):
        call_command("import_photos", user="alice", album="A", folder=str(tmp_path))
