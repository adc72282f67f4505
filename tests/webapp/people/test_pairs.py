import pytest
from django.urls import reverse

from webapp.faces.services import photo_process
from webapp.people.models import Person, PersonDistinction
from webapp.people.selectors import person_pairs_close
from webapp.people.services import faces_move
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db


def test_one_person_split_in_two_is_offered_for_merging(alice_client, user, albums_dir):
    album = album_create(owner=user, name="A")
    ids = []
    for who in ("sheldon", "penny"):
        for path in sorted((albums_dir / "bbt" / "characters" / who).iterdir()):
            with path.open("rb") as handle:
                ids.append(photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id)
    photo_process(photo_ids=ids)
    faces = {pid: list(user.faces.filter(photo_id=pid).values_list("pk", flat=True)) for pid in ids}
    sheldon_a = faces_move(owner=user, face_ids=faces[ids[0]] + faces[ids[1]] + faces[ids[2]], name="Sheldon")
    sheldon_b = faces_move(owner=user, face_ids=faces[ids[3]] + faces[ids[4]], name="")
    penny = faces_move(owner=user, face_ids=[f for pid in ids[5:] for f in faces[pid]], name="Penny")

    pairs = person_pairs_close(owner=user)
    assert [(a.pk, b.pk) for a, b, _ in pairs][:1] in ([(sheldon_a.pk, sheldon_b.pk)], [(sheldon_b.pk, sheldon_a.pk)])
    # Sheldon's two halves are the closest pair, closer than Sheldon and Penny if listed at all.
    assert all(d >= pairs[0][2] for _, _, d in pairs)
    assert penny.pk not in (pairs[0][0].pk, pairs[0][1].pk)
    page = alice_client.get(reverse("people-review")).content.decode()
    assert "Are these the same person?" in page

    alice_client.post(reverse("people-pair-answer"), {"first": sheldon_b.pk, "second": sheldon_a.pk, "answer": "different"})
    assert PersonDistinction.objects.count() == 1
    assert all({a.pk, b.pk} != {sheldon_a.pk, sheldon_b.pk} for a, b, _ in person_pairs_close(owner=user))
    PersonDistinction.objects.all().delete()
    alice_client.post(reverse("people-pair-answer"), {"first": sheldon_a.pk, "second": sheldon_b.pk, "answer": "same"})
    assert not Person.objects.filter(pk=sheldon_b.pk).exists()
    assert Person.objects.get(pk=sheldon_a.pk).faces.count() == 5
