"""INTERPRET first-layer filters -> PWMs: a planted JASPAR filter recovered, an exact numpy oracle
of Basset's rule (threshold, N windows, max_sites ties, stride/dilation), determinism and
first-layer lookup."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from seq2func.errors import InputError
from seq2func.interpret.filters import (
    filter_pwms,
    first_layer,
    information_content,
    pwm_from_counts,
)
from seq2func.io.motifs import load_jaspar_subset
from seq2func.models import build_model, load_config


def _ctcf():
    motifs, _ = load_jaspar_subset()
    return next(m for m in motifs if m.name == "CTCF")


def _planted(n_seq: int = 200, L: int = 200, n_planted: int = 80, seed: int = 1):
    """Random sequences, a CTCF instance sampled from the JASPAR probabilities planted (forward
    strand) into ``n_planted`` of them; a small simple_cnn whose filter 0 is CTCF's log-odds."""
    m = _ctcf()
    p = m.probabilities().T  # (4, w), rows A C G T
    w = m.width
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n_seq, L)).astype(np.uint8)
    for r in rng.choice(n_seq, n_planted, replace=False):
        pos = int(rng.integers(0, L - w + 1))
        codes[r, pos:pos + w] = [rng.choice(4, p=p[:, k]) for k in range(w)]
    torch.manual_seed(0)
    model = build_model({"name": "simple_cnn", "seq_len": L, "conv_channels": 5, "conv_kernel": w, "pool": 50, "hidden": 4})
    with torch.no_grad():
        model.trunk[0].weight[0] = torch.tensor(m.log_odds().T, dtype=torch.float32)
        model.trunk[0].bias[0] = 0.0
    return model, codes, p


def test_planted_jaspar_filter_is_recovered():
    model, codes, p = _planted()
    res = filter_pwms(model, codes, threshold=0.5)
    assert [r["filter"] for r in res] == list(range(5))
    r0 = res[0]
    assert r0["pwm"].shape == r0["counts"].shape == p.shape
    assert np.corrcoef(r0["pwm"].ravel(), p.ravel())[0, 1] > 0.9
    # column by column too (same orientation)
    cols = [np.corrcoef(r0["pwm"][:, k], p[:, k])[0, 1] for k in range(p.shape[1])]
    assert np.median(cols) > 0.9
    assert 0.85 * 80 <= r0["n_sites"] <= 1.05 * 80
    np.testing.assert_array_equal(r0["counts"].sum(axis=0), r0["n_sites"])
    np.testing.assert_allclose(r0["pwm"].sum(axis=0), 1.0)
    np.testing.assert_allclose(r0["pwm"], pwm_from_counts(r0["counts"], 1.0))
    assert r0["information_content"] == pytest.approx(information_content(r0["pwm"]))
    assert r0["information_content"] > 10  # CTCF: 16 bits
    # the maximum is that of the planted filter's best window (log-odds, bias 0)
    assert 10 < r0["max_activation"] <= float(np.log(p / 0.25).max(axis=0).sum()) + 1e-4


