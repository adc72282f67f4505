import pytest
from django.urls import reverse

from tests.conftest import make_user
from webapp.faces.services import photo_process
from webapp.people.facemap import NOT_QUEUED
from webapp.people.models import FaceMap
from webapp.people.services import faces_name
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db


def test_face_map_is_computed_in_a_task_and_drawn(alice_client, user, albums_dir, django_capture_on_commit_callbacks):
    album = album_create(owner=user, name="A")
    ids = []
    for path in [albums_dir / "bbt" / f"bbt{i}.jpg" for i in (1, 3, 4, 5)]:
        with path.open("rb") as handle:
            ids.append(photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id)
    photo_process(photo_ids=ids)
    faces = list(user.faces.values_list("pk", flat=True))
    faces_name(owner=user, face_ids=faces[:2], name="Someone")

    with django_capture_on_commit_callbacks(execute=True):
        first = alice_client.get(reverse("face-map")).content.decode()
    assert "Computing the face map" in first  # the task runs after the page answered
    face_map = FaceMap.objects.get(owner=user)
    assert face_map.status == FaceMap.Status.DONE and face_map.face_count == len(faces) == 20
    assert all(0 <= x <= 1 and 0 <= y <= 1 for _, x, y in face_map.points)

    page = alice_client.get(reverse("face-map")).content.decode()
    assert page.count("<circle") == 20
    someone = user.faces.filter(person__name="Someone").count()
    assert someone >= 2  # the two named faces, plus any suggestions
    assert page.count("<title>Someone</title>") == someone and page.count("<title>Unsorted</title>") == 20 - someone

    other = make_user("mallory")
    alice_client.force_login(other)
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.get(reverse("face-map"))
    assert "<circle" not in alice_client.get(reverse("face-map")).content.decode()


def test_face_map_page_answers_while_the_broker_is_down(alice_client, user, eager_celery, django_capture_on_commit_callbacks):
    from django.conf import settings

    from tests.workers.helpers import point_app_at_broker
    from webapp.embedded import free_tcp_port

    point_app_at_broker(eager_celery, f"redis://127.0.0.1:{free_tcp_port()}/0")  # nothing listens there
    eager_celery.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = alice_client.get(reverse("face-map"))
    finally:
        point_app_at_broker(eager_celery, settings.CELERY_BROKER_URL)
    # The page answers; the map that could not be queued says so and can be asked for again.
    assert response.status_code == 200
    face_map = FaceMap.objects.get(owner=user)
    assert face_map.status == FaceMap.Status.FAILED and face_map.error == NOT_QUEUED
    page = alice_client.get(reverse("face-map")).content.decode()
    assert "could not be queued" in page and "Compute the map again" in page
