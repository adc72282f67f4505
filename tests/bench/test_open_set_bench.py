"""bench/open_set.py runs without Django, so it restates a few of the app's settings:
they must be the app's."""
import importlib.util
from pathlib import Path

from django.conf import settings

from webapp.faces.calibration import SAME_PERSON_FAR
from webapp.people.selectors import GUESS_NEIGHBOURS


def open_set_bench():
    path = Path(__file__).resolve().parents[2] / "bench" / "open_set.py"
    spec = importlib.util.spec_from_file_location("open_set_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_the_bench_answers_with_the_apps_settings():
    bench = open_set_bench()
    assert bench.DEFAULT_STRANGER_RATE == settings.VISAGE_STRANGER_RATE
    assert bench.SAME_PERSON_FAR == SAME_PERSON_FAR
    assert bench.NEIGHBOURS == GUESS_NEIGHBOURS


def test_the_album_pairs_are_called_as_documented(albums_dir):  # skips without ../shared/datasets
    """docs/benchmarks.md, "Honest answers": 55 labelled album faces, 101 same-person and
    1,384 different-person pairs; at dlib v2's FAR 1e-3 distance 97 same pairs accepted and
    no false match."""
    bench = open_set_bench()
    out = bench.album_pairs(Path(settings.MODELS_DIR) / "dlib_resnet_v1_mirror.pt", {"after": 0.06830})
    assert (out["faces"], out["same_pairs"], out["different_pairs"]) == (55, 101, 1384)
    assert (out["after"]["same_accepted"], out["after"]["false_matches"]) == (97, 0)
