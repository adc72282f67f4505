"""Visage's face pipeline as a plain numpy/PyTorch package (never imports Django).

The folders follow the pipeline:

- ``faces``: decode a photo (imageio) -> detect faces with 5 landmarks (detect) -> align
  them to a network's template (align) -> embed (embed, nets); ``pipeline.FacePipeline``
  chains the stages for the worker; checkpoints (checkpoint) carry everything a network needs.
- ``grouping``: what the embeddings are used for: clustering into people (cluster), the
  k-NN name vote (knn), the 2-D face map (facemap).
- ``learning``: triplet-loss training on cached aligned faces (train, losses, mining,
  sampling, augment, facecache), export of a run and conversion of public weights.
- ``evaluation``: verification metrics on pairs (verification, evaluate), judging a
  retrained network against its base (model_compare), real-photo checks (albumcheck).
"""
