"""In-silico saturation mutagenesis (seq2func.interpret.ism): the fast path against the naive one
(every mutated sequence through the whole model) on small random bundled models, at the centre,
next to every pooling boundary and at both window edges, for every reduction and a track subset;
the fallback for models with unknown layers; exact zeros at the reference base; determinism; the
model's train/eval mode; bad inputs.

The models get He-initialised weights and random BatchNorm statistics: with PyTorch's default
initialisation a single base changes the outputs of these untrained models by ~1e-4 of their
magnitude, below what float32 itself resolves (naive against a float64 oracle is off by ~1e-3
relative there, and so is the fast path), so "equal within 1e-4 relative" would measure float32
noise rather than the algorithm. A float64 run of the fast path against a float64 oracle shows
the algorithm exact to ~1e-8.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import pytest
import torch
from torch import nn

from seq2func.errors import InputError
from seq2func.interpret import ism, ism_speed
from seq2func.interpret.ism import fast_path_reason
from seq2func.models import build_model, load_config
from seq2func.predict import Predictor
from seq2func.prepare.dataset import one_hot

torch.set_num_threads(1)

REL = 1e-4
KINDS = ("basenji", "resnet", "simple_cnn")


def _he_init(model: nn.Module, seed: int) -> nn.Module:
    """He-normal weights, random BatchNorm affines, BatchNorm statistics measured on random
    sequences (as training leaves them: centred activations); eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                m.weight.normal_(0.0, (2.0 / m.weight[0].numel()) ** 0.5, generator=g)
                if m.bias is not None:
                    m.bias.uniform_(-0.1, 0.1, generator=g)
            elif isinstance(m, nn.BatchNorm1d):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.2, 0.2, generator=g)
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batch
        model.train()
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.eval()
        L = int(model.config["seq_len"])
        model(one_hot(torch.from_numpy(np.random.default_rng(seed).integers(0, 4, (8, L), dtype=np.uint8))))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.momentum = 0.1
    return model.eval()


def _model(kind: str) -> nn.Module:
    torch.manual_seed(KINDS.index(kind))
    if kind == "basenji":  # 4,096 bp: pools 2 x 8 x 8 = 128 bp bins, 32 - 2 x 8 = 16 output bins
        cfg = load_config("basenji_tiny") | {"n_tracks": 3, "seq_len": 4096}
    elif kind == "resnet":  # 1,000 bp, pools 4 x 4 x 4
        cfg = load_config("resnet_peak") | {"n_tracks": 3, "stem_channels": 8, "stage_channels": [8, 12, 16],
                                            "hidden": 16}
    else:  # 2,000 bp: valid conv of 10 -> 1,991 positions, average pool 100 -> 19 segments
        cfg = load_config("simple_cnn") | {"n_tracks": 3, "seq_len": 2000, "conv_channels": 16, "pool": 100,
                                           "hidden": 8}
    return _he_init(build_model(cfg), seed=10 + KINDS.index(kind))


