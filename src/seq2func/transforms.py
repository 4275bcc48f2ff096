"""The per-track target transform grammar of the samplesheet's ``transform`` column.

A transform is an aggregation followed by zero or more operations, separated by ``;``::

    sum                      # per-bin sum of coverage (the default)
    mean;sqrt                # per-bin mean, then square root
    sum;clip=100             # values above 100 become 100
    sum;soft_clip=32;scale=0.5
                             # Basenji soft clip: above 32 -> 32 + sqrt(x - 32); then x * 0.5

Operations (applied in the order written): ``clip=V``, ``soft_clip=V``, ``scale=V``, ``sqrt``,
``log1p``. Parsing is strict: anything else is an error naming the offending token.

:meth:`Transform.invert` maps model outputs (on the transformed scale) back to the untransformed
one, e.g. before variant effect scores are computed (undoing the operations in reverse order;
``clip`` cannot be undone and the aggregation is not undone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AGGREGATIONS = ("sum", "mean")
OPS_WITH_VALUE = ("clip", "soft_clip", "scale")
OPS_NO_VALUE = ("sqrt", "log1p")


@dataclass(frozen=True)
class Transform:
    aggregation: str
    ops: tuple[tuple[str, float | None], ...]

    def __str__(self) -> str:
        parts = [self.aggregation]
        for name, value in self.ops:
            parts.append(name if value is None else f"{name}={value:g}")
        return ";".join(parts)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Apply the operations (not the aggregation) to binned values; returns float32.

        Parameters
        ----------
        x : numpy.ndarray
            Binned (aggregated) coverage values, any shape.

        Returns
        -------
        numpy.ndarray
            float32 values on the transformed scale, same shape as ``x``.
        """
        y = np.asarray(x, dtype=np.float32)
        for name, value in self.ops:
            if name == "clip":
                y = np.minimum(y, np.float32(value))
            elif name == "soft_clip":
                t = np.float32(value)
                y = np.where(y > t, t + np.sqrt(np.maximum(y - t, 0)), y).astype(np.float32)
            elif name == "scale":
                y = y * np.float32(value)
            elif name == "sqrt":
                y = np.sqrt(np.maximum(y, 0))
            elif name == "log1p":
                y = np.log1p(np.maximum(y, 0))
        return y.astype(np.float32, copy=False)

    def invert(self, y: np.ndarray) -> np.ndarray:
        """Undo the operations (not the aggregation): from the transformed scale back to binned values.

        The operations are undone in reverse order: ``log1p`` -> ``expm1``, ``sqrt`` -> square,
        ``scale=V`` -> divide by ``V``, ``soft_clip=V`` -> above ``V``: ``V + (y - V) ** 2``.
        ``clip=V`` cannot be undone (every value above ``V`` became ``V``): it is the identity
        here, so inverted values never exceed ``V`` at that step. The aggregation (``sum`` or
        ``mean`` per bin) is not undone either: ``mean`` tracks stay per-bp means.

        Values outside an operation's range (negative outputs for ``sqrt``, which only come from
        models with an unconstrained head) are mapped monotonically: ``sqrt`` inverts ``y`` to
        ``sign(y) * y ** 2``. On the range of :meth:`apply`, ``invert(apply(x)) == x`` up to
        rounding for every ``x >= 0`` not changed by a ``clip``.

        Parameters
        ----------
        y : numpy.ndarray
            Values on the transformed scale (any shape).

        Returns
        -------
        numpy.ndarray
            float64 when ``y`` is float64, float32 otherwise.
        """
        arr = np.asarray(y)
        dtype = np.float64 if arr.dtype == np.float64 else np.float32
        out = arr.astype(np.float64)  # computed in float64 whatever the output dtype
        for name, value in reversed(self.ops):
            if name == "log1p":
                out = np.expm1(out)
            elif name == "sqrt":
                out = np.sign(out) * np.square(out)
            elif name == "scale":
                out = out / float(value)
            elif name == "soft_clip":
                t = float(value)
                out = np.where(out > t, t + np.square(out - t), out)
            # clip: the identity (information above the threshold is lost)
        return out.astype(dtype, copy=False)


def parse_transform(text: str | None) -> Transform:
    """Parse a transform string; raises ``ValueError`` naming the bad token.

    Parameters
    ----------
    text : str or None
        Transform text such as ``sum;soft_clip=32;scale=0.5``; empty or None means ``sum``.

    Returns
    -------
    Transform
        The aggregation and the operations in the order written.

    Raises
    ------
    ValueError
        On an unknown aggregation or operation, a missing or non-numeric value, or a value out of range
        (negative ``clip``/``soft_clip``, non-positive ``scale``, non-finite).
    """
    text = (text or "").strip()
    if not text:
        return Transform("sum", ())
    tokens = [t.strip() for t in text.split(";")]
    agg = tokens[0]
    if agg not in AGGREGATIONS:
        raise ValueError(f"transform '{text}': first step must be one of {', '.join(AGGREGATIONS)}, got '{agg}'")
    ops: list[tuple[str, float | None]] = []
    for tok in tokens[1:]:
        if "=" in tok:
            name, _, raw = tok.partition("=")
            name = name.strip()
            if name not in OPS_WITH_VALUE:
                raise ValueError(f"transform '{text}': unknown operation '{name}' (known: {', '.join(OPS_WITH_VALUE + OPS_NO_VALUE)})")
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"transform '{text}': '{tok}' needs a number") from None
            if not np.isfinite(value) or (name in ("clip", "soft_clip") and value < 0) or (name == "scale" and value <= 0):
                raise ValueError(f"transform '{text}': '{tok}' is out of range")
            ops.append((name, value))
        elif tok in OPS_NO_VALUE:
            ops.append((tok, None))
        elif tok in OPS_WITH_VALUE:
            raise ValueError(f"transform '{text}': '{tok}' needs a value, e.g. {tok}=32")
        else:
            raise ValueError(f"transform '{text}': unknown operation '{tok}' (known: {', '.join(OPS_WITH_VALUE + OPS_NO_VALUE)})")
    return Transform(agg, tuple(ops))
