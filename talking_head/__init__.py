"""Audio-driven talking heads from one photo (Lv et al., ACM MM 2022)."""

__version__ = "0.1.0"
