"""The API's people endpoints (webapp/people/api.py) on the BBT album's real photos: each
action does what the page's service does, to the row, undoes exactly, answers another
user's ids like missing ones (404) and bad input with a clear 400."""
from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import make_user
from tests.samples import BBT_GROUP_PHOTOS
from webapp.faces.models import Face
from webapp.faces.services import photo_process
from webapp.people import selectors, services
from webapp.people.models import FaceMap, FaceRejection, GroupingRun, Operation, Person, PersonDistinction
from webapp.people.oplog import operation_undo
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db


def rows(owner):
    """Every row a people edit can change: equal means the same effect, or undone exactly."""
    return (
        sorted(Face.objects.filter(owner=owner).values_list("pk", "person_id", "person_state", "person_confidence", "group_key")),
        sorted(Person.objects.filter(owner=owner).values_list("pk", "name", "hidden", "created_at")),
        sorted(FaceRejection.objects.filter(face__owner=owner).values_list("face_id", "person_id")),
        sorted(PersonDistinction.objects.filter(first__owner=owner).values_list("first_id", "second_id")),
    )


def post(client, name, body=None, *args):
    return client.post(reverse(name, args=args), body or {}, content_type="application/json")


def get(client, name, *args, **query):
    return client.get(reverse(name, args=args), query)


def crops(faces, character):
    return [f.pk for label, fs in faces.items() if label.startswith(f"{character}/") for f in fs]


def in_photo(faces, photo, character):
    """The face of ``character`` in a BBT group photo (tests/samples.py)."""
    return faces[photo][BBT_GROUP_PHOTOS[photo].index(character)].pk


def same_effect_as_the_service(user, call_api, call_service):
    """The API call and the page's service, each from the same rows: the same rows after."""
    before = rows(user)
    response = call_api()
    assert response.status_code == 200, response.content
    by_api = rows(user)
    operation_undo(owner=user)
    assert rows(user) == before
    call_service()
    assert rows(user) == by_api
    return response.json()


def test_faces_are_listed_filtered_paged_and_shown_with_their_person(alice_client, user, faces):
    named = alice_client.post(reverse("api:faces-name"), {"face_ids": crops(faces, "penny"), "name": "Penny"},
                              content_type="application/json").json()
    penny = Person.objects.get(owner=user, name="Penny")
    assert named["id"] == penny.pk and named["name"] == "Penny" and named["faces"] == penny.faces.count()
    suggested = list(Face.objects.filter(person=penny, person_state=Face.PersonState.AUTO))
    assert suggested, "naming Penny's crops suggests her in the group photos"

    everything = get(alice_client, "api:face-list", limit=200).json()
    assert everything["count"] == Face.objects.filter(owner=user).count() and everything["next_offset"] is None
    assert [f["id"] for f in everything["results"]] == list(Face.objects.filter(owner=user).order_by("-created_at", "-id").values_list("pk", flat=True))

    hers = get(alice_client, "api:face-list", person=penny.pk, limit=200).json()
    assert {f["id"] for f in hers["results"]} == set(penny.faces.values_list("pk", flat=True))
    assert {f["state"] for f in hers["results"] if f["id"] in crops(faces, "penny")} == {"confirmed"}
    assert {f["id"] for f in hers["results"] if f["state"] == "suggested"} == {f.pk for f in suggested}
    # As the person page shows them, and paged the same way.
    assert [f["id"] for f in hers["results"]] == [f.pk for f in selectors.person_faces(person=penny)]
    assert get(alice_client, "api:person-faces", penny.pk, limit=200).json()["results"] == hers["results"]
    first = get(alice_client, "api:face-list", person=penny.pk, limit=2).json()
    second = get(alice_client, "api:face-list", person=penny.pk, limit=2, offset=2).json()
    assert first["next_offset"] == 2 and [f["id"] for f in first["results"] + second["results"]] == [f["id"] for f in hers["results"][:4]]

    queue = get(alice_client, "api:face-list", suggested="true", limit=200).json()
    assert [f["id"] for f in queue["results"]] == [f.pk for f in selectors.review_queue(owner=user, limit=200)]
    unsorted = get(alice_client, "api:face-list", unsorted="true", limit=200).json()
    assert {f["id"] for f in unsorted["results"]} == set(selectors.unsorted_faces(owner=user).values_list("pk", flat=True))
    assert {f["state"] for f in unsorted["results"]} == {"unsorted"} and all(f["person"] is None for f in unsorted["results"])
    group_photo = faces["bbt3.jpg"][0].photo_id
    in_it = get(alice_client, "api:face-list", photo=group_photo).json()["results"]
    assert [f["id"] for f in in_it] == [f.pk for f in faces["bbt3.jpg"]]  # left to right
    both = get(alice_client, "api:face-list", photo=group_photo, person=penny.pk).json()["results"]
    assert [f["id"] for f in both] == [in_photo(faces, "bbt3.jpg", "penny")]

    face = suggested[0]
    shown = get(alice_client, "api:face-detail", face.pk).json()
    assert shown["person"] == "Penny" and shown["person_id"] == penny.pk and shown["state"] == "suggested"
    assert shown["confidence"] == pytest.approx(face.person_confidence, abs=1e-4)
    assert shown["quality"] == pytest.approx(face.quality) and shown["low_quality"] is False and shown["photo_id"] == face.photo_id
    assert get(alice_client, "api:face-detail", 10**9).json() == {"error": "No face with id 1000000000."}
    assert get(alice_client, "api:face-list", person=10**9).status_code == 404


