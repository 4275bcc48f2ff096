"""Tests of seq2func.losses against hand computations and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats as sps
from scipy.special import expit, gammaln

from seq2func.losses import bce, get_loss, mse, multinomial_poisson, poisson

NAN = float("nan")


def test_poisson_by_hand_and_scipy():
    pred = torch.tensor([[1.0, 2.0], [0.5, 4.0]])
    target = torch.tensor([[0.0, 3.0], [1.0, 2.0]])
    # by hand: mean(pred - target * log(pred)), eps = 0
    hand = ((1 - 0) + (2 - 3 * math.log(2)) + (0.5 - 1 * math.log(0.5)) + (4 - 2 * math.log(4))) / 4
    assert poisson(pred, target, eps=0.0).item() == pytest.approx(hand, rel=1e-6)
    # scipy: -logpmf(k; mu) = mu - k log mu + log(k!)  -> the loss drops log(k!)
    p, t = pred.numpy().ravel(), target.numpy().ravel()
    ref = np.mean(-sps.poisson.logpmf(t, p) - gammaln(t + 1))
    assert poisson(pred, target, eps=0.0).item() == pytest.approx(ref, rel=1e-6)
    # the default eps only perturbs slightly
    assert poisson(pred, target).item() == pytest.approx(ref, rel=1e-5)


def test_poisson_ignores_nan_and_mask():
    pred = torch.tensor([1.0, 2.0, 3.0])
    target = torch.tensor([0.0, NAN, 3.0])
    hand = ((1 - 0) + (3 - 3 * math.log(3))) / 2
    assert poisson(pred, target, eps=0.0).item() == pytest.approx(hand, rel=1e-6)
    mask = torch.tensor([True, True, False])
    assert poisson(pred, target, mask=mask, eps=0.0).item() == pytest.approx(1.0, rel=1e-6)
    # gradients stay finite, and are zero for the masked element
    pred.requires_grad_(True)
    poisson(pred, target).backward()
    assert torch.isfinite(pred.grad).all() and pred.grad[1] == 0
    # nothing valid: 0, and backward still works
    p2 = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = poisson(p2, torch.tensor([NAN, NAN]))
    assert loss.item() == 0.0
    loss.backward()


def test_mse_and_bce_by_hand():
    pred = torch.tensor([[1.0, -2.0, 0.5]])
    target = torch.tensor([[0.0, NAN, 1.5]])
    assert mse(pred, target).item() == pytest.approx((1.0 + 1.0) / 2)
    logits = torch.tensor([2.0, -1.0, 0.0, 3.0])
    y = torch.tensor([1.0, 0.0, 1.0, NAN])
    s = expit(np.array([2.0, -1.0, 0.0]))
    hand = -(math.log(s[0]) + math.log(1 - s[1]) + math.log(s[2])) / 3
    assert bce(logits, y).item() == pytest.approx(hand, rel=1e-6)
    # numerically stable for large logits
    assert torch.isfinite(bce(torch.tensor([100.0, -100.0]), torch.tensor([0.0, 1.0])))


def test_multinomial_poisson_against_scipy():
    # one example, 4 bins, 2 tracks
    pred = torch.tensor([[[1.0, 0.5], [2.0, 0.5], [0.5, 2.0], [0.5, 1.0]]])
    target = torch.tensor([[[2.0, 0.0], [3.0, 1.0], [0.0, 4.0], [1.0, 0.0]]])
    w = 0.2
    terms = []
    for j in range(2):
        k = target[0, :, j].numpy()
        mu = pred[0, :, j].numpy()
        n, s = k.sum(), mu.sum()
        # Poisson on the total, without log(n!)
        pois = -sps.poisson.logpmf(n, s) - math.lgamma(n + 1)
        # multinomial NLL of the profile, without log(n!) - sum log(k!)
        multi = -sps.multinomial.logpmf(k, n, mu / s) + math.lgamma(n + 1) - sum(math.lgamma(v + 1) for v in k)
        terms.append((multi + w * pois) / 4)
    expected = float(np.mean(terms))
    assert multinomial_poisson(pred, target, total_weight=w, eps=0.0).item() == pytest.approx(expected, rel=1e-6)
    assert multinomial_poisson(pred, target, total_weight=w).item() == pytest.approx(expected, rel=1e-4)
    # total_weight = 1 by hand for track 0: s = 4, S = 6
    p0 = np.array([1.0, 2.0, 0.5, 0.5])
    t0 = np.array([2.0, 3.0, 0.0, 1.0])
    hand0 = (-(t0 * np.log(p0 / 4)).sum() + (4 - 6 * math.log(4))) / 4
    got = multinomial_poisson(pred[..., :1], target[..., :1], total_weight=1.0, eps=0.0).item()
    assert got == pytest.approx(hand0, rel=1e-6)


def test_multinomial_poisson_masks_bins():
    pred = torch.tensor([[[1.0], [2.0], [5.0]]])
    target = torch.tensor([[[2.0], [3.0], [NAN]]])
    full = multinomial_poisson(pred[:, :2], target[:, :2], eps=0.0)
    assert multinomial_poisson(pred, target, eps=0.0).item() == pytest.approx(full.item(), rel=1e-6)
    p = pred.clone().requires_grad_(True)
    multinomial_poisson(p, target).backward()
    assert torch.isfinite(p.grad).all() and p.grad[0, 2, 0] == 0


def test_losses_under_bf16_and_get_loss():
    pred = torch.rand(2, 8, 3, dtype=torch.bfloat16) + 0.1
    target = torch.poisson(torch.ones(2, 8, 3))
    for name in ("poisson", "multinomial_poisson", "mse", "bce"):
        fn = get_loss(name)
        out = fn(pred, target if name != "bce" else (target > 0).float())
        assert out.dtype == torch.float32 and torch.isfinite(out)
    f = get_loss("multinomial_poisson", total_weight=1.0)
    assert f(pred, target).item() == pytest.approx(multinomial_poisson(pred, target, total_weight=1.0).item())
    with pytest.raises(ValueError):
        get_loss("huber")
    with pytest.raises(ValueError):
        poisson(torch.ones(3), torch.ones(4))


def test_track_weighted_is_the_weighted_mean_of_per_track_losses():
    from seq2func.losses import get_loss, track_weighted

    g = torch.Generator().manual_seed(0)
    pred = torch.rand(3, 8, 4, generator=g) + 0.1
    target = torch.poisson(torch.rand(3, 8, 4, generator=g) * 2)
    target[0, :2, 1] = float("nan")  # masked bins stay per-track
    for name in ("poisson", "mse", "multinomial_poisson"):
        f = get_loss(name)
        per = [float(f(pred[..., k:k + 1], target[..., k:k + 1])) for k in range(4)]
        w = [1.0, 2.0, 0.5, 0.5]
        assert float(track_weighted(f, w)(pred, target)) == pytest.approx(sum(a * b for a, b in zip(w, per)) / 4, rel=1e-6)
        # equal weights, nothing masked: the plain loss
        clean = torch.nan_to_num(target)
        assert float(track_weighted(f, [1, 1, 1, 1])(pred, clean)) == pytest.approx(float(f(pred, clean)), rel=1e-6)
    with pytest.raises(ValueError):
        track_weighted(get_loss("mse"), [0, 0])
    with pytest.raises(ValueError, match="3 track weights for 4 tracks"):
        track_weighted(get_loss("mse"), [1, 1, 1])(pred, target)
