"""People pages: list, person, unsorted, review queue, history, and the actions behind
their buttons, through the Django test client."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import make_user
from webapp.faces.models import Face
from webapp.faces.services import photo_process
from webapp.people.models import Operation, Person
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(user, albums_dir):
    album = album_create(owner=user, name="BBT")
    ids = []
    for path in [albums_dir / "bbt" / "bbt3.jpg", albums_dir / "bbt" / "bbt5.jpg", *sorted((albums_dir / "bbt" / "characters" / "penny").iterdir())]:
        with path.open("rb") as handle:
            ids.append(photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id)
    photo_process(photo_ids=ids)
    return {"group": ids[:2], "penny": ids[2:]}


def penny_faces(library):
    return list(Face.objects.filter(photo_id__in=library["penny"]).values_list("pk", flat=True))


def test_name_faces_from_the_unsorted_page_then_review_and_undo(alice_client, user, library):
    unsorted = alice_client.get(reverse("people-unsorted")).content.decode()
    assert "15 faces belong to nobody" in unsorted
    response = alice_client.post(reverse("faces-action"), {"action": "name", "name": "Penny", "face_ids": penny_faces(library), "next": reverse("people-unsorted")})
    assert response.status_code == 302 and response["Location"] == reverse("people-unsorted")
    penny = Person.objects.get(owner=user, name="Penny")
    assert penny.faces.filter(person_state="confirmed").count() == 5
    suggested = list(Face.objects.filter(person=penny, person_state="auto"))
    assert len(suggested) == 2 and {f.photo_id for f in suggested} == set(library["group"])

    people = alice_client.get(reverse("people-list")).content.decode()
    assert "Penny" in people and "Review 2 suggestions" in people
    queue = alice_client.get(reverse("people-review")).content.decode()
    assert queue.count("Are these 2 faces Penny?") == 1  # both suggestions in one question
    assert queue.count('name="shown_ids"') == 2 and queue.count("checked") == 2
    # The user unticks the second face and says yes: one confirmed, one rejected, one answer.
    answer = alice_client.post(reverse("faces-action"), {
        "action": "review", "answer": "yes", "from": "review",
        "shown_ids": [f.pk for f in suggested], "face_ids": [suggested[0].pk],
    }, HTTP_HX_REQUEST="true")
    body = answer.content.decode()
    assert answer.status_code == 200 and "<html" not in body and "Confirmed 1 and rejected 1 suggestion(s)." in body
    assert Face.objects.get(pk=suggested[0].pk).person_state == "confirmed"
    assert Face.objects.get(pk=suggested[1].pk).person_id is None

    alice_client.post(reverse("people-undo"))
    assert Face.objects.get(pk=suggested[0].pk).person_state == "auto"
    history = alice_client.get(reverse("people-history")).content.decode()
    assert "Confirmed 1 and rejected 1 suggestion(s)" in history and "undone" in history


def test_person_page_rename_split_merge_hide(alice_client, user, library):
    alice_client.post(reverse("faces-action"), {"action": "name", "name": "Penny", "face_ids": penny_faces(library)})
    penny = Person.objects.get(owner=user, name="Penny")
    page = alice_client.get(reverse("person-detail", args=[penny.pk])).content.decode()
    assert "7 faces" in page and 'name="face_ids"' in page
    assert "Date unknown" in page  # the timeline groups faces by month taken

    alice_client.post(reverse("person-edit", args=[penny.pk]), {"action": "rename", "name": "Penny H."})
    assert Person.objects.get(pk=penny.pk).name == "Penny H."
    two = penny_faces(library)[:2]
    alice_client.post(reverse("faces-action"), {"action": "split", "face_ids": two})
    split = Face.objects.get(pk=two[0]).person
    assert split.pk != penny.pk and split.faces.count() == 2
    merged = alice_client.post(reverse("person-edit", args=[split.pk]), {"action": "merge", "target_id": penny.pk, "keep_name": "target"})
    assert merged["Location"] == reverse("person-detail", args=[penny.pk])
    assert not Person.objects.filter(pk=split.pk).exists() and Person.objects.get(pk=penny.pk).faces.count() == 7
    alice_client.post(reverse("person-edit", args=[penny.pk]), {"action": "hide"})
    assert "Penny H." not in alice_client.get(reverse("people-list")).content.decode().split("hidden")[0]
    bad = alice_client.post(reverse("person-edit", args=[penny.pk]), {"action": "merge", "target_id": penny.pk}, follow=True)
    assert "merged into themselves" in bad.content.decode()


def test_group_button_runs_a_task_with_progress(alice_client, user, library, django_capture_on_commit_callbacks):
    from webapp.people.models import GroupingRun

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alice_client.post(reverse("people-group"))
        alice_client.post(reverse("people-group"))  # a second start joins the first
    assert GroupingRun.objects.filter(owner=user).count() == 1
    waiting = alice_client.get(reverse("people-group-progress")).content.decode()
    assert 'role="progressbar"' in waiting and "every 2s" in waiting
    for callback in callbacks:
        callback()  # the worker picks the task up
    run = GroupingRun.objects.get(owner=user)
    assert run.status == GroupingRun.Status.DONE and run.progress_done == run.progress_total == 100 and "group(s)" in run.message
    assert Operation.objects.filter(owner=user, kind="group").count() == 1
    finished = alice_client.get(reverse("people-list")).content.decode()
    assert "Last grouping" in finished and run.message in finished


def test_people_pages_are_private(library, user):
    alice = Client()
    alice.force_login(user)
    alice.post(reverse("faces-action"), {"action": "name", "name": "Penny", "face_ids": penny_faces(library)})
    penny = Person.objects.get(owner=user, name="Penny")
    mallory = Client()
    mallory.force_login(make_user("mallory"))
    assert mallory.get(reverse("person-detail", args=[penny.pk])).status_code == 404
    assert mallory.post(reverse("person-edit", args=[penny.pk]), {"action": "rename", "name": "x"}).status_code == 404
    response = mallory.post(reverse("faces-action"), {"action": "name", "name": "Mine", "face_ids": penny_faces(library)}, follow=True)
    assert "do not exist" in response.content.decode()
    assert "Penny" not in mallory.get(reverse("people-list")).content.decode()
    assert Person.objects.get(pk=penny.pk).name == "Penny"
