from __future__ import annotations

from django.conf import settings
from django.db import models
from pgvector.django import HnswIndex, VectorField

from ml.constants import EMBEDDING_DIM


class EmbeddingModel(models.Model):
    """One version of the face embedding network. Exactly one is active: new faces are
    embedded with it, and faces of different versions are never compared."""

    version = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=100)
    architecture = models.CharField(max_length=50)
    checkpoint = models.CharField(max_length=300, help_text="Path relative to VISAGE_MODELS_DIR")
    checkpoint_sha256 = models.CharField(max_length=64)
    embedding_dim = models.PositiveIntegerField(default=EMBEDDING_DIM)
    input_size = models.PositiveIntegerField()
    alignment_template = models.JSONField()
    metrics = models.JSONField(default=dict, blank=True)
    same_person_threshold = models.FloatField(help_text="Cosine distance below which two faces are the same person")
    # What its distances mean (ml.evaluation.calibration.Calibration.to_dict()), measured on
    # val faces; every "same person" statement and every "who is this?" answer reads it.
    calibration = models.JSONField(default=dict, blank=True)
    # How its clusters are joined when grouping (ml.grouping.merge.JoinSettings), chosen for
    # this model and kept with its weights (checkpoint config "grouping"); empty: the defaults.
    grouping = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=False)
    # Set each time the version becomes the active one: the versions a rollback may return to.
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_embedding_model"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.name}"


class Face(models.Model):
    photo = models.ForeignKey("photos.Photo", on_delete=models.CASCADE, related_name="faces")
    # Denormalised owner: every similarity query filters on it, next to the vector index.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="faces")
    embedding_model = models.ForeignKey(EmbeddingModel, on_delete=models.PROTECT, related_name="faces")
    # Box and landmarks in pixels of the full-resolution, EXIF-rotated photo.
    box_x0 = models.FloatField()
    box_y0 = models.FloatField()
    box_x1 = models.FloatField()
    box_y1 = models.FloatField()
    landmarks = models.JSONField(help_text="[[x, y] x 5]: eyes, nose tip, mouth corners")
    detection_score = models.FloatField()
    # How far the embedding can be trusted, in [0, 1] (ml/faces/quality.py); null until
    # scored. Below VISAGE_FACE_QUALITY_MIN a face is shown but never grouped automatically,
    # suggested a name or used as evidence for one (webapp/faces/selectors.py low_quality).
    quality = models.FloatField(null=True, blank=True)
    embedding = VectorField(dimensions=EMBEDDING_DIM)
    # The aligned crop as the user sees it (JPEG); for a face cut by the photo's edge it is
    # neutral grey where the network was given something else (see NetworkCrop).
    thumbnail = models.BinaryField(editable=False)
    person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="faces")
    class PersonState(models.TextChoices):
        """How the face got its person."""

        NONE = "", "none"
        AUTO = "auto", "auto"  # grouping or a suggested name; re-runs may move it
        CONFIRMED = "confirmed", "confirmed"  # the user said so; nothing automatic ever moves it

    person_state = models.CharField(max_length=10, blank=True, default=PersonState.NONE, choices=PersonState.choices)
    person_confidence = models.FloatField(null=True, blank=True)
    # The group the last grouping run put this face in (the id of that run's unnamed person
    # for it), kept when the face is later named or moved: naming one face of a group then
    # suggests the name for its group-mates (webapp/people/propagation.py).
    group_key = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Source(models.TextChoices):
        DETECTED = "detected", "detected"
        DRAWN = "drawn", "drawn by the user"  # re-processing its photo keeps it (webapp/faces/drawn.py)

    source = models.CharField(max_length=10, default=Source.DETECTED, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # No vector index here: nearest-neighbour search scans FaceSearchVector's.
        indexes = [models.Index(fields=["owner", "embedding_model"])]

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.box_x0, self.box_y0, self.box_x1, self.box_y1)

    @property
    def box_width(self) -> float:
        return self.box_x1 - self.box_x0

    @property
    def box_height(self) -> float:
        return self.box_y1 - self.box_y0


