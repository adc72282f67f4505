"""Every URL pattern that takes the id of a user's object answers another user with 404,
whatever the method: no existence leak, no change. The patterns are read from the URL
resolver, so a new URL with an id fails here until it is covered."""
from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import make_user
from webapp.core.models import ApiToken
from webapp.core.tokens import token_create
from webapp.faces.models import DismissedFace, Face
from webapp.faces.services import photo_process
from webapp.people.models import GroupingRun, Person
from webapp.people.services import faces_name
from webapp.photos.libraries import library_create
from webapp.photos.models import Album, Library, LibraryScan, Photo
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db

# Staff-wide objects (model versions, training runs), not a user's: the Face model page's
# URLs are forbidden to non-staff altogether (tests/webapp/training/test_model_page.py and
# test_model_api.py).
STAFF_ONLY = {"model-run-cancel", "model-run-discard", "model-promote", "model-rollback",
              "api:model-run", "api:model-run-cancel", "api:model-run-discard", "api:model-promote", "api:model-rollback"}

# A valid body for the API's writes, so that Mallory's call gets past input checks and
# meets the ownership check (an invalid body is refused with 400 before any id is read).
API_BODIES = {
    "api:face-add": {"box": [10, 10, 90, 100]},
    "api:person-edit": {"name": "Mallory's", "hidden": True},
    "api:person-detail": {"name": "Mallory's", "hidden": True},  # the same URL as person-edit: its PATCH
    "api:person-merge": {"target_id": 1},
    "api:person-split": {"face_ids": [1]},
    "api:photo-faces": {"box": [10, 10, 90, 100]},  # the same path as api:face-add
    "api:album": {"name": "Mallory's now"},
}
METHODS = ("get", "post", "put", "patch", "delete")


def id_patterns(patterns=None, namespace_skip=("admin",), prefix=""):
    """(url name with its namespace, [parameter names]) of every named pattern with parameters."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if getattr(entry, "namespace", None) in namespace_skip or getattr(entry, "app_name", None) in namespace_skip:
                continue
            inner = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from id_patterns(entry.url_patterns, namespace_skip, inner)
        elif isinstance(entry, URLPattern) and entry.name and entry.pattern.regex.groupindex:
            yield prefix + entry.name, list(entry.pattern.regex.groupindex)


@pytest.fixture
def alices_things(user, albums_dir, tmp_path, settings):
    album = album_create(owner=user, name="Friends")
    with (albums_dir / "friends" / "multiface.jpg").open("rb") as handle:
        photo_id = photo_ingest(owner=user, album=album, source=handle, original_name="multiface.jpg").photo_id
    photo_process(photo_ids=[photo_id])
    photo = Photo.objects.get(pk=photo_id)
    face = photo.faces.first()
    person = faces_name(owner=user, face_ids=[face.pk], name="Rachel")
    settings.VISAGE_LIBRARY_ROOTS = [str(tmp_path)]
    library = library_create(owner=user, folder=str(tmp_path))
    run = GroupingRun.objects.create(owner=user, method="hdbscan")
    token, _secret = token_create(user=user, name="laptop")
    return {"album_id": album.pk, "photo_id": photo.pk, "face_id": face.pk, "person_id": person.pk, "library_id": library.pk,
            "run_id": run.pk, "token_id": token.pk}


def test_every_url_with_an_id_is_404_for_another_user(client, alices_things, user):
    client.force_login(make_user("mallory"))
    checked = []
    for name, params in id_patterns():
        if name in STAFF_ONLY:
            continue
        missing = set(params) - set(alices_things)
        assert not missing, f"{name} takes {missing}: give this test an object of that kind"
        url = reverse(name, kwargs={p: alices_things[p] for p in params})
        body = API_BODIES.get(name, {})
        answers = {method: getattr(client, method)(url, body, content_type="application/json").status_code
                   if name.startswith("api:") and method != "get" else getattr(client, method)(url).status_code
                   for method in METHODS}
        # 405 depends only on the method, never on whose id it is.
        assert set(answers.values()) <= {404, 405} and 404 in answers.values(), (name, answers)
        checked.append(name)
    assert {"album-detail", "photo-file", "photo-delete", "face-thumbnail", "api:face-similar", "person-edit",
            "face-not-a-face", "face-add", "api:face-not-a-face", "api:face-add", "library-rescan",
            "photo-metadata-xmp", "photo-download-named", "photo-sidecar-write", "album-names-export",
            "api:face-detail", "api:person-detail", "api:person-edit", "api:person-faces", "api:person-merge",
            "api:person-split", "api:grouping-run", "api:album",
            "api:album-upload", "api:album-progress", "api:photo", "api:photo-faces", "api:library", "api:library-scan",
            "api:library-rescan", "library-remove", "token-revoke", "api:photo-regions", "api:photo-regions-import",
            "api:photo-metadata-xmp", "api:photo-download-named", "api:photo-sidecar-write", "api:album-names-export",
            "album-rename", "album-delete"} <= set(checked)
    # Mallory's posts changed nothing of Alice's.
    assert Photo.objects.filter(pk=alices_things["photo_id"], owner=user).exists()
    assert Album.objects.get(pk=alices_things["album_id"]).name == "Friends"
    rachel = Person.objects.get(pk=alices_things["person_id"])
    assert rachel.name == "Rachel" and not rachel.hidden and rachel.faces.count() >= 1
    assert Face.objects.filter(pk=alices_things["face_id"]).exists() and not DismissedFace.objects.exists()
    assert not Face.objects.filter(source=Face.Source.DRAWN).exists()
    assert LibraryScan.objects.filter(library_id=alices_things["library_id"]).count() == 1  # no rescan started
    assert Album.objects.get(pk=alices_things["album_id"]).name == "Friends"
    assert Library.objects.filter(pk=alices_things["library_id"]).exists()
    assert ApiToken.objects.filter(pk=alices_things["token_id"], user=user).exists()
