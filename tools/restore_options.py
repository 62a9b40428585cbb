"""Compare reference-mode restoration options by the published CPBD and identity.

Usage::

    python -m tools.restore_options PHOTO [PHOTO ...] [--size 512] [--json OUT]

For each photo and option, restores the photo once (reference mode), frames it
as the pipeline does (crop, ``--size`` px) and measures what the video shows
of a face at rest (with one resampling the rendered face is the framed
photo's own pixels): the published CPBD of the face at 256 px
(``evaluate.face_sharpness``) and the dlib identity distance to the original
photo's face. Options: off; Real-ESRGAN x4plus on the 512 crop shrunk to 128
("enlarged", the earlier default) or on the face at the photo's own
resolution ("native"), each at full strength or blended half-way; GFPGAN v1.4
with random weights for timing only (its weights cannot be downloaded
offline), or its real weights when cached.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from talking_head.eval.evaluate import face_sharpness
from talking_head.eval.identity import face_descriptor, identity_distance
from talking_head.face.landmarks import LandmarkDetector
from talking_head.media import load_image
from talking_head.render.compose import crop_photo, make_framing, to_output
from talking_head.restore import restorer, weights

OPTIONS = (
    ("off", None, False, 1.0),
    ("realesrgan enlarged 1.0", "realesrgan", False, 1.0),
    ("realesrgan enlarged 0.5", "realesrgan", False, 0.5),
    ("realesrgan native 1.0", "realesrgan", True, 1.0),
    ("realesrgan native 0.5", "realesrgan", True, 0.5),
    ("gfpgan", "gfpgan", False, 1.0),
)


def gfpgan() -> restorer.Restorer:
    if weights.is_cached(weights.GFPGAN_V14):
        return restorer.load_restorer("gfpgan", download=False)
    restorer._spandrel()
    from spandrel.architectures.GFPGAN import GFPGAN

    torch.manual_seed(0)
    return restorer.Restorer(restorer.load_descriptor(GFPGAN().state_dict()), name="gfpgan (random weights)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--json")
    args = parser.parse_args()
    models = {"realesrgan": restorer.load_restorer("realesrgan", download=False, progress=False), "gfpgan": gfpgan()}
    random_gfpgan = "random" in models["gfpgan"].name
    rows = []
    with LandmarkDetector() as detector:
        for path in args.photos:
            photo = load_image(path)
            landmarks = detector.detect(photo)
            reference = face_descriptor(photo.rgb, landmarks.points)
            for name, model, native, strength in OPTIONS:
                start = time.perf_counter()
                image = photo.rgb
                if model is not None:
                    image = restorer.restore_photo(photo.rgb, landmarks, models[model], upscale=True,
                                                   native=native, strength=strength)
                seconds = time.perf_counter() - start
                found = detector.detect(load_image(image))
                framing = make_framing(found, "crop", args.size)
                framed = crop_photo(image, framing)
                points = to_output(found.points, framing)
                row = {"photo": path, "option": name, "seconds": round(seconds, 2),
                       "cpbd": round(face_sharpness(framed, points), 4),
                       "identity": round(identity_distance(face_descriptor(framed, points), reference), 4)}
                if model == "gfpgan" and random_gfpgan:
                    row["cpbd"] = row["identity"] = None  # random weights: timing only
                rows.append(row)
                print(f"{path:40} {name:26} {seconds:6.2f} s  CPBD {row['cpbd']}  identity {row['identity']}", flush=True)
    print("\nmean over photos:")
    for name, *_ in OPTIONS:
        chosen = [r for r in rows if r["option"] == name]
        cpbds = [r["cpbd"] for r in chosen if r["cpbd"] is not None]
        ids = [r["identity"] for r in chosen if r["identity"] is not None]
        print(f"{name:26} {np.mean([r['seconds'] for r in chosen]):6.2f} s  "
              f"CPBD {np.mean(cpbds) if cpbds else float('nan'):.4f}  identity {np.mean(ids) if ids else float('nan'):.4f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
