"""The prediction primitive (seq2func.predict.Predictor) against plain model calls on tiny random
profile, classification and scalar models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seq2func.models import build_model, load_config
from seq2func.predict import Predictor, rc_permutation, reverse_complement_codes_t
from seq2func.prepare.dataset import one_hot

torch.set_num_threads(1)

COMP = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
RTOL, ATOL = 1e-5, 1e-6


def _model(kind: str) -> torch.nn.Module:
    torch.manual_seed({"profile": 0, "classification": 1, "scalar": 2}[kind])
    if kind == "profile":  # 4,096 bp: 32 bins of 128 bp, 8 cropped each side -> 16 output bins
        cfg = load_config("basenji_tiny") | {"n_tracks": 2, "seq_len": 4096}
    elif kind == "classification":
        cfg = load_config("resnet_peak") | {"n_tracks": 2, "seq_len": 1000, "stem_channels": 8,
                                            "stage_channels": [8, 8, 8], "hidden": 16}
    else:
        cfg = load_config("simple_cnn") | {"n_tracks": 2, "seq_len": 2000, "conv_channels": 8, "pool": 500,
                                           "hidden": 8}
    model = build_model(cfg)
    model.eval()
    return model


@pytest.fixture(scope="module", params=["profile", "classification", "scalar"])
def model(request):
    return _model(request.param)


def _codes(model, n: int = 7, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, model.config["seq_len"]), dtype=np.uint8)
    codes[rng.random(codes.shape) < 0.02] = 4  # a few N
    return codes


@torch.no_grad()
def _plain(model, codes: np.ndarray) -> np.ndarray:
    """``model(one_hot(codes))`` as ``(N, bins, tracks)``."""
    y = model(one_hot(torch.from_numpy(np.ascontiguousarray(codes)))).float().numpy()
    return y if y.ndim == 3 else y[:, None, :]


def _manual_rc(model, codes: np.ndarray, perm) -> np.ndarray:
    y = _plain(model, COMP[codes[:, ::-1]])
    return y[:, ::-1][:, :, list(perm)]


def _shift(codes: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(codes, 4)
    out[:, k:] = codes[:, :-k] if k else codes
    return out


def test_call_equals_plain_model_call(model):
    codes = _codes(model)
    out = Predictor(model, batch_size=3)(codes)
    ref = _plain(model, codes)
    bins = ref.shape[1]
    assert out.dtype == np.float32 and out.shape == (7, bins, 2)
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
    if model.output_kind == "profile":
        assert bins == 16 == Predictor(model).output_bins()
    else:
        assert bins == 1 == Predictor(model).output_bins()
    # torch input gives the same
    np.testing.assert_array_equal(Predictor(model, batch_size=3)(torch.from_numpy(codes)), out)


def test_rc_equals_manual_reverse_complement(model):
    codes = _codes(model)
    perm = [1, 0]
    pred = Predictor(model, batch_size=4, rc_perm=perm)
    np.testing.assert_allclose(pred(codes, rc=True), _manual_rc(model, codes, perm), rtol=RTOL, atol=ATOL)
    # the permutation matters (the two tracks differ) and the default is the identity ...
    ident = Predictor(model, batch_size=4)(codes, rc=True)
    np.testing.assert_allclose(ident, _manual_rc(model, codes, [0, 1]), rtol=RTOL, atol=ATOL)
    assert not np.allclose(ident, pred(codes, rc=True))
    # ... or the rc_index of model.seq2func_tracks
    model.seq2func_tracks = [dict(track_id="p", rc_index=1), dict(track_id="m", rc_index=0)]
    try:
        np.testing.assert_array_equal(Predictor(model, batch_size=4)(codes, rc=True), pred(codes, rc=True))
    finally:
        del model.seq2func_tracks
    assert pred.n_forward == 3 * 7  # every call counted, reverse complements included


def test_ensemble_equals_manual_average(model):
    codes = _codes(model, n=5)
    perm = [1, 0]
    pred = Predictor(model, batch_size=2, rc_perm=perm)
    got = pred.ensemble(codes, rc_average=True, shifts=(0, 1))
    parts = [_plain(model, codes), _manual_rc(model, codes, perm),
             _plain(model, _shift(codes, 1)), _manual_rc(model, _shift(codes, 1), perm)]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.mean(parts, axis=0), rtol=RTOL, atol=ATOL)
    # one member: the plain call; forward + rc only: their mean
    np.testing.assert_array_equal(pred.ensemble(codes), pred(codes))
    np.testing.assert_allclose(pred.ensemble(codes, rc_average=True), 0.5 * (parts[0] + parts[1]), rtol=RTOL, atol=ATOL)


def test_batch_size_does_not_change_results(model):
    codes = _codes(model, n=7, seed=3)
    one = Predictor(model, batch_size=1)
    five = Predictor(model, batch_size=5)
    np.testing.assert_allclose(one(codes), five(codes), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(one(codes, rc=True, shift=2), five(codes, rc=True, shift=2), rtol=RTOL, atol=ATOL)
    assert one.n_forward == five.n_forward == 14


def test_runs_in_eval_mode_and_restores_train_mode(model):
    codes = _codes(model, n=4)
    ref = Predictor(model, batch_size=2)(codes)  # model in eval mode
    assert not model.training
    has_dropout = any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules())
    model.train()
    try:
        pred = Predictor(model, batch_size=2)
        a = pred(codes)
        assert model.training and all(m.training for m in model.modules())
        b = pred.ensemble(codes, rc_average=True)
        assert model.training
        c = pred(codes)
        # dropout and batch statistics were off: repeated calls agree, and agree with eval mode
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(a, ref)
        assert b.shape == a.shape
        if has_dropout:  # in train mode the same model is stochastic
            with torch.no_grad():
                x = one_hot(torch.from_numpy(codes))
                assert not torch.equal(model(x), model(x))
    finally:
        model.eval()
    Predictor(model)(codes[:1])
    assert not model.training


def test_forward_tensor_passes_gradients(model):
    codes = torch.from_numpy(_codes(model, n=3))
    pred = Predictor(model, rc_perm=[1, 0])
    model.zero_grad(set_to_none=True)
    y = pred.forward_tensor(codes) + pred.forward_tensor(codes, rc=True)
    assert y.requires_grad and y.dtype == torch.float32 and y.ndim == 3
    y[:, :, 1].sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads[:1])
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0
    model.zero_grad(set_to_none=True)
    # the same values as the no-grad call
    with torch.no_grad():
        np.testing.assert_allclose(pred.forward_tensor(codes, rc=True).numpy(), pred(codes.numpy(), rc=True),
                                   rtol=RTOL, atol=ATOL)


def test_helpers_and_geometry():
    codes = torch.tensor([[0, 1, 2, 3, 4, 0]], dtype=torch.uint8)
    assert reverse_complement_codes_t(codes).tolist() == [[3, 4, 0, 1, 2, 3]]
    assert rc_permutation(None, 3).tolist() == [0, 1, 2]
    assert rc_permutation([dict(rc_index=0), dict(rc_index=2), dict(rc_index=1)], 3).tolist() == [0, 2, 1]
    assert rc_permutation([dict(track_id="a"), dict(track_id="b")], 2).tolist() == [0, 1]
    m = _model("profile")
    p = Predictor(m)
    assert p.seq_len == 4096
    crop, bin_size = p.bin_geometry()
    assert (crop, bin_size) == ((4096 - 16 * 128) // 2, 128)
    assert p.receptive_field() == m.receptive_field()
    assert p(np.zeros((0, 4096), dtype=np.uint8)).shape == (0, 16, 2)
    with pytest.raises(ValueError):
        Predictor(m, rc_perm=[0, 1, 2])(np.zeros((1, 4096), dtype=np.uint8), rc=True)
    s = _model("scalar")
    assert Predictor(s).bin_geometry() == (0, 2000) and Predictor(s).output_bins() == 1


def test_evaluate_and_personal_use_the_predictor():
    from seq2func import evaluate
    from seq2func.personal.predict import GenePredictor
    from seq2func.predict import rc_permutation as rp

    assert evaluate.rc_permutation is rp
    m = _model("profile")
    codes = _codes(m, n=3)
    gp = GenePredictor(m, columns=[0, 1], rc=True, rc_perm=[1, 0], tss_bins=1)
    with torch.no_grad():
        v = gp.forward_codes(torch.from_numpy(codes)).numpy()
    full = Predictor(m, rc_perm=[1, 0]).ensemble(codes, rc_average=True)
    np.testing.assert_allclose(v, full[:, gp.bin_slice, :].astype(np.float64).sum(axis=(1, 2)), rtol=1e-5)
    assert gp.predictor is gp.predictor and gp.predictor.n_forward == 6
