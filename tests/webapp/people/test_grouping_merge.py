"""The merge step on real photos: grouping the BBT library (with the merge and attach
steps) keeps Sheldon and Penny apart, each in one group, never two faces of one photo in
one person, and the run undoes to identical rows."""
from __future__ import annotations

import pytest

from tests.webapp.people.test_editing import crops, state
from webapp.faces.models import Face
from webapp.people.grouping import faces_group
from webapp.people.oplog import operation_undo

pytestmark = pytest.mark.django_db


def test_grouping_with_the_merge_step_keeps_two_people_apart_and_undoes(user, faces):
    before = state(user)
    faces_group(owner=user)
    person = dict(Face.objects.filter(owner=user).values_list("pk", "person_id"))
    sheldon = {person[f] for f in crops(faces, "sheldon")} - {None}
    penny = {person[f] for f in crops(faces, "penny")} - {None}
    assert len(sheldon) == 1 and len(penny) == 1 and not sheldon & penny
    for photo_faces in faces.values():
        people = [person[f.pk] for f in photo_faces if person[f.pk]]
        assert len(people) == len(set(people))
    operation_undo(owner=user)
    assert state(user) == before
