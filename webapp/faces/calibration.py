"""The calibration of a model version: what its distances mean (see ml.evaluation.calibration)."""
from __future__ import annotations

import json
from functools import lru_cache

from django.conf import settings

from ml.evaluation.calibration import Calibration, calibration_path
from webapp.faces.models import EmbeddingModel
from webapp.faces.registry import MIRROR_CHECKPOINT

# A pair is called "the same person" when at most 1 in 1,000 pairs of different people
# are as close, and "certainly" at 1 in 10,000.
SAME_PERSON_FAR = 1e-3
CERTAIN_FAR = 1e-4


def model_calibration(model: EmbeddingModel) -> Calibration:
    """The version's own calibration; for a version stored before versions were calibrated,
    the shipped version's, scaled to this version's balanced-pairs threshold (and saying so)."""
    if model.calibration:
        return _parsed(json.dumps(model.calibration, sort_keys=True))
    reference = _parsed(calibration_path(settings.MODELS_DIR / MIRROR_CHECKPOINT).read_text())
    return reference.scaled(model.same_person_threshold / reference.even_odds_distance(),
                            source=f"estimated from {MIRROR_CHECKPOINT}: v{model.version} was never calibrated")


@lru_cache(maxsize=16)
def _parsed(text: str) -> Calibration:
    return Calibration.from_dict(json.loads(text))


def same_person_distance(model: EmbeddingModel) -> float:
    return model_calibration(model).threshold_at_far(SAME_PERSON_FAR)


# In words, for pages that quote the calibration (same person?, pair suggestions).
def percent_text(share: float) -> str:
    """0.9992 -> "99.9", 0.42 -> "42", 0.0004 -> "less than 0.1"."""
    percent = 100 * share
    if percent < 0.1:
        return "less than 0.1"
    if percent > 99.9:
        return "more than 99.9"
    return f"{percent:.1f}" if percent < 1 or percent > 99 else f"{percent:.0f}"


def one_in(far: float) -> str:
    """0.00037 -> "1 in 2,700"."""
    n = 1 / far
    digits = max(0, len(str(int(n))) - 2)
    return f"1 in {round(n, -digits):,.0f}"
