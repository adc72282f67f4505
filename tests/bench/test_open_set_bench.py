"""bench/open_set.py runs without Django, so it restates a few of the app's settings:
they must be the app's."""
import importlib.util
from pathlib import Path

from django.conf import settings

from webapp.faces.calibration import SAME_PERSON_FAR
from webapp.people.selectors import GUESS_NEIGHBOURS


def test_the_bench_answers_with_the_apps_settings():
    path = Path(__file__).resolve().parents[2] / "bench" / "open_set.py"
    spec = importlib.util.spec_from_file_location("open_set_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.DEFAULT_STRANGER_RATE == settings.VISAGE_STRANGER_RATE
    assert bench.SAME_PERSON_FAR == SAME_PERSON_FAR
    assert bench.NEIGHBOURS == GUESS_NEIGHBOURS
