"""Using embeddings: clustering faces into people, the k-NN name vote and the 2-D face map."""
