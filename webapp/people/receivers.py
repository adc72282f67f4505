"""How people reacts to the apps below it (connected in PeopleConfig.ready)."""
from __future__ import annotations

from collections.abc import Callable

from webapp.people.propagation import names_refresh
from webapp.people.selectors import faces_named


def names_refresh_after_photo_delete(*, photo, **_signal) -> Callable[[], int] | None:
    """photos.signals.photo_deleting and photo_vanishing: a photo whose confirmed, named faces go takes their
    votes along, so the suggestions are recomputed once it is gone. A photo without
    such faces changes no suggestion: nothing to do (a refresh reads the whole library)."""
    if not faces_named(owner=photo.owner).filter(photo=photo).exists():
        return None
    owner = photo.owner
    return lambda: names_refresh(owner=owner)
