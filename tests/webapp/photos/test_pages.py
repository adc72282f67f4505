"""Browsing pages: albums with covers, album grid, photo page with face boxes, faces grid,
and per-user isolation of every page and media URL."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.conftest import make_user
from webapp.faces.services import photo_process
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def processed_photo(user, albums_dir):
    album = album_create(owner=user, name="Friends")
    with (albums_dir / "friends" / "multiface.jpg").open("rb") as handle:
        outcome = photo_ingest(owner=user, album=album, source=handle, original_name="multiface.jpg")
    photo_process(photo_ids=[outcome.photo_id])
    return album.photos.get()


def test_pages_require_sign_in(client, processed_photo):
    for url in [reverse("album-list"), reverse("face-list"), reverse("photo-detail", args=[processed_photo.pk])]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_album_list_shows_cover_and_counts(alice_client, processed_photo):
    page = alice_client.get(reverse("album-list")).content.decode()
    assert "Friends" in page
    assert reverse("photo-thumbnail", args=[processed_photo.pk]) in page
    assert "1 photo · 6 faces" in page


def test_create_album_from_the_page(alice_client, user):
    response = alice_client.post(reverse("album-list"), {"name": "  Summer 2026 "})
    assert response.status_code == 302
    album = user.albums.get()
    assert album.name == "Summer 2026"
    assert response["Location"] == reverse("album-detail", args=[album.pk])
    blank = alice_client.post(reverse("album-list"), {"name": "   "})
    assert blank.status_code == 200 and user.albums.count() == 1


def test_album_page_has_grid_dropzone_and_progress(alice_client, processed_photo):
    page = alice_client.get(reverse("album-detail", args=[processed_photo.album_id])).content.decode()
    assert 'id="dropzone"' in page and "webkitdirectory" in page
    assert "All 1 photo processed" in page
    assert reverse("photo-detail", args=[processed_photo.pk]) in page
    assert "6 faces" in page


def test_grid_partial_lists_the_photos(alice_client, processed_photo):
    grid = alice_client.get(reverse("album-grid", args=[processed_photo.album_id])).content.decode()
    assert grid.startswith('<div id="photo-grid">')
    assert reverse("photo-thumbnail", args=[processed_photo.pk]) in grid and "6 faces" in grid


def test_photo_page_draws_a_box_per_face(alice_client, processed_photo):
    page = alice_client.get(reverse("photo-detail", args=[processed_photo.pk])).content.decode()
    assert 'viewBox="0 0 1200 630"' in page
    rects = re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', page)
    assert len(rects) == 6
    faces = sorted(processed_photo.faces.all(), key=lambda f: f.box_x0)
    for (x, y, w, h), face in zip(rects, faces):
        assert float(x) == pytest.approx(face.box_x0, abs=0.1)
        assert float(w) == pytest.approx(face.box_x1 - face.box_x0, abs=0.2)
    assert page.count(reverse("face-thumbnail", args=[faces[0].pk])) == 1


def test_photo_file_and_thumbnails_are_served_to_the_owner(alice_client, processed_photo):
    original = alice_client.get(reverse("photo-file", args=[processed_photo.pk]))
    assert original.status_code == 200
    assert b"".join(original.streaming_content)[:2] == b"\xff\xd8"
    thumb = alice_client.get(reverse("photo-thumbnail", args=[processed_photo.pk]))
    assert thumb["Content-Type"] == "image/jpeg" and thumb.content[:2] == b"\xff\xd8"
    face = processed_photo.faces.first()
    face_thumb = alice_client.get(reverse("face-thumbnail", args=[face.pk]))
    assert face_thumb.status_code == 200 and face_thumb.content[:2] == b"\xff\xd8"


def test_faces_grid_is_newest_first_and_paginated(alice_client, processed_photo, settings):
    from webapp.faces import views

    page = alice_client.get(reverse("face-list")).content.decode()
    assert "6 faces, newest first" in page
    assert page.count("/thumbnail.jpg") == 6
    views.FACES_PER_PAGE, saved = 4, views.FACES_PER_PAGE
    try:
        second = alice_client.get(reverse("face-list") + "?page=2").content.decode()
    finally:
        views.FACES_PER_PAGE = saved
    assert "Page 2 of 2" in second and second.count("/thumbnail.jpg") == 2


def test_another_user_gets_404_everywhere(client, processed_photo):
    intruder = make_user("mallory")
    client.force_login(intruder)
    face = processed_photo.faces.first()
    urls = [
        reverse("album-detail", args=[processed_photo.album_id]),
        reverse("album-progress", args=[processed_photo.album_id]),
        reverse("album-grid", args=[processed_photo.album_id]),
        reverse("photo-detail", args=[processed_photo.pk]),
        reverse("photo-file", args=[processed_photo.pk]),
        reverse("photo-thumbnail", args=[processed_photo.pk]),
        reverse("face-thumbnail", args=[face.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    upload = client.post(reverse("album-upload", args=[processed_photo.album_id]), {})
    assert upload.status_code == 404
    listing = client.get(reverse("album-list")).content.decode()
    assert "Friends" not in listing
    assert "No faces yet" in client.get(reverse("face-list")).content.decode()


def test_gps_position_stays_with_the_owner(client, user, albums_dir):
    """The original keeps its EXIF (the owner's own file, served to the owner only); every
    derived image the pages show (photo and face thumbnails) is re-encoded without EXIF."""
    import io

    from PIL import Image

    from webapp.photos.models import Photo

    image = Image.open(albums_dir / "friends" / "multiface.jpg")
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPSInfo: Paris
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    album = album_create(owner=user, name="Trip")
    photo_id = photo_ingest(owner=user, album=album, source=io.BytesIO(buffer.getvalue()), original_name="paris.jpg").photo_id
    photo_process(photo_ids=[photo_id])
    photo = Photo.objects.get(pk=photo_id)

    client.force_login(user)
    original = b"".join(client.get(reverse("photo-file", args=[photo.pk])).streaming_content)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825).get(2) == (48.0, 51.0, 29.0)
    derived = [client.get(reverse("photo-thumbnail", args=[photo.pk])).content]
    derived += [client.get(reverse("face-thumbnail", args=[face.pk])).content for face in photo.faces.all()]
    assert len(derived) == 7
    for data in derived:
        assert not Image.open(io.BytesIO(data)).getexif(), "a derived image carries EXIF"
    client.force_login(make_user("mallory"))
    assert client.get(reverse("photo-file", args=[photo.pk])).status_code == 404
