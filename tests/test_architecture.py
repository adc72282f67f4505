"""The layering holds: ml/ never loads Django, and no package imports one above it or
takes part in a circle (tests/import_graph.py; `python -m tests.import_graph` prints it)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.import_graph import Graph, Import, problems, read_graph

ROOT = Path(__file__).resolve().parent.parent


def test_every_ml_module_imports_without_django():
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1] if path.name == "__init__.py"
                 else path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "ml").rglob("*.py")
    )
    assert "ml.faces.pipeline" in modules and "ml.learning.train" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))\n"
    )
    # A fresh interpreter: this one has Django loaded already.
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_upward_import_and_no_circle_between_packages():
    graph = read_graph(ROOT)
    assert graph.files > 100  # it read the tree, not an empty folder
    assert ("search", "people") in graph.edges() and ("workers", "training") in graph.edges()
    assert problems(graph) == []


def test_the_check_sees_lazy_upward_imports_and_circles():
    """The checker itself: an import inside a function counts, and a circle is named."""
    graph = Graph(files=2, imports=[
        Import("webapp.photos.services", "webapp.people.propagation", "webapp/photos/services.py", 9, lazy=True),
        Import("webapp.people.arrival", "webapp.photos.models", "webapp/people/arrival.py", 3, lazy=False),
    ])
    assert graph.upward() == {("photos", "people"): [graph.imports[0]]}
    assert graph.circles() == [["people", "photos", "people"]]
    assert problems(graph)[:2] == [
        "upward: photos -> people",
        "    webapp/photos/services.py:9 imports webapp.people.propagation (inside a function)",
    ]


def test_reading_a_tree_finds_imports_inside_functions(tmp_path):
    (tmp_path / "webapp" / "photos").mkdir(parents=True)
    (tmp_path / "webapp" / "people").mkdir(parents=True)
    (tmp_path / "webapp" / "people" / "grouping.py").write_text("from . import models\n")
    (tmp_path / "webapp" / "people" / "models.py").write_text("")
    (tmp_path / "webapp" / "photos" / "services.py").write_text(
        "def f():\n    from webapp.people import grouping\n    return grouping\n"
    )
    graph = read_graph(tmp_path)
    assert graph.files == 3
    [upward] = graph.upward()[("photos", "people")]
    assert (upward.target, upward.line, upward.lazy) == ("webapp.people.grouping", 2, True)
    assert not graph.circles()


def test_collecting_the_tests_leaves_the_database_setting_alone():
    """No test module may change DATABASE_URL when imported. One did (it imported
    bench/search.py, which points the process at the bench database on import), and the
    fault test that restarts the embedded server then skipped itself in every full run."""
    from tests.conftest import DATABASE_URL_AT_START

    assert os.environ.get("DATABASE_URL") == DATABASE_URL_AT_START
