"""Rescanning an external library that did not change: the stat-before-hash scan against
a baseline that reads and hashes every file, in the same run.

    .venv/bin/python bench/library_scan.py --files 10000

Writes N small JPEGs (64x64 noise, a few KB each) into a temporary folder in sub-folders
of 100, adds it as a library of a bench user (database visage_bench_library on the embedded
server, or BENCH_DATABASE_URL), times the first scan (every file new: read, checked,
hashed, a row written), then a rescan of the unchanged tree (what the rescan button,
beat and `manage.py library_rescan` run), then the baseline: the same walk with every file
read and hashed, as a scan without the size/mtime shortcut would have to. Processing of
the photos is left out (not queued): it is the same as an upload's (bench/ingest.py).
Real photos are MBs, not KBs: the baseline grows with their size, the rescan does not.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchdb import use_bench_database  # noqa: E402

use_bench_database("visage_bench_library")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from PIL import Image  # noqa: E402

from webapp.photos import library_scan as scan_module  # noqa: E402
from webapp.photos.library_scan import ScanResult, folder_walk, library_scan  # noqa: E402
from webapp.photos.models import Library  # noqa: E402
from webapp.photos.services import album_create  # noqa: E402
from webapp.photos.validation import hash_stream  # noqa: E402


def make_files(folder: Path, count: int) -> int:
    """``count`` distinct small JPEGs; returns their total size in bytes."""
    rng = np.random.default_rng(0)
    total = 0
    for index in range(count):
        sub = folder / f"{index // 100:03d}"
        sub.mkdir(exist_ok=True)
        path = sub / f"img{index:05d}.jpg"
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path, quality=80)
        total += path.stat().st_size
    return total


def hash_everything(root: Path) -> int:
    """The baseline: the same walk, every file read and hashed."""
    files = folder_walk(root, ScanResult())
    for relative in files:
        with (root / relative).open("rb") as handle:
            hash_stream(handle)
    return len(files)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3, help="rescans and baselines timed (best of)")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    # The scan's processing queue is left out: without a broker it would only log refusals.
    scan_module.photos_enqueue = lambda *, photo_ids: None
    owner, _ = get_user_model().objects.get_or_create(username="bench-library")
    Library.objects.filter(owner=owner).delete()  # a previous run's rows (their folder is gone)
    with tempfile.TemporaryDirectory(prefix="visage-library-") as tmp:
        root = Path(tmp) / "photos"
        root.mkdir()
        made, size = timed(make_files, root, args.files)
        print(f"{args.files} files, {size / args.files / 1024:.1f} KB each on average, written in {made:.1f} s")
        # Made directly, not by library_create: that would also queue a scan for a worker.
        library = Library.objects.create(owner=owner, root=str(root), album=album_create(owner=owner, name="bench"))
        first, result = timed(library_scan, library=library)
        assert result.added == args.files, result.summary
        print(f"first scan (every file new, hashed, a row each): {first:.2f} s")
        rescans, baselines = [], []
        for _ in range(args.repeats):
            seconds, result = timed(library_scan, library=library)
            assert result.unchanged == args.files and not result.to_process, result.summary
            rescans.append(seconds)
            seconds, hashed = timed(hash_everything, root)
            assert hashed == args.files
            baselines.append(seconds)
        print(f"rescan of the unchanged tree (stat, compare; best of {args.repeats}): {min(rescans):.2f} s "
              f"({1e6 * min(rescans) / args.files:.0f} µs per file)")
        print(f"baseline, the same walk hashing every file (best of {args.repeats}): {min(baselines):.2f} s "
              f"({1e6 * min(baselines) / args.files:.0f} µs per file; grows with the files' size)")
        Library.objects.filter(pk=library.pk).delete()


if __name__ == "__main__":
    main()