# ----------------------------------------------------------------------------- exact oracle
def _exact_model(C: int = 6, w: int = 7, stride: int = 1, dilation: int = 1, seed: int = 0) -> nn.Module:
    """Weights and biases in multiples of 1/8: float32 activations are exact, so the oracle's
    float64 ones are equal and the threshold comparisons agree bit for bit."""
    rng = np.random.default_rng(seed)
    conv = nn.Conv1d(4, C, w, stride=stride, dilation=dilation, padding=w // 2)
    with torch.no_grad():
        wt = rng.integers(-8, 9, (C, 4, w)) / 8.0
        b = rng.integers(-8, 9, C) / 8.0
        wt[-1] = -np.abs(wt[-1]) - 0.125  # a filter that never fires: all activations < 0
        b[-1] = -1.0
        conv.weight.copy_(torch.tensor(wt))
        conv.bias.copy_(torch.tensor(b))
    return nn.Sequential(conv, nn.ReLU(), nn.MaxPool1d(2))  # a generic model: fallback lookup


def _codes(N: int = 40, L: int = 120, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (N, L)).astype(np.uint8)
    codes[2, 50:53] = 4  # N runs
    codes[7, :4] = 4
    codes[11, -1] = 4
    codes[13] = 4  # a sequence of N only
    return codes


def _oracle(model: nn.Module, codes: np.ndarray, thr: float, max_sites: int | None):
    conv = model[0]
    W = conv.weight.detach().double().numpy()
    bias = conv.bias.detach().double().numpy()
    C, _, w = W.shape
    s, d = conv.stride[0], conv.dilation[0]
    L = codes.shape[1]
    P = (L - d * (w - 1) - 1) // s + 1
    idx = np.arange(P)[:, None] * s + np.arange(w)[None, :] * d
    win = codes[:, idx]  # (N, P, w)
    valid = (win < 4).all(axis=-1)
    oh = np.eye(5)[win][..., :4]  # (N, P, w, 4)
    act = np.einsum("npka,cak->ncp", oh, W) + bias[None, :, None]
    out = []
    for c in range(C):
        a = act[:, c]
        vmax = a[valid].max() if valid.any() else np.nan
        cut = thr * vmax if vmax > 0 else np.inf
        cand = np.argwhere(valid & (a > cut))  # row-major: sequence, then position
        vals = a[cand[:, 0], cand[:, 1]]
        order = np.argsort(-vals, kind="stable")
        if max_sites is not None:
            order = order[:max_sites]
        chosen = cand[order]
        counts = np.zeros((4, w), dtype=np.int64)
        for n, p in chosen:
            counts[win[n, p], np.arange(w)] += 1
        out.append((len(chosen), counts, vmax))
    return out


@pytest.mark.parametrize("stride,dilation", [(1, 1), (3, 2)])
@pytest.mark.parametrize("thr", [0.0, 0.25, 0.5, 0.75])
def test_sites_and_counts_equal_numpy_oracle(thr, stride, dilation):
    model = _exact_model(stride=stride, dilation=dilation)
    codes = _codes()
    got = filter_pwms(model, codes, threshold=thr, max_sites=None, batch_size=7)
    want = _oracle(model, codes, thr, None)
    for r, (n, counts, vmax) in zip(got, want):
        assert r["n_sites"] == n
        np.testing.assert_array_equal(r["counts"], counts)
        assert r["max_activation"] == pytest.approx(vmax)
    assert got[-1]["n_sites"] == 0 and got[-1]["max_activation"] < 0  # never positive: no sites
    np.testing.assert_allclose(got[-1]["pwm"], 0.25)
    assert got[-1]["information_content"] == pytest.approx(0.0)


def test_higher_threshold_fewer_sites():
    model, codes = _exact_model(), _codes()
    n = np.array([[r["n_sites"] for r in filter_pwms(model, codes, threshold=t, max_sites=None)] for t in (0.0, 0.25, 0.5, 0.75, 0.95)])
    assert np.all(np.diff(n, axis=0) <= 0)
    assert n[0].sum() > n[-1].sum() > 0
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError):
            filter_pwms(model, codes, threshold=bad)


@pytest.mark.parametrize("k", [1, 5, 23])
def test_max_sites_keeps_the_highest_ties_in_dataset_order(k):
    model, codes = _exact_model(), _codes()
    got = filter_pwms(model, codes, threshold=0.0, max_sites=k, batch_size=3)
    want = _oracle(model, codes, 0.0, k)
    for r, (n, counts, _) in zip(got, want):
        assert r["n_sites"] == n <= k
        np.testing.assert_array_equal(r["counts"], counts)


