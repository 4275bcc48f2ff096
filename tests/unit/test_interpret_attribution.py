"""Attributions (seq2func.interpret.attribution) on models whose answer is known: a convolution whose
filter is a planted JASPAR PWM (log-odds) + ReLU + sum, and the bundled architectures with random
weights (summation-to-delta through ReLU, GELU, softplus, max pooling and global max pooling)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from seq2func.errors import InputError
from seq2func.interpret.attribution import Target, attributions, central_bins
from seq2func.io.motifs import load_jaspar_subset
from seq2func.models import build_model, load_config
from seq2func.prepare.dataset import one_hot
from seq2func.variants.baselines import pwm_matrix

torch.set_num_threads(1)

L, SITE, N_SEQ = 240, 101, 6
TOL = 1e-3  # tangermeme's default absolute convergence-delta threshold


class PlantedPWM(nn.Module):
    """A 'scalar' seq2func model that scans one PWM: sum over positions of ReLU(log-odds - thr)."""

    output_kind = "scalar"

    def __init__(self, log_odds: np.ndarray, threshold: float):
        super().__init__()
        self.config = {"n_tracks": 1, "seq_len": L}
        w = log_odds.shape[0]
        self.conv = nn.Conv1d(4, 1, w)
        with torch.no_grad():
            self.conv.weight.copy_(torch.as_tensor(log_odds.T[None], dtype=torch.float32))
            self.conv.bias.fill_(-threshold)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x)).sum(dim=-1)  # (B, 1)


@pytest.fixture(scope="module")
def planted():
    motifs, _ = load_jaspar_subset()
    ctcf = next(m for m in motifs if m.name == "CTCF")
    lo = pwm_matrix(ctcf)[:, :4]  # (w, 4) bits
    model = PlantedPWM(lo, threshold=0.5 * lo.max(axis=1).sum()).eval()
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 4, size=(N_SEQ, L)).astype(np.uint8)
    consensus = lo.argmax(axis=1).astype(np.uint8)
    codes[:, SITE:SITE + len(consensus)] = consensus
    return model, codes, len(consensus)


def _refs(X: torch.Tensor, i: int, n: int, seed: int) -> torch.Tensor:
    """The references tangermeme draws for sequence i: shuffle k with seed + k (its documented contract)."""
    from tangermeme.ersatz import dinucleotide_shuffle

    return torch.cat([dinucleotide_shuffle(X[i:i + 1], n=1, random_state=seed + k)[:, 0] for k in range(n)])


def _deltas(target: nn.Module, codes: np.ndarray, n: int, seed: int) -> np.ndarray:
    X = one_hot(torch.from_numpy(codes))
    target.eval()
    with torch.no_grad():
        fx = target(X)[:, 0]
        return np.array([float(fx[i] - target(_refs(X, i, n, seed))[:, 0].mean()) for i in range(len(codes))])


@pytest.mark.parametrize("method", ["deeplift_shap", "grad_x_input", "saliency"])
def test_attributions_peak_on_planted_motif(planted, method):
    model, codes, w = planted
    attr, hyp = attributions(model, codes, method=method, n_shuffles=8, seed=0)
    assert attr.shape == hyp.shape == (N_SEQ, 4, L) and attr.dtype == np.float32
    per_pos = attr.sum(axis=1)  # only the observed base is non-zero
    for i in range(N_SEQ):
        assert SITE <= int(np.abs(per_pos[i]).argmax()) < SITE + w
        inside = np.abs(per_pos[i, SITE:SITE + w]).sum()
        assert inside >= 0.8 * np.abs(per_pos[i]).sum()
        assert per_pos[i, SITE:SITE + w].sum() > 0
    # the observed base carries the whole contribution; the hypothetical one equals it there
    X = one_hot(torch.from_numpy(codes)).numpy()
    np.testing.assert_array_equal(attr, hyp * X)
    np.testing.assert_array_equal((hyp * X).sum(axis=1), attr.sum(axis=1))
    if method == "grad_x_input":  # mean-centred gradient: sums to zero at every position
        np.testing.assert_allclose(hyp.sum(axis=1), 0.0, atol=1e-5)
    if method == "saliency":  # raw gradient x input at the site = the PWM's log-odds of the observed base
        lo = model.conv.weight.detach().numpy()[0]  # (4, w)
        np.testing.assert_allclose(hyp[:, :, SITE:SITE + w], np.broadcast_to(lo, (N_SEQ, 4, w)), rtol=1e-5, atol=1e-5)


def test_deepshap_summation_to_delta_and_seed(planted):
    model, codes, _ = planted
    attr, _ = attributions(model, codes, n_shuffles=8, seed=11)
    np.testing.assert_allclose(attr.sum(axis=(1, 2)), _deltas(Target(model), codes, 8, 11), atol=TOL, rtol=0)
    again, _ = attributions(model, codes, n_shuffles=8, seed=11, batch_size=3)  # batches do not matter
    np.testing.assert_array_equal(attr, again)
    other, _ = attributions(model, codes, n_shuffles=8, seed=12)
    assert not np.array_equal(attr, other)


def _tiny(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind == "basenji":  # BatchNorm, GELU, MaxPool1d, dilated residuals, softplus head
        cfg = load_config("basenji_tiny") | {"n_tracks": 2, "seq_len": 2048, "crop_bins": 2}
    elif kind == "resnet":  # ReLU, MaxPool1d, residual sums, global max pool (a bare amax)
        cfg = load_config("resnet_peak") | {"n_tracks": 2, "seq_len": 600, "stem_channels": 8,
                                            "stage_channels": [8, 8, 8], "hidden": 16}
    else:  # ReLU, AvgPool1d, dense
        cfg = load_config("simple_cnn") | {"n_tracks": 2, "seq_len": 1000, "conv_channels": 8, "pool": 250,
                                           "hidden": 8}
    return build_model(cfg).eval()


@pytest.mark.parametrize("kind", ["basenji", "resnet", "simple_cnn"])
def test_summation_to_delta_bundled_models(kind):
    model = _tiny(kind)
    L_ = model.config["seq_len"]
    codes = np.random.default_rng(1).integers(0, 4, size=(2, L_)).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # tangermeme's convergence check must stay quiet
        attr, _ = attributions(model, codes, track=1, n_shuffles=4, seed=5)
    d = _deltas(Target(model, track=1), codes, 4, 5)
    np.testing.assert_allclose(attr.sum(axis=(1, 2)), d, atol=TOL * 1e-1, rtol=1e-3)
    assert np.abs(attr).sum() > 0


def test_convergence_check_reported():
    """Without the GlobalPool1d rule the ResNet's global max pool is treated as linear."""
    model = _tiny("resnet")
    codes = np.random.default_rng(2).integers(0, 4, size=(2, 600)).astype(np.uint8)
    with pytest.warns(RuntimeWarning, match="summation-to-delta"):
        attributions(model, codes, n_shuffles=4, seed=0, additional_nonlinear_ops=None)
    with pytest.raises(RuntimeError, match="summation-to-delta"):
        attributions(model, codes, n_shuffles=4, seed=0, additional_nonlinear_ops=None, convergence="raise")


