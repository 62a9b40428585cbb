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
* **Lip raisers** (``mouthUpperUp``, ``mouthLowerDown``): a smile that shows
  the teeth keeps them shown, ``max(d, b (1 - c))``, except while speech
  seals the lips (``c`` = driven ``mouthClose`` + ``mouthPress``, clipped to
  0..1), so p, b and m still close the mouth.
* **Everything else** (jaw, pucker, funnel, rolls): speech alone, as before,
  so the jaw closes in silence; the photo's fit gives these 0 anyway (except
  ``jawOpen``, which is set to rest on purpose).

Measured (``tools/measure_smile.py`` on the astronaut, a teeth-showing smile):
mouth width of the video over the photo's, see the module's tests and the
README of the tool.
"""

from __future__ import annotations

import numpy as np

WIDENING = ("mouthSmile_L", "mouthSmile_R", "mouthStretch_L", "mouthStretch_R", "mouthDimple_L", "mouthDimple_R")
LIP_RAISERS = ("mouthUpperUp", "mouthLowerDown")
SEALING = ("mouthClose", "mouthPress")


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
    sealing = np.zeros(len(out))
    for name in SEALING:
        if name in index and name in driven:
            sealing += out[:, index[name]]
    open_share = 1.0 - np.clip(sealing, 0.0, 1.0)
    for name in driven:
        k = index[name]
        b = float(np.clip(base[k], 0.0, 1.0))
        if b == 0.0:
            continue
        if name in WIDENING:
            out[:, k] = b + (1.0 - b) * out[:, k]
        elif name in LIP_RAISERS:
            out[:, k] = np.maximum(out[:, k], b * open_share)
    return out