class NetworkCrop(models.Model):
    """The aligned crop the network embedded (JPEG), kept only where the thumbnail differs
    from it: a face cut by its photo's edge, shown with neutral grey beyond the edge while
    the network was given the photo's edge pixels repeated (ml/faces/align.py says why).
    Re-embedding such a face when its photo is lost uses this, never the grey thumbnail."""

    face = models.OneToOneField(Face, on_delete=models.CASCADE, primary_key=True, related_name="network_crop")
    jpeg = models.BinaryField(editable=False)


class FaceSearchVector(models.Model):
    """The copy of ``Face.embedding`` (with the two columns every search filters on) that
    nearest-neighbour search scans through its HNSW index; only database triggers write it
    (migration 0013), so every way a face is inserted, re-embedded or deleted, raw SQL and
    COPY included, keeps it equal to the face.

    Why a table of its own: an UPDATE of a row is a new row version, and PostgreSQL adds a
    new entry for it to every index of the table unless no indexed column changed and the
    page has room (a "HOT" update). Grouping and naming change ``person_id`` and
    ``group_key``, which are indexed, so in ``faces_face`` each of those writes also
    re-inserted the face into the HNSW graph: nine tenths of their cost, about 0.7 ms a
    face (bench/people.py --profile). Here the row changes only when the vector does."""

    face = models.OneToOneField(Face, on_delete=models.CASCADE, primary_key=True, related_name="+")
    owner_id = models.BigIntegerField()
    embedding_model_id = models.BigIntegerField()
    embedding = VectorField(dimensions=EMBEDDING_DIM)

    class Meta:
        indexes = [
            HnswIndex(name="face_search_vector_hnsw", fields=["embedding"], m=16, ef_construction=64,
                      opclasses=["vector_cosine_ops"]),
            # The exact scans (a small library, a radius too full for the index) read one
            # user's rows, not the whole table.
            models.Index(fields=["owner_id", "embedding_model_id"], name="face_search_vector_owner"),
        ]


class FaceEmbedding(models.Model):
    """A face's embedding under a version other than the one in ``Face.embedding``.

    Two uses: staging while faces are re-embedded for a switch of versions (searches keep
    reading ``Face.embedding`` until the switch swaps the columns in one transaction), and
    the previous version's vectors kept after a switch so a rollback is immediate for the
    faces that existed then. Never searched, hence no vector index."""

    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="other_embeddings")
    embedding_model = models.ForeignKey(EmbeddingModel, on_delete=models.CASCADE, related_name="+")
    embedding = VectorField(dimensions=EMBEDDING_DIM)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["face", "embedding_model"], name="one_embedding_per_face_and_version"),
        ]
        indexes = [models.Index(fields=["embedding_model", "face"])]


class PhotoRegion(models.Model):
    """A box on a photo, in pixels of the full-resolution, EXIF-rotated photo, that
    outlives the face found there: matched by overlap when the photo is processed again."""

    box_x0 = models.FloatField()
    box_y0 = models.FloatField()
    box_x1 = models.FloatField()
    box_y1 = models.FloatField()

    class Meta:
        abstract = True

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.box_x0, self.box_y0, self.box_x1, self.box_y1)


class DismissedFace(PhotoRegion):
    """A face the user said is not a face. The Face row itself is deleted, so no query
    anywhere can show it; this keeps its box, so re-processing the photo never finds it
    again, and the whole row, so undo puts it back as it was, under the same id."""

    photo = models.ForeignKey("photos.Photo", on_delete=models.CASCADE, related_name="dismissed_faces")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    face_id = models.BigIntegerField(unique=True, help_text="The id the face had, and gets back on undo")
    # The face's columns, its NetworkCrop and its other versions' embeddings (webapp/faces/drawn.py).
    row = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)


class KeptName(PhotoRegion):
    """The person of a face whose photo's file went missing (an external library's file
    deleted or unreachable at a rescan): the face itself leaves with its photo's faces, so
    the people views no longer show it, and this row gives the person back to the face
    found again at the same place when the file returns (webapp/faces/keptnames.py)."""

    photo = models.ForeignKey("photos.Photo", on_delete=models.CASCADE, related_name="kept_names")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    person_state = models.CharField(max_length=10, choices=Face.PersonState.choices)
    person_confidence = models.FloatField(null=True, blank=True)
    group_key = models.BigIntegerField(null=True, blank=True)
