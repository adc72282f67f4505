"""The BBT library most people tests edit."""
from __future__ import annotations

import pytest

from webapp.faces.services import photo_process
from webapp.photos.services import album_create, photo_ingest


@pytest.fixture
def faces(user, albums_dir):
    """Faces of four BBT group photos and Sheldon's and Penny's crops, keyed by photo."""
    album = album_create(owner=user, name="BBT")
    paths = [albums_dir / "bbt" / f"bbt{i}.jpg" for i in (1, 3, 4, 5)]
    paths += sorted((albums_dir / "bbt" / "characters" / "sheldon").iterdir())
    paths += sorted((albums_dir / "bbt" / "characters" / "penny").iterdir())
    labels = {}
    for path in paths:
        with path.open("rb") as handle:
            outcome = photo_ingest(owner=user, album=album, source=handle, original_name=path.name)
        labels[outcome.photo_id] = f"{path.parent.name}/{path.name}" if "characters" in str(path) else path.name
    photo_process(photo_ids=list(labels))
    return {labels[p.pk]: list(p.faces.order_by("box_x0")) for p in album.photos.all()}
