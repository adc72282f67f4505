"""What a new user does first with automatic groups: name one, name faces from the
toolbar, read the labels, answer the review queue. Each test is a bug a new user hit."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.webapp.people.test_editing import state
from webapp.faces.models import Face
from webapp.people import services
from webapp.people.grouping import faces_group
from webapp.people.models import Person
from webapp.people.oplog import operation_undo

pytestmark = pytest.mark.django_db


def largest_group(user) -> Person:
    faces_group(owner=user)
    groups = [p for p in Person.objects.filter(owner=user, name="") if p.faces.count() >= 2]
    assert groups, "grouping the BBT library should make groups of two or more faces"
    return max(groups, key=lambda p: p.faces.count())


def test_renaming_an_automatic_group_keeps_its_faces_named_and_undoes_exactly(user, faces):
    group = largest_group(user)
    members = set(group.faces.values_list("pk", flat=True))
    before = state(user)

    services.person_rename(owner=user, person_id=group.pk, name="Leonard")

    group.refresh_from_db()
    assert group.name == "Leonard"
    # Its faces stay, confirmed (the name may also spread to similar faces as suggestions).
    assert set(group.faces.filter(person_state="confirmed").values_list("pk", flat=True)) == members
    # The name is evidence now: grouping again never takes the faces away.
    faces_group(owner=user)
    assert set(Person.objects.get(pk=group.pk).faces.values_list("pk", flat=True)) >= members

    operation_undo(owner=user)  # the regrouping
    operation_undo(owner=user)  # the rename
    assert state(user) == before


def test_naming_every_face_of_a_group_from_the_toolbar_goes_where_they_went(alice_client, user, faces):
    group = largest_group(user)
    page = reverse("person-detail", args=[group.pk])
    face_ids = list(group.faces.values_list("pk", flat=True))
    before = state(user)

    response = alice_client.post(reverse("faces-action"), {"action": "name", "name": "Howard", "face_ids": face_ids, "next": page})

    howard = Person.objects.get(owner=user, name="Howard")
    assert response.status_code == 302 and response["Location"] == reverse("person-detail", args=[howard.pk])
    assert not Person.objects.filter(pk=group.pk).exists(), "the emptied unnamed group stays behind"
    assert alice_client.get(page).status_code == 404
    operation_undo(owner=user)
    assert state(user) == before


def test_naming_some_faces_stays_on_the_page_the_user_works_on(alice_client, user, faces):
    sheldon = services.faces_name(owner=user, face_ids=[f.pk for name, fs in faces.items() if name.startswith("sheldon/") for f in fs], name="Sheldon")
    page = reverse("person-detail", args=[sheldon.pk])
    face_ids = list(sheldon.faces.values_list("pk", flat=True))[:1]
    response = alice_client.post(reverse("faces-action"), {"action": "name", "name": "Missy", "face_ids": face_ids, "next": page})
    assert response.status_code == 302 and response["Location"] == page
    assert Person.objects.get(owner=user, name="Missy").faces.count() == 1


def test_one_label_for_an_unnamed_person_on_every_page(alice_client, user, faces):
    group = largest_group(user)
    label = str(group)
    assert label == f"Unnamed #{group.pk}"
    people = alice_client.get(reverse("people-list")).content.decode()
    assert f"<strong>{label}</strong>" in people
    face = group.faces.first()
    photo = alice_client.get(reverse("photo-detail", args=[face.photo_id])).content.decode()
    assert label in photo


def test_grouping_line_does_not_report_stale_counts_after_an_edit(alice_client, user, faces):
    from webapp.people.models import GroupingRun
    from webapp.people.grouping import grouping_run_execute

    run = GroupingRun.objects.create(owner=user, method="hdbscan")
    grouping_run_execute(run_id=run.pk)
    run.refresh_from_db()
    fresh = alice_client.get(reverse("people-list")).content.decode()
    assert run.message in fresh
    group = Person.objects.filter(owner=user, name="").first()
    services.person_rename(owner=user, person_id=group.pk, name="Raj")
    edited = alice_client.get(reverse("people-list")).content.decode()
    assert run.message not in edited and "changed since" in edited


def test_a_review_answer_shows_its_message_in_place_not_on_the_next_page(alice_client, user, faces):
    sheldon = [f.pk for name, fs in faces.items() if name.startswith("sheldon/") for f in fs]
    services.faces_name(owner=user, face_ids=sheldon, name="Sheldon")
    faces_group(owner=user)
    suggested = Face.objects.filter(owner=user, person_state="auto", person__name__gt="").first()
    assert suggested is not None
    answer = alice_client.post(reverse("faces-action"), {"action": "confirm", "face_ids": [suggested.pk], "from": "review"}, HTTP_HX_REQUEST="true")
    assert "Confirmed 1 suggestion(s)." in answer.content.decode()
    later = alice_client.get(reverse("album-list")).content.decode()
    assert "Confirmed 1 suggestion(s)." not in later


def test_the_unsorted_page_offers_only_actions_that_apply_to_unsorted_faces(alice_client, user, faces):
    page = alice_client.get(reverse("people-unsorted")).content.decode()
    assert 'value="name"' in page and 'value="split"' in page
    assert "Move to…" not in page and "Remove from person" not in page
    group = largest_group(user)
    person_page = alice_client.get(reverse("person-detail", args=[group.pk])).content.decode()
    assert "Move to…" in person_page and "Remove from person" in person_page


def test_the_review_queue_asks_about_a_bundle_and_one_answer_settles_it(user, faces):
    from webapp.people.selectors import review_items

    sheldon = [f.pk for name, fs in faces.items() if name.startswith("sheldon/") for f in fs]
    services.faces_name(owner=user, face_ids=sheldon[:1], name="Sheldon")
    before = state(user)
    items = review_items(owner=user)
    assert items and len(items[0].faces) >= 2, "one named face should suggest several at once"
    assert [len(i.faces) for i in items] == sorted((len(i.faces) for i in items), reverse=True)
    assert items[0].reference is not None and items[0].reference.pk in sheldon[:1]
    shown = [f.pk for f in items[0].faces]
    confirmed, rejected = services.suggestions_settle(owner=user, confirm_ids=shown[1:], reject_ids=shown)
    assert (confirmed, rejected) == (len(shown) - 1, 1)
    assert Face.objects.filter(pk__in=shown[1:], person_state="confirmed").count() == len(shown) - 1
    assert Face.objects.get(pk=shown[0]).person_id != items[0].person.pk
    operation_undo(owner=user)
    assert state(user) == before
