"""How much work is it to name a library? A simulated user who knows the truth names it
through the app's own services, the way a person does with the pages, and every action
is counted.

    .venv/bin/python -u bench/naming_effort.py --library celeba5 --actions 1500
    .venv/bin/python -u bench/naming_effort.py --library many --people 200 --actions 800

Both review flows run on the same library in the same run, one after the other (the
user's work is reset in between), unless --review picks one.

Libraries (each imported once into its own user of database visage_bench_naming):
- ``celeba5``: celeba5/test, 928 people x 5 faces (the harsh case: many look-alikes, few
  faces each).
- ``many``: the celeba_library test people (odd identity numbers) with all their faces
  (celeba5/test/<id> plus celeba_library/test/<id>, up to about 30 each); ``--people``
  takes the first N of them.

The user, one action at a time (what a page offers, in the order a person would use it):
1. the largest unnamed group of two or more faces: remove the faces that are not its main
   person (one action, only if there are any), then name it, or merge it into that
   person when the name exists already (one action);
2. else the first question of the review queue: with ``--review bundles`` (the page
   today) "are these N faces Alice?", where unticking each face that is not Alice is one
   action and the answer another ("none of them" if no face is); with ``--review faces``
   (the queue before bundles) one face per question, Yes or No (one action);
3. else the first "are these the same person?" pair: merge, or "different" (one action);
4. else name one unsorted face (one action), first those whose person has no name yet.
The library is grouped once first, as the app does after an import (not counted).

Printed: after N actions, the share of all faces correctly named (the name shown on the
face, confirmed or suggested, is the true one) and wrongly named; and the actions needed
to reach 80, 90 and 95 % correct while at most 1 % are wrong.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchdb import use_bench_database  # noqa: E402

use_bench_database("visage_bench_naming")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import Count  # noqa: E402

from webapp.faces.models import Face  # noqa: E402
from webapp.faces.services import photo_process  # noqa: E402
from webapp.people import services  # noqa: E402
from webapp.people.grouping import faces_group  # noqa: E402
from webapp.people.models import FaceRejection, Operation, Person, PersonDistinction  # noqa: E402
from webapp.people.selectors import person_pairs_close, review_items, review_queue  # noqa: E402
from webapp.photos.models import Album, Photo  # noqa: E402
from webapp.photos.services import album_create, photo_ingest  # noqa: E402

GOALS = (0.80, 0.90, 0.95)
MAX_WRONG = 0.01


def library_files(kind: str, people: int | None) -> list[Path]:
    data = Path(settings.FACES_DATA_DIR)
    if kind == "celeba5":
        folders = sorted((data / "celeba5" / "test").iterdir())[:people]
        return [f for folder in folders for f in sorted(folder.iterdir())]
    ids = sorted(p.name for p in (data / "celeba_library" / "test").iterdir())[:people]
    files = []
    for person in ids:
        for folder in (data / "celeba5" / "test" / person, data / "celeba_library" / "test" / person):
            if folder.is_dir():
                files += sorted(folder.iterdir())
    return files


def import_library(owner, files: list[Path]) -> None:
    """Store and process the files through the upload and processing services; an
    interrupted earlier import is completed (files already stored are duplicates)."""
    album = Album.objects.filter(owner=owner).first() or album_create(owner=owner, name="library")
    known = set(Photo.objects.filter(owner=owner).values_list("original_name", flat=True))
    for path in files:
        if path.name not in known:
            with path.open("rb") as handle:
                photo_ingest(owner=owner, album=album, source=handle, original_name=path.name)
    queued = list(Photo.objects.filter(owner=owner, status=Photo.Status.QUEUED).values_list("pk", flat=True))
    for start in range(0, len(queued), 32):
        photo_process(photo_ids=queued[start : start + 32])
        print(f"   processed {min(start + 32, len(queued))} of {len(queued)} photos", end="\r", flush=True)


def reset(owner) -> None:
    Face.objects.filter(owner=owner).update(person=None, person_state="", person_confidence=None, group_key=None)
    FaceRejection.objects.filter(face__owner=owner).delete()
    PersonDistinction.objects.filter(first__owner=owner).delete()
    Person.objects.filter(owner=owner).delete()
    Operation.objects.filter(owner=owner).delete()


class SimulatedUser:
    def __init__(self, owner, review: str):
        self.owner = owner
        self.review = review
        rows = Face.objects.filter(owner=owner).values_list("pk", "photo__original_name")
        self.truth = {pk: Path(name).name.split("_")[0] for pk, name in rows}
        self.actions = 0
        self.kinds: Counter = Counter()

    def shown_names(self) -> dict[int, str]:
        return dict(Face.objects.filter(owner=self.owner).values_list("pk", "person__name"))

    def score(self) -> tuple[float, float]:
        names = self.shown_names()
        correct = sum(1 for pk, name in names.items() if name and name == self.truth[pk])
        wrong = sum(1 for pk, name in names.items() if name and name != self.truth[pk])
        return correct / len(names), wrong / len(names)

    def _count(self, kind: str) -> None:
        self.actions += 1
        self.kinds[kind] += 1

    def act(self) -> bool:
        """One step of the user; False when there is nothing left to do."""
        return self._name_group() or self._review() or self._pair() or self._name_unsorted()

    def _name_group(self) -> bool:
        group = (
            Person.objects.filter(owner=self.owner, name="").annotate(n=Count("faces")).filter(n__gte=2).order_by("-n", "pk").first()
        )
        if group is None:
            return False
        members = list(group.faces.values_list("pk", flat=True))
        who, _count = Counter(self.truth[f] for f in members).most_common(1)[0]
        strangers = [f for f in members if self.truth[f] != who]
        if strangers:
            services.faces_remove(owner=self.owner, face_ids=strangers)
            self._count("remove strangers from a group")
        existing = Person.objects.filter(owner=self.owner, name=who).first()
        if existing is not None:
            services.person_merge(owner=self.owner, source_id=group.pk, target_id=existing.pk)
            self._count("merge a group into its person")
        else:
            services.person_rename(owner=self.owner, person_id=group.pk, name=who)
            self._count("name a group")
        return True

    def _review(self) -> bool:
        if self.review == "faces":
            face = review_queue(owner=self.owner, limit=1).first()
            if face is None:
                return False
            services.suggestions_answer(owner=self.owner, face_ids=[face.pk], accept=self.truth[face.pk] == face.person.name)
            self._count("review answer")
            return True
        items = review_items(owner=self.owner, limit=1)
        if not items:
            return False
        item = items[0]
        shown = [f.pk for f in item.faces]
        ticked = [pk for pk in shown if self.truth[pk] == item.person.name]
        if ticked:
            for _ in range(len(shown) - len(ticked)):
                self._count("untick a face")
        services.suggestions_settle(owner=self.owner, confirm_ids=ticked, reject_ids=shown)
        self._count("review answer")
        return True

    def _pair(self) -> bool:
        pairs = person_pairs_close(owner=self.owner, limit=1)
        if not pairs:
            return False
        first, second = pairs[0].first, pairs[0].second
        def main(person):
            return Counter(self.truth[f] for f in person.faces.values_list("pk", flat=True)).most_common(1)[0][0]
        if main(first) == main(second):
            services.person_merge(owner=self.owner, source_id=second.pk, target_id=first.pk)
        else:
            services.people_distinct(owner=self.owner, first_id=first.pk, second_id=second.pk)
        self._count("same-person answer")
        return True

    def _name_unsorted(self) -> bool:
        named = set(Person.objects.filter(owner=self.owner).exclude(name="").values_list("name", flat=True))
        unsorted = list(Face.objects.filter(owner=self.owner, person__isnull=True).order_by("pk").values_list("pk", flat=True))
        if not unsorted:
            return False
        pk = next((pk for pk in unsorted if self.truth[pk] not in named), unsorted[0])
        services.faces_name(owner=self.owner, face_ids=[pk], name=self.truth[pk])
        self._count("name an unsorted face")
        return True


def run(owner, actions: int, report_every: int, review: str) -> None:
    print(f"\n   review queue: {review}")
    reset(owner)
    faces_group(owner=owner)
    user = SimulatedUser(owner, review)
    correct, wrong = user.score()
    print(f"   after grouping, 0 actions: {100 * correct:5.1f} % correct, {100 * wrong:4.1f} % wrong")
    reached: dict[float, int] = {}
    start = time.perf_counter()
    while user.actions < actions:
        if not user.act():
            print("   nothing left to do")
            break
        correct, wrong = user.score()
        for goal in GOALS:
            if goal not in reached and correct >= goal and wrong <= MAX_WRONG:
                reached[goal] = user.actions
        if user.actions % report_every == 0:
            print(f"   after {user.actions:>5} actions: {100 * correct:5.1f} % correct, {100 * wrong:4.1f} % wrong")
        if len(reached) == len(GOALS):
            break
    seconds = time.perf_counter() - start
    correct, wrong = user.score()
    print(f"   end, {user.actions} actions: {100 * correct:.1f} % correct, {100 * wrong:.1f} % wrong "
          f"({seconds:.0f} s, {1000 * seconds / max(1, user.actions):.0f} ms per action)")
    for goal in GOALS:
        print(f"   {100 * goal:.0f} % correct with <= {100 * MAX_WRONG:.0f} % wrong: "
              + (f"{reached[goal]} actions ({reached[goal] / len(user.truth):.3f} per face)" if goal in reached else "not reached"))
    print("   actions by kind: " + ", ".join(f"{kind} {n}" for kind, n in user.kinds.most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", choices=["celeba5", "many"], default="celeba5")
    parser.add_argument("--people", type=int, default=None, help="only the first N people of the library")
    parser.add_argument("--actions", type=int, default=1500, help="stop after this many actions")
    parser.add_argument("--report-every", type=int, default=50)
    parser.add_argument("--review", choices=["faces", "bundles"], default=None, help="only this review flow (default: both)")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    username = f"naming_{args.library}_{args.people or 'all'}"
    owner, _ = get_user_model().objects.get_or_create(username=username)
    files = library_files(args.library, args.people)
    print(f"{args.library}: {len(files)} photos of {len({f.name.split('_')[0] for f in files})} people (user {username})")
    import_library(owner, files)
    print(f"\n   {Face.objects.filter(owner=owner).count()} faces; model {Face.objects.filter(owner=owner).first().embedding_model}")
    for review in [args.review] if args.review else ["faces", "bundles"]:
        run(owner, args.actions, args.report_every, review)


if __name__ == "__main__":
    main()
