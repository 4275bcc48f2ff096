"""Tests of seq2func.models: shapes, parameter counts, receptive fields (analytic, checked
empirically), replace_head, bf16 autocast, state-dict round trips and the Enformer adapter."""

from __future__ import annotations

import copy
import io
import json

import pytest
import torch
from torch import nn

from seq2func.models import build_model, count_params, init_output_bias, list_configs, load_config, replace_head
from seq2func.models.adapters import EnformerAdapter

torch.set_num_threads(2)


def one_hot_batch(b: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (b, length), generator=g)
    return nn.functional.one_hot(codes, 4).float().transpose(1, 2).contiguous()


def small_resnet() -> dict:
    return {"name": "resnet", "n_tracks": 3, "seq_len": 256, "stem_channels": 8, "stem_kernel": 7,
            "stage_channels": [8, 16], "stage_pools": [4, 4], "blocks_per_stage": 1, "kernel": 3, "hidden": 16}


def small_simple_cnn() -> dict:
    # same layer types as the paper's model, fewer kernels; 1809 bp -> 1800 conv positions -> 2 segments
    return {**load_config("simple_cnn"), "seq_len": 1809, "conv_channels": 12, "hidden": 8}


def tiny_basenji(n_tracks: int = 3) -> dict:
    return {**load_config("basenji_tiny"), "n_tracks": n_tracks}


# ----------------------------------------------------------------------------------------------
# a stand-in Enformer-style backbone: .trunk maps (B, L, 4) -> (B, bins, D), .heads a ModuleDict
# ----------------------------------------------------------------------------------------------
class _Transpose(nn.Module):
    def forward(self, x):
        return x.transpose(1, 2)


class TinyEnformerLike(nn.Module):
    def __init__(self, dim: int = 8, n_out: int = 5, bin_size: int = 4):
        super().__init__()
        self.trunk = nn.Sequential(_Transpose(), nn.Conv1d(4, dim, 5, padding=2), nn.MaxPool1d(bin_size),
                                   nn.Sequential(nn.Conv1d(dim, dim, 3, padding=1), nn.GELU()), _Transpose(),
                                   nn.Linear(dim, 2 * dim))
        self.heads = nn.ModuleDict({"human": nn.Sequential(nn.Linear(2 * dim, n_out), nn.Softplus()),
                                    "mouse": nn.Sequential(nn.Linear(2 * dim, 2), nn.Softplus())})

    def forward(self, x):  # (B, L, 4) -> dict of (B, bins, n)
        e = self.trunk(x)
        return {k: h(e) for k, h in self.heads.items()}


def tiny_enformer_like(**kw) -> TinyEnformerLike:
    return TinyEnformerLike(**kw)


def standin_config(**extra) -> dict:
    return {"name": "enformer", "backend": "callable", "factory": f"{__name__}:tiny_enformer_like",
            "kwargs": {"dim": 8, "n_out": 5, "bin_size": 4}, "bin_size": 4, "target_length": -1,
            "seq_len": 64, **extra}


MODEL_CASES = {
    "basenji": (tiny_basenji, 4096),
    "resnet": (small_resnet, 256),
    "simple_cnn": (small_simple_cnn, 1809),
    "enformer": (standin_config, 64),
}


def expected_shape(model, b: int, length: int) -> tuple:
    n = model.config["n_tracks"]
    return (b, model.output_bins(length), n) if model.output_kind == "profile" else (b, n)


# ----------------------------------------------------------------------------------------------
# configs and the interface
# ----------------------------------------------------------------------------------------------
def test_bundled_configs():
    assert {"basenji_131k", "basenji_small", "basenji_tiny", "resnet_peak", "simple_cnn"} <= set(list_configs())
    assert load_config("basenji_131k")["seq_len"] == 131072
    assert load_config("basenji_131k")["bin_size"] == 128
    with pytest.raises(FileNotFoundError):
        load_config("no_such_model")
    with pytest.raises(ValueError):
        build_model({"name": "transformer"})


