"""Import of names from face metadata (MWG regions) against processing, per photo, in one run.

    .venv/bin/python bench/metadata_import.py [--photos 40]

Uploads ``--photos`` copies of the four BBT group photos (17 faces, 16 named by hand in
tests/samples.py and tests/fixtures/face_boxes.json), each with its names embedded as MWG
regions (and a distinct dc:title, so no copy is a duplicate), for a throwaway user in its
own database (visage_bench_metadata). Baseline: the processing of the same photos (the
`photo_process` service: decode, detect, align, embed, store), timed first. Then the
import (read the XMP, match regions to faces, confirm, propagate), a second import that
finds every name in place already, and the read alone.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchdb import use_bench_database  # noqa: E402

use_bench_database("visage_bench_metadata")

import django  # noqa: E402

django.setup()

import pyexiv2  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from PIL import Image  # noqa: E402

from tests.samples import BBT_GROUP_PHOTOS  # noqa: E402
from webapp.faces.services import photo_process  # noqa: E402
from webapp.people.metadata_import import photo_regions_read, photos_regions_import  # noqa: E402
from webapp.photos.face_regions import jpeg_with_regions  # noqa: E402
from webapp.photos.models import Photo  # noqa: E402
from webapp.photos.services import album_create, photo_ingest  # noqa: E402


def tagged_photos() -> list[tuple[str, bytes, int]]:
    """(name, JPEG with its characters' names as MWG regions, number of regions)."""
    boxes = json.loads((ROOT / "tests" / "fixtures" / "face_boxes.json").read_text())["photos"]
    albums = Path(settings.FACES_DATA_DIR) / "albums" / "bbt"
    out = []
    for name, people in BBT_GROUP_PHOTOS.items():
        data = (albums / name).read_bytes()
        width, height = Image.open(io.BytesIO(data)).size
        faces = sorted((tuple(f["box"]) for f in boxes[f"bbt/{name}"]["faces"]), key=lambda b: b[0] + b[2])
        regions = [(who.title(), (b[0] / width, b[1] / height, b[2] / width, b[3] / height))
                   for who, b in zip(people, faces) if who != "?"]
        out.append((name, jpeg_with_regions(data, regions), len(regions)))
    return out


def titled(data: bytes, title: str) -> bytes:
    opened = pyexiv2.ImageData(data)
    opened.modify_xmp({"Xmp.dc.title": {'lang="x-default"': title}})
    try:
        return opened.get_bytes()
    finally:
        opened.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=40)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user(username=f"bench-metadata-{int(time.time())}")
    try:
        album = album_create(owner=owner, name="bench")
        sources = tagged_photos()
        ids, regions = [], 0
        for index in range(args.photos):
            name, data, count = sources[index % len(sources)]
            ids.append(photo_ingest(owner=owner, album=album, source=io.BytesIO(titled(data, f"copy {index}")),
                                    original_name=name).photo_id)
            regions += count
        started = time.perf_counter()
        for start in range(0, len(ids), 8):
            photo_process(photo_ids=ids[start:start + 8])
        processing = time.perf_counter() - started
        photos = list(Photo.objects.filter(pk__in=ids).select_related("library", "owner"))

        started = time.perf_counter()
        for photo in photos:
            photo_regions_read(photo)
        reading = time.perf_counter() - started
        started = time.perf_counter()
        first = photos_regions_import(photos)
        importing = time.perf_counter() - started
        started = time.perf_counter()
        second = photos_regions_import(photos)
        again = time.perf_counter() - started
    finally:
        owner.delete()
    n = len(ids)
    print(f"{n} photos, {regions} named regions ({first.named} faces named, {first.unmatched} found no face, "
          f"{first.refused} refused; second run: {second.named} new)")
    print(f"processing (baseline)    {processing:7.2f} s  {1000 * processing / n:7.1f} ms/photo")
    print(f"import, first run        {importing:7.2f} s  {1000 * importing / n:7.1f} ms/photo  "
          f"{1000 * importing / regions:6.1f} ms/region  ({100 * importing / processing:.1f} % of processing)")
    print(f"import, nothing new      {again:7.2f} s  {1000 * again / n:7.1f} ms/photo")
    print(f"read alone (XMP, match-free) {reading:5.2f} s  {1000 * reading / n:7.1f} ms/photo")


if __name__ == "__main__":
    main()
