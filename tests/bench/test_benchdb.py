"""The benches pick a model by its checkpoint file: version numbers differ per database."""
from __future__ import annotations

import pytest

from bench.benchdb import bench_model_use

pytestmark = pytest.mark.django_db


def test_a_new_database_numbers_the_mirror_model_2_so_a_file_names_it_everywhere():
    from webapp.faces.models import EmbeddingModel
    from webapp.faces.selectors import embedding_model_active

    assert dict(EmbeddingModel.objects.values_list("version", "checkpoint")) == {
        1: "dlib_resnet_v1.pt", 2: "dlib_resnet_v1_mirror.pt", 3: "fused_dlib_fr_feature.pt"}
    assert embedding_model_active().checkpoint == "dlib_resnet_v1_mirror.pt"

    chosen = bench_model_use("dlib_resnet_v1.pt", owner=None)  # no faces yet: only the flag moves
    assert (chosen.version, embedding_model_active().version) == (1, 1)
    assert list(EmbeddingModel.objects.filter(is_active=True).values_list("version", flat=True)) == [1]
    assert bench_model_use("dlib_resnet_v1_mirror.pt", owner=None).version == 2
    assert embedding_model_active().version == 2


def test_an_unknown_file_stops_the_bench_and_lists_what_this_database_has():
    with pytest.raises(SystemExit) as stopped:
        bench_model_use("facenet_v2.pt", owner=None)
    assert str(stopped.value) == ("no registered model has the checkpoint 'facenet_v2.pt'; "
                                  "this database has: v1 dlib_resnet_v1.pt, v2 dlib_resnet_v1_mirror.pt, "
                                  "v3 fused_dlib_fr_feature.pt")
