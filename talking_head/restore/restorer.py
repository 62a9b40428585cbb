"""Face restorers loaded through spandrel, run batched on CPU or CUDA, and the
two ways the pipeline uses them: once on the photo, or on every frame.

Two restorers:

* GFPGAN v1.4 (the paper's): works on the aligned 512 crop directly; inputs
  and outputs in [-1, 1] (GFPGAN's normalisation, not spandrel's [0, 1]). Its
  StyleGAN2 decoder injects noise; we use the noise maps stored in the
  checkpoint instead of fresh noise per call, so one face always gives one
  result and frames mode does not add noise flicker.
* Real-ESRGAN x4plus: a super-resolution model, not a face model. Used as a
  restorer by shrinking the aligned 512 crop to 128 (area filter) and
  upscaling it x4 back to 512: the result is a de-noised, sharpened face.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..compat import import_torchvision
from ..errors import WeightsError
from . import align, weights

RESTORE_MODES = ("off", "reference", "frames")
RESTORERS = ("auto", "gfpgan", "realesrgan")
ENTRY_OF = {"gfpgan": weights.GFPGAN_V14, "realesrgan": weights.REALESRGAN_X4PLUS}


def _spandrel():
    import_torchvision()  # spandrel imports torchvision; see compat.py
    import spandrel

    return spandrel


def gfpgan_hyperparameters(state: dict[str, torch.Tensor]) -> dict:
    """GFPGANv1Clean constructor arguments read from a state dict's shapes.

    spandrel's own GFPGAN loader always builds the released 512-px, channel
    multiplier 2, full-width network; reading the sizes lets the same code load
    narrow test models (the released weights give exactly spandrel's values).

    Raises:
        WeightsError: the shapes fit no GFPGANv1Clean configuration.
    """
    downs = {int(k.split(".")[1]) for k in state if k.startswith("conv_body_down.")}
    log_size = len(downs) + 2
    out_size = 2**log_size
    channels_4 = state["final_conv.weight"].shape[0]  # int(512 * narrow / 2)
    narrow = channels_4 / 256.0
    first = state["conv_body_first.weight"].shape[0]  # int(base * multiplier * narrow / 2)
    base = {64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}.get(out_size)
    multiplier = next(
        (m for m in (1, 2, 4) if base is not None and int(base * m * narrow * 0.5) == first), None
    )
    if multiplier is None:
        raise WeightsError(f"GFPGAN weights of an unsupported size ({out_size} px, {first} first channels)")
    style = state["stylegan_decoder.style_mlp.1.weight"].shape[0]
    mlp = sum(1 for k in state if k.startswith("stylegan_decoder.style_mlp.") and k.endswith(".weight"))
    scale_out = state["condition_scale.0.2.weight"].shape[0]
    return dict(
        out_size=out_size,
        num_style_feat=style,
        channel_multiplier=multiplier,
        num_mlp=mlp,
        narrow=narrow,
        different_w=state["final_linear.weight"].shape[0] != style,
        sft_half=scale_out == state["condition_scale.0.0.weight"].shape[0],
        input_is_latent=True,
        fix_decoder=False,
    )


def _gfpgan_any_size_arch():
    """A spandrel Architecture for GFPGANv1Clean of any size (see above)."""
    spandrel = _spandrel()
    from spandrel.architectures.GFPGAN import GFPGAN, GFPGANArch

    class GFPGANAnySize(spandrel.Architecture):
        def __init__(self) -> None:
            super().__init__(id="talking_head.GFPGAN", detect=GFPGANArch().detect)

        def load(self, state_dict):
            params = gfpgan_hyperparameters(state_dict)
            model = GFPGAN(**params)
            return spandrel.ImageModelDescriptor(
                model,
                state_dict,
                architecture=self,
                purpose="FaceSR",
                tags=[f"{params['out_size']}px"],
                supports_half=False,
                supports_bfloat16=True,
                scale=1,
                input_channels=3,
                output_channels=3,
                size_requirements=spandrel.SizeRequirements(minimum=params["out_size"]),
            )

    return GFPGANAnySize()


def load_descriptor(state: dict[str, torch.Tensor], device: str | torch.device = "cpu"):
    """spandrel descriptor of a restorer state dict (GFPGAN any size, or any
    architecture spandrel knows, e.g. ESRGAN).

    Raises:
        WeightsError: spandrel recognises no architecture, or the tensors do
            not fit the one it detected.
    """
    spandrel = _spandrel()
    registry = spandrel.MAIN_REGISTRY.copy()
    registry.add(spandrel.ArchSupport.from_architecture(_gfpgan_any_size_arch(), before=("GFPGAN",)))
    try:
        descriptor = spandrel.ModelLoader(device=device, registry=registry).load_from_state_dict(state)
    except spandrel.UnsupportedModelError:
        raise WeightsError("these weights are no architecture spandrel knows") from None
    except (RuntimeError, KeyError) as error:
        raise WeightsError(f"these weights do not fit their architecture ({str(error).splitlines()[0]})") from None
    return descriptor.eval()


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` -> CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass(frozen=True)
class CropPlan:
    """How aligned 512 crops reach the network: at ``input_size``, giving
    ``input_size * scale`` px, in [-1, 1] (``signed``) or [0, 1]."""

    input_size: int
    scale: int
    signed: bool


class Restorer:
    """One loaded restorer: restores aligned 512x512 face crops, in batches.

    Args:
        descriptor: a spandrel ImageModelDescriptor (GFPGAN or ESRGAN family).
        name: for messages and benchmarks.
        device: where it runs.
        batch_size: crops per forward pass.

    Attributes:
        plan: the size and value range crops enter the network at.
        mask: (512, 512) float32 soft face mask used for the paste-back.
    """

    def __init__(self, descriptor, name: str = "", device: str | torch.device = "cpu", batch_size: int = 4):
        arch = descriptor.architecture.id
        if arch in ("GFPGAN", "talking_head.GFPGAN"):
            size = descriptor.size_requirements.minimum or align.FACE_SIZE
            self.plan = CropPlan(input_size=size, scale=1, signed=True)
        elif descriptor.scale > 1 and descriptor.input_channels == 3:
            self.plan = CropPlan(input_size=align.FACE_SIZE // descriptor.scale, scale=descriptor.scale, signed=False)
        else:
            raise WeightsError(f"{arch} models (scale {descriptor.scale}) cannot be used as a face restorer")
        self.device = torch.device(device)
        # fp16 only where it is fast and the architecture supports it.
        self.dtype = torch.float16 if self.device.type == "cuda" and descriptor.supports_half else torch.float32
        self.descriptor = descriptor.to(self.device).to(self.dtype)
        self.architecture = arch
        self.name = name or arch
        self.batch_size = max(1, int(batch_size))
        self.mask = align.face_mask()

    @classmethod
    def from_file(
        cls, path: str | Path, device: str = "auto", name: str | None = None, batch_size: int = 4
    ) -> "Restorer":
        """Load weights from a file (``.pth`` with weights_only, or ``.safetensors``)."""
        state = _spandrel().canonicalize_state_dict(weights.load_state_dict(path))
        return cls(load_descriptor(state), name=name or Path(path).stem, device=resolve_device(device),
                   batch_size=batch_size)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        model = self.descriptor.model
        if self.plan.signed:
            out = model(batch * 2.0 - 1.0, return_rgb=False, randomize_noise=False)[0]
            return (out.clamp(-1.0, 1.0) + 1.0) * 0.5
        return model(batch).clamp(0.0, 1.0)

    def restore_faces(self, faces: np.ndarray) -> np.ndarray:
        """Restore aligned face crops.

        Args:
            faces: (N, 512, 512, 3) uint8 RGB, aligned to ``align.TEMPLATE_512``.
        Returns:
            (N, 512, 512, 3) uint8 RGB.
        """
        faces = np.asarray(faces)
        if faces.ndim != 4 or faces.shape[1:] != (align.FACE_SIZE, align.FACE_SIZE, 3) or faces.dtype != np.uint8:
            raise ValueError(f"expected (N, 512, 512, 3) uint8 crops, got {faces.shape} {faces.dtype}")
        size = self.plan.input_size
        out = np.empty_like(faces)
        for start in range(0, len(faces), self.batch_size):
            chunk = faces[start : start + self.batch_size]
            if size != align.FACE_SIZE:
                chunk = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in chunk])
            tensor = torch.from_numpy(np.ascontiguousarray(chunk)).to(self.device)
            # Contiguous NCHW: GFPGAN's encoder .view()s its features.
            tensor = tensor.permute(0, 3, 1, 2).contiguous().to(self.dtype) / 255.0
            with torch.inference_mode():
                result = self._forward(tensor)
            result = (result.float() * 255.0).round().byte().permute(0, 2, 3, 1).cpu().numpy()
            if result.shape[1] != align.FACE_SIZE:
                result = np.stack(
                    [cv2.resize(r, (align.FACE_SIZE,) * 2, interpolation=cv2.INTER_CUBIC) for r in result]
                )
            out[start : start + len(chunk)] = result
        return out

    def upscale_face(self, crop: np.ndarray) -> np.ndarray:
        """Super-resolve an aligned crop at its own size (scale > 1 models only).

        Args:
            crop: (S, S, 3) uint8 aligned to the template scaled to S.
        Returns:
            (512, 512, 3) uint8: the model's (scale * S)-px output, resized to 512.
        """
        if self.plan.scale == 1:
            raise ValueError(f"{self.name} does not super-resolve; use restore_faces")
        tensor = torch.from_numpy(np.ascontiguousarray(crop)).to(self.device)
        tensor = tensor.permute(2, 0, 1)[None].contiguous().to(self.dtype) / 255.0
        with torch.inference_mode():
            result = self._forward(tensor)
        result = (result[0].float() * 255.0).round().byte().permute(1, 2, 0).cpu().numpy()
        interpolation = cv2.INTER_AREA if result.shape[0] > align.FACE_SIZE else cv2.INTER_CUBIC
        return cv2.resize(result, (align.FACE_SIZE,) * 2, interpolation=interpolation)

    def restore_frame(self, frame: np.ndarray, five: np.ndarray) -> np.ndarray:
        """Restore the face of one image.

        Args:
            frame: (H, W, 3) uint8 RGB.
            five: (5, 2) image-space points (``align.five_points``).
        Returns:
            (H, W, 3) uint8, a new array.
        """
        return restore_frames([frame], [five], self)[0]


def choose_restorer(kind: str = "auto", directory: str | Path | None = None) -> weights.WeightsEntry:
    """The weights entry for ``kind``: auto = GFPGAN if its file is cached, else Real-ESRGAN."""
    if kind not in RESTORERS:
        raise ValueError(f"restorer must be one of {RESTORERS}, got {kind!r}")
    if kind == "auto":
        return weights.GFPGAN_V14 if weights.is_cached(weights.GFPGAN_V14, directory) else weights.REALESRGAN_X4PLUS
    return ENTRY_OF[kind]


def load_restorer(
    kind: str | weights.WeightsEntry = "auto",
    *,
    device: str = "auto",
    directory: str | Path | None = None,
    download: bool = True,
    progress: bool = True,
    batch_size: int = 4,
) -> Restorer:
    """Fetch (download or convert, verified) and load a restorer.

    Args:
        kind: ``auto``, ``gfpgan``, ``realesrgan``, or a registry entry.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        directory: weights folder (default: $TALKING_HEAD_WEIGHTS or weights/).
    Raises:
        WeightsError: the weights cannot be fetched or loaded.
    """
    entry = kind if isinstance(kind, weights.WeightsEntry) else choose_restorer(kind, directory)
    path = weights.fetch(entry, directory, download=download, progress=progress)
    return Restorer.from_file(path, device=device, name=entry.name, batch_size=batch_size)


def iter_restore_frames(
    frames: Iterable[np.ndarray], fives: Iterable[np.ndarray], restorer: Restorer
) -> Iterator[np.ndarray]:
    """Restore the face in each frame of a stream, ``restorer.batch_size`` at a time.

    Args:
        frames: (H, W, 3) uint8 RGB images.
        fives: per frame, (5, 2) image-space points (``align.five_points``).
    Yields:
        restored frames, in order.
    """
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def flush() -> Iterator[np.ndarray]:
        restored = restorer.restore_faces(np.stack([crop for _, _, crop, _ in pending]))
        for (frame, matrix, crop, inside), face in zip(pending, restored):
            weights_ = restorer.mask * inside
            face = align.match_colour(face, crop, weights_)
            yield align.paste_back(frame, face, weights_, matrix)
        pending.clear()

    for frame, five in zip(frames, fives, strict=True):
        matrix = align.alignment_matrix(five)
        crop, inside = align.align_face(frame, matrix)
        pending.append((frame, matrix, crop, inside))
        if len(pending) == restorer.batch_size:
            yield from flush()
    if pending:
        yield from flush()


def restore_frames(frames: Sequence[np.ndarray], fives: Sequence[np.ndarray], restorer: Restorer) -> np.ndarray:
    """Frames mode: restore every frame (batched).

    Args:
        frames: (N, H, W, 3) uint8 RGB (array or sequence of equal-size frames).
        fives: (N, 5, 2) image-space points per frame.
    Returns:
        (N, H, W, 3) uint8.
    """
    restored = list(iter_restore_frames(frames, fives, restorer))
    if not restored:
        return np.asarray(frames, dtype=np.uint8)
    return np.stack(restored)


# Native-scale super-resolution reads the face at most this many px across
# (CPU time grows with its square: ~2.3x the 128 px input at 192).
NATIVE_MAX_INPUT = 192


def restore_photo(image: np.ndarray, landmarks, restorer: Restorer, upscale: bool = False,
                  max_side: int = 4096, native: bool = False, strength: float = 1.0) -> np.ndarray:
    """Reference mode: restore the photo's face once, before texture sampling.

    Args:
        image: (H, W, 3) uint8 RGB photo.
        landmarks: ``FaceLandmarks`` or (468+, 2|3) image-space points.
        upscale: first enlarge the photo (bicubic) until its face is as large
            as in the 512 aligned crop (long side at most ``max_side``), so the
            restored detail survives the paste-back instead of being shrunk to
            the photo's resolution. The caller must then detect landmarks on
            the returned, larger image.
        native: for super-resolution restorers (Real-ESRGAN): feed the model
            the face at the photo's own resolution (at most
            ``NATIVE_MAX_INPUT`` px, at least its 128 px input) instead of the
            512 crop shrunk to 128, so the enlargement is the model's, from
            the photo's real pixels. GFPGAN ignores it (its input is 512).
        strength: blend of the restored face over the original, in [0, 1].
    Returns:
        (H', W', 3) uint8, the photo with its face restored; H' = H and W' = W
        unless ``upscale``.
    """
    points = getattr(landmarks, "points", landmarks)
    five = align.five_points(points)
    original, original_five = image, five
    if upscale:
        matrix = align.alignment_matrix(five)
        factor = min(float(np.hypot(matrix[0, 0], matrix[0, 1])), max_side / max(image.shape[:2]))
        if factor > 1.0:
            height, width = image.shape[:2]
            size = (round(width * factor), round(height * factor))
            image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
            # Continuous image coordinates scale with the image (pixel edges at integers).
            five = five * [size[0] / width, size[1] / height]
    strength = float(np.clip(strength, 0.0, 1.0))
    if not (native and restorer.plan.scale > 1) and strength == 1.0:
        return restorer.restore_frame(image, five)
    matrix = align.alignment_matrix(five)
    crop, inside = align.align_face(image, matrix)
    if native and restorer.plan.scale > 1:
        # Template px per original photo px: the crop at native scale is 512 / k px.
        native_matrix = align.alignment_matrix(original_five)
        k = float(np.hypot(native_matrix[0, 0], native_matrix[0, 1]))
        side = int(np.clip(round(align.FACE_SIZE / k), restorer.plan.input_size, NATIVE_MAX_INPUT))
        small, _ = align.align_face(original, align.alignment_matrix(original_five, size=side), size=side)
        restored = restorer.upscale_face(small)
    else:
        restored = restorer.restore_faces(crop[None])[0]
    weights_ = restorer.mask * inside
    restored = align.match_colour(restored, crop, weights_)
    return align.paste_back(image, restored, weights_ * strength, matrix)
