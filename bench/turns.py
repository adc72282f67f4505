"""Which turned passes the detector runs, against running all three, on every album photo
in its four orientations (docs/benchmarks.md, "Face detection").

    .venv/bin/python bench/turns.py [--threads 2]

``ml.faces.detect._turns_needed`` runs one turned pass for heads leaning 25-60 degrees and
all three only when no face is found or one lies 60 or more off upright. The baseline,
measured in the same run on the same pixels, is the rule before it: all three turns as
soon as any face is not upright. Prints the faces found and the network runs of each,
and every photo where the two find a different number of faces.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import ml.faces.detect as detect  # noqa: E402
from ml.faces.imageio import decode_image  # noqa: E402

TURNS = (90, 180, 270)
DATA = Path(os.environ.get("FACES_DATA_DIR", REPO.parent / "shared" / "datasets")) / "albums"
NOW = detect._turns_needed


def all_three_unless_upright(landmarks: np.ndarray, turns: tuple[int, ...]) -> tuple[int, ...]:
    """The baseline rule: every turn unless the upright pass found faces, all upright."""
    return turns if NOW(landmarks, turns) else ()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--albums", type=Path, default=DATA)
    args = parser.parse_args()
    detector = detect.FaceDetector(num_threads=args.threads, turns=TURNS)
    runs = [0]
    run = detector._run
    detector._run = lambda resized: runs.__setitem__(0, runs[0] + 1) or run(resized)
    rules = {"one turn for leaning heads (now)": NOW, "all three turns (before)": all_three_unless_upright}
    totals = {name: [0, 0] for name in rules}
    photos = sorted(args.albums.glob("*/*.jpg")) + sorted(args.albums.glob("*/*/*.jpg"))
    for path in photos:
        pixels = decode_image(path).pixels
        for quarter in (0, 1, 2, -1):
            turned = np.ascontiguousarray(np.rot90(pixels, k=quarter))
            found = {}
            for name, rule in rules.items():
                detect._turns_needed = rule  # what detect() calls to choose its turned passes
                runs[0] = 0
                try:
                    found[name] = len(detector.detect(turned))
                finally:
                    detect._turns_needed = NOW
                totals[name][0] += found[name]
                totals[name][1] += runs[0]
            if len(set(found.values())) > 1:
                print(f"   {path.relative_to(args.albums)} turned {(-90 * quarter) % 360} degrees: {found}")
    print(f"{len(photos)} album photos x 4 orientations")
    for name, (faces, network_runs) in totals.items():
        print(f"   {name:<34} {faces} faces, {network_runs} network runs")


if __name__ == "__main__":
    main()