def test_n_windows_are_never_sites():
    model = _exact_model()
    conv = model[0]
    codes = _codes()
    # the consensus of filter 0 planted twice; one copy broken by an N in its middle
    cons = conv.weight[0].detach().numpy().argmax(axis=0).astype(np.uint8)
    w = cons.size
    codes[20, 10:10 + w] = cons
    codes[21, 30:30 + w] = cons
    codes[21, 30 + w // 2] = 4
    r0 = filter_pwms(model, codes, threshold=0.9, max_sites=None)[0]
    best = float((conv.weight[0].detach().numpy().max(axis=0)).sum() + conv.bias[0].item())
    assert r0["max_activation"] == pytest.approx(best)
    n, counts, _ = _oracle(model, codes, 0.9, None)[0]
    assert r0["n_sites"] == n >= 1
    np.testing.assert_array_equal(r0["counts"], counts)
    # all-N input: no window, no site, NaN maximum
    allN = filter_pwms(model, np.full((3, 50), 4, dtype=np.uint8))
    assert all(r["n_sites"] == 0 and np.isnan(r["max_activation"]) for r in allN)
    assert all(np.all(r["counts"] == 0) for r in allN)


def test_deterministic_and_batch_size_invariant():
    model, codes = _exact_model(), _codes()
    runs = [filter_pwms(model, codes, max_sites=9, batch_size=b) for b in (1, 4, 64, 64)]
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert a["n_sites"] == b["n_sites"] and a["max_activation"] == b["max_activation"]
            np.testing.assert_array_equal(a["counts"], b["counts"])
            np.testing.assert_array_equal(a["pwm"], b["pwm"])
    model, codes, _ = _planted(n_seq=60, L=120, n_planted=20)
    a, b = filter_pwms(model, codes, batch_size=5), filter_pwms(model, codes, batch_size=60)
    assert [x["n_sites"] for x in a] == [x["n_sites"] for x in b]
    assert all(np.array_equal(x["counts"], y["counts"]) for x, y in zip(a, b))


def test_bad_inputs():
    model = _exact_model()
    with pytest.raises(ValueError, match="shorter"):
        filter_pwms(model, np.zeros((2, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="N, L"):
        filter_pwms(model, np.zeros(50, dtype=np.uint8))
    with pytest.raises(ValueError):
        filter_pwms(model, _codes(), max_sites=0)
    assert filter_pwms(model, np.zeros((0, 50), dtype=np.uint8))[0]["n_sites"] == 0


# ----------------------------------------------------------------------------- first layer
def test_first_layer_of_bundled_models():
    b = build_model(load_config("basenji_tiny"))
    assert first_layer(b) is b.trunk[0][0] and b.trunk[0][0].kernel_size == (15,)
    r = build_model(load_config("resnet_peak"))
    assert first_layer(r) is r.trunk[0][0] and first_layer(r).out_channels == 64
    s = build_model({"name": "simple_cnn", "seq_len": 2000})
    assert first_layer(s) is s.trunk[0] and first_layer(s).out_channels == 900 and first_layer(s).kernel_size == (10,)
    # the basenji stem (padding 'same', max-pool after it) runs as the conv alone, no padding
    codes = np.random.default_rng(0).integers(0, 4, (3, 200)).astype(np.uint8)
    res = filter_pwms(b, codes)
    assert len(res) == 32 and all(x["counts"].shape == (4, 15) for x in res)
    assert all(x["counts"].sum(axis=0).tolist() == [x["n_sites"]] * 15 for x in res)


def test_first_layer_generic_fallback_and_error():
    skip = nn.Conv1d(8, 3, 3)  # not 4 input channels
    target = nn.Conv1d(4, 5, 7)
    model = nn.Sequential(nn.Identity(), nn.Sequential(skip, nn.ReLU()), nn.Sequential(nn.Linear(2, 2), target), nn.Conv1d(4, 2, 3))
    assert first_layer(model) is target
    assert first_layer(target) is target
    with pytest.raises(InputError) as e:
        first_layer(nn.Sequential(nn.Linear(4, 4), nn.Conv1d(8, 4, 3)))
    msg = str(e.value)
    assert "\n" not in msg and "Conv1d" in msg and "4 input channels" in msg
    with pytest.raises(InputError):
        filter_pwms(nn.Linear(4, 4), _codes())


def test_first_layer_of_a_lora_model_merges_the_adapter():
    from seq2func.models.lora import LoRAConv1d, apply_lora

    torch.manual_seed(0)
    b = build_model(load_config("basenji_tiny"))
    apply_lora(b, rank=2)
    lora = b.trunk[0][0]
    assert isinstance(lora, LoRAConv1d)
    with torch.no_grad():
        lora.lora_B.normal_()
    conv = first_layer(b)
    assert type(conv) is nn.Conv1d and conv is not lora.base
    x = torch.randn(2, 4, 64)
    with torch.no_grad():
        torch.testing.assert_close(conv(x), lora(x), rtol=1e-4, atol=1e-4)
    assert isinstance(b.trunk[0][0], LoRAConv1d) and not lora.merged  # the model is untouched
