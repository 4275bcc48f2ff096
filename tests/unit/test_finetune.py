"""Tests of seq2func.train.strategies (strategies, trainable-parameter counts) and seq2func.models.lora."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from seq2func.models import build_model, count_params, load_config
from seq2func.models.lora import LoRAConv1d, LoRALinear, apply_lora, merge_lora
from seq2func.train.strategies import STRATEGIES, apply_strategy, count_trainable, train_mode

torch.set_num_threads(2)

CONFIGS = {
    "basenji": ({**load_config("basenji_tiny"), "n_tracks": 3}, 3072),
    "resnet": ({"name": "resnet", "n_tracks": 2, "seq_len": 256, "stem_channels": 8, "stem_kernel": 7,
                "stage_channels": [8, 16], "stage_pools": [4, 4], "blocks_per_stage": 1, "kernel": 3,
                "hidden": 16}, 256),
    "simple_cnn": ({**load_config("simple_cnn"), "seq_len": 1809, "conv_channels": 12, "hidden": 8}, 1809),
}


def one_hot_batch(b: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (b, length), generator=g)
    return nn.functional.one_hot(codes, 4).float().transpose(1, 2).contiguous()


def make(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(CONFIGS[name][0])


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", list(CONFIGS))
def test_head_only_and_full(name):
    model = make(name)
    total, head = n_params(model), n_params(model.head)
    apply_strategy(model, "head_only")
    assert count_trainable(model) == head
    assert not any(p.requires_grad for p in model.trunk.parameters())
    apply_strategy(model, "full")
    assert count_trainable(model) == total == count_params(model)


def test_gradual_unfreeze_top_down():
    model = make("basenji")
    blocks = model.trunk_blocks()
    # stem, 2 tower blocks, 3 dilated blocks, final pointwise
    assert len(blocks) == 7
    head = n_params(model.head)
    sizes = [n_params(b) for b in blocks]
    schedule = apply_strategy(model, "gradual_unfreeze")
    assert count_trainable(model) == head  # epoch 0: only the head
    for epoch in range(1, 10):
        newly = schedule(epoch)
        k = min(epoch, len(blocks))
        assert newly == (1 if epoch <= len(blocks) else 0)
        assert count_trainable(model) == head + sum(sizes[len(blocks) - k:])
        # the top (output-side) blocks are the trainable ones
        assert all(p.requires_grad for p in blocks[-1].parameters())
        if k < len(blocks):
            assert not any(p.requires_grad for p in blocks[0].parameters())
    assert count_trainable(model) == n_params(model)
    # resuming at epoch 3 restores that epoch's state directly
    model2 = make("basenji")
    s2 = apply_strategy(model2, "gradual_unfreeze")
    s2(3)
    assert count_trainable(model2) == head + sum(sizes[-3:])
    # spread over a number of epochs
    model3 = make("basenji")
    s3 = apply_strategy(model3, "gradual_unfreeze", epochs=2)
    s3(1)
    assert count_trainable(model3) == head + sum(sizes[-4:])  # ceil(7 / 2) = 4 blocks
    s3(2)
    assert count_trainable(model3) == n_params(model3)


def test_train_mode_keeps_frozen_batchnorm_stats():
    model = make("basenji")
    apply_strategy(model, "head_only")
    train_mode(model)
    bns = [m for m in model.trunk.modules() if isinstance(m, nn.BatchNorm1d)]
    assert bns and not any(m.training for m in bns)
    assert model.head.training
    before = [m.running_mean.clone() for m in bns]
    model(one_hot_batch(2, 3072))
    assert all(torch.equal(m.running_mean, b) for m, b in zip(bns, before))
    apply_strategy(model, "full")
    train_mode(model)
    assert all(m.training for m in bns)


def lora_expected_trainable(model: nn.Module, rank: int) -> int:
    """Head + r_eff * (fan_in + fan_out) for every Conv1d / Linear in the (unwrapped) trunk."""
    n = n_params(model.head)
    for m in model.trunk.modules():
        if isinstance(m, nn.Conv1d):
            fan_in, fan_out = m.in_channels * m.kernel_size[0], m.out_channels
        elif isinstance(m, nn.Linear):
            fan_in, fan_out = m.in_features, m.out_features
        else:
            continue
        n += min(rank, fan_in, fan_out) * (fan_in + fan_out)
    return n


@pytest.mark.parametrize("name", list(CONFIGS))
def test_lora_counts_identity_at_init_and_merge(name):
    model = make(name).eval()
    length = CONFIGS[name][1]
    x = one_hot_batch(2, length)
    with torch.no_grad():
        ref = model(x)
    expected = lora_expected_trainable(model, rank=4)
    n_before = n_params(model)
    schedule = apply_strategy(model, "lora", rank=4, alpha=8)
    assert count_trainable(model) == expected
    assert n_params(model) == n_before + expected - n_params(model.head)
    assert schedule.info["layers"]
    # B = 0 at init: the output is unchanged, exactly
    with torch.no_grad():
        assert torch.equal(model(x), ref)
    # gradients reach only the adapters and the head
    model.train()
    model(x).float().square().mean().backward()
    for pname, p in model.named_parameters():
        if p.requires_grad:
            assert "lora_" in pname or pname.startswith("head.")
        else:
            assert p.grad is None
    # give the adapters non-zero B, then merging must not change the output
    model.eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (LoRALinear, LoRAConv1d)):
                m.lora_B.normal_(0, 0.05)
        unmerged = model(x)
    assert not torch.allclose(unmerged, ref)
    assert merge_lora(model) == len(schedule.info["layers"])
    assert not any(isinstance(m, (LoRALinear, LoRAConv1d)) for m in model.modules())
    with torch.no_grad():
        torch.testing.assert_close(model(x), unmerged, rtol=1e-4, atol=1e-5)
    # the merged model is a plain model again: its config builds it and its state dict loads
    rebuilt = build_model(model.config)
    rebuilt.load_state_dict(model.state_dict())
    assert n_params(model) == n_before


def test_lora_layers_directly():
    torch.manual_seed(0)
    conv = nn.Conv1d(6, 5, 5, padding=4, dilation=2)
    lin = nn.Linear(7, 3)
    x = torch.randn(2, 6, 20)
    lc = LoRAConv1d(copy.deepcopy(conv), rank=2, alpha=4)
    ll = LoRALinear(copy.deepcopy(lin), rank=2, alpha=2)
    assert torch.equal(lc(x), conv(x))
    with torch.no_grad():
        lc.lora_B.normal_()
        ll.lora_B.normal_()
    # the delta of a conv LoRA is a conv with the merged kernel
    delta = lc.delta_weight()
    assert delta.shape == conv.weight.shape
    expected = nn.functional.conv1d(x, conv.weight + delta, conv.bias, padding=4, dilation=2)
    torch.testing.assert_close(lc(x), expected)
    z = torch.randn(4, 7)
    torch.testing.assert_close(ll(z), z @ (lin.weight + 1.0 * ll.lora_B @ ll.lora_A).T + lin.bias)
    lc.merge()
    torch.testing.assert_close(lc(x), expected)
    lc.unmerge()
    torch.testing.assert_close(lc.base.weight, conv.weight)
    # apply_lora skips what it is told to, and clips the rank
    seq = nn.Sequential(nn.Conv1d(4, 3, 1), nn.Linear(3, 3))
    names = apply_lora(seq, rank=8, skip=[seq[1]])
    assert names == ["0"] and seq[0].rank == 3 and isinstance(seq[1], nn.Linear)


def test_scratch_reinitialises_everything():
    model = make("basenji")
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # a "pre-trained" model
    pretrained = copy.deepcopy(model.state_dict())
    apply_strategy(model, "head_only")
    apply_strategy(model, "scratch", seed=7)
    assert count_trainable(model) == n_params(model)
    for k, v in model.state_dict().items():
        if v.dtype.is_floating_point and "running" not in k and v.numel() > 1:
            assert not torch.equal(v, pretrained[k]), k
    other = make("basenji", seed=99)
    apply_strategy(other, "scratch", seed=7)
    for k, v in model.state_dict().items():
        assert torch.equal(v, other.state_dict()[k])


def test_bad_strategy_and_options():
    model = make("resnet")
    assert set(STRATEGIES) == {"head_only", "full", "gradual_unfreeze", "lora", "scratch"}
    with pytest.raises(ValueError):
        apply_strategy(model, "adapters")
    with pytest.raises(TypeError):
        apply_strategy(model, "head_only", rank=4)
