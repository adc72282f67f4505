"""Photo to embedding: decoding, detection, alignment, networks, checkpoints and the per-batch pipeline."""
