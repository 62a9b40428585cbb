"""Measuring outputs from their pixels: lip sync, jitter, sharpness, flicker."""
