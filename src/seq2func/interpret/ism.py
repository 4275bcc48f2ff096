"""Exact, fast in-silico saturation mutagenesis (ISM).

:func:`ism` mutates every position of a sequence to every other base and reports how much the
model's output changes: ``(n_sequences, n_positions, 4, n_tracks)``, the mutated output reduced to
one value per track (``"sum"`` over output bins, one ``"bin"``, or the ``"scalar"`` output of a
classification / scalar model) **minus the reference's**. The reference base of a position gives
exactly 0; at a position whose reference is ``N`` all four bases are mutations.

The naive way (``naive=True``, the oracle) runs the whole model on every mutated sequence through
:class:`seq2func.predict.Predictor`. The fast path gives the same numbers at a fraction of the
cost, using that a convolutional network is *local*: a mutation at position ``p`` changes only the
activations inside a window around ``p`` at every layer, and that window is computed exactly from
the reference activations around it. It is exact arithmetic, not an approximation: run in
float64 (a ``.double()`` model) it matches a float64 oracle to ~1e-8 relative; in float32 the two
paths differ by float32 rounding only (a few 1e-6 of the largest effect on models whose single-base
effects are well above rounding level; both paths are equally far from the float64 values).

How the fast path works
-----------------------
The model (``head(trunk(x))``, a :class:`seq2func.models.SeqModel` built from the known layers) is
split into *stages*, the trunk's children in order (pointwise layers -- BatchNorm in eval mode,
GELU/ReLU/softplus, dropout in eval mode -- join the stage before them):

1. one reference forward pass caches every stage's input at full length, ``(C, n)`` per level
   (for ``basenji_131k`` about 225 MB per sequence);
2. for a batch of mutations, the state is a window ``[s, s + w)`` per mutation (``w`` the same for
   the whole batch) holding the mutated activations; outside it the activations equal the
   reference exactly. At the input it is the mutated base, ``w = 1``;
3. each stage maps the window to the window of its outputs the change can reach (``o =
   floor((s - rr) / P)``, ``w' = max`` over ``s mod P`` of the reach; ``rl``/``rr`` the stage's
   reach to the left/right in input units, ``P`` its pooling factor), gathers the input it needs
   for those outputs -- the reference cache with the state's window spliced in -- and runs the
   stage on that slice only. The slice starts at ``o * P - rl``, so every pooling window inside
   the stage lines up with the full-length grid. 'same' zero padding is reproduced exactly: before
   every convolution, slice positions outside ``[0, n)`` of that level are set to 0 (the real
   padding at the true sequence ends); positions inside come from the cache, so a slice edge
   inside the sequence sees the real neighbouring activations, not padding;
4. a trunk-level average pooling layer (simple_cnn's 900 bp pool) is updated by the pooled
   difference ``(mutated - reference) / pool`` of the few positions that changed, instead of
   recomputing whole pooling segments;
5. at the end, a profile model's delta is the ``sum`` over the window's bins of ``mutated -
   reference`` (bins outside the window do not change); a global pooling layer (resnet) is
   updated from the window (max: the window's maximum against the reference maximum outside it,
   from prefix/suffix maxima; average: by the window's difference), and ``Flatten -> Linear``
   (simple_cnn) by its linear change ``W @ delta`` (``delta`` zero outside the window); the dense
   layers after it (ReLU, head) run as they are on the updated vectors, the reference vector
   through them at the same batch shape.

For ``basenji`` this recomputes the stem and conv tower on a slice of a few dozen bp and a few
bins at each level, each dilated residual block on the bins it can change (the window grows by
``2 x dilation`` per block: 1 + ... + 58 for the 131 kb model, ~350 of 1,024 bins after the last
block) and the final pointwise layers and head on those bins only. Any other module (an unknown
layer, a model not built from these blocks, LoRA-wrapped layers) runs the naive path (logged at
debug level).

:func:`ism_speed` times the fast against the naive path on one random sequence.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seq2func.errors import InputError
from seq2func.models.blocks import (
    ConvBlock,
    Crop1d,
    DilatedResidualBlock,
    GlobalPool1d,
    ProfileHead,
    ResidualBlock,
    SeqModel,
)
from seq2func.models.simple_cnn import SimpleCNN
from seq2func.predict import Predictor
from seq2func.prepare.dataset import one_hot

__all__ = ["REDUCTIONS", "fast_path_reason", "ism", "ism_speed"]

log = logging.getLogger(__name__)

REDUCTIONS = ("sum", "bin", "scalar")

# pointwise layers: the same function at every position (BatchNorm1d in eval mode with running stats)
_POINTWISE = (nn.GELU, nn.ReLU, nn.ELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.LeakyReLU,
              nn.Identity, nn.Dropout, nn.BatchNorm1d)


# ---------------------------------------------------------------------------------------------
# windowed evaluation of the local layers
# ---------------------------------------------------------------------------------------------
def _conv_pads(m: nn.Conv1d) -> tuple[int, int]:
    k, d = m.kernel_size[0], m.dilation[0]
    if isinstance(m.padding, str):
        if m.padding == "valid":
            return 0, 0
        total = d * (k - 1)  # 'same'
        return total // 2, total - total // 2
    return int(m.padding[0]), int(m.padding[0])


def _unsupported(m: nn.Module) -> str | None:
    """Why ``m`` cannot be evaluated on windows (``None`` when it can)."""
    t = type(m)
    if t is nn.Sequential:
        for c in m:
            r = _unsupported(c)
            if r:
                return r
        return None
    if t in _POINTWISE:
        if t is nn.BatchNorm1d and not (m.track_running_stats and m.running_mean is not None):
            return "BatchNorm1d without running statistics"
        return None
    if t is nn.Conv1d:
        if m.stride[0] != 1 or m.padding_mode != "zeros":
            return "Conv1d with stride != 1 or non-zero padding mode"
        return None
    if t is nn.MaxPool1d:
        k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
        st = m.stride if isinstance(m.stride, int) else m.stride[0]
        p = m.padding if isinstance(m.padding, int) else m.padding[0]
        dl = m.dilation if isinstance(m.dilation, int) else m.dilation[0]
        if k != st or p != 0 or dl != 1 or m.ceil_mode or m.return_indices:
            return "MaxPool1d with kernel != stride, padding, dilation or ceil_mode"
        return None
    if t is nn.AvgPool1d:
        k, st, p = m.kernel_size[0], m.stride[0], m.padding[0]
        if k != st or p != 0 or m.ceil_mode:
            return "AvgPool1d with kernel != stride, padding or ceil_mode"
        return None
    if t is ConvBlock:
        return _unsupported(nn.Sequential(m.norm, m.act, m.conv, m.dropout, m.pool))
    if t is DilatedResidualBlock:
        return _unsupported(m.body)
    if t is ResidualBlock:
        for c in (m.conv1, m.bn1, m.act, m.conv2, m.bn2, m.shortcut):
            r = _unsupported(c)
            if r:
                return r
        return None
    if t is Crop1d:
        return None
    if t is ProfileHead:
        return _unsupported(m.proj) or _unsupported(m.act)
    return f"unknown layer {t.__name__}"


def _pool_size(m: nn.Module) -> int:
    k = m.kernel_size
    return int(k if isinstance(k, int) else k[0])


def _mask(s: torch.Tensor, n: int, w: int) -> torch.Tensor:
    pos = s[:, None] + torch.arange(w, device=s.device)[None, :]
    return ((pos >= 0) & (pos < n))[:, None, :]


def _uniform(d: torch.Tensor) -> int:
    v = int(d[0])
    if not bool((d == v).all()):  # pragma: no cover - a bug in the window arithmetic
        raise RuntimeError("ISM windows are not aligned across the batch")
    return v


def _back(m: nn.Module, o, w: int):
    """Input window ``(start, width)`` needed to compute outputs ``[o, o + w)`` of ``m`` exactly
    (``start`` may lie outside the sequence: that part is the layer's zero padding)."""
    t = type(m)
    if t is nn.Sequential or isinstance(m, (list, tuple)):
        for c in reversed(list(m)):
            o, w = _back(c, o, w)
        return o, w
    if t in _POINTWISE:
        return o, w
    if t is nn.Conv1d:
        left, _ = _conv_pads(m)
        return o - left, w + m.dilation[0] * (m.kernel_size[0] - 1)
    if t in (nn.MaxPool1d, nn.AvgPool1d):
        p = _pool_size(m)
        return o * p, w * p
    if t is ConvBlock:
        return _back([m.norm, m.act, m.conv, m.dropout, m.pool], o, w)
    if t is DilatedResidualBlock:
        sb, wb = _back(m.body, o, w)
        return _union(sb, wb, o, w)
    if t is ResidualBlock:
        sb, wb = _back([m.conv1, m.bn1, m.act, m.conv2, m.bn2], o, w)
        sc, wc = _back(m.shortcut, o, w)
        return _union(sb, wb, sc, wc)
    if t is Crop1d:
        return o + m.n, w
    if t is ProfileHead:
        return _back(m.proj, o, w)
    raise TypeError(type(m).__name__)  # pragma: no cover - screened by _unsupported


def _union(s1, w1: int, s2, w2: int):
    lo = torch.minimum(s1, s2) if isinstance(s1, torch.Tensor) else min(s1, s2)
    hi = torch.maximum(s1 + w1, s2 + w2) if isinstance(s1, torch.Tensor) else max(s1 + w1, s2 + w2)
    width = _uniform(hi - lo) if isinstance(hi, torch.Tensor) else hi - lo
    return lo, width


def _fwd(m: nn.Module, x: torch.Tensor, s: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Run ``m`` on windows ``x`` ``(B, C, w)`` starting at global positions ``s`` ``(B,)`` of a
    level of length ``n``; returns the output windows, their starts and the output level length.
    Outputs whose inputs reach outside the window are wrong; callers keep only the exact ones."""
    t = type(m)
    if t is nn.Sequential or isinstance(m, (list, tuple)):
        for c in m:
            x, s, n = _fwd(c, x, s, n)
        return x, s, n
    if t in _POINTWISE:
        return m(x), s, n
    if t is nn.Conv1d:
        left, right = _conv_pads(m)
        k, d = m.kernel_size[0], m.dilation[0]
        w = x.shape[-1]
        if not (bool((s >= 0).all()) and bool((s + w <= n).all())):  # the window meets the padding
            x = torch.where(_mask(s, n, w), x, torch.zeros((), dtype=x.dtype, device=x.device))
        y = F.conv1d(x, m.weight, m.bias, stride=1, padding=0, dilation=d, groups=m.groups)
        return y, s + left, n + left + right - d * (k - 1)
    if t in (nn.MaxPool1d, nn.AvgPool1d):
        p = _pool_size(m)
        if not bool((s % p == 0).all()):  # pragma: no cover - a bug in the window arithmetic
            raise RuntimeError("ISM window not aligned to the pooling grid")
        y = F.max_pool1d(x, p) if t is nn.MaxPool1d else F.avg_pool1d(x, p)
        return y, torch.div(s, p, rounding_mode="floor"), n // p
    if t is ConvBlock:
        return _fwd([m.norm, m.act, m.conv, m.dropout, m.pool], x, s, n)
    if t is DilatedResidualBlock:
        y, sy, ny = _fwd(m.body, x, s, n)
        off = _uniform(sy - s)
        return y + x[..., off:off + y.shape[-1]], sy, ny
    if t is ResidualBlock:
        y, sy, ny = _fwd([m.conv1, m.bn1, m.act, m.conv2, m.bn2], x, s, n)
        sc, ss, _ = _fwd(m.shortcut, x, s, n)
        off = _uniform(sy - ss)
        return m.act(y + sc[..., off:off + y.shape[-1]]), sy, ny
    if t is Crop1d:
        return x, s - m.n, n - 2 * m.n
    if t is ProfileHead:
        y, sy, ny = _fwd(m.proj, x, s, n)
        return m.act(y), sy, ny
    raise TypeError(type(m).__name__)  # pragma: no cover - screened by _unsupported


def _full(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The ordinary forward pass of a stage module (channels first for a profile head)."""
    if isinstance(m, (list, tuple)):
        for c in m:
            x = _full(c, x)
        return x
    if type(m) is ProfileHead:
        return m.act(m.proj(x))
    return m(x)


# ---------------------------------------------------------------------------------------------
# the plan: local stages, then an optional reducer and a dense tail
# ---------------------------------------------------------------------------------------------
@dataclass
class _Stage:
    modules: list[nn.Module]
    delta_avg: bool = False  # a lone AvgPool1d: updated by the pooled difference
    P: int = 1
    rl: int = 0
    rr: int = 0

    def geometry(self) -> None:
        if self.delta_avg:
            self.P, self.rl, self.rr = _pool_size(self.modules[0]), 0, 0
            return
        s0, w0 = _back(self.modules, 0, 1)
        s1, _ = _back(self.modules, 1, 1)
        self.P = int(s1 - s0)
        self.rl = int(-s0)
        self.rr = int(s0 + w0 - self.P)

    def out_window(self, s: torch.Tensor, w: int, n_out: int) -> tuple[torch.Tensor, int]:
        """Output window reached by a change inside input windows ``[s, s + w)``."""
        P, rl, rr = self.P, self.rl, self.rr
        w_out = max((r + w - 1 + rl) // P - (r - rr) // P + 1 for r in range(P))
        if w_out >= n_out:
            return torch.zeros_like(s), n_out
        return torch.div(s - rr, P, rounding_mode="floor"), w_out


@dataclass
class _Plan:
    stages: list[_Stage]
    reducer: Any = None  # None (profile) | GlobalPool1d | nn.Linear (after Flatten)
    tail: list[nn.Module] = field(default_factory=list)


def _make_plan(model: nn.Module) -> tuple[_Plan | None, str]:
    """Split a model into windowed stages; ``(None, reason)`` when it has no fast path."""
    if not isinstance(model, SeqModel):
        return None, f"{type(model).__name__} is not a seq2func SeqModel"
    if type(model).forward not in (SeqModel.forward, SimpleCNN.forward):
        return None, f"{type(model).__name__} overrides forward"
    trunk, head = getattr(model, "trunk", None), getattr(model, "head", None)
    if type(trunk) is not nn.Sequential or head is None:
        return None, "no nn.Sequential trunk and head"
    children = list(trunk)
    stages: list[_Stage] = []
    reducer = None
    i = 0
    while i < len(children):
        c = children[i]
        t = type(c)
        if t is GlobalPool1d:
            reducer = c
            i += 1
            break
        if t is nn.Flatten:
            nxt = children[i + 1] if i + 1 < len(children) else None
            if c.start_dim != 1 or c.end_dim != -1 or type(nxt) is not nn.Linear:
                return None, "Flatten not followed by Linear"
            reducer = nxt
            i += 2
            break
        why = _unsupported(c)
        if why:
            return None, why
        if t is nn.AvgPool1d:
            stages.append(_Stage([c], delta_avg=True))
        elif t in _POINTWISE and stages and not stages[-1].delta_avg:
            stages[-1].modules.append(c)
        else:
            stages.append(_Stage([c]))
        i += 1
    tail = children[i:]
    if reducer is None:
        if type(head) is not ProfileHead:
            return None, f"head {type(head).__name__} after a positional trunk"
        stages.append(_Stage([head]))
    else:
        tail = tail + [head]
    if not stages:
        return None, "no local layers"
    for st in stages:
        st.geometry()
        if st.P < 1:
            return None, "unsupported geometry"
    return _Plan(stages, reducer, tail), ""


def fast_path_reason(model: nn.Module) -> str | None:
    """Why ``model`` has no fast ISM path (``None`` when it has one).

    Parameters
    ----------
    model : torch.nn.Module
        The model to mutate.

    Returns
    -------
    str or None
        A short reason (e.g. ``"... overrides forward"``, ``"Flatten not followed by Linear"``), or
        ``None`` when the model splits into windowed stages and gets the fast path.
    """
    plan, why = _make_plan(model)
    return None if plan is not None else why


class _Engine:
    """Fast ISM of one reference sequence (reference activations cached per stage)."""

    def __init__(self, plan: _Plan, codes: np.ndarray, device: torch.device):
        self.plan = plan
        self.device = device
        par = next((q for st in plan.stages for m in st.modules for q in m.parameters() if q.is_floating_point()),
                   None)
        self.dtype = par.dtype if par is not None else torch.float32
        x = one_hot(torch.from_numpy(np.ascontiguousarray(codes[None])).to(device), dtype=self.dtype)
        self.refs: list[torch.Tensor] = []  # input of each stage, (C, n)
        for st in plan.stages:
            self.refs.append(x[0])
            x = _full(st.modules, x)
        self.last = x[0]  # output of the last stage, (C, n)
        if plan.reducer is None:
            self.y_ref = x[0]  # (T, bins)
            return
        if type(plan.reducer) is GlobalPool1d:
            z = plan.reducer(x)
            if plan.reducer.mode == "max":
                ref = x[0]
                ninf = torch.full((ref.shape[0], 1), -torch.inf, dtype=ref.dtype, device=ref.device)
                self.pre = torch.cat([ninf, torch.cummax(ref, dim=1).values], 1)  # max of [0, k)
                self.suf = torch.cat([torch.cummax(ref.flip(1), dim=1).values.flip(1), ninf], 1)  # max of [k, n)
        else:
            z = plan.reducer(x.flatten(1))
        self.z_ref = z
        self.y_ref = self._tail(z)[0]  # (T,)

    def _tail(self, z: torch.Tensor) -> torch.Tensor:
        for m in self.plan.tail:
            z = m(z)
        return z

    @staticmethod
    def _gather(ref: torch.Tensor, start: torch.Tensor, width: int) -> torch.Tensor:
        """Windows ``[start, start + width)`` of ``ref`` ``(C, n)`` as ``(B, C, width)``
        (positions outside ``[0, n)`` hold the nearest end's values; callers mask them)."""
        idx = start[:, None] + torch.arange(width, device=start.device)[None, :]
        return ref[:, idx.clamp(0, ref.shape[1] - 1)].permute(1, 0, 2).contiguous()

    def _windows(self, ref: torch.Tensor, start: torch.Tensor, width: int) -> torch.Tensor:
        """As :meth:`_gather`; by slicing when every window lies inside the sequence."""
        starts = start.tolist()
        if min(starts) >= 0 and max(starts) + width <= ref.shape[1]:
            return torch.stack([ref[:, a:a + width] for a in starts])
        return self._gather(ref, start, width)

    def run(self, pos: np.ndarray, base: np.ndarray) -> torch.Tensor:
        """Mutated outputs: ``(B, T, w)`` profile windows (with their starts) or ``(B, T)``."""
        dev = self.device
        B = len(pos)
        s = torch.as_tensor(pos, dtype=torch.long, device=dev)
        x = F.one_hot(torch.as_tensor(base, dtype=torch.long, device=dev), 4).to(self.dtype)[:, :, None]
        w = 1
        for st, ref, ref_next in zip(self.plan.stages, self.refs, self.refs[1:] + [self.last]):
            n_in, n_out = ref.shape[1], ref_next.shape[1]
            o, w_out = st.out_window(s, w, n_out)
            if st.delta_avg:
                p = st.P
                pos_j = s[:, None] + torch.arange(w, device=dev)[None, :]
                seg = torch.div(pos_j, p, rounding_mode="floor") - o[:, None]
                ok = (pos_j >= 0) & (pos_j < n_out * p) & (seg >= 0) & (seg < w_out)
                diff = torch.where(ok[:, None, :], x - self._gather(ref, s, w), 0.0)
                A = F.one_hot(seg.clamp(0, w_out - 1), w_out).to(diff.dtype)
                x = self._gather(ref_next, o, w_out) + torch.einsum("bcj,bjk->bck", diff, A) / p
            else:
                start, width = _back(st.modules, o, w_out)
                inp = self._windows(ref, start, width)
                rel = s - start
                r0 = int(rel[0])
                if bool((rel == r0).all()) and r0 >= 0 and r0 + w <= width:
                    inp[..., r0:r0 + w] = x
                else:
                    idx = torch.arange(width, device=dev)[None, :] - rel[:, None]
                    inside = ((idx >= 0) & (idx < w))[:, None, :]
                    mut = x.gather(2, idx.clamp(0, w - 1)[:, None, :].expand(B, x.shape[1], width))
                    inp = torch.where(inside, mut, inp)
                y, sy, _ = _fwd(st.modules, inp, start, n_in)
                off = _uniform(o - sy)
                x = y[..., off:off + w_out]
            s, w = o, w_out
        self.s, self.w = s, w
        if self.plan.reducer is None:
            return x
        n = self.last.shape[1]
        ok = _mask(s, n, w)
        ref_win = self._gather(self.last, s, w)
        red = self.plan.reducer
        if type(red) is GlobalPool1d:
            if red.mode == "max":
                a, b = s.clamp(0, n), (s + w).clamp(0, n)
                outside = torch.maximum(self.pre[:, a], self.suf[:, b]).T  # (B, C)
                inside = torch.where(ok, x, torch.full((), -torch.inf, dtype=x.dtype, device=dev)).amax(-1)
                z = torch.maximum(inside, outside)
            else:
                z = self.z_ref + torch.where(ok, x - ref_win, 0.0).sum(-1) / n
        else:
            diff = torch.where(ok, x - ref_win, 0.0)
            idx = (s[:, None] + torch.arange(w, device=dev)[None, :]).clamp(0, n - 1)
            dense = torch.zeros((B, x.shape[1], n), dtype=x.dtype, device=dev)
            dense.scatter_add_(2, idx[:, None, :].expand(B, x.shape[1], w), diff)  # the change, flattened
            z = self.z_ref + dense.flatten(1) @ red.weight.T
        # the reference through the same dense layers at the same batch shape: an unchanged vector
        # gives exactly the reference output
        self.y_ref_batch = self._tail(self.z_ref.expand(B, -1))
        return self._tail(z)


# ---------------------------------------------------------------------------------------------
# the public API
# ---------------------------------------------------------------------------------------------
def _check_codes(model: nn.Module, codes) -> np.ndarray:
    if isinstance(codes, torch.Tensor):
        codes = codes.detach().cpu().numpy()
    codes = np.asarray(codes)
    if codes.ndim == 1:
        codes = codes[None]
    if codes.ndim != 2:
        raise InputError("codes", "", f"expected uint8 codes of shape (N, L), got shape {codes.shape}")
    if codes.size and (not np.issubdtype(codes.dtype, np.integer) or codes.min() < 0 or codes.max() > 4):
        raise InputError("codes", "", "codes must be integers 0..4 (A=0 C=1 G=2 T=3 N=4)")
    L = codes.shape[1]
    cfg = getattr(model, "config", None)
    want = cfg.get("seq_len") if isinstance(cfg, dict) else None
    if want is not None and L != int(want):
        raise InputError("codes", "", f"sequences of {L} bp for a model of seq_len {int(want)} bp")
    if L < 1:
        raise InputError("codes", "", "empty sequences")
    return codes.astype(np.uint8, copy=False)


def _positions(positions, L: int) -> np.ndarray:
    if positions is None:
        return np.arange(L, dtype=np.int64)
    if isinstance(positions, slice):
        return np.arange(L, dtype=np.int64)[positions]
    if isinstance(positions, range):
        positions = np.asarray(positions, dtype=np.int64)
    pos = np.asarray(positions)
    if pos.ndim == 0:
        pos = pos[None]
    if pos.ndim != 1 or (pos.size and not np.issubdtype(pos.dtype, np.integer)):
        raise InputError("positions", "", "must be a slice or a 1-D array of integer positions")
    pos = pos.astype(np.int64)
    bad = pos[(pos < 0) | (pos >= L)]
    if bad.size:
        raise InputError("positions", f"position {int(bad[0])}", f"outside the sequence (0..{L - 1})")
    return pos


def _bin_mask(reduction: str, bins, n_bins: int) -> np.ndarray:
    if reduction == "scalar":
        if n_bins != 1:
            raise InputError("reduction", "scalar", f"needs a model with one output per track; this one has "
                                                    f"{n_bins} output bins (use 'sum' or 'bin')")
        if bins is not None:
            raise InputError("bins", "", "reduction 'scalar' takes no bins")
        return np.ones(1, dtype=bool)
    mask = np.zeros(n_bins, dtype=bool)
    if reduction == "bin":
        if bins is None or isinstance(bins, (slice, range, bool)) or not np.issubdtype(type(bins), np.integer):
            raise InputError("bins", "", "reduction 'bin' needs one output bin index, bins=j")
        if not 0 <= int(bins) < n_bins:
            raise InputError("bins", f"bin {int(bins)}", f"outside the output (0..{n_bins - 1})")
        mask[int(bins)] = True
        return mask
    if bins is None:
        mask[:] = True
        return mask
    if isinstance(bins, slice):
        mask[np.arange(n_bins)[bins]] = True
        return mask
    idx = np.asarray(list(bins) if isinstance(bins, range) else bins)
    if idx.ndim == 0:
        idx = idx[None]
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise InputError("bins", "", "reduction 'sum' takes a slice, range or sequence of bin indices")
    if idx.size and (idx.min() < 0 or idx.max() >= n_bins):
        raise InputError("bins", "", f"bin indices outside the output (0..{n_bins - 1})")
    mask[idx] = True
    return mask


def _track_index(tracks, n_tracks: int) -> np.ndarray:
    if tracks is None:
        return np.arange(n_tracks, dtype=np.int64)
    idx = np.arange(n_tracks)[tracks] if isinstance(tracks, slice) else np.asarray(tracks)
    if idx.ndim == 0:
        idx = idx[None]
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise InputError("tracks", "", "must be a slice or a sequence of output column indices")
    if idx.size and (idx.min() < 0 or idx.max() >= n_tracks):
        raise InputError("tracks", "", f"track indices outside the model's output (0..{n_tracks - 1})")
    return idx.astype(np.int64)


def _mutations(ref: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (position index, base) to mutate: the three other bases, all four at N."""
    r = ref[pos].astype(np.int64)
    grid = np.arange(4)[None, :] != r[:, None]  # r == 4 (N): all four
    k, b = np.nonzero(grid)
    return k, b, pos[k]


@torch.no_grad()
def ism(model: nn.Module, codes, *, positions=None, reduction: str = "sum", bins=None, tracks=None,
        naive: bool = False, batch_size: int = 64, device: str | torch.device = "cpu") -> np.ndarray:
    """In-silico saturation mutagenesis: the output change of every single-base substitution.

    Parameters
    ----------
    model
        A seq2func model (float one-hot ``(B, 4, L)`` -> ``(B, bins, tracks)`` or ``(B, tracks)``),
        or any ``nn.Module`` of that signature (run naively). Moved to ``device``; its train/eval
        mode (every submodule's) is restored afterwards.
    codes
        uint8 codes ``(N, L)`` (``A=0 C=1 G=2 T=3 N=4``; one sequence may be given as ``(L,)``).
        ``L`` must be the model's ``config["seq_len"]`` when it has one.
    positions
        Positions to mutate: ``None`` (all), a slice, or an array of indices in ``[0, L)``.
    reduction
        ``"sum"``: the sum over output bins ``bins`` (a slice, range or index sequence; default
        all). ``"bin"``: the output bin ``bins=j``. ``"scalar"``: the one output of a
        classification or scalar model (``bins`` must be ``None``).
    bins
        See ``reduction``.
    tracks
        Output columns to report (indices or a slice; default all).
    naive
        Run the whole model on every mutated sequence (through :class:`~seq2func.predict.Predictor`)
        instead of the fast path. Models without a fast path always do.
    batch_size
        Mutations per forward pass.
    device
        Where to run.

    Returns
    -------
    numpy.ndarray
        float32 ``(N, n_positions, 4, n_tracks)``: reduced output of the mutated sequence minus that
        of the reference; exactly 0 at the reference base (at ``N`` all four bases are mutations).

    Raises
    ------
    seq2func.errors.InputError
        Codes of the wrong shape, length or values, positions outside the sequence, an unknown
        reduction, bins or tracks outside the model's output.
    """
    if reduction not in REDUCTIONS:
        raise InputError("reduction", str(reduction), f"must be one of {', '.join(REDUCTIONS)}")
    if int(batch_size) < 1:
        raise InputError("batch_size", str(batch_size), "must be >= 1")
    batch_size = int(batch_size)
    codes = _check_codes(model, codes)
    n_seq, L = codes.shape
    pos = _positions(positions, L)
    dev = torch.device(device) if not isinstance(device, torch.device) else device

    plan = None
    if not naive:
        plan, why = _make_plan(model)
        if plan is None:
            log.debug("ism: no fast path for %s (%s); running the naive path", type(model).__name__, why)

    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    t0 = time.perf_counter()
    try:
        predictor = Predictor(model, device=dev, batch_size=batch_size)
        probe = codes[0] if n_seq else np.full(L, 4, dtype=np.uint8)
        out = None
        for i in range(max(n_seq, 1)):
            ref = codes[i] if n_seq else probe
            if plan is not None:
                eng = _Engine(plan, ref, dev)
                y_ref = eng.y_ref
                n_bins, n_tracks = (y_ref.shape[1], y_ref.shape[0]) if y_ref.ndim == 2 else (1, y_ref.shape[0])
            else:
                y_ref = torch.from_numpy(predictor(ref[None]))[0]  # (bins, T)
                n_bins, n_tracks = y_ref.shape
            if out is None:
                bmask = _bin_mask(reduction, bins, n_bins)
                tidx = _track_index(tracks, n_tracks)
                out = np.zeros((n_seq, len(pos), 4, len(tidx)), dtype=np.float32)
                bmask_t = torch.as_tensor(bmask, device=dev)
                tidx_t = torch.as_tensor(tidx, device=dev)
            if not n_seq:
                break
            k, b, p = _mutations(ref, pos)
            for c in range(0, len(k), batch_size):
                kk, bb, pp = k[c:c + batch_size], b[c:c + batch_size], p[c:c + batch_size]
                if plan is not None:
                    y = eng.run(pp, bb)
                    if plan.reducer is None:  # profile windows (B, T, w) at eng.s
                        ref_win = eng._gather(y_ref, eng.s, eng.w)
                        widx = eng.s[:, None] + torch.arange(eng.w, device=dev)[None, :]
                        ok = (widx >= 0) & (widx < n_bins)
                        ok &= bmask_t[widx.clamp(0, n_bins - 1)]
                        d = (y - ref_win)[:, tidx_t].double()
                        delta = torch.where(ok[:, None, :], d, 0.0).sum(-1)
                    else:
                        delta = (y - eng.y_ref_batch).double()[:, tidx_t]
                else:
                    muts = np.repeat(ref[None], len(kk), axis=0)
                    muts[np.arange(len(kk)), pp] = bb
                    y = torch.from_numpy(predictor(muts)).to(dev)  # (B, bins, T)
                    d = (y - y_ref.to(dev)[None]).double()[:, bmask_t][:, :, tidx_t]
                    delta = d.sum(1)
                out[i, kk, bb] = delta.float().cpu().numpy()
        log.debug("ism: %d sequence(s) x %d positions, %s path, %.2f s", n_seq, len(pos),
                  "fast" if plan is not None else "naive", time.perf_counter() - t0)
        return out
    finally:
        for m, was in modes:
            m.training = was


def ism_speed(model: nn.Module, L: int | None = None, region_bp: int = 100, *, batch_size: int | None = None,
              reduction: str = "sum", device: str | torch.device = "cpu", seed: int = 0) -> dict:
    """Time the fast against the naive ISM on one random sequence.

    Parameters
    ----------
    model
        The model (random weights are fine).
    L
        Sequence length (default the model's ``config["seq_len"]``).
    region_bp
        Central positions mutated (3 substitutions each).
    batch_size
        Mutations (sequences) per forward pass, the same for both runs; default
        ``min(64, 2**20 // L)`` (8 for 131 kb inputs, whose naive batches need ~0.6 GB a sequence).
    reduction, device
        As in :func:`ism`.
    seed
        Seed of the random sequence.

    Returns
    -------
    dict
        ``fast_s``, ``naive_s`` (seconds, wall clock), ``speedup`` (``naive_s / fast_s``),
        ``max_abs_diff`` and ``max_rel_diff`` (the largest absolute difference over the largest
        absolute naive value) between the two results.
    """
    if L is None:
        L = int(model.config["seq_len"])
    if batch_size is None:
        batch_size = max(1, min(64, (1 << 20) // int(L)))
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(1, int(L)), dtype=np.uint8)
    region_bp = min(int(region_bp), int(L))
    start = (int(L) - region_bp) // 2
    positions = slice(start, start + region_bp)
    kw = {"positions": positions, "reduction": reduction, "batch_size": batch_size, "device": device}
    t0 = time.perf_counter()
    fast = ism(model, codes, **kw)
    t1 = time.perf_counter()
    slow = ism(model, codes, naive=True, **kw)
    t2 = time.perf_counter()
    abs_diff = float(np.abs(fast.astype(np.float64) - slow).max()) if fast.size else 0.0
    scale = float(np.abs(slow).max()) if slow.size else 0.0
    return {
        "fast_s": t1 - t0,
        "naive_s": t2 - t1,
        "speedup": (t2 - t1) / max(t1 - t0, 1e-12),
        "max_abs_diff": abs_diff,
        "max_rel_diff": abs_diff / scale if scale > 0 else abs_diff,
    }
