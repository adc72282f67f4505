"""What the faces app tells the apps above it. They connect in their AppConfig.ready()."""
from django.dispatch import Signal

# Sent by the `faces.photo_process` task after it committed the faces of a batch, once,
# with ``photo_ids`` (the photos done, faces found or not), before faces_added: names
# read from the photos' metadata are then on their faces when suggestions are made.
photos_processed = Signal()

# Sent by the `faces.photo_process` task after it committed new faces, once per owner,
# with ``owner_id``, ``face_ids`` and ``group_later`` (False when the caller groups the
# faces by itself, as an import without a worker does).
faces_added = Signal()
