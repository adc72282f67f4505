"""Face metadata through the API (webapp/people/metadata_api.py), on a real BBT photo whose
characters' names are embedded as MWG regions: what was read, the downloads carrying the
names, reading again, and clear refusals for what an upload cannot do."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import make_user
from tests.webapp.people.test_face_metadata import hand_faces, tagged, upload
from webapp.photos.face_regions import regions_read

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(user, albums_dir):
    return upload(user, "bbt2.jpg", tagged(albums_dir, "bbt2.jpg"))


def names_of(found) -> list[str]:
    return sorted(region.name for region in found.regions)


def test_what_was_read_and_what_an_export_writes(alice_client, photo):
    expected = sorted(name.title() for name, _ in hand_faces("bbt2.jpg"))
    answer = alice_client.get(reverse("api:photo-regions", args=[photo.pk])).json()
    assert answer["matched"] == len(expected) and answer["unmatched"] == [] and answer["refused"] == []
    assert sorted(region["name"] for region in answer["exported"]) == expected
    assert all(0 <= v <= 1 for region in answer["exported"] for v in region["box"])
    again = alice_client.post(reverse("api:photo-regions-import", args=[photo.pk])).json()
    assert again == answer  # a second reading changes nothing


def test_the_downloads_carry_the_names(alice_client, photo):
    expected = sorted(name.title() for name, _ in hand_faces("bbt2.jpg"))
    sidecar = alice_client.get(reverse("api:photo-metadata-xmp", args=[photo.pk]))
    assert sidecar.status_code == 200 and sidecar["Content-Type"] == "application/rdf+xml"
    assert 'filename="bbt2.jpg.xmp"' in sidecar["Content-Disposition"]
    jpeg = alice_client.get(reverse("api:photo-download-named", args=[photo.pk]))
    assert jpeg.status_code == 200 and jpeg["Content-Type"] == "image/jpeg"
    original = photo.file.open("rb").read()
    assert names_of(regions_read(original, [("bbt2.jpg.xmp", sidecar.content)])) == expected
    assert names_of(regions_read(jpeg.content)) == expected


def test_an_upload_has_no_folder_to_write_into(alice_client, photo):
    sidecar = alice_client.post(reverse("api:photo-sidecar-write", args=[photo.pk]))
    assert sidecar.status_code == 400 and sidecar.json()["error"]
    export = alice_client.post(reverse("api:album-names-export", args=[photo.album_id]))
    assert export.status_code == 400 and "no folder" in export.json()["error"]


def test_another_user_sees_nothing(photo):
    mallory = Client()
    mallory.force_login(make_user("mallory"))
    for name in ("api:photo-regions", "api:photo-metadata-xmp", "api:photo-download-named"):
        answer = mallory.get(reverse(name, args=[photo.pk]))
        assert answer.status_code == 404 and answer.json()["error"] == f"No photo with id {photo.pk}.", name
