"""Measuring networks: verification on pairs files, comparing a retrained network with its base, album checks."""