def test_load_config_from_path(tmp_path):
    p = tmp_path / "m.json"
    p.write_text(json.dumps(small_resnet()))
    assert load_config(p) == small_resnet()
    assert load_config(str(p))["name"] == "resnet"


@pytest.mark.parametrize("name", list(MODEL_CASES))
def test_interface_and_shapes(name):
    make, length = MODEL_CASES[name]
    torch.manual_seed(0)
    model = build_model(make()).eval()
    assert model.output_kind in {"profile", "classification", "scalar"}
    assert model.default_loss in {"poisson", "multinomial_poisson", "mse", "bce"}
    assert isinstance(model.trunk, nn.Module) and isinstance(model.head, nn.Module)
    json.dumps(model.config)  # JSON-serialisable
    x = one_hot_batch(2, length)
    with torch.no_grad():
        y = model(x)
        assert torch.equal(y, model.head(model.trunk(x)))
    assert y.shape == expected_shape(model, 2, length)
    if name in ("basenji", "enformer"):
        assert (y >= 0).all()
    assert isinstance(model.receptive_field(), int) and model.receptive_field() > 0
    head_ids = {id(p) for p in model.head.parameters()}
    assert not head_ids & {id(p) for p in model.trunk.parameters()}
    assert count_params(model) == count_params(model.trunk) + count_params(model.head)
    with pytest.raises(ValueError):
        model(x.transpose(1, 2))  # channels-last input is refused


def test_build_model_does_not_modify_config():
    cfg = tiny_basenji()
    before = copy.deepcopy(cfg)
    model = build_model(cfg)
    assert cfg == before
    assert model.config["dilated_kernel"] == 3 and model.config["name"] == "basenji"


# ----------------------------------------------------------------------------------------------
# basenji
# ----------------------------------------------------------------------------------------------
def basenji_param_formula(c: dict) -> int:
    """Independent count from the config numbers (conv = in*out*k + out; BatchNorm = 2*C)."""
    n = 4 * c["stem_channels"] * c["stem_kernel"] + c["stem_channels"]
    ch = c["stem_channels"]
    for out in c["tower_channels"]:
        n += 2 * ch + ch * out * c["tower_kernel"] + out
        ch = out
    mid = int(ch * c["dilated_ratio"] + 0.5)
    n += c["n_dilated"] * (2 * ch + ch * mid * c["dilated_kernel"] + mid + 2 * mid + mid * ch + ch)
    n += 2 * ch + ch * c["final_channels"] + c["final_channels"]
    n += c["final_channels"] * c["n_tracks"] + c["n_tracks"]
    return n


def test_basenji_131k_parameter_count_and_geometry():
    cfg = load_config("basenji_131k")
    with torch.device("meta"):
        model = build_model(cfg)
        y = model(torch.empty(1, 4, 131072))
    assert y.shape == (1, 896, 1)
    n = count_params(model)
    assert n == basenji_param_formula(model.config) == 21_938_290
    trunk = count_params(model.trunk)
    assert trunk == 21_936_753  # + 1,537 per track in the head
    assert model.output_bins(131072) == 896
    # dilations round(1.5 ** i): 1 2 2 3 5 8 11 17 26 38 58 (sum 171)
    assert model.dilations == [1, 2, 2, 3, 5, 8, 11, 17, 26, 38, 58]
    # stem 15 bp + pool 2 (+1) ; 6 x (conv5 + pool2) at jumps 2..64 (5 x 126) ; dilated 2*d*128
    assert model.receptive_field() == 15 + 1 + 5 * (2 + 4 + 8 + 16 + 32 + 64) + 2 * 171 * 128 == 44_422


def test_basenji_tiny_geometry():
    model = build_model(load_config("basenji_tiny"))
    assert model.output_bins(16384) == 112
    assert model.output_bins(4096) == 16
    # stem 15 (+1 pool 2); conv5 at jump 2 (+8), pool 8 (+7*2); conv5 at jump 16 (+64), pool 8 (+7*16);
    # dilated 1, 2, 4 at jump 128 (+2*7*128)
    assert model.receptive_field() == 16 + 8 + 14 + 64 + 112 + 2 * 7 * 128 == 2006
    assert count_params(model) == basenji_param_formula(model.config)


