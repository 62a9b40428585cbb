"""ncnn -> PyTorch conversion: a tiny RRDBNet written in ncnn's format by the test
(exact round trip, both storage tags, padding, errors), and the bundled x4plus
against ncnn's own CPU inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from talking_head.errors import WeightsError
from talking_head.restore import ncnn_convert
from talking_head.restore.restorer import load_descriptor


@pytest.fixture(autouse=True)
def one_torch_thread():
    """On a busy 2-core machine torch's thread pool makes small convolutions
    many times slower; one thread is steady."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_rrdbnet(blocks: int = 1, feat: int = 8, growth: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random RRDBNet weights in Real-ESRGAN's key layout, fp16-representable
    (spandrel reads every size from the shapes except the growth, fixed at 32)."""
    rng = np.random.default_rng(seed)
    shapes = {"conv_first": (feat, 3)}
    for b in range(blocks):
        for r in (1, 2, 3):
            for c in range(1, 6):
                shapes[f"body.{b}.rdb{r}.conv{c}"] = (growth if c < 5 else feat, feat + (c - 1) * growth)
    shapes.update(conv_body=(feat, feat), conv_up1=(feat, feat), conv_up2=(feat, feat), conv_hr=(feat, feat))
    shapes["conv_last"] = (3, feat)
    state = {}
    for name, (out, inp) in shapes.items():
        weight = rng.normal(0, 0.1, (out, inp, 3, 3)).astype(np.float16).astype(np.float32)
        state[f"{name}.weight"] = torch.from_numpy(weight)
        state[f"{name}.bias"] = torch.from_numpy(rng.normal(0, 0.1, out).astype(np.float32))
    return state


def to_ncnn(state: dict[str, torch.Tensor], float32_layers: tuple[int, ...] = ()) -> tuple[str, bytes]:
    """Write ``state`` as ncnn .param text (convolutions between weightless
    layers) and .bin bytes (fp16 weights, or fp32 for ``float32_layers``)."""
    names = [k[: -len(".weight")] for k in state if k.endswith(".weight")]
    lines = ["Input data 0 1 data"]
    blob = "data"
    chunks = []
    for i, name in enumerate(names):
        weight = state[f"{name}.weight"].numpy()
        out = weight.shape[0]
        lines.append(f"Convolution conv{i} 1 1 {blob} b{i} 0={out} 1=3 11=3 4=1 5=1 6={weight.size} 9=2 -23310=1,2.0e-01")
        lines.append(f"Split split{i} 1 2 b{i} b{i}a b{i}b")
        blob = f"b{i}a"
        if i in float32_layers:
            chunks += [np.uint32(0).tobytes(), weight.astype("<f4").tobytes()]
        else:
            chunks += [np.uint32(0x01306B47).tobytes(), weight.astype("<f2").tobytes()]
        chunks.append(state[f"{name}.bias"].numpy().astype("<f4").tobytes())
    lines.insert(0, f"7767517\n{len(lines)} {len(lines) * 2}")
    return "\n".join(lines) + "\n", b"".join(chunks)


def test_tiny_rrdbnet_round_trip_is_exact():
    state = tiny_rrdbnet()
    param, data = to_ncnn(state, float32_layers=(0, 7))
    converted = ncnn_convert.convert_rrdbnet(param, data)
    assert list(converted) == list(state)
    for key in state:
        assert torch.equal(converted[key], state[key]), key


def test_converted_tiny_model_loads_as_esrgan_x4():
    descriptor = load_descriptor(ncnn_convert.convert_rrdbnet(*to_ncnn(tiny_rrdbnet(blocks=2))))
    assert descriptor.architecture.id == "ESRGAN" and descriptor.scale == 4
    with torch.inference_mode():
        assert descriptor.model(torch.rand(1, 3, 8, 8)).shape == (1, 3, 32, 32)


def test_float16_weights_are_padded_to_four_bytes():
    conv = ncnn_convert.NcnnConv("c", out_channels=3, in_channels=1, kernel=(1, 1), bias=False)
    weights = np.array([1.0, -2.0, 0.5], dtype="<f2")
    data = np.uint32(0x01306B47).tobytes() + weights.tobytes() + b"\0\0"
    [(weight, bias)] = ncnn_convert.read_conv_weights(data, [conv])
    np.testing.assert_array_equal(weight.ravel(), [1.0, -2.0, 0.5])
    assert bias is None


def test_mismatched_files_are_rejected():
    param, data = to_ncnn(tiny_rrdbnet())
    with pytest.raises(WeightsError, match="ends inside"):
        ncnn_convert.convert_rrdbnet(param, data[:-10])
    with pytest.raises(WeightsError, match="bytes left"):
        ncnn_convert.convert_rrdbnet(param, data + b"\0" * 8)
    with pytest.raises(WeightsError, match="storage tag"):
        ncnn_convert.convert_rrdbnet(param, b"\x01\x02\x03\x04" + data[4:])
    with pytest.raises(WeightsError, match="first line"):
        ncnn_convert.parse_param("hello\n")
    with pytest.raises(WeightsError, match="InnerProduct"):
        ncnn_convert.parse_param("7767517\n1 1\nInnerProduct fc 1 1 a b 0=4 6=16\n")
    with pytest.raises(WeightsError, match="RRDBNet"):
        ncnn_convert.rrdbnet_names(20)


def test_bundled_x4plus_matches_ncnn_inference():
    """The converted network against ncnn's own CPU inference on the same 16x16 input."""
    ncnn = pytest.importorskip("ncnn", reason="the ncnn package is the independent reference")
    param, weights = ncnn_convert.bundled_ncnn_files()
    state = ncnn_convert.convert_rrdbnet(param.read_text(), weights.read_bytes())
    assert len(state) == 2 * 351
    descriptor = load_descriptor(state)
    x = np.random.default_rng(1).random((3, 16, 16), dtype=np.float32)
    with torch.inference_mode():
        ours = descriptor.model(torch.from_numpy(x)[None])[0].numpy()

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.use_fp16_storage = net.opt.use_fp16_packed = net.opt.use_fp16_arithmetic = False
    net.opt.num_threads = 1  # its spinning thread pool stalls on a busy machine
    assert net.load_param(str(param)) == 0 and net.load_model(str(weights)) == 0
    extractor = net.create_extractor()
    extractor.input("data", ncnn.Mat(x))
    status, out = extractor.extract("output")
    reference = np.array(out)
    del out, extractor  # before the net: an extractor outliving its net crashes
    assert status == 0 and reference.shape == ours.shape == (3, 64, 64)
    assert np.abs(ours - reference).max() < 1e-4
    assert reference.std() > 0.05  # a real image came out, not a constant
