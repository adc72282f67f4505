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


def test_the_merge_margin_moves_with_the_models_distance_scale(monkeypatch):
    """The margin was chosen at dlib v2's scale (0.01 at its 0.99 bar); a version whose
    distances are twice as large (a retrained or another network) gets twice the margin,
    as it gets twice the bars, not the same 0.01."""
    import numpy as np

    from ml.grouping.merge import MERGE_MARGIN
    from webapp.faces.calibration import model_calibration
    from webapp.faces.selectors import embedding_model_active
    from webapp.people import grouping

    seen = []
    monkeypatch.setattr(grouping, "group_usable", lambda *args, **options: seen.append(options) or np.array([]))
    shipped = embedding_model_active()
    stretched = shipped.__class__(same_person_threshold=2 * shipped.same_person_threshold,
                                  calibration=model_calibration(shipped).scaled(2.0, source="test").to_dict())
    for model in (shipped, stretched):
        grouping.grouping_labels(model, np.zeros((0, 128)), np.zeros(0), method="hdbscan")
    assert seen[0]["merge_margin"] == pytest.approx(MERGE_MARGIN, rel=1e-3)
    assert seen[1]["merge_margin"] == pytest.approx(2 * MERGE_MARGIN, rel=1e-2)
    assert seen[1]["merge_distance"] == pytest.approx(2 * seen[0]["merge_distance"], rel=1e-2)


def test_a_model_groups_with_the_join_settings_kept_with_its_weights(monkeypatch):
    """A version whose join settings were chosen for it (its ``grouping``, from its
    checkpoint config) is grouped with them; a version without uses the defaults; an
    unknown setting is refused by name rather than ignored."""
    import numpy as np

    from ml.grouping.merge import ATTACH_MIN_SIZE, MERGE_MARGIN, JoinSettings
    from webapp.faces.selectors import embedding_model_active
    from webapp.people import grouping

    seen = []
    monkeypatch.setattr(grouping, "group_usable", lambda *args, **options: seen.append(options) or np.array([]))
    shipped = embedding_model_active()
    own = shipped.__class__(same_person_threshold=shipped.same_person_threshold, calibration=shipped.calibration,
                            grouping={"merge_factor": 1.025, "margin_share": 3 * JoinSettings().margin_share, "attach_min_size": 3, "attach_share": 0.95,
                                      "attach_gap_share": 0.1})
    for model in (shipped, own):
        grouping.grouping_labels(model, np.zeros((0, 128)), np.zeros(0), method="hdbscan")
    assert seen[0]["attach_min_size"] == ATTACH_MIN_SIZE and seen[0]["attach_distance"] == pytest.approx(seen[0]["merge_distance"])
    assert seen[0]["attach_gap"] == 0
    assert seen[1]["merge_distance"] == pytest.approx(1.025 * seen[0]["merge_distance"])
    assert seen[1]["merge_margin"] == pytest.approx(3 * MERGE_MARGIN, rel=1e-3)
    assert seen[1]["attach_min_size"] == 3
    assert seen[1]["attach_distance"] == pytest.approx(0.95 * seen[1]["merge_distance"])
    assert seen[1]["attach_gap"] == pytest.approx(0.1 * seen[1]["merge_distance"])
    with pytest.raises(ValueError, match="attach_min"):
        JoinSettings.from_dict({"attach_min": 3})
