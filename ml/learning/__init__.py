"""Triplet-loss training: cached aligned faces, P x K sampling, online mining, the loss, export and weight conversion."""