def test_basenji_rejects_bad_pools():
    with pytest.raises(ValueError, match="bin_size"):
        build_model({**load_config("basenji_tiny"), "tower_pools": [8, 4]})


def _avgpool_copy(model: nn.Module) -> nn.Module:
    """Same geometry, average pooling: every input position inside the receptive field then has
    a non-zero gradient (max-pooling routes the gradient through one position per window)."""
    m = copy.deepcopy(model)
    for parent in m.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.MaxPool1d):
                setattr(parent, name, nn.AvgPool1d(child.kernel_size))
    return m


def test_basenji_receptive_field_empirical():
    torch.manual_seed(0)
    model = build_model(tiny_basenji(n_tracks=2)).eval()
    rf = model.receptive_field()
    length, crop, bs = 4096, model.config["crop_bins"], model.config["bin_size"]
    avg = _avgpool_copy(model).double().eval()
    x = torch.randn(1, 4, length, dtype=torch.float64, requires_grad=True)
    b = 8
    avg(x)[0, b, :].sum().backward()
    nz = torch.nonzero(x.grad.abs().sum(dim=1)[0] > 0).flatten()
    span = int(nz.max() - nz.min() + 1)
    assert span == rf
    centre = (b + crop) * bs + bs / 2
    assert abs((nz.min() + nz.max()).item() / 2 - centre) <= bs / 2

    # finite differences on the real (max-pool) model: a one-base change only moves bins whose
    # receptive field covers it
    x0 = one_hot_batch(1, length, seed=3)
    pos = 2000
    x1 = x0.clone()
    x1[0, :, pos] = torch.roll(x0[0, :, pos], 1)
    with torch.no_grad():
        d = (model(x1) - model(x0)).abs().sum(dim=-1)[0]
    changed = torch.nonzero(d > 0).flatten()
    assert len(changed) > 0
    centres = (changed + crop) * bs + bs / 2
    assert ((centres - pos).abs() <= rf / 2 + bs / 2).all()


# ----------------------------------------------------------------------------------------------
# resnet and simple_cnn
# ----------------------------------------------------------------------------------------------
def test_resnet_peak_config():
    cfg = load_config("resnet_peak")
    model = build_model({**cfg, "n_tracks": 4}).eval()
    with torch.no_grad():
        y = model(one_hot_batch(2, 1000))
    assert y.shape == (2, 4)
    assert model.output_kind == "classification" and model.default_loss == "bce"
    # stem 15; per stage 4 convs k5 at jump J (+16 J) then pool 4 (+3 J); J = 1, 4, 16
    assert model.receptive_field() == 15 + sum(16 * j + 3 * j for j in (1, 4, 16)) == 414
    assert count_params(model) == 1_631_620


