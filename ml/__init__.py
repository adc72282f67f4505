"""Visage's face pipeline as a plain numpy/PyTorch package (never imports Django).

decode (imageio) -> detect 5 landmarks (detect) -> align (align) -> embed (embed, nets)
-> compare with cosine distance (verification, knn). ``pipeline.FacePipeline`` chains
the stages for the worker; checkpoints (checkpoint) carry everything a network needs.
"""