def _positions(kind: str, L: int) -> np.ndarray:
    """Centre, pooling boundaries (multiples of each cumulative stride and +-1), both edges."""
    if kind == "basenji":
        marks = [2, 16, 128, 2 * 1000, 16 * 77, 128 * 16, 128 * 31]  # strides 2, 16, 128
    elif kind == "resnet":
        marks = [4 * 101, 16 * 31, 64, 64 * 8, 64 * 15]  # strides 4, 16, 64
    else:  # conv output q sees inputs q..q+9: segment boundaries at inputs 100 k (+0..9); the last
        # segment ends at conv output 1899, so inputs from 1909 on reach no segment (exactly 0)
        marks = [100, 109, 500, 509, 1000, 1009, 1800, 1809, 1899, 1908]
    pos = set(range(20)) | set(range(L - 20, L)) | set(range(L // 2 - 2, L // 2 + 3))
    for m in marks:
        pos |= {m - 1, m, m + 1}
    return np.array(sorted(p for p in pos if 0 <= p < L), dtype=np.int64)


def _codes(L: int, n_pos: list[int]) -> np.ndarray:
    rng = np.random.default_rng(L)
    codes = rng.integers(0, 4, size=(2, L), dtype=np.uint8)
    codes[0, n_pos] = 4
    codes[1, [0, L - 1]] = 4
    return codes


class Case:
    def __init__(self, kind: str):
        self.kind = kind
        self.model = _model(kind)
        self.L = int(self.model.config["seq_len"])
        self.pos = _positions(kind, self.L)
        n_pos = {"basenji": [0, 128, self.L // 2], "resnet": [0, 64, self.L // 2],
                 "simple_cnn": [0, 500, self.L // 2]}[kind]
        self.n_pos = n_pos
        self.codes = _codes(self.L, n_pos)
        self.Y, self.Yref = self._naive_outputs()

    def _naive_outputs(self):
        """Every mutated sequence's full output (S, P, 4, bins, T) and the references' (S, bins, T)."""
        pred = Predictor(self.model, batch_size=128)
        yref = pred(self.codes)
        S, P = self.codes.shape[0], len(self.pos)
        muts = np.repeat(self.codes[:, None, None, :], P, axis=1).repeat(4, axis=2)  # (S, P, 4, L)
        for b in range(4):
            muts[:, np.arange(P), b, self.pos] = b
        y = pred(muts.reshape(-1, self.L))
        return y.reshape(S, P, 4, *y.shape[1:]), yref

    def expected(self, reduction: str, bins=None, tracks=None) -> np.ndarray:
        n_bins, T = self.Yref.shape[1:]
        if reduction == "bin":
            sel = [bins]
        elif bins is None:
            sel = list(range(n_bins))
        else:
            sel = list(range(n_bins))[bins]
        t = list(range(T)) if tracks is None else list(tracks)
        d = self.Y[..., sel, :][..., t].astype(np.float64) - self.Yref[:, None, None][..., sel, :][..., t]
        out = d.sum(-2)
        ref = self.codes[:, self.pos]
        s, k = np.nonzero(ref < 4)
        out[s, k, ref[s, k]] = 0.0
        return out


_CASES: dict[str, Case] = {}


@pytest.fixture(scope="module", params=KINDS)
def case(request) -> Case:
    if request.param not in _CASES:
        _CASES[request.param] = Case(request.param)
    return _CASES[request.param]


def _rel(fast: np.ndarray, exp: np.ndarray) -> tuple[float, float]:
    a = float(np.abs(fast.astype(np.float64) - exp).max())
    return a, a / float(np.abs(exp).max())


REDUCTIONS = {
    "basenji": [("sum", None, None), ("sum", slice(3, 9), None), ("bin", 0, None), ("bin", 7, None),
                ("bin", 15, None), ("sum", None, [2, 0]), ("bin", 8, [1])],
    "resnet": [("scalar", None, None), ("sum", None, None), ("bin", 0, None), ("scalar", None, [2, 0])],
    "simple_cnn": [("scalar", None, None), ("sum", None, None), ("bin", 0, None), ("scalar", None, [1])],
}


def test_fast_path_available(case):
    assert fast_path_reason(case.model) is None


def test_fast_equals_naive(case, capsys):
    for reduction, bins, tracks in REDUCTIONS[case.kind]:
        fast = ism(case.model, case.codes, positions=case.pos, reduction=reduction, bins=bins, tracks=tracks)
        exp = case.expected(reduction, bins, tracks)
        assert fast.shape == exp.shape == (2, len(case.pos), 4, len(tracks) if tracks else 3)
        a, r = _rel(fast, exp)
        with capsys.disabled():
            print(f"\n[ism] {case.kind} {reduction} bins={bins} tracks={tracks}: max |fast - naive| = {a:.3g} "
                  f"(max |naive| {np.abs(exp).max():.3g}, relative {r:.2g})")
        assert r < REL, (reduction, bins, tracks, a, r)
        if case.kind == "simple_cnn":  # inputs no pooled segment sees: exactly no change
            assert np.all(fast[:, case.pos >= 1909] == 0.0)


def test_naive_path_is_the_oracle(case):
    reduction = "sum" if case.kind == "basenji" else "scalar"
    naive = ism(case.model, case.codes, positions=case.pos, reduction=reduction, naive=True, batch_size=50)
    a, r = _rel(naive, case.expected(reduction))
    assert r < REL, (a, r)  # the same forward passes, other batches: float32 noise only


def test_fast_path_exact_in_float64(case):
    """The fast path in float64 against a float64 oracle, position by position (edges included,
    where a base barely reaches the output): the algorithm itself is exact."""
    model = copy.deepcopy(case.model).double()
    pos, codes = case.pos, case.codes[:1]
    reduction = "sum" if case.kind == "basenji" else "scalar"
    fast = ism(model, codes, positions=pos, reduction=reduction)[0]
    muts = np.repeat(codes, len(pos) * 4, axis=0).reshape(len(pos), 4, -1)
    for b in range(4):
        muts[np.arange(len(pos)), b, pos] = b
    muts = muts.reshape(len(pos) * 4, -1)
    with torch.no_grad():
        def f(c):
            y = model(one_hot(torch.from_numpy(c), dtype=torch.float64))
            return (y.sum(1) if y.ndim == 3 else y).numpy()

        y = np.concatenate([f(muts[i:i + 64]) for i in range(0, len(muts), 64)])
        exp = y.reshape(len(pos), 4, -1) - f(codes)
    ref = codes[0, pos]
    exp[np.arange(len(pos))[ref < 4], ref[ref < 4]] = 0.0
    err = np.abs(fast - exp).max(axis=(1, 2))
    scale = np.abs(exp).max(axis=(1, 2))
    worst = int(np.argmax(err / (scale + 1e-30)))
    assert np.all(err <= 1e-6 * scale + 1e-12), (pos[worst], err[worst], scale[worst])
    assert float(err.max() / scale.max()) < 1e-7


def test_reference_base_is_zero_and_n_mutates_all(case):
    out = ism(case.model, case.codes, positions=case.pos, reduction="scalar" if case.kind != "basenji" else "sum")
    ref = case.codes[:, case.pos]
    for s in range(2):
        for k in range(len(case.pos)):
            if ref[s, k] < 4:
                assert np.all(out[s, k, ref[s, k]] == 0.0)
    # N positions in the middle: all four bases are mutations with an effect
    k = int(np.searchsorted(case.pos, case.L // 2))
    assert case.codes[0, case.pos[k]] == 4
    assert np.all(out[0, k] != 0.0)


def test_deterministic_and_batch_independent(case):
    kw = {"positions": case.pos[:30], "reduction": "sum"}
    a = ism(case.model, case.codes, batch_size=16, **kw)
    b = ism(case.model, case.codes, batch_size=16, **kw)
    assert np.array_equal(a, b)
    c = ism(case.model, case.codes, batch_size=7, **kw)
    assert np.abs(a - c).max() <= 1e-5 * np.abs(a).max()  # other batch shapes: float32 rounding only


def test_positions_forms(case):
    L = case.L
    a = ism(case.model, case.codes[:1], positions=slice(L // 2 - 5, L // 2 + 5))
    b = ism(case.model, case.codes[:1], positions=np.arange(L // 2 - 5, L // 2 + 5))
    c = ism(case.model, case.codes[:1], positions=range(L // 2 - 5, L // 2 + 5))
    d = ism(case.model, case.codes[0], positions=np.arange(L // 2 - 5, L // 2 + 5))  # one sequence as (L,)
    assert np.array_equal(a, b) and np.array_equal(a, c) and np.array_equal(a, d)
    if case.kind == "resnet":  # positions=None: every position
        full = ism(case.model, case.codes[:1], batch_size=256)
        assert full.shape == (1, L, 4, 3)
        assert np.allclose(full[:, L // 2 - 5:L // 2 + 5], a, rtol=1e-6, atol=1e-9)


def test_training_mode_restored(case):
    model = copy.deepcopy(case.model)
    model.train()
    leaf = next(m for m in model.modules() if not list(m.children()))
    leaf.eval()  # mixed modes come back as they were
    before = [m.training for m in model.modules()]
    k = np.flatnonzero(np.abs(case.pos - case.L // 2) <= 2)  # central positions (the edges barely matter)
    for naive in (False, True):
        out = ism(model, case.codes[:1], positions=case.pos[k], naive=naive,
                  reduction="sum" if case.kind == "basenji" else "scalar")
        assert [m.training for m in model.modules()] == before
        exp = case.expected("sum" if case.kind == "basenji" else "scalar")[:1, k]
        assert _rel(out, exp)[1] < REL  # computed in eval mode: no dropout, running BN statistics


class TanhNet(nn.Module):
    """A model with no fast path: a conv and a bare torch.tanh in forward."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.conv = nn.Conv1d(4, 2, 5, padding=2)
        self.config = {"seq_len": 64}

    def forward(self, x):
        return torch.tanh(self.conv(x)).mean(-1)


class Tanh(nn.Module):
    def forward(self, x):
        return torch.tanh(x)


def test_unknown_layer_falls_back_to_naive(caplog):
    model = TanhNet().eval()
    assert fast_path_reason(model)
    codes = np.random.default_rng(5).integers(0, 4, size=(2, 64), dtype=np.uint8)
    with caplog.at_level(logging.DEBUG, logger="seq2func.interpret.ism"):
        fast = ism(model, codes, reduction="scalar")
    assert any("naive" in r.getMessage() for r in caplog.records)
    naive = ism(model, codes, reduction="scalar", naive=True)
    assert np.array_equal(fast, naive)
    with torch.no_grad():
        y0 = model(one_hot(torch.from_numpy(codes))).numpy()
        for p in (0, 31, 63):
            b = (codes[1, p] + 1) % 4
            c = codes[1:].copy()
            c[0, p] = b
            y = model(one_hot(torch.from_numpy(c))).numpy()[0]
            assert np.allclose(fast[1, p, b], y - y0[1], rtol=1e-5, atol=1e-7)


def test_seqmodel_with_unknown_layer_falls_back(caplog):
    base = _model("basenji")
    model = copy.deepcopy(base)
    model.trunk[-1] = nn.Sequential(model.trunk[-1], Tanh())
    reason = fast_path_reason(model)
    assert reason and "Tanh" in reason
    codes = _codes(4096, [0])[:1]
    with caplog.at_level(logging.DEBUG, logger="seq2func.interpret.ism"):
        fast = ism(model, codes, positions=[0, 2048, 4095])
    assert any("Tanh" in r.getMessage() for r in caplog.records)
    naive = ism(model, codes, positions=[0, 2048, 4095], naive=True)
    assert np.array_equal(fast, naive)


def test_bad_inputs(case):
    m, L, codes = case.model, case.L, case.codes
    bad = [
        {"codes": codes, "positions": [L]},
        {"codes": codes, "positions": [-1]},
        {"codes": codes, "positions": [[1, 2]]},
        {"codes": codes[:, :-1]},
        {"codes": np.concatenate([codes, codes[:, :5]], axis=1)},
        {"codes": codes[None]},
        {"codes": np.full_like(codes, 7)},
        {"codes": codes, "reduction": "max"},
        {"codes": codes, "reduction": "bin"},
        {"codes": codes, "reduction": "bin", "bins": 99},
        {"codes": codes, "tracks": [3]},
        {"codes": codes, "batch_size": 0},
    ]
    if case.kind == "basenji":
        bad.append({"codes": codes, "reduction": "scalar"})
    for kw in bad:
        with pytest.raises(InputError) as err:
            ism(m, positions=kw.pop("positions", case.pos[:2]), **kw)
        assert "\n" not in str(err.value)


def test_ism_speed_small():
    model = _model("basenji")
    r = ism_speed(model, region_bp=6, batch_size=8)
    assert set(r) == {"fast_s", "naive_s", "speedup", "max_abs_diff", "max_rel_diff"}
    assert r["fast_s"] > 0 and r["naive_s"] > 0 and r["speedup"] > 0
    assert r["max_rel_diff"] < REL


def test_basenji_tiny_at_full_length(capsys):
    """The bundled basenji_tiny at its own 16,384 bp (128 bins, 112 after cropping)."""
    torch.manual_seed(7)
    model = _he_init(build_model(load_config("basenji_tiny") | {"n_tracks": 2}), seed=17)
    L = 16384
    codes = np.random.default_rng(7).integers(0, 4, size=(1, L), dtype=np.uint8)
    codes[0, [0, 8192]] = 4
    pos = np.r_[0:5, L - 5:L, 8190:8195, 16 * 300 - 1:16 * 300 + 2, 128 * 100 - 1:128 * 100 + 2]
    for reduction, bins in (("sum", None), ("bin", 56)):
        fast = ism(model, codes, positions=pos, reduction=reduction, bins=bins)
        naive = ism(model, codes, positions=pos, reduction=reduction, bins=bins, naive=True)
        a, r = _rel(fast, naive.astype(np.float64))
        with capsys.disabled():
            print(f"\n[ism] basenji_tiny 16384 bp {reduction}: max |fast - naive| = {a:.3g} (relative {r:.2g})")
        assert r < REL
