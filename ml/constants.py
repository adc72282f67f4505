"""Constants shared by every part of Visage: one embedding size, one distance."""

EMBEDDING_DIM = 128
# Similarity everywhere is cosine distance 1 - <a, b> between L2-normalised embeddings.
DISTANCE = "cosine"
