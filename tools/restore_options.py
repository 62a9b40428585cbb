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
on the first photo, with random weights for timing only (its weights cannot be
downloaded offline), or its real weights when cached.
"""

from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np
import torch

from talking_head.eval.evaluate import face_sharpness
from talking_head.eval.identity import face_descriptor, identity_distance
from talking_head.face.landmarks import LandmarkDetector
from talking_head.media import load_image
from talking_head.render.compose import crop_photo, make_framing, to_output
from talking_head.restore import restorer, weights

# (name, restorer, native scale); each is measured at full strength and blended
# half-way over the bicubic enlargement (the paste-back is linear in strength,
# so the blend needs no second run).
OPTIONS = (
    ("off", None, False),
    ("realesrgan enlarged", "realesrgan", False),
    ("realesrgan native", "realesrgan", True),
)
STRENGTHS = (1.0, 0.5)


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

        def measure(path, name, image, seconds, reference):
            found = detector.detect(load_image(image))
            framing = make_framing(found, "crop", args.size)
            framed = crop_photo(image, framing)
            points = to_output(found.points, framing)
            row = {"photo": path, "option": name, "seconds": round(seconds, 2),
                   "cpbd": round(face_sharpness(framed, points), 4),
                   "identity": round(identity_distance(face_descriptor(framed, points), reference), 4)}
            rows.append(row)
            print(f"{path:40} {name:28} {seconds:7.2f} s  CPBD {row['cpbd']}  identity {row['identity']}", flush=True)

        for index, path in enumerate(args.photos):
            photo = load_image(path)
            landmarks = detector.detect(photo)
            reference = face_descriptor(photo.rgb, landmarks.points)
            for name, model, native in OPTIONS:
                if model is None:
                    measure(path, name, photo.rgb, 0.0, reference)
                    continue
                start = time.perf_counter()
                image = restorer.restore_photo(photo.rgb, landmarks, models[model], upscale=True, native=native)
                seconds = time.perf_counter() - start
                # The same bicubic enlargement restore_photo starts from.
                enlarged = cv2.resize(photo.rgb, image.shape[1::-1], interpolation=cv2.INTER_CUBIC)
                for strength in STRENGTHS:
                    blend = np.clip(np.rint(strength * image.astype(np.float32)
                                            + (1 - strength) * enlarged.astype(np.float32)), 0, 255).astype(np.uint8)
                    measure(path, f"{name} {strength:.1f}", blend, seconds, reference)
            if index == 0:
                model = models["gfpgan"]
                start = time.perf_counter()
                image = restorer.restore_photo(photo.rgb, landmarks, model, upscale=True)
                seconds = time.perf_counter() - start
                if random_gfpgan:
                    rows.append({"photo": path, "option": "gfpgan (random weights, timing only)",
                                 "seconds": round(seconds, 2), "cpbd": None, "identity": None})
                    print(f"{path:40} gfpgan (random weights)      {seconds:7.2f} s", flush=True)
                else:
                    measure(path, "gfpgan 1.0", image, seconds, reference)
    print("\nmean over photos:")
    for name in dict.fromkeys(r["option"] for r in rows):
        chosen = [r for r in rows if r["option"] == name]
        cpbds = [r["cpbd"] for r in chosen if r["cpbd"] is not None]
        ids = [r["identity"] for r in chosen if r["identity"] is not None]
        print(f"{name:36} {np.mean([r['seconds'] for r in chosen]):7.2f} s  "
              f"CPBD {np.mean(cpbds) if cpbds else float('nan'):.4f}  identity {np.mean(ids) if ids else float('nan'):.4f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
