"""Scores the faces stored before Face.quality existed, from what was stored with them:
the thumbnail (the aligned crop as shown), box, landmarks and detector score."""
import io

import numpy as np
from django.db import migrations
from PIL import Image

from ml.faces.quality import face_quality

BATCH = 500


def backfill(apps, schema_editor):
    Face = apps.get_model("faces", "Face")
    last = 0
    while True:
        faces = list(
            Face.objects.filter(quality__isnull=True, pk__gt=last).order_by("pk")
            .only("box_x0", "box_y0", "box_x1", "box_y1", "landmarks", "detection_score", "thumbnail", "source")[:BATCH]
        )
        if not faces:
            return
        last = faces[-1].pk
        for face in faces:
            try:
                crop = np.asarray(Image.open(io.BytesIO(bytes(face.thumbnail))).convert("RGB"))
            except OSError:
                continue  # no readable thumbnail: left unscored, which counts as good enough
            # A face the user drew is a face by their word (webapp/faces/services.py face_from_record).
            score = 1.0 if face.source == "drawn" else face.detection_score
            face.quality = face_quality(
                crop, (face.box_x0, face.box_y0, face.box_x1, face.box_y1), np.asarray(face.landmarks), score
            )
        Face.objects.bulk_update(faces, ["quality"])


class Migration(migrations.Migration):

    dependencies = [
        ('faces', '0011_face_quality'),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