def test_move_remove_and_name_do_what_the_toolbar_does(alice_client, user, faces):
    sheldon = services.faces_name(owner=user, face_ids=crops(faces, "sheldon"), name="Sheldon")
    group_sheldon = [in_photo(faces, photo, "sheldon") for photo in ("bbt1.jpg", "bbt3.jpg")]

    moved = same_effect_as_the_service(
        user, lambda: post(alice_client, "api:faces-move", {"face_ids": group_sheldon, "person_id": sheldon.pk}),
        lambda: services.faces_move(owner=user, face_ids=group_sheldon, person_id=sheldon.pk))
    assert moved["id"] == sheldon.pk and moved["faces"] == Person.objects.get(pk=sheldon.pk).faces.count()
    assert set(Face.objects.filter(pk__in=group_sheldon).values_list("person_state", flat=True)) == {"confirmed"}

    removed = same_effect_as_the_service(
        user, lambda: post(alice_client, "api:faces-remove", {"face_ids": group_sheldon[:1]}),
        lambda: services.faces_remove(owner=user, face_ids=group_sheldon[:1]))
    assert removed == {"removed": 1} and Face.objects.get(pk=group_sheldon[0]).person_id is None
    assert FaceRejection.objects.filter(face_id=group_sheldon[0], person=sheldon).exists()

    # To a name: the person of that name, whatever its case, else a new one.
    raj = [in_photo(faces, photo, "raj") for photo in ("bbt1.jpg", "bbt3.jpg", "bbt5.jpg")]
    answer = post(alice_client, "api:faces-move", {"face_ids": raj[:2], "name": "Raj"}).json()
    again = post(alice_client, "api:faces-move", {"face_ids": raj[2:], "name": "raj"}).json()
    assert answer["name"] == "Raj" and again["id"] == answer["id"] and again["faces"] >= 3
    named = post(alice_client, "api:faces-name", {"face_ids": [in_photo(faces, "bbt5.jpg", "howard")], "name": "Howard"}).json()
    assert Face.objects.get(pk=in_photo(faces, "bbt5.jpg", "howard")).person_id == named["id"]
    # Out of a group into a new, unnamed person: a split.
    split = post(alice_client, "api:faces-move", {"face_ids": raj[:1]}).json()
    assert split["name"] == "" and split["label"] == f"Unnamed #{split['id']}" and split["faces"] == 1

    assert post(alice_client, "api:faces-name", {"face_ids": raj, "name": "  "}).json() == {"error": "Type a name."}
    empty = post(alice_client, "api:faces-move", {"face_ids": []})
    assert empty.status_code == 400 and empty.json()["error"].startswith("'face_ids': List should have at least 1 item")
    nobody = post(alice_client, "api:faces-remove", {"face_ids": [group_sheldon[0]]})
    assert nobody.status_code == 400 and nobody.json()["error"] == "Those faces don't belong to anyone."
    assert post(alice_client, "api:faces-move", {"face_ids": raj, "person_id": 10**9}).status_code == 404


