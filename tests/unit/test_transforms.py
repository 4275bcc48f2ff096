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
