"""docs/api.md's shell examples, run for real: its ```sh blocks, in order, in one bash with
curl and jq against a live server, with a token made as the Settings page makes it, on
real group photos. Each call must succeed (curl --fail-with-body), and the last example
must find the photo in which two faces were named."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import make_user, require_program
from webapp.core.tokens import token_create

pytestmark = pytest.mark.django_db(transaction=True)

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def guide_script() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), flags=re.S)
    assert len(blocks) >= 4
    # The reader's own server and token stand in the first line; the test gives its own.
    return "\n".join(line for block in blocks for line in block.splitlines() if not line.startswith("export VISAGE="))


def test_the_guides_examples_work(live_server, albums_dir, tmp_path):
    require_program("curl")
    require_program("jq")
    photos = tmp_path / "trip"
    photos.mkdir()
    for name in ("bbt3.jpg", "bbt5.jpg"):
        shutil.copy(albums_dir / "bbt" / name, photos / name)
    secret = token_create(user=make_user("alice"), name="guide")[1]
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", guide_script()], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "VISAGE": live_server.url, "TOKEN": secret, "PHOTOS": str(photos)})
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "bbt3.jpg: added " in lines and "bbt5.jpg: added " in lines
    together = lines[-1].split()
    assert len(together) == 3 and together[1] in {"bbt3.jpg", "bbt5.jpg"} and together[2].endswith(f"/photos/{together[0]}/")
