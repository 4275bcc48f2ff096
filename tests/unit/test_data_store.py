"""open_dataset API (shapes, dtypes, lazy sharded indexing) and the PyTorch SeqDataset / loader."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from seq2func.prepare import PrepareParams, SeqDataset, make_loader, one_hot, open_dataset, prepare_dataset

try:
    from test_data_fixtures import build_profile_world
except ImportError:  # pragma: no cover
    from .test_data_fixtures import build_profile_world

L, BIN = 4096, 128


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    w = build_profile_world(tmp_path_factory.mktemp("w"))
    prepare_dataset(w["fasta"], w["samplesheet"], w["root"] / "ds", params=PrepareParams(seq_length=L, bin_size=BIN, stride=2048, crop_bp=256, max_n_frac=0.7),
                    test_chroms="chr3", valid_chroms="chr2")
    return open_dataset(w["root"] / "ds")


def test_open_dataset_shapes_and_dtypes(ds):
    n = len(ds)
    nb = (L - 512) // BIN
    assert ds.sequences.shape == (n, L) and ds.sequences.dtype == np.uint8
    assert ds.targets.shape == (n, nb, 4) and ds.targets.dtype == np.float16
    assert list(ds.regions.columns[:4]) == ["chrom", "start", "end", "split"] and len(ds.regions) == n
    assert {"track_id", "file", "transform", "cell_type", "assay", "role", "strand"} <= set(ds.tracks.columns)
    assert ds.manifest["params"]["seq_length"] == L
    assert ds.sequences[0].shape == (L,) and ds.targets[0].shape == (nb, 4)
    assert int(np.max(ds.sequences[:])) <= 4
    assert (ds.regions.end - ds.regions.start == L).all()
    tr, va, te = ds.split("train"), ds.split("valid"), ds.split("test")
    assert tr.size + va.size + te.size == n and set(ds.regions.chrom[te]) == {"chr3"}
    with pytest.raises(KeyError):
        ds.split("nope")


def test_sharded_indexing_matches_across_forms(ds):
    n = len(ds)
    full = ds.targets[:]
    idx = np.array([n - 1, 0, 5, 5, ds.split("test")[0]])
    np.testing.assert_array_equal(ds.targets[idx], full[idx])
    np.testing.assert_array_equal(ds.targets[-1], full[n - 1])
    np.testing.assert_array_equal(ds.targets[3:40:7], full[3:40:7])
    mask = np.zeros(n, bool)
    mask[[1, 30, n - 2]] = True
    np.testing.assert_array_equal(ds.sequences[mask], ds.sequences[:][mask])
    np.testing.assert_array_equal(ds.targets[idx, :, 2], full[idx][:, :, 2])
    with pytest.raises(IndexError):
        ds.targets[n]
    # shards are memory maps, opened lazily; pickling drops them
    assert isinstance(ds.sequences.shard(0), np.memmap)
    clone = pickle.loads(pickle.dumps(ds.sequences))
    assert all(m is None for m in clone._maps)
    np.testing.assert_array_equal(clone[7], ds.sequences[7])


def test_rc_augmentation_complements_and_reverses(ds):
    sd = SeqDataset(ds, split="train")
    x, y = sd.get(3)
    xr, yr = sd.get(3, rc=True)
    comp = {0: 3, 1: 2, 2: 1, 3: 0, 4: 4}
    assert xr.dtype == torch.uint8 and xr.shape == (L,)
    assert xr.tolist() == [comp[v] for v in reversed(x.tolist())]
    # N stays N: the chr2 window over the N run
    sv = SeqDataset(ds, split="valid")
    has_n = next(i for i in range(len(sv)) if (sv.get(i)[0] == 4).any())
    a, _ = sv.get(has_n)
    b, _ = sv.get(has_n, rc=True)
    assert torch.equal(torch.flip(a == 4, [0]), b == 4)
    # target bins reversed; stranded pair cage_p (+) / cage_m (-) swapped; unstranded tracks only reversed
    ids = list(ds.tracks.track_id)
    p, m, a_ = ids.index("cage_p"), ids.index("cage_m"), ids.index("atac")
    assert torch.equal(yr[:, a_], torch.flip(y[:, a_], [0]))
    assert torch.equal(yr[:, p], torch.flip(y[:, m], [0])) and torch.equal(yr[:, m], torch.flip(y[:, p], [0]))
    # with a track subset that lacks the partner, the track is only reversed
    sub = SeqDataset(ds, split="train", tracks=["cage_p", "atac"])
    _, ys = sub.get(3, rc=True)
    assert torch.equal(ys[:, 0], torch.flip(y[:, p], [0]))


def test_shift_pads_with_n_and_keeps_targets(ds):
    sd = SeqDataset(ds, split="train")
    x, y = sd.get(2)
    xs, ys = sd.get(2, shift=3)
    assert xs[:3].tolist() == [4, 4, 4] and torch.equal(xs[3:], x[:-3]) and torch.equal(ys, y)
    xs, _ = sd.get(2, shift=-2)
    assert xs[-2:].tolist() == [4, 4] and torch.equal(xs[:-2], x[2:])


def test_random_augmentation_is_seeded_and_bounded(ds):
    a = SeqDataset(ds, split="train", rc=True, shift=3, seed=5)
    b = SeqDataset(ds, split="train", rc=True, shift=3, seed=5)
    draws = [a.draw(i) for i in range(len(a))]
    assert draws == [b.draw(i) for i in range(len(b))]
    assert {rc for rc, _ in draws} == {True, False} and {k for _, k in draws} <= set(range(-3, 4)) and len({k for _, k in draws}) > 3
    for i in range(4):
        rc, k = a.draw(i)
        xa, ya = a[i]
        xb, yb = a.get(i, rc=rc, shift=k)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    a.set_epoch(1)
    assert [a.draw(i) for i in range(len(a))] != draws


def test_one_hot_and_loader(ds):
    codes = torch.tensor([[0, 1, 2, 3, 4]], dtype=torch.uint8)
    oh = one_hot(codes)
    assert oh.shape == (1, 4, 5) and oh.dtype == torch.float32
    assert oh[0].T.tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    sd = SeqDataset(ds, split="test", one_hot=True)
    x, y = sd[0]
    assert x.shape == (4, L) and x.dtype == torch.float32 and y.dtype == torch.float32
    ld = make_loader(ds, split="train", batch_size=4, rc=True, shift=2, seed=1)
    xb, yb = next(iter(ld))
    assert xb.shape == (4, L) and xb.dtype == torch.uint8 and yb.shape == (4, ds.n_bins, 4)
    order1 = [b[1].sum().item() for b in make_loader(ds, split="train", batch_size=4, seed=1)]
    order2 = [b[1].sum().item() for b in make_loader(ds, split="train", batch_size=4, seed=1)]
    assert order1 == order2
    ld2 = make_loader(ds, split="valid", batch_size=8, num_workers=2)
    assert sum(b[0].shape[0] for b in ld2) == ds.split("valid").size


def test_write_regions_takes_one_label_or_one_per_window(tmp_path):
    from seq2func.prepare.store import write_regions

    write_regions(tmp_path / "a.tsv", "chr1", np.array([0, 10]), 5, "train", ["tile", "tile"])
    write_regions(tmp_path / "b.tsv", "chr1", np.array([0, 10]), 5, np.array(["train", "fold3"], dtype=object), ["tile", "peak"])
    assert (tmp_path / "a.tsv").read_text().splitlines()[1:] == ["chr1\t0\t5\ttrain\ttile", "chr1\t10\t15\ttrain\ttile"]
    assert (tmp_path / "b.tsv").read_text().splitlines()[1:] == ["chr1\t0\t5\ttrain\ttile", "chr1\t10\t15\tfold3\tpeak"]
    with pytest.raises(ValueError):
        write_regions(tmp_path / "c.tsv", "chr1", np.array([0, 10]), 5, ["train"], ["tile", "tile"])


def test_fold_needs_a_k_fold_dataset(ds):
    assert ds.manifest["split"]["split_by"] == "chrom"
    with pytest.raises(ValueError, match="no folds"):
        ds.split("test", fold=0)
