"""Editing people: every edit undoes to identical rows; grouping and naming keep the
user's work (confirmed faces, removals, names, same-photo rule)."""
from __future__ import annotations

import pytest

from tests.conftest import make_user
from webapp.faces.models import Face
from webapp.people import services
from webapp.people.grouping import faces_group
from webapp.people.models import FaceRejection, Operation, Person
from webapp.people.oplog import NothingToUndo, operation_undo

pytestmark = pytest.mark.django_db


def crops(faces, who):
    return [f.pk for name, fs in faces.items() if name.startswith(who + "/") for f in fs]


def state(owner):
    return (
        sorted(Face.objects.filter(owner=owner).values_list("pk", "person_id", "person_state", "person_confidence", "group_key")),
        sorted(Person.objects.filter(owner=owner).values_list("pk", "name", "name_key", "hidden", "created_at")),
        sorted(FaceRejection.objects.filter(face__owner=owner).values_list("face_id", "person_id")),
    )


def test_undo_of_every_edit_kind_restores_identical_rows(user, faces):
    sheldon = services.faces_name(owner=user, face_ids=crops(faces, "sheldon"), name="Sheldon")
    penny = services.faces_name(owner=user, face_ids=crops(faces, "penny"), name="Penny")
    faces_group(owner=user)
    suggested = list(Face.objects.filter(owner=user, person_state="auto", person__name__gt="").values_list("pk", flat=True))
    assert suggested, "naming should have suggested some group-photo faces"
    group_photo_face = faces["bbt1.jpg"][0].pk
    edits = {
        "rename": lambda: services.person_rename(owner=user, person_id=penny.pk, name="Penny Hofstadter"),
        "hide": lambda: services.person_hide(owner=user, person_id=penny.pk),
        "merge": lambda: services.person_merge(owner=user, source_id=penny.pk, target_id=sheldon.pk, keep_name="source"),
        "split": lambda: services.faces_move(owner=user, face_ids=crops(faces, "sheldon")[:2], name="Young Sheldon"),
        "move": lambda: services.faces_move(owner=user, face_ids=[group_photo_face], person_id=penny.pk),
        "remove": lambda: services.faces_remove(owner=user, face_ids=crops(faces, "penny")[:1]),
        "confirm": lambda: services.suggestions_answer(owner=user, face_ids=suggested[:1], accept=True),
        "reject": lambda: services.suggestions_answer(owner=user, face_ids=suggested[:1], accept=False),
        "name": lambda: services.faces_name(owner=user, face_ids=[group_photo_face], name="Raj"),
        "group": lambda: faces_group(owner=user, method="agglomerative"),
    }
    for kind, edit in edits.items():
        before = state(user)
        edit()
        assert state(user) != before, f"{kind} changed nothing"
        undone = operation_undo(owner=user)
        assert undone.kind == ("split" if kind == "move" else kind)
        assert state(user) == before, f"undo of {kind} did not restore the rows"


def test_undo_repeats_back_to_the_start_and_then_says_so(user, faces):
    start = state(user)
    sheldon = services.faces_name(owner=user, face_ids=crops(faces, "sheldon"), name="Sheldon")
    services.person_rename(owner=user, person_id=sheldon.pk, name="Dr. Cooper")
    faces_group(owner=user)
    for _ in range(3):
        operation_undo(owner=user)
    assert state(user) == start
    with pytest.raises(NothingToUndo):
        operation_undo(owner=user)
    assert Operation.objects.filter(owner=user, undone_at__isnull=False).count() == 3


def test_grouping_never_puts_two_faces_of_one_photo_together(user, faces):
    faces_group(owner=user, method="agglomerative")
    faces_group(owner=user, method="hdbscan")
    for photo_faces in faces.values():
        people = [f.person_id for f in Face.objects.filter(pk__in=[x.pk for x in photo_faces]) if f.person_id]
        assert len(people) == len(set(people))


