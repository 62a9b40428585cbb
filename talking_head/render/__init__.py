"""Rasterising, shading and compositing the textured face."""