def test_resnet_receptive_field_bound():
    torch.manual_seed(0)
    model = _avgpool_copy(build_model(small_resnet())).double().eval()
    positional = model.trunk[:-2]  # everything before global pooling
    x = torch.randn(1, 4, 256, dtype=torch.float64, requires_grad=True)
    feats = positional(x)
    feats[0, :, feats.shape[-1] // 2].sum().backward()
    nz = torch.nonzero(x.grad.abs().sum(dim=1)[0] > 0).flatten()
    assert 0 < int(nz.max() - nz.min() + 1) <= model.receptive_field()


def test_simple_cnn_is_the_paper_model():
    cfg = load_config("simple_cnn")
    assert cfg["seq_len"] == 40001
    with torch.device("meta"):
        model = build_model(cfg)
        y = model(torch.empty(3, 4, 40001))
    assert y.shape == (3, 1)
    assert model.n_segments == 44  # "reduces the input of the network to 44 segments"
    conv, relu1, pool, flat, dense, relu2 = model.trunk
    assert isinstance(conv, nn.Conv1d) and (conv.in_channels, conv.out_channels, conv.kernel_size) == (4, 900, (10,))
    assert conv.padding == (0,)
    assert isinstance(relu1, nn.ReLU) and isinstance(relu2, nn.ReLU) and isinstance(flat, nn.Flatten)
    assert isinstance(pool, nn.AvgPool1d) and pool.kernel_size == (900,) and pool.stride == (900,)
    assert isinstance(dense, nn.Linear) and (dense.in_features, dense.out_features) == (44 * 900, 200)
    assert isinstance(model.head, nn.Linear) and (model.head.in_features, model.head.out_features) == (200, 1)
    assert count_params(model) == (4 * 10 * 900 + 900) + (39600 * 200 + 200) + 201 == 7_957_301
    assert model.default_loss == "mse" and model.output_kind == "scalar"
    assert model.config["optimizer"] == {"name": "adam", "lr": 0.001}
    assert model.receptive_field() == 909


def test_simple_cnn_rejects_other_lengths():
    model = build_model(small_simple_cnn())
    with pytest.raises(ValueError, match="seq_len"):
        model(one_hot_batch(1, 1900))


# ----------------------------------------------------------------------------------------------
# replace_head, autocast, state dicts
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MODEL_CASES))
def test_replace_head(name):
    make, length = MODEL_CASES[name]
    torch.manual_seed(0)
    model = build_model(make()).eval()
    trunk_before = {k: v.clone() for k, v in model.trunk.state_dict().items()}
    old_head = model.head
    out = replace_head(model, 7)
    assert out is model and model.config["n_tracks"] == 7 and model.head is not old_head
    with torch.no_grad():
        y = model(one_hot_batch(2, length))
    assert y.shape == expected_shape(model, 2, length)
    for k, v in model.trunk.state_dict().items():
        assert torch.equal(v, trunk_before[k])
    rebuilt = build_model(json.loads(json.dumps(model.config)))
    rebuilt.load_state_dict(model.state_dict())  # config and weights agree after the swap


@pytest.mark.parametrize("name", list(MODEL_CASES))
def test_bf16_autocast(name):
    make, length = MODEL_CASES[name]
    torch.manual_seed(0)
    model = build_model(make()).eval()
    x = one_hot_batch(2, length)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = model(x)
    assert y.shape == ref.shape
    assert torch.isfinite(y.float()).all()
    assert torch.allclose(y.float(), ref, atol=0.1 + 0.1 * ref.abs().max().item())
    # and a training step under autocast
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(x).float().square().mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", list(MODEL_CASES))
def test_state_dict_round_trip(name):
    make, length = MODEL_CASES[name]
    torch.manual_seed(0)
    model = build_model(make()).eval()
    buf = io.BytesIO()
    torch.save({"config": model.config, "state_dict": model.state_dict()}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)
    torch.manual_seed(1)
    again = build_model(ckpt["config"]).eval()
    again.load_state_dict(ckpt["state_dict"])
    x = one_hot_batch(2, length)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))


# ----------------------------------------------------------------------------------------------
# Enformer adapter
# ----------------------------------------------------------------------------------------------
def test_adapter_wraps_standin_backbone():
    torch.manual_seed(0)
    backbone = TinyEnformerLike().eval()
    model = EnformerAdapter(backbone, {"bin_size": 4, "target_length": -1, "seq_len": 64}).eval()
    x = one_hot_batch(2, 64)
    with torch.no_grad():
        expected = backbone(x.transpose(1, 2))["human"]
        y = model(x)
    assert y.shape == (2, 16, 5) and model.output_bins(64) == 16
    assert torch.equal(y, expected)
    assert model.head is backbone.heads["human"]
    assert model.config["n_tracks"] == 5 and model.receptive_field() == 64
    assert not any(k.startswith("head.") and "mouse" in k for k in model.state_dict())
    # a different number of tracks puts a fresh head
    m3 = EnformerAdapter(TinyEnformerLike(), {"n_tracks": 3, "bin_size": 4, "target_length": -1, "seq_len": 64})
    assert m3(x).shape == (2, 16, 3)


