"""seq2func.transforms: the samplesheet's transform grammar, checked against numpy by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seq2func.transforms import Transform, parse_transform


def test_default_is_sum_without_ops():
    for text in (None, "", "  ", "sum"):
        t = parse_transform(text)
        assert t == Transform("sum", ()) and str(t) == "sum"


def test_soft_clip_by_hand():
    t = parse_transform("sum;soft_clip=32")
    x = np.array([0.0, 10.0, 32.0, 100.0], dtype=np.float32)
    y = t.apply(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [0.0, 10.0, 32.0, 32.0 + math.sqrt(68.0)], rtol=1e-6)


def test_ops_apply_in_order():
    x = np.array([0.0, 3.0, 50.0, 200.0], dtype=np.float32)
    y = parse_transform("mean;clip=100;scale=0.5;sqrt").apply(x)
    np.testing.assert_allclose(y, np.sqrt(np.minimum(x, 100) * 0.5), rtol=1e-6)
    # a different order gives a different (hand-computed) answer
    y2 = parse_transform("mean;sqrt;clip=10").apply(x)
    np.testing.assert_allclose(y2, np.minimum(np.sqrt(x), 10), rtol=1e-6)
    y3 = parse_transform("sum;log1p").apply(x)
    np.testing.assert_allclose(y3, np.log1p(x), rtol=1e-6)


def test_basenji_style_chain_by_hand():
    x = np.array([1.0, 40.0, 1000.0], dtype=np.float32)
    y = parse_transform("sum;soft_clip=32;scale=0.5").apply(x)
    expected = [0.5, (32 + math.sqrt(8)) * 0.5, (32 + math.sqrt(968)) * 0.5]
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_negative_values_are_safe():
    y = parse_transform("sum;sqrt").apply(np.array([-4.0, 4.0]))
    np.testing.assert_allclose(y, [0.0, 2.0])
    assert np.all(np.isfinite(parse_transform("sum;log1p").apply(np.array([-5.0]))))


def test_str_roundtrips_and_normalises_whitespace():
    for text, norm in [
        ("sum; soft_clip=32 ;scale=0.5", "sum;soft_clip=32;scale=0.5"),
        ("mean;sqrt", "mean;sqrt"),
        ("sum;clip=1e3", "sum;clip=1000"),
    ]:
        t = parse_transform(text)
        assert str(t) == norm
        assert parse_transform(str(t)) == t


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("max", "first step must be one of sum, mean"),
        ("sum;cube", "unknown operation 'cube'"),
        ("sum;soft_clip", "'soft_clip' needs a value"),
        ("sum;clip=abc", "'clip=abc' needs a number"),
        ("sum;clip=-1", "out of range"),
        ("sum;scale=0", "out of range"),
        ("sum;scale=nan", "out of range"),
        ("sum;power=2", "unknown operation 'power'"),
    ],
)
def test_parse_errors_name_the_token(text, fragment):
    with pytest.raises(ValueError, match=None) as exc:
        parse_transform(text)
    assert fragment in str(exc.value)


# --------------------------------------------------------------------------- Transform.invert
@pytest.mark.parametrize("text", ["sum", "sum;log1p", "sum;sqrt", "mean;scale=0.25", "sum;soft_clip=32",
                                  "sum;soft_clip=32;sqrt", "sum;soft_clip=32;scale=0.5", "sum;scale=2;log1p",
                                  "sum;sqrt;soft_clip=4;log1p"])
def test_invert_roundtrips(text):
    t = parse_transform(text)
    x = np.array([0.0, 0.5, 1.0, 3.0, 31.0, 32.0, 40.0, 1000.0, 12345.0])
    back = t.invert(t.apply(x))  # apply returns float32: float32 in, float32 out
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, x, rtol=2e-5, atol=1e-5)
    y64 = t.apply(x).astype(np.float64)
    assert t.invert(y64).dtype == np.float64
    np.testing.assert_allclose(t.apply(t.invert(y64)), y64.astype(np.float32), rtol=1e-5, atol=1e-6)


def test_invert_by_hand():
    y = np.array([0.0, 2.0, 10.0])
    np.testing.assert_allclose(parse_transform("sum;log1p").invert(y), np.expm1(y))
    np.testing.assert_allclose(parse_transform("sum;sqrt").invert(y), y ** 2)
    np.testing.assert_allclose(parse_transform("sum;scale=0.5").invert(y), y / 0.5)
    np.testing.assert_allclose(parse_transform("sum;soft_clip=4").invert(y), [0.0, 2.0, 4.0 + 36.0])
    # reverse order: sqrt is undone first, then the soft clip
    np.testing.assert_allclose(parse_transform("sum;soft_clip=32;sqrt").invert(np.array([3.0, 7.0])),
                               [9.0, 32.0 + (49.0 - 32.0) ** 2])
    # negative values outside sqrt's range stay monotone
    inv = parse_transform("sum;sqrt").invert(np.array([-2.0, -1.0, 0.0, 1.0]))
    np.testing.assert_allclose(inv, [-4.0, -1.0, 0.0, 1.0])


def test_invert_clip_is_identity():
    t = parse_transform("sum;clip=100")
    x = np.array([5.0, 100.0, 500.0])
    np.testing.assert_allclose(t.invert(t.apply(x)), [5.0, 100.0, 100.0])  # the clipped part is lost
    np.testing.assert_allclose(t.invert(x), x)