def test_regrouping_keeps_confirmed_faces_removals_and_names(user, faces):
    sheldon = services.faces_name(owner=user, face_ids=crops(faces, "sheldon"), name="Sheldon")
    faces_group(owner=user)
    removed = crops(faces, "penny")[0]
    penny_group = Face.objects.get(pk=removed).person_id
    if penny_group is None:
        services.faces_move(owner=user, face_ids=crops(faces, "penny"), name="")
        penny_group = Face.objects.get(pk=removed).person_id
    services.faces_remove(owner=user, face_ids=[removed])
    confirmed = dict(Face.objects.filter(owner=user, person_state="confirmed").values_list("pk", "person_id"))

    for method in ("hdbscan", "agglomerative", "hdbscan"):
        faces_group(owner=user, method=method)
        assert dict(Face.objects.filter(pk__in=confirmed).values_list("pk", "person_id")) == confirmed
        assert Face.objects.get(pk=removed).person_id != penny_group
        assert Person.objects.get(pk=sheldon.pk).name == "Sheldon"


def test_suggestions_never_override_a_confirmed_face(user, faces):
    services.faces_name(owner=user, face_ids=crops(faces, "sheldon"), name="Sheldon")
    # The user insists one of Sheldon's crops is someone else; the evidence says Sheldon.
    stubborn = crops(faces, "sheldon")[0]
    other = services.faces_name(owner=user, face_ids=[stubborn], name="Not Sheldon")
    services.faces_name(owner=user, face_ids=crops(faces, "penny"), name="Penny")
    faces_group(owner=user)
    face = Face.objects.get(pk=stubborn)
    assert (face.person_id, face.person_state) == (other.pk, "confirmed")


def test_rejected_suggestion_does_not_come_back(user, faces):
    services.faces_name(owner=user, face_ids=crops(faces, "sheldon"), name="Sheldon")
    suggestion = Face.objects.filter(owner=user, person_state="auto", person__name="Sheldon").first()
    assert suggestion is not None
    services.suggestions_answer(owner=user, face_ids=[suggestion.pk], accept=False)
    services.faces_name(owner=user, face_ids=crops(faces, "penny"), name="Penny")  # recomputes suggestions
    faces_group(owner=user)
    face = Face.objects.select_related("person").get(pk=suggestion.pk)
    assert face.person is None or face.person.name != "Sheldon"
    assert FaceRejection.objects.filter(face=face, person__name="Sheldon").exists()


def test_merge_and_split_edge_cases(user, faces):
    sheldon = services.faces_name(owner=user, face_ids=crops(faces, "sheldon"), name="Sheldon")
    with pytest.raises(services.EditError, match="themselves"):
        services.person_merge(owner=user, source_id=sheldon.pk, target_id=sheldon.pk)
    # Two people with the same name can exist (renaming) and be merged.
    twin = services.faces_move(owner=user, face_ids=crops(faces, "penny"), name="")
    services.person_rename(owner=user, person_id=twin.pk, name="Sheldon")
    merged = services.person_merge(owner=user, source_id=twin.pk, target_id=sheldon.pk)
    assert merged.name == "Sheldon" and not Person.objects.filter(pk=twin.pk).exists()
    assert merged.faces.count() >= 10
    # Splitting all faces off a named person leaves the named person empty but kept.
    new = services.faces_move(owner=user, face_ids=list(merged.faces.values_list("pk", flat=True)), name="Everyone")
    assert Person.objects.get(pk=sheldon.pk).faces.count() == 0 and new.faces.count() >= 10
    # Splitting off under a name someone already has goes to that person: no second "Sheldon".
    back = services.faces_move(owner=user, face_ids=crops(faces, "sheldon")[:2], name="  sheldon ")
    assert back.pk == sheldon.pk and back.faces.count() == 2
    assert Person.objects.filter(owner=user, name_key=sheldon.name_key).count() == 1
    with pytest.raises(services.EditError, match="Select at least one face"):
        services.faces_move(owner=user, face_ids=[], name="x")


