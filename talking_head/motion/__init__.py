"""Per-frame motion signals: smoothing, blinks."""
