""" "Are these the same person?": pairs offered only when the calibrated chance that they
are one person is high, shown with faces of each, and "No" never asked again."""
import re

import numpy as np
import pytest
from django.urls import reverse

from webapp.faces.models import Face
from webapp.faces.selectors import embedding_model_active
from webapp.faces.services import photo_process
from webapp.people.models import Person, PersonDistinction
from webapp.people.selectors import PAIR_MIN_PROBABILITY, person_pairs_close
from webapp.people.services import faces_move
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db

# Real album photos: four BBT characters, Alex Lacamoire, and Sheldon in two halves (one
# person split in two, as grouping can leave him).
FOLDERS = {
    "Raj": "bbt/characters/raj",
    "Penny": "bbt/characters/penny",
    "Bernadette": "bbt/characters/bernadette",
    "Alex Lacamoire": "obama_biden/train/alex_lacamoire",
    "Sheldon": "bbt/characters/sheldon",
}


@pytest.fixture
def library(user, albums_dir):
    """{name: Person}; "Sheldon" holds his first three photos and "Sheldon (2)", unnamed, the other two."""
    album = album_create(owner=user, name="A")
    photos = {}
    for name, folder in FOLDERS.items():
        for path in sorted((albums_dir / folder).iterdir()):
            with path.open("rb") as handle:
                photos.setdefault(name, []).append(photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id)
    photo_process(photo_ids=[pid for ids in photos.values() for pid in ids])
    # The person each photo is of: its largest face (a photo may have people behind).
    main = {name: [max(Face.objects.filter(photo_id=pid), key=lambda f: f.box_width).pk for pid in ids] for name, ids in photos.items()}
    people = {name: faces_move(owner=user, face_ids=main[name][:3] if name == "Sheldon" else main[name], name=name) for name in FOLDERS}
    people["Sheldon (2)"] = faces_move(owner=user, face_ids=main["Sheldon"][3:], name="")
    return people


def centroid_distance(first: Person, second: Person) -> float:
    """The old rule's distance: between the normalised average faces."""
    def centre(person):
        mean = np.mean([np.asarray(e) for e in person.faces.values_list("embedding", flat=True)], axis=0)
        return mean / np.linalg.norm(mean)
    return float(1 - centre(first) @ centre(second))


def test_only_the_split_person_is_offered_not_the_look_alikes_the_centroid_rule_offered(alice_client, library):
    raj, alex, penny, bernadette = (library[n] for n in ("Raj", "Alex Lacamoire", "Penny", "Bernadette"))
    # The old rule offered every pair whose average faces were within 1.5 x the balanced
    # threshold: Raj and Alex Lacamoire are even within 1 x, and Bernadette and Penny within 1.5 x.
    old_bar = 1.5 * embedding_model_active().same_person_threshold
    assert centroid_distance(raj, alex) < embedding_model_active().same_person_threshold
    assert centroid_distance(bernadette, penny) < old_bar

    pairs = person_pairs_close(owner=library["Raj"].owner)
    assert [{p.first.pk, p.second.pk} for p in pairs] == [{library["Sheldon"].pk, library["Sheldon (2)"].pk}]
    pair = pairs[0]
    assert pair.probability >= PAIR_MIN_PROBABILITY
    # Average linkage: the mean distance of every face of one to every face of the other.
    first = np.array([np.asarray(e) for e in pair.first.faces.values_list("embedding", flat=True)])
    second = np.array([np.asarray(e) for e in pair.second.faces.values_list("embedding", flat=True)])
    assert pair.distance == pytest.approx(float(np.mean(1 - first @ second.T)), abs=1e-5)
    # Every pair of different people, at any bar, is far less likely one person.
    others = [p for p in person_pairs_close(owner=raj.owner, limit=50, min_probability=0.0) if p != pair]
    assert len(others) == 14 and max(p.probability for p in others) < 0.5

    page = alice_client.get(reverse("people-review")).content.decode()
    card = page[page.index('class="card pair-card"'):]
    # Several faces of each person side by side: all three of one half, both of the other.
    shown = {int(pk) for pk in re.findall(r'src="/faces/(\d+)/thumbnail.jpg" alt="A face of', card)}
    assert shown == set(library["Sheldon"].faces.values_list("pk", flat=True)) | set(library["Sheldon (2)"].faces.values_list("pk", flat=True))
    assert f"{pair.probability_percent} % likely one person" in card
    assert "Raj" not in card and "Alex Lacamoire" not in card


def test_no_is_remembered_for_good_and_yes_merges(alice_client, library):
    owner = library["Raj"].owner
    sheldon, half = library["Sheldon"], library["Sheldon (2)"]
    response = alice_client.post(reverse("people-pair-answer"), {"first": half.pk, "second": sheldon.pk, "answer": "different"}, follow=True)
    assert "You won&#x27;t be asked about them again." in response.content.decode()
    assert list(PersonDistinction.objects.values_list("first_id", "second_id")) == [tuple(sorted((sheldon.pk, half.pk)))]
    # Never offered again: not at any bar, not after the people change, not on the page.
    assert person_pairs_close(owner=owner) == []
    assert all({p.first.pk, p.second.pk} != {sheldon.pk, half.pk} for p in person_pairs_close(owner=owner, limit=50, min_probability=0.0))
    faces_move(owner=owner, face_ids=[sheldon.faces.first().pk], person_id=half.pk)
    assert person_pairs_close(owner=owner) == []
    assert "Are these the same person?" not in alice_client.get(reverse("people-review")).content.decode()
    alice_client.post(reverse("people-pair-answer"), {"first": sheldon.pk, "second": half.pk, "answer": "different"})
    assert PersonDistinction.objects.count() == 1  # answering twice keeps one row

    # Penny split in two is a new pair: "Yes" merges it.
    penny = library["Penny"]
    penny_half = faces_move(owner=owner, face_ids=list(penny.faces.values_list("pk", flat=True)[:2]), name="")
    assert [{p.first.pk, p.second.pk} for p in person_pairs_close(owner=owner)] == [{penny.pk, penny_half.pk}]
    alice_client.post(reverse("people-pair-answer"), {"first": penny.pk, "second": penny_half.pk, "answer": "same"})
    assert not Person.objects.filter(pk=penny_half.pk).exists() and penny.faces.count() == 5
    assert person_pairs_close(owner=owner) == []


def test_no_survives_a_merge_into_a_third_person_and_undo_restores_it(user, library):
    from webapp.people.oplog import operation_undo
    from webapp.people.services import people_distinct, person_merge

    sheldon, half, raj = library["Sheldon"], library["Sheldon (2)"], library["Raj"]
    people_distinct(owner=user, first_id=half.pk, second_id=raj.pk)
    # The unnamed half goes into a new, third person: the "No" about it now holds for that one.
    third = faces_move(owner=user, face_ids=[sheldon.faces.first().pk], name="")
    person_merge(owner=user, source_id=half.pk, target_id=third.pk)
    pairs = set(PersonDistinction.objects.values_list("first_id", "second_id"))
    assert pairs == {tuple(sorted((third.pk, raj.pk)))}
    assert all({p.first.pk, p.second.pk} != {third.pk, raj.pk}
               for p in person_pairs_close(owner=user, limit=50, min_probability=0.0))
    # Undo puts back exactly the answers there were: about the half, not about the third.
    operation_undo(owner=user)
    assert set(PersonDistinction.objects.values_list("first_id", "second_id")) == {tuple(sorted((half.pk, raj.pk)))}