def test_adapter_weights_from_local_file(tmp_path):
    torch.manual_seed(0)
    backbone = TinyEnformerLike().eval()
    path = tmp_path / "backbone.pt"
    torch.save(backbone.state_dict(), path)
    torch.manual_seed(123)
    model = build_model(standin_config(weights=str(path))).eval()
    x = one_hot_batch(2, 64)
    with torch.no_grad():
        assert torch.equal(model(x), backbone(x.transpose(1, 2))["human"])
    # an adapter state dict (e.g. after fine-tuning) loads too
    torch.save(model.state_dict(), tmp_path / "adapter.pt")
    again = build_model(standin_config(weights=str(tmp_path / "adapter.pt"))).eval()
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
    from seq2func.errors import InputError

    with pytest.raises(InputError, match="weights"):
        build_model(standin_config(weights=str(tmp_path / "missing.pt")))


def _tiny_enformer_hparams() -> dict:
    # dim // heads must be divisible by 6 (relative position features), hence 24 rather than 32
    return {"dim": 24, "depth": 1, "heads": 1, "attn_dim_key": 8, "output_heads": {"human": 3},
            "target_length": 4, "num_downsamples": 3, "dim_divisible_by": 4, "dropout_rate": 0.0}


def test_adapter_enformer_pytorch(tmp_path):
    import enformer_pytorch  # installed by make setup (extra "enformer"); must not be skipped
    torch.manual_seed(0)
    hp = _tiny_enformer_hparams()
    backbone = enformer_pytorch.Enformer.from_hparams(**hp).eval()
    x = one_hot_batch(2, 64)
    with torch.no_grad():
        expected = backbone(x.transpose(1, 2))["human"]
    # 1) a state-dict file + hparams
    torch.save(backbone.state_dict(), tmp_path / "enformer.pt")
    cfg = {"name": "enformer", "hparams": hp, "weights": str(tmp_path / "enformer.pt"), "seq_len": 64}
    model = build_model(cfg).eval()
    assert model.config["bin_size"] == 8 and model.output_bins(64) == 4
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 4, 3)
    torch.testing.assert_close(y, expected)
    # 2) a save_pretrained directory (local only). Enformer shares modules between .stem/.conv_tower
    # and ._trunk, which safetensors refuses to save; the published checkpoints are .bin folders.
    backbone.save_pretrained(tmp_path / "enformer_dir", safe_serialization=False)
    model2 = build_model({"name": "enformer", "weights": str(tmp_path / "enformer_dir"), "seq_len": 64}).eval()
    assert model2.config["hparams"]["dim"] == 24 and model2.config["n_tracks"] == 3
    with torch.no_grad():
        torch.testing.assert_close(model2(x), expected)
    json.dumps(model2.config)
    # 3) new head, autocast, trunk blocks for gradual unfreezing, LoRA on convs and attention
    replace_head(model2, 2)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert model2(x).shape == (2, 4, 2)
    assert len(model2.trunk_blocks()) >= 4
    from seq2func.train.strategies import apply_strategy, count_trainable

    with torch.no_grad():
        before = model2(x)
    schedule = apply_strategy(model2, "lora", rank=2)
    assert any("to_q" in n for n in schedule.info["layers"])
    assert 0 < count_trainable(model2) < count_params(model2) // 2
    with torch.no_grad():
        assert torch.equal(model2(x), before)
    # 4) the bundled full-size config builds (on the meta device: no memory, no weights)
    with torch.device("meta"):
        full = build_model(load_config("enformer"))
    assert full.output_bins(196608) == 896 and full.config["n_tracks"] == 5313


@pytest.mark.parametrize("name", list(MODEL_CASES))
def test_init_output_bias(name):
    make, length = MODEL_CASES[name]
    model = build_model(make()).eval()
    n = model.config["n_tracks"]
    values = torch.linspace(0.1, 0.9, n)
    init_output_bias(model, values)
    layer = [m for m in model.head.modules() if isinstance(m, (nn.Linear, nn.Conv1d))][-1]
    with torch.no_grad():
        layer.weight.zero_()
        y = model(one_hot_batch(1, length))
    if model.output_kind == "classification":
        y = torch.sigmoid(y)
    expected = values.expand_as(y)
    torch.testing.assert_close(y, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError):
        init_output_bias(model, [1.0] * (n + 1))
