"""What the photos app tells the apps above it. They connect in their AppConfig.ready()."""
from django.dispatch import Signal

# Sent by photo_delete inside its transaction, before the photo's rows go, with ``photo``.
# A receiver that must react once they are gone (its derived data leaned on them) returns
# a function of no arguments; photo_delete calls it after the deletion, still inside the
# transaction, so the deletion and the reaction commit together. When an album or a
# library goes with many photos, each receiver's last function is called once, for all.
photo_deleting = Signal()

# Sent by a library scan inside its transaction when a photo's file is gone, before the
# photo is marked missing, with ``photo``; receivers answer as for ``photo_deleting``. The
# faces app sets its faces' names aside and removes the faces (they leave the people views),
# people refreshes the suggestions that leaned on them. The photo row stays, and its faces
# come back with their names when the file does (webapp/photos/libraries.py).
photo_vanishing = Signal()

# Sent by a library scan, after its rows are committed, with ``photo_ids``: unchanged photos
# whose XMP sidecar is newer than the last reading of their face regions. People reads
# their names again (webapp/people/metadata_import.py).
photo_sidecars_changed = Signal()
