"""The photo's own expression and the speech's mouth motion, combined.

Drivers move the mouth from rest (their driven columns start at 0, see
``drivers/base.DriveRequest.rest``), which erased the photo's expression: a
smiling photo talked with a small neutral mouth while the smile's creases
stayed in the texture at the old mouth corners (mouth width 0.85 of the
photo's). The rule here, per column group:

* **Widening shapes** (smile, stretch, dimple): the photo's value is a floor,
  speech adds within what is left, ``b + (1 - b) d`` (the blink rule): a smile
  stays as wide as in the photo, the corners sit where the creases are, and a
  spreading vowel can still widen it.
* **Everything else** (jaw, lip raisers, pucker, funnel, rolls): speech
  alone, as before, so the lips close in silence and on p, b, m.

Measured on the astronaut (a teeth-showing smile: smile 1.0, upper-lip raise
0.8, lower-lip drop 0.6), rendered at jaw 0-0.45 and re-detected with
MediaPipe, mouth width over the photo's: speech alone (the old rule) 0.76-0.86;
this rule 0.98-1.00 with the inner-lip gap 0.004 at rest (a closed-lip
smile). Keeping the lip raisers too (``max(d, b (1 - sealing))``) kept the
teeth showing (width 1.00-1.06) but left the lips 0.16 IOD apart in
silence, against the product's rule that the mouth closes when nobody speaks.
"""

from __future__ import annotations

import numpy as np

WIDENING = ("mouthSmile_L", "mouthSmile_R", "mouthStretch_L", "mouthStretch_R", "mouthDimple_L", "mouthDimple_R")


def keep_photo_expression(coeffs: np.ndarray, names: tuple[str, ...], base: np.ndarray,
                          driven: tuple[str, ...]) -> np.ndarray:
    """Put the photo's expression back under the speech-driven columns.

    Args:
        coeffs: (T, K) driver output; driven columns relative to rest (0).
        names: (K,) rig names.
        base: (K,) the photo's expression.
        driven: the names the driver moved.
    Returns:
        (T, K) float64; columns outside ``driven`` unchanged.
    """
    out = np.array(coeffs, dtype=np.float64)
    base = np.asarray(base, dtype=np.float64)
    index = {name: k for k, name in enumerate(names)}
    for name in driven:
        k = index[name]
        b = float(np.clip(base[k], 0.0, 1.0))
        if name in WIDENING:
            out[:, k] = b + (1.0 - b) * out[:, k]
    return out