def test_people_list_get_rename_hide_and_merge_then_undo_restores_both(alice_client, user, faces):
    penny = services.faces_name(owner=user, face_ids=crops(faces, "penny")[:3], name="Penny")
    half = services.faces_move(owner=user, face_ids=crops(faces, "penny")[3:], name="")
    sheldon = services.faces_name(owner=user, face_ids=crops(faces, "sheldon"), name="Sheldon Cooper")

    listed = get(alice_client, "api:people-list").json()
    assert [p["id"] for p in listed["results"]] == [p.pk for p in selectors.person_list(owner=user)]  # as the People page
    assert listed["count"] == selectors.person_list(owner=user).count()
    # The name filter the photo page's "Add a face" asks (drawface.js): id, name, faces.
    found = get(alice_client, "api:people-list", q="coop").json()["results"]
    assert [(p["id"], p["name"], p["faces"]) for p in found] == [(sheldon.pk, "Sheldon Cooper", sheldon.faces.count())]

    shown = get(alice_client, "api:person-detail", penny.pk).json()
    cover = selectors.person_with_cover(owner=user, person_id=penny.pk).cover_face_id
    assert shown["faces"] == penny.faces.count() and shown["cover_face"]["id"] == cover
    assert shown["cover_thumbnail_url"].endswith(reverse("face-thumbnail", args=[cover]))
    assert shown["faces_url"].endswith(reverse("api:person-faces", args=[penny.pk]))

    before = rows(user)
    renamed = alice_client.patch(reverse("api:person-edit", args=[half.pk]), {"name": "Penny H"}, content_type="application/json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Penny H"
    assert get(alice_client, "api:person-detail", half.pk).json()["name"] == "Penny H"
    assert set(half.faces.values_list("person_state", flat=True)) == {"confirmed"}  # naming a group vouches for it
    hidden = alice_client.patch(reverse("api:person-edit", args=[half.pk]), {"hidden": True}, content_type="application/json").json()
    assert hidden["hidden"] is True and half.pk not in [p["id"] for p in get(alice_client, "api:people-list").json()["results"]]
    assert [p["id"] for p in get(alice_client, "api:people-list", hidden="true").json()["results"]] == [half.pk]

    merged = same_effect_as_the_service(
        user, lambda: post(alice_client, "api:person-merge", {"target_id": penny.pk, "keep_name": "source"}, half.pk),
        lambda: services.person_merge(owner=user, source_id=half.pk, target_id=penny.pk, keep_name="source"))
    assert merged["id"] == penny.pk and merged["name"] == "Penny H" and merged["faces"] == Person.objects.get(pk=penny.pk).faces.count()
    assert set(crops(faces, "penny")) <= set(Person.objects.get(pk=penny.pk).faces.values_list("pk", flat=True))
    assert get(alice_client, "api:person-detail", half.pk).status_code == 404
    # Undo three times: the merge, the hide, the rename: both people exactly as they were.
    for kind in ("merge", "hide", "rename"):
        assert post(alice_client, "api:undo").json()["kind"] == kind
    assert rows(user) == before

    assert post(alice_client, "api:person-merge", {"target_id": penny.pk}, penny.pk).json() == {"error": "A person can't be merged into themselves."}
    bad = post(alice_client, "api:person-merge", {"target_id": half.pk, "keep_name": "mine"}, penny.pk)
    assert bad.status_code == 400 and bad.json()["error"].startswith("'keep_name': Input should be 'target' or 'source'")
    assert alice_client.patch(reverse("api:person-edit", args=[penny.pk]), {}, content_type="application/json").json() == {
        "error": "Give a name, hidden, or both."}
    assert post(alice_client, "api:person-merge", {"target_id": 10**9}, penny.pk).status_code == 404
    assert rows(user) == before


def test_split_and_the_pair_questions(alice_client, user, faces):
    sheldon = services.faces_name(owner=user, face_ids=crops(faces, "sheldon"), name="Sheldon")
    two = crops(faces, "sheldon")[:2]
    split = post(alice_client, "api:person-split", {"face_ids": two}, sheldon.pk)
    assert split.status_code == 201 and split.json()["faces"] == 2 and split.json()["name"] == ""
    half = Person.objects.get(pk=split.json()["id"])
    assert set(half.faces.values_list("pk", flat=True)) == set(two)
    assert post(alice_client, "api:undo").json()["kind"] == "split"
    services.faces_move(owner=user, face_ids=two, person_id=None)  # the person page's "Split off"
    assert set(sheldon.faces.filter(person_state="confirmed").values_list("pk", flat=True)) == set(crops(faces, "sheldon")) - set(two)
    half = Face.objects.get(pk=two[0]).person
    stranger = post(alice_client, "api:person-split", {"face_ids": [two[0]]}, sheldon.pk)
    assert stranger.status_code == 400 and stranger.json()["error"] == f"Not faces of Sheldon: {two[0]}."

    pairs = get(alice_client, "api:people-pairs").json()
    expected = selectors.person_pairs_close(owner=user)
    assert [(p["first"]["person"]["id"], p["second"]["person"]["id"]) for p in pairs] == [(p.first.pk, p.second.pk) for p in expected]
    pair = next(p for p in pairs if {p["first"]["person"]["id"], p["second"]["person"]["id"]} == {sheldon.pk, half.pk})
    assert pair["probability"] >= selectors.PAIR_MIN_PROBABILITY
    for side in ("first", "second"):
        person = Person.objects.get(pk=pair[side]["person"]["id"])
        assert pair[side]["faces_shown"] and {f["id"] for f in pair[side]["faces_shown"]} <= set(person.faces.values_list("pk", flat=True))

    answer = post(alice_client, "api:people-pair-answer", {"first_id": half.pk, "second_id": sheldon.pk, "answer": "different"})
    assert answer.json() == {"answer": "different", "merged_into": None}
    assert PersonDistinction.objects.filter(first_id=min(half.pk, sheldon.pk), second_id=max(half.pk, sheldon.pk)).exists()
    assert all({p["first"]["person"]["id"], p["second"]["person"]["id"]} != {sheldon.pk, half.pk}
               for p in get(alice_client, "api:people-pairs", limit=50).json())
    same = post(alice_client, "api:people-pair-answer", {"first_id": sheldon.pk, "second_id": half.pk, "answer": "same"}).json()
    assert same["merged_into"]["id"] == sheldon.pk and not Person.objects.filter(pk=half.pk).exists()
    assert Operation.objects.filter(owner=user).first().kind == "merge"
    bad = post(alice_client, "api:people-pair-answer", {"first_id": sheldon.pk, "second_id": sheldon.pk, "answer": "different"})
    assert bad.json() == {"error": "That is one person."}
    assert post(alice_client, "api:people-pair-answer", {"first_id": 1, "second_id": 2, "answer": "maybe"}).status_code == 400


def test_the_review_queue_and_its_answers(alice_client, user, faces):
    services.faces_name(owner=user, face_ids=crops(faces, "sheldon")[:1], name="Sheldon")
    services.faces_name(owner=user, face_ids=crops(faces, "penny")[:1], name="Penny")
    queue = get(alice_client, "api:review-list").json()
    items = selectors.review_items(owner=user, limit=100)
    assert queue["count"] == len(items) >= 2 and queue["next_offset"] is None
    assert [([f["id"] for f in q["faces"]], q["person"]["id"]) for q in queue["results"]] == [([f.pk for f in i.faces], i.person.pk) for i in items]
    assert queue["results"][0]["reference"]["id"] == items[0].reference.pk
    assert {f["state"] for q in queue["results"] for f in q["faces"]} == {"suggested"}
    paged = get(alice_client, "api:review-list", limit=1, offset=1).json()
    assert paged["results"] == queue["results"][1:2] and paged["next_offset"] == (2 if len(items) > 2 else None)

    shown = [f["id"] for f in queue["results"][0]["faces"]]
    settled = same_effect_as_the_service(
        user, lambda: post(alice_client, "api:review-answer", {"confirm": shown[1:], "reject": shown}),
        lambda: services.suggestions_settle(owner=user, confirm_ids=shown[1:], reject_ids=shown))
    assert settled == {"confirmed": len(shown) - 1, "rejected": 1, "summary": services.settled_summary(len(shown) - 1, 1)}

    open_ids = [f.pk for f in selectors.review_queue(owner=user)]
    confirmed = same_effect_as_the_service(
        user, lambda: post(alice_client, "api:faces-confirm", {"face_ids": open_ids[:1]}),
        lambda: services.suggestions_answer(owner=user, face_ids=open_ids[:1], accept=True))
    assert confirmed["confirmed"] == 1 and Face.objects.get(pk=open_ids[0]).person_state == "confirmed"
    open_ids = [f.pk for f in selectors.review_queue(owner=user)]
    rejected = same_effect_as_the_service(
        user, lambda: post(alice_client, "api:faces-reject", {"face_ids": open_ids[:1]}),
        lambda: services.suggestions_answer(owner=user, face_ids=open_ids[:1], accept=False))
    assert rejected["rejected"] == 1 and Face.objects.get(pk=open_ids[0]).person_id is None

    assert post(alice_client, "api:review-answer", {}).json() == {"error": "Give the faces to confirm, to reject, or both."}
    assert post(alice_client, "api:faces-confirm", {"face_ids": crops(faces, "sheldon")[:1]}).json() == {
        "error": "Those faces have no open suggestion."}
    assert post(alice_client, "api:review-answer", {"confirm": ["x"]}).status_code == 400


def test_grouping_and_the_face_map_run_as_jobs_with_progress(alice_client, user, faces, django_capture_on_commit_callbacks):
    assert get(alice_client, "api:grouping-latest").json() == {"error": "No grouping run yet."}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = post(alice_client, "api:grouping-start", {"method": "agglomerative"})
        joined = post(alice_client, "api:grouping-start", {})  # one run at a time: the open one answers
    assert started.status_code == joined.status_code == 202
    run = started.json()
    assert run["status"] == "queued" and run["method"] == "agglomerative" and run["percent"] == 0 and joined.json()["id"] == run["id"]
    assert get(alice_client, "api:grouping-latest").json()["id"] == run["id"]
    for callback in callbacks:
        callback()  # the worker takes the task (eager)
    done = alice_client.get(run["url"]).json()
    row = GroupingRun.objects.get(pk=run["id"])
    assert done["status"] == "done" and done["percent"] == 100 and done["message"] == row.message and "group(s)" in done["message"]
    assert done["edited_since"] is False and done["finished_at"] is not None
    assert Operation.objects.filter(owner=user, kind="group").count() == 1 and Person.objects.filter(owner=user).exists()
    post(alice_client, "api:undo")
    assert get(alice_client, "api:grouping-run", run["id"]).json()["edited_since"] is True
    bad = post(alice_client, "api:grouping-start", {"method": "kmeans"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("'method': Input should be 'hdbscan' or 'agglomerative'")
    assert get(alice_client, "api:grouping-run", 10**9).status_code == 404

    assert get(alice_client, "api:face-map").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        queued = post(alice_client, "api:face-map-start")
    assert queued.status_code == 202 and queued.json()["status"] == "queued" and queued.json()["points"] == []
    mapped = get(alice_client, "api:face-map").json()
    assert mapped["status"] == "done" and mapped["face_count"] == Face.objects.filter(owner=user).count()
    assert {p["face"] for p in mapped["points"]} == set(Face.objects.filter(owner=user).values_list("pk", flat=True))
    assert all(0 <= p["x"] <= 1 and 0 <= p["y"] <= 1 for p in mapped["points"])
    assert FaceMap.objects.get(owner=user).status == FaceMap.Status.DONE


def test_history_lists_every_edit_and_undo_takes_them_back_one_by_one(alice_client, user, faces):
    assert post(alice_client, "api:undo").json() == {"error": "Nothing to undo."}
    start = rows(user)
    penny = services.faces_name(owner=user, face_ids=crops(faces, "penny"), name="Penny")
    services.person_rename(owner=user, person_id=penny.pk, name="Penny Hofstadter")
    history = get(alice_client, "api:history").json()
    assert [(o["kind"], o["summary"]) for o in history["results"]] == [
        (o.kind, o.summary) for o in selectors.operation_log(owner=user)] == [
        ("rename", "Renamed Penny to Penny Hofstadter"), ("name", f"Named {len(crops(faces, 'penny'))} face(s) Penny")]
    assert [o["next_undo"] for o in history["results"]] == [True, False]

    undone = post(alice_client, "api:undo").json()
    assert undone["kind"] == "rename" and undone["undone_at"] is not None
    assert Person.objects.get(pk=penny.pk).name == "Penny"
    assert [o["next_undo"] for o in get(alice_client, "api:history").json()["results"]] == [False, True]
    post(alice_client, "api:undo")
    assert rows(user) == start
    assert post(alice_client, "api:undo").status_code == 409


def test_another_users_ids_in_a_body_or_a_filter_answer_404_and_change_nothing(user, faces, albums_dir):
    penny = services.faces_name(owner=user, face_ids=crops(faces, "penny"), name="Penny")
    sheldon = services.faces_name(owner=user, face_ids=crops(faces, "sheldon")[:1], name="Sheldon")
    mallory = make_user("mallory")
    album = album_create(owner=mallory, name="Mine")
    path = sorted((albums_dir / "bbt" / "characters" / "raj").iterdir())[0]
    photo = photo_ingest(owner=mallory, album=album, source=io.BytesIO(path.read_bytes()), original_name=path.name).photo_id
    photo_process(photo_ids=[photo])
    her_face = Face.objects.filter(owner=mallory).first().pk
    hers = services.faces_name(owner=mallory, face_ids=[her_face], name="Raj")
    client = Client()
    client.force_login(mallory)
    before = rows(user)
    alices = crops(faces, "penny")[:2]

    refused = {
        "name": post(client, "api:faces-name", {"face_ids": alices, "name": "Mine"}),
        "move": post(client, "api:faces-move", {"face_ids": alices, "person_id": hers.pk}),
        "move mine to hers": post(client, "api:faces-move", {"face_ids": [her_face], "person_id": penny.pk}),
        "remove": post(client, "api:faces-remove", {"face_ids": alices}),
        "confirm": post(client, "api:faces-confirm", {"face_ids": alices}),
        "reject": post(client, "api:faces-reject", {"face_ids": alices}),
        "answer": post(client, "api:review-answer", {"confirm": alices}),
        "merge mine into hers": post(client, "api:person-merge", {"target_id": penny.pk}, hers.pk),
        "split": post(client, "api:person-split", {"face_ids": alices}, hers.pk),
        "same": post(client, "api:people-pair-answer", {"first_id": penny.pk, "second_id": sheldon.pk, "answer": "same"}),
        "different": post(client, "api:people-pair-answer", {"first_id": hers.pk, "second_id": penny.pk, "answer": "different"}),
        "faces of her person": get(client, "api:face-list", person=penny.pk),
        "faces of her photo": get(client, "api:face-list", photo=faces["bbt3.jpg"][0].photo_id),
    }
    assert {what: r.status_code for what, r in refused.items()} == {what: 404 for what in refused} | {"split": 400}
    assert refused["name"].json() == {"error": "Some of those faces do not exist."}
    assert refused["merge mine into hers"].json() == {"error": "No such person."}
    # Her lists hold nothing of Alice's, and her undo does not reach Alice's edits.
    assert [p["id"] for p in get(client, "api:people-list").json()["results"]] == [hers.pk]
    assert get(client, "api:people-list", q="pen").json()["results"] == []
    assert get(client, "api:face-list").json()["count"] == 1 and get(client, "api:review-list").json()["count"] == 0
    assert [o["kind"] for o in get(client, "api:history").json()["results"]] == ["name"]
    assert post(client, "api:undo").json()["kind"] == "name" and post(client, "api:undo").status_code == 409
    assert get(client, "api:people-pairs").json() == []
    assert rows(user) == before and Operation.objects.filter(owner=user).count() == 2
