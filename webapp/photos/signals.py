"""What the photos app tells the apps above it. They connect in their AppConfig.ready()."""
from django.dispatch import Signal

# Sent by photo_delete inside its transaction, before the photo's rows go, with ``photo``.
# A receiver that must react once they are gone (its derived data leaned on them) returns
# a function of no arguments; photo_delete calls it after the deletion, still inside the
# transaction, so the deletion and the reaction commit together.
photo_deleting = Signal()