def test_edits_refuse_another_users_faces_and_people(user, faces):
    sheldon = services.faces_name(owner=user, face_ids=crops(faces, "sheldon"), name="Sheldon")
    mallory = make_user("mallory")
    with pytest.raises(services.EditError):
        services.faces_name(owner=mallory, face_ids=crops(faces, "penny"), name="Mine")
    with pytest.raises(services.EditError):
        services.person_rename(owner=mallory, person_id=sheldon.pk, name="Hacked")
    with pytest.raises(NothingToUndo):
        operation_undo(owner=mallory)
    assert Person.objects.get(pk=sheldon.pk).name == "Sheldon"


def test_naming_one_face_of_a_group_suggests_the_name_for_the_rest_of_it(user, faces):
    faces_group(owner=user)
    first = Face.objects.get(pk=crops(faces, "sheldon")[0])
    assert first.group_key is not None and first.group_key == first.person_id
    mates = set(Face.objects.filter(group_key=first.group_key).exclude(pk=first.pk).values_list("pk", flat=True))
    assert len(mates) >= 3
    sheldon = services.faces_name(owner=user, face_ids=[first.pk], name="Sheldon")
    assert set(Face.objects.filter(pk__in=mates, person=sheldon, person_state="auto").values_list("pk", flat=True)) == mates


def test_group_suggestions_follow_the_evidence(user, faces):
    """Decided by the group alone: a Penny crop put in Sheldon's group (as a grouping run
    might) is far from him, so no k-NN vote reaches it."""
    sheldon_face, penny_face, other_penny = crops(faces, "sheldon")[0], crops(faces, "penny")[0], crops(faces, "penny")[1]
    Face.objects.filter(pk__in=[sheldon_face, penny_face, other_penny]).update(group_key=424242)
    sheldon = services.faces_name(owner=user, face_ids=[sheldon_face], name="Sheldon")
    suggested = Face.objects.get(pk=penny_face)
    assert (suggested.person_id, suggested.person_state, suggested.person_confidence) == (sheldon.pk, "auto", 0.5)
    # Rejecting it keeps it out of Sheldon for good.
    services.suggestions_answer(owner=user, face_ids=[penny_face], accept=False)
    assert Face.objects.get(pk=penny_face).person_id != sheldon.pk
    services.person_rename(owner=user, person_id=sheldon.pk, name="Sheldon Cooper")  # re-runs propagation
    assert Face.objects.get(pk=penny_face).person_id != sheldon.pk
    # Two names in one group: the group no longer speaks for either.
    assert Face.objects.get(pk=other_penny).person_id == sheldon.pk
    services.faces_name(owner=user, face_ids=[penny_face], name="Penny")
    assert Face.objects.get(pk=other_penny).person_id != sheldon.pk


def test_undoing_a_merge_gives_the_kept_names_back(user, faces):
    """A name kept for a face of a missing library file (faces.KeptName) follows a merge,
    and an undo gives it back: when the file returns, its face gets the person it had."""
    from webapp.faces.models import KeptName

    sheldon = services.faces_name(owner=user, face_ids=crops(faces, "sheldon"), name="Sheldon")
    penny = services.faces_name(owner=user, face_ids=crops(faces, "penny"), name="Penny")
    photo = Face.objects.get(pk=crops(faces, "sheldon")[0]).photo
    kept = KeptName.objects.create(photo=photo, box_x0=1, box_y0=2, box_x1=30, box_y1=40, person=sheldon,
                                   person_state=Face.PersonState.CONFIRMED, group_key=7)
    services.person_merge(owner=user, source_id=sheldon.pk, target_id=penny.pk)
    assert KeptName.objects.get(pk=kept.pk).person_id == penny.pk

    operation_undo(owner=user)
    back = KeptName.objects.get(pk=kept.pk)
    assert (back.person_id, back.person_state, back.group_key, back.box) == (
        sheldon.pk, Face.PersonState.CONFIRMED, 7, (1, 2, 30, 40))
