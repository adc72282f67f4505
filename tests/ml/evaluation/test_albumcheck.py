"""The real-photo check takes any registered model: a fused one gets each face aligned once
per template, in its templates' order, and embeds them as the app does."""
import numpy as np

from ml.evaluation.albumcheck import aligned_largest_faces, labelled_images, separation
from ml.faces.align import ARCFACE_112, DLIB_150, NETWORK_BORDER
from ml.faces.embed import load_embedder
from tests.ml.fusion.fused import export_test_model


def test_a_fused_model_gets_one_crop_per_template_and_separates_the_characters(ml_albums, ml_detector, ml_embedder, tmp_path):
    bbt = labelled_images(ml_albums)["bbt_characters"]
    items = [item for name in sorted({label for _, label in bbt})[:2] for item in [i for i in bbt if i[1] == name][:3]]
    fused = load_embedder(export_test_model(tmp_path), device="cpu", num_threads=2)
    crops, labels, missed, _at_edge = aligned_largest_faces(items, ml_detector, fused.templates, (NETWORK_BORDER,))
    dlib_crop, arcface_crop = crops[NETWORK_BORDER]
    assert missed == 0 and len(labels) == len(items) == 6
    assert dlib_crop.shape == (6, DLIB_150.size, DLIB_150.size, 3) and arcface_crop.shape == (6, ARCFACE_112.size, ARCFACE_112.size, 3)
    vectors = fused.embed(crops[NETWORK_BORDER])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    single, _, _, _ = aligned_largest_faces(items, ml_detector, ml_embedder.templates, (NETWORK_BORDER,))
    assert len(single[NETWORK_BORDER]) == 1
    np.testing.assert_array_equal(single[NETWORK_BORDER][0], dlib_crop)  # the same detection and alignment
    assert separation(ml_embedder.embed(single[NETWORK_BORDER]), labels)["rank1"] == 1.0