def test_n_bases_get_no_attribution(planted):
    model, codes, _ = planted
    codes = codes.copy()
    codes[:, 10:30] = 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("deeplift_shap", "grad_x_input"):
            attr, hyp = attributions(model, codes[:2], method=method, n_shuffles=4, seed=0)
            assert np.all(attr[:, :, 10:30] == 0)
            assert np.isfinite(hyp).all()


def test_target_reductions():
    model = _tiny("basenji")
    x = one_hot(torch.from_numpy(np.random.default_rng(3).integers(0, 4, size=(2, 2048)).astype(np.uint8)))
    with torch.no_grad():
        y = model(x)  # (2, bins, 2)
        n = y.shape[1]
        lo, hi = central_bins(n)
        assert (lo, hi) == ((n // 2 - 1, n // 2 + 1) if n % 2 == 0 else (n // 2, n // 2 + 1))
        torch.testing.assert_close(Target(model, track=1)(x)[:, 0], y[:, lo:hi, 1].sum(1))
        torch.testing.assert_close(Target(model, track=0, reduction="sum", bins=(0, n))(x)[:, 0], y[:, :, 0].sum(1))
        torch.testing.assert_close(Target(model, track=-1, reduction="bin", bins=-1)(x)[:, 0], y[:, -1, 1])
    assert central_bins(7) == (3, 4) and central_bins(8) == (3, 5)
    scalar = _tiny("simple_cnn")
    xs = one_hot(torch.from_numpy(np.zeros((1, 1000), dtype=np.uint8)))
    with torch.no_grad():
        torch.testing.assert_close(Target(scalar, track=1)(xs), scalar(xs)[:, 1:2])


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "integrated_gradients"}, "unknown attribution method"),
    ({"reduction": "scalar"}, "profile model"),
    ({"reduction": "bin"}, "one bin index"),
    ({"track": 5}, "out of range"),
    ({"convergence": "maybe"}, "convergence"),
])
def test_bad_arguments_are_input_errors(kwargs, match):
    model = _tiny("basenji")
    codes = np.zeros((1, 2048), dtype=np.uint8)
    with pytest.raises(InputError, match=match):
        attributions(model, codes, **kwargs)


def test_bad_codes_are_input_errors(planted):
    model, codes, _ = planted
    with pytest.raises(InputError, match=r"\(N, L\)"):
        attributions(model, codes[0])
    with pytest.raises(InputError, match="integer codes"):
        attributions(model, codes.astype(np.float32))
    with pytest.raises(InputError, match="no bin axis"):
        Target(model, reduction="sum")
