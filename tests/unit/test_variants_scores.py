"""seq2func.variants.sequences / scores: windows, stitching and SAD-style scores checked by hand.

The reference: sequences written out as strings from the FASTA text, the model run directly on
``one_hot`` of them, and the scores computed with numpy, independently of the module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pysam
import pytest
import torch

from seq2func.errors import InputError
from seq2func.models import build_model, init_output_bias, load_config
from seq2func.predict import Predictor
from seq2func.prepare.dataset import one_hot
from seq2func.prepare.genome import Fasta, encode
from seq2func.variants.scores import compute_scores, predict_windows, score_variants
from seq2func.variants.sequences import stitch, stitch_split, variant_sequences, variant_windows

L = 8192  # basenji_tiny at 8 kb: 48 bins of 128 bp, crop 1024 bp, receptive field 2006 bp
CHROMS = {"chr1": 40_000, "chr2": 9_000}


# --------------------------------------------------------------------------- fixtures / helpers
@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    rng = np.random.default_rng(7)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in CHROMS.items()}
    path = tmp_path_factory.mktemp("genome") / "genome.fa"
    with open(path, "w") as fh:
        for c, s in seqs.items():
            fh.write(f">{c}\n")
            fh.writelines(s[i:i + 60] + "\n" for i in range(0, len(s), 60))
    pysam.faidx(str(path))
    return path, seqs


def tiny_basenji(seed: int = 0, n_tracks: int = 2) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(load_config("basenji_tiny") | {"n_tracks": n_tracks, "seq_len": L}).eval()


@pytest.fixture(scope="module")
def model():
    return tiny_basenji()


def padded(seqs: dict, chrom: str, start: int, end: int) -> str:
    """genome text of [start, end) with N outside the contig (by hand)."""
    s = seqs[chrom]
    return "".join(s[i] if 0 <= i < len(s) else "N" for i in range(start, end))


def by_hand_windows(seqs, chrom, pos, ref, alt, start):
    """(ref, left, right) strings of the documented conventions, written out by hand."""
    p = pos - 1
    g = lambda a, b: padded(seqs, chrom, a, b)
    ref_w = g(start, start + L)
    assert ref_w[p - start:p - start + len(ref)] == ref
    left = (g(start, p) + alt + g(p + len(ref), p + len(ref) + L))[:L]
    right = (g(p - L, p) + alt + g(p + len(ref), start + L))[-L:]
    return ref_w, left, right


@torch.no_grad()
def run_model(model, seqs: list[str], rc: bool = False) -> np.ndarray:
    """(N, bins, tracks) float64 of the model on sequences (reverse complement with ``rc``, the
    output bins then reversed back to forward order)."""
    codes = np.stack([encode(s) for s in seqs])
    if rc:
        comp = str.maketrans("ACGTN", "TGCAN")
        codes = np.stack([encode(s.translate(comp)[::-1]) for s in seqs])
    y = model(one_hot(torch.from_numpy(codes))).float().numpy().astype(np.float64)
    if y.ndim == 2:
        y = y[:, None, :]
    return y[:, ::-1, :] if rc and y.shape[1] > 1 else y


def hand_scores(ref: np.ndarray, alt: np.ndarray) -> dict[str, np.ndarray]:
    """SAD, logSAD, D2, SAX of (bins, tracks) profiles, by hand."""
    d = alt - ref
    cols = np.arange(d.shape[1])
    return {
        "SAD": alt.sum(0) - ref.sum(0),
        "logSAD": np.log2(alt.sum(0) + 1) - np.log2(ref.sum(0) + 1),
        "D2": np.sqrt((d ** 2).sum(0)),
        "SAX": d[np.abs(d).argmax(0), cols],
    }


def hand_stitch(left: np.ndarray, right: np.ndarray, offset: int, ref_len: int) -> np.ndarray:
    """Bins starting at or after the REF allele's end from ``right``, the rest from ``left``."""
    out = left.copy()
    for j in range(left.shape[0]):
        if 1024 + j * 128 >= offset + ref_len:
            out[j] = right[j]
    return out


def table(rows, flipped=None) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt"])
    df["key"] = [f"{c}:{p}:{r}:{a}" for c, p, r, a in rows]
    if flipped is not None:
        df["flipped"] = flipped
    return df


def scores_of(df: pd.DataFrame, key: str) -> pd.DataFrame:
    return df[df["key"] == key].set_index("track_id")


def snvs(seqs, chrom, positions, rng):
    rows = []
    for p in positions:
        r = seqs[chrom][p - 1]
        rows.append((chrom, p, r, rng.choice([b for b in "ACGT" if b != r])))
    return rows


# --------------------------------------------------------------------------- sequences
def test_windows_match_the_documented_conventions(genome):
    path, seqs = genome
    s1 = seqs["chr1"]
    cases = [
        ("chr1", 20_001, s1[20_000], "T" if s1[20_000] != "T" else "G", 0),  # SNV
        ("chr1", 20_001, s1[20_000:20_003], s1[20_000] + ("A" if s1[20_001] != "A" else "C")
         + s1[20_002], 0),  # MNP
        ("chr1", 15_001, s1[15_000], s1[15_000] + "GATTACA", 0),  # insertion
        ("chr1", 15_001, s1[15_000:15_031], s1[15_000], 100),  # 30 bp deletion, shifted
        ("chr1", 300, s1[299:304], s1[299], -50),  # deletion near the contig start: N padding
        ("chr1", 39_990, s1[39_989], s1[39_989] + "CCCC", 2000),  # insertion near the contig end
        ("chr2", 5_000, seqs["chr2"][4_999:5_100], seqs["chr2"][4_999], L // 2 - 120),  # REF runs past the end
    ]
    with Fasta(path) as fa:
        for chrom, pos, ref, alt, shift in cases:
            start = pos - 1 - (L // 2 + shift)
            ref_w, left_w, right_w = by_hand_windows(seqs, chrom, pos, ref, alt, start)
            r, a_left, a_right = variant_sequences(fa, chrom, pos, ref, alt, L, shift=shift)
            assert r.dtype == np.uint8 and r.shape == (L,)
            assert np.array_equal(r, encode(ref_w))
            assert np.array_equal(a_left, encode(left_w))
            if len(ref) == len(alt):
                assert a_right is None and left_w == right_w  # both alignments are one sequence
            elif L // 2 + shift + len(ref) >= L:
                assert a_right is None  # REF reaches the window's end: nothing is right of it
            else:
                assert np.array_equal(a_right, encode(right_w))
            assert (r[L // 2 + shift:L // 2 + shift + len(ref)] == encode(ref)).all()
        # explicit start (shared windows): the variant off-centre
        r, a_left, a_right = variant_sequences(fa, "chr1", 15_001, s1[15_000], s1[15_000] + "GG", L, start=10_000)
        ref_w, left_w, right_w = by_hand_windows(seqs, "chr1", 15_001, s1[15_000], s1[15_000] + "GG", 10_000)
        assert np.array_equal(r, encode(ref_w)) and np.array_equal(a_left, encode(left_w))
        assert np.array_equal(a_right, encode(right_w))


def test_windows_fetch_once_per_region_and_dedupe_references(genome, monkeypatch):
    path, seqs = genome
    calls = []
    with Fasta(path) as fa:
        orig = fa.fetch

        def counting(chrom, start, end):
            calls.append((chrom, start, end))
            return orig(chrom, start, end)

        monkeypatch.setattr(fa, "fetch", counting)
        s1 = seqs["chr1"]
        rows = [("chr1", p, s1[p - 1], "A" if s1[p - 1] != "A" else "C") for p in (12_000, 12_500, 13_000)]
        rows.append(("chr1", 12_000, s1[11_999], "G" if s1[11_999] != "G" else "T"))  # second ALT, same site
        rows.append(("chr2", 4_000, seqs["chr2"][3_999], "AT" if seqs["chr2"][3_999] == "A" else "C"))
        c, p, r, a = zip(*rows)
        w = variant_windows(fa, c, p, r, a, L)
        assert len(calls) == 2  # one region per chromosome
        assert w.ref.shape[0] == 4 and w.ref_row[0] == w.ref_row[3]  # the two ALTs share a reference
        w2 = variant_windows(fa, c, p, r, a, L, max_region_bp=L)
        assert len(calls) == 2 + 4  # regions capped: one per distinct window here
        for f in ("ref", "left", "right", "offset", "right_row"):
            assert np.array_equal(getattr(w, f), getattr(w2, f))


def test_window_errors(genome):
    path, seqs = genome
    s1 = seqs["chr1"]
    with Fasta(path) as fa:
        bad_ref = "A" if s1[99] != "A" else "C"
        with pytest.raises(InputError, match="does not match the FASTA"):
            variant_windows(fa, ["chr1"], [100], [bad_ref], ["G"], L)
        mid = "A" if s1[300] != "A" else "C"
        with pytest.raises(InputError, match=r"chr1:300 \(k2\): REF allele"):  # the second variant is named
            variant_windows(fa, ["chr1", "chr1"], [200, 300], [s1[199], s1[299] + mid + s1[301]],
                            ["G", "A"], L, keys=["k1", "k2"])
        with pytest.raises(InputError, match="chromosome absent"):
            variant_windows(fa, ["chrX"], [100], ["A"], ["G"], L)
        with pytest.raises(InputError, match="not a sequence of bases"):
            variant_windows(fa, ["chr1"], [100], [s1[99]], ["<DEL>"], L)
        with pytest.raises(InputError, match="runs past the end"):
            variant_windows(fa, ["chr2"], [CHROMS["chr2"]], [seqs["chr2"][-1] + "A"], ["A"], L)
        with pytest.raises(InputError, match="outside its"):
            variant_windows(fa, ["chr1"], [100], [s1[99]], ["G" if s1[99] != "G" else "T"], L, shift=L // 2)


def test_stitch_by_hand():
    rng = np.random.default_rng(0)
    left, right = rng.random((2, 48, 3))
    # REF [1024 + 5 * 128 + 10, +3): bins 0..5 from the left, 6.. from the right
    off = 1024 + 5 * 128 + 10
    out = stitch(left, right, off, 3, 1024, 128)
    assert np.array_equal(out, hand_stitch(left, right, off, 3))
    assert np.array_equal(out[:6], left[:6]) and np.array_equal(out[6:], right[6:])
    # REF ending exactly at a bin boundary: that bin starts at REF's end -> right
    assert int(stitch_split(1024 + 6 * 128 - 1, 1, 1024, 128, 48)) == 6
    assert int(stitch_split(1024 + 6 * 128 - 1, 2, 1024, 128, 48)) == 7
    # variants in the cropped margins: everything from one side
    assert int(stitch_split(10, 1, 1024, 128, 48)) == 0 and int(stitch_split(L - 5, 1, 1024, 128, 48)) == 48
    # batched form = per-variant form; None = SNV
    offs = np.array([off, 2000, 5000])
    both = stitch(np.stack([left] * 3), np.stack([right] * 3), offs, np.array([3, 1, 40]), 1024, 128)
    for i in range(3):
        assert np.array_equal(both[i], hand_stitch(left, right, int(offs[i]), [3, 1, 40][i]))
    assert stitch(left, None, off, 1, 1024, 128) is left


# --------------------------------------------------------------------------- scores
def test_snv_scores_equal_alt_minus_ref_by_hand(genome, model):
    path, seqs = genome
    rng = np.random.default_rng(1)
    rows = snvs(seqs, "chr1", [20_000, 20_001, 33_333], rng) + snvs(seqs, "chr2", [1_500], rng)  # near chr2's start
    variants = table(rows)
    pred = Predictor(model, batch_size=4)
    out = score_variants(pred, variants, path, rc=False, shifts=(0,))
    assert list(out.columns) == ["key", "track_id", "SAD", "logSAD", "D2", "SAX"]
    assert list(out["key"]) == [k for k in variants["key"] for _ in range(2)]
    assert list(out["track_id"]) == ["0", "1"] * len(rows)
    assert out.attrs["counts"]["forward_passes"] == 2 * len(rows)  # one reference + one alternative each
    for (chrom, pos, ref, alt), key in zip(rows, variants["key"]):
        ref_w, alt_w, _ = by_hand_windows(seqs, chrom, pos, ref, alt, pos - 1 - L // 2)
        assert alt_w == ref_w[:L // 2] + alt + ref_w[L // 2 + 1:]
        y = run_model(model, [ref_w, alt_w])
        want = hand_scores(y[0], y[1])
        got = scores_of(out, key)
        for name, v in want.items():
            np.testing.assert_allclose(got[name].to_numpy(), v, rtol=1e-5, atol=1e-5, err_msg=name)
        assert np.all(np.abs(want["SAD"]) > 0)  # the tiny model does see SNVs


def receptive_bins(pred: Predictor, offset: int, ref_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(blind, sees): output bins whose receptive field misses / covers window indices
    [offset, offset + ref_len) — from model.receptive_field() and Predictor.bin_geometry()."""
    crop, bs = pred.bin_geometry(L)
    rf = pred.model.receptive_field()
    half = (rf - bs) // 2  # convolutions are symmetric around each bin; pooling spans the bin itself
    j = np.arange(pred.output_bins(L))
    lo = crop + j * bs - half
    hi = crop + (j + 1) * bs + half
    blind = (hi <= offset) | (lo >= offset + ref_len)
    return blind, ~blind


def test_indels_zero_difference_outside_the_receptive_field(genome, model):
    path, seqs = genome
    s1 = seqs["chr1"]
    rows = [
        ("chr1", 20_001, s1[20_000], s1[20_000] + "GATTACAGATTACA"),  # 14 bp insertion
        ("chr1", 24_001, s1[24_000:24_023], s1[24_000]),  # 22 bp deletion
        ("chr1", 27_001, s1[27_000], s1[27_000] + "C"),  # 1 bp insertion
        ("chr1", 30_001, s1[30_000:30_301], s1[30_000]),  # 300 bp deletion
    ]
    c, p, r, a = zip(*rows)
    pred = Predictor(model, batch_size=64)  # every window of a call in one batch
    crop, _ = pred.bin_geometry(L)
    n_blind = n_seen = n_seen_nonzero = n_naive_nonzero = 0
    max_blind = 0.0
    edge = L // 2 - 150  # REF within 150 bp of the window's end (or its start)
    with Fasta(path) as fa:
        for shift in (0, edge - crop - 200, -(edge - crop - 200), edge, -edge, 37):
            w = variant_windows(fa, c, p, r, a, L, shift=shift)
            assert (w.right_row >= 0).all() or shift == edge
            for rc in (False, True):
                ref_p, alt_p = predict_windows(pred, w, rc=rc)
                for i in range(len(rows)):
                    blind, sees = receptive_bins(pred, int(w.offset[i]), int(w.ref_len[i]))
                    d = np.abs(alt_p[i].astype(np.float64) - ref_p[i])
                    assert np.all(d[blind] == 0.0), (rows[i], shift, rc, np.flatnonzero(d.max(1) * blind))
                    n_blind += int(blind.sum())
                    max_blind = max(max_blind, float(d[blind].max(initial=0.0)))
                    n_seen += int(sees.sum())
                    n_seen_nonzero += int((d[sees].max(1) > 0).sum())
                    # without stitching, the left-aligned window's bins right of an indel are shifted
                    naive = np.abs(pred(w.left[i:i + 1], rc=rc)[0] - ref_p[i])
                    n_naive_nonzero += int((naive[blind].max(1) > 0).sum())
    print(f"\nzero-difference check: {n_blind} blind bins, max |diff| {max_blind}; "
          f"{n_seen_nonzero}/{n_seen} seeing bins differ; unstitched: {n_naive_nonzero} blind bins differ")
    assert n_blind > 500 and max_blind == 0.0
    assert n_seen_nonzero >= 0.9 * n_seen  # bins that can see the variant generally differ
    assert n_naive_nonzero > 100  # the stitching is what makes the blind bins agree


def test_rc_and_shift_ensembling_averages_scores(genome, model):
    path, seqs = genome
    s1 = seqs["chr1"]
    rows = [("chr1", 18_001, s1[18_000], "A" if s1[18_000] != "A" else "G"),
            ("chr1", 22_001, s1[22_000:22_008], s1[22_000]),
            ("chr1", 26_001, s1[26_000], s1[26_000] + "TTGCA")]
    variants = table(rows)
    shifts = (0, 37, -500)
    out = score_variants(Predictor(model, batch_size=8), variants, path, rc=True, shifts=shifts)
    for (chrom, pos, ref, alt), key in zip(rows, variants["key"]):
        per = []
        mean_ref = mean_alt = 0.0
        for s in shifts:
            off = L // 2 + s
            ref_w, left_w, right_w = by_hand_windows(seqs, chrom, pos, ref, alt, pos - 1 - off)
            for rc in (False, True):
                y = run_model(model, [ref_w, left_w, right_w], rc=rc)
                alt_p = y[1] if len(ref) == len(alt) else hand_stitch(y[1], y[2], off, len(ref))
                per.append(hand_scores(y[0], alt_p))
                mean_ref, mean_alt = mean_ref + y[0] / 6, mean_alt + alt_p / 6
        got = scores_of(out, key)
        for name in ("SAD", "logSAD", "D2", "SAX"):
            want = np.mean([p[name] for p in per], axis=0)
            np.testing.assert_allclose(got[name].to_numpy(), want, rtol=1e-5, atol=1e-5, err_msg=name)
        # averaging the predictions first is a different (misaligned) thing: D2 differs
        d2_of_mean = hand_scores(mean_ref, mean_alt)["D2"]
        assert not np.allclose(got["D2"].to_numpy(), d2_of_mean, rtol=1e-3)
    n = out.attrs["counts"]
    assert n["forward_passes"] == 2 * len(shifts) * (3 + 3 + 2)  # refs, left alts, right alts of the 2 indels


def test_transforms_are_undone_before_scoring(genome):
    path, seqs = genome
    m = tiny_basenji(seed=3)
    init_output_bias(m, [1.5, 7.0])  # track 1 above sqrt(32): the soft clip is exercised
    tracks = [{"track_id": "a", "transform": "sum;log1p"}, {"track_id": "b", "transform": "sum;soft_clip=32;sqrt"}]
    s1 = seqs["chr1"]
    rows = [("chr1", 21_001, s1[21_000], "C" if s1[21_000] != "C" else "A"),
            ("chr1", 25_001, s1[25_000:25_004], s1[25_000])]
    variants = table(rows)
    pred = Predictor(m, batch_size=8)
    out = score_variants(pred, variants, path, tracks, rc=False)
    raw = score_variants(pred, variants, path, tracks, rc=False, untransform=False)
    assert list(out["track_id"]) == ["a", "b", "a", "b"]

    def undo(y):
        a = np.expm1(y[:, 0])
        b = y[:, 1] ** 2
        b = np.where(b > 32, 32 + (b - 32) ** 2, b)
        return np.stack([a, b], axis=1)

    for (chrom, pos, ref, alt), key in zip(rows, variants["key"]):
        ref_w, left_w, right_w = by_hand_windows(seqs, chrom, pos, ref, alt, pos - 1 - L // 2)
        y = run_model(m, [ref_w, left_w, right_w])
        assert (y[0, :, 1] ** 2 > 32).any()
        alt_p = y[1] if len(ref) == len(alt) else hand_stitch(y[1], y[2], L // 2, len(ref))
        want = hand_scores(undo(y[0]), undo(alt_p))
        want_raw = hand_scores(y[0], alt_p)
        for name in ("SAD", "logSAD", "D2", "SAX"):
            np.testing.assert_allclose(scores_of(out, key)[name].to_numpy(), want[name], rtol=1e-5, atol=1e-4)
            np.testing.assert_allclose(scores_of(raw, key)[name].to_numpy(), want_raw[name], rtol=1e-5, atol=1e-5)
        assert not np.allclose(want["SAD"], want_raw["SAD"], rtol=1e-2)


def test_shared_reference_windows(genome, model):
    path, seqs = genome
    rng = np.random.default_rng(5)
    dense = [20_000, 20_050, 20_210, 20_400, 20_777, 21_000]  # one cluster (within L // 8 = 1024 bp)
    rows = snvs(seqs, "chr1", dense + [30_000], rng) + snvs(seqs, "chr2", [4_500], rng)
    rows.append(("chr1", 20_300, seqs["chr1"][20_299], seqs["chr1"][20_299] + "AC"))  # an indel in the cluster
    variants = table(rows).sample(frac=1.0, random_state=0)  # input order is kept in the output
    p1 = Predictor(model, batch_size=16)
    alone = score_variants(p1, variants, path, rc=False)
    p2 = Predictor(model, batch_size=16)
    shared = score_variants(p2, variants, path, rc=False, share_reference=True)
    assert list(shared["key"]) == list(alone["key"]) == [k for k in variants["key"] for _ in range(2)]
    ca, cs = alone.attrs["counts"], shared.attrs["counts"]
    assert ca["forward_passes"] == p1.n_forward == 9 + 9 + 1
    assert cs["forward_passes"] == p2.n_forward == 3 + 9 + 1  # 3 clusters: 3 references
    assert cs["reference_passes_saved"] == 6 and ca["reference_passes_saved"] == 0

    # by hand: each variant's windows in its cluster's window, centred on the cluster's midpoint
    mid = (20_000 - 1 + 21_000 - 1) // 2
    start = mid - L // 2
    for chrom, pos, ref, alt in rows:
        key = f"{chrom}:{pos}:{ref}:{alt}"
        s = start if (chrom == "chr1" and pos <= 21_000) else pos - 1 - L // 2
        ref_w, left_w, right_w = by_hand_windows(seqs, chrom, pos, ref, alt, s)
        y = run_model(model, [ref_w, left_w, right_w])
        alt_p = y[1] if len(ref) == len(alt) else hand_stitch(y[1], y[2], pos - 1 - s, len(ref))
        want = hand_scores(y[0], alt_p)
        for name in ("SAD", "logSAD", "D2", "SAX"):
            np.testing.assert_allclose(scores_of(shared, key)[name].to_numpy(), want[name], rtol=1e-5, atol=1e-5)
    # a cluster larger than a chunk is split; its pieces keep the cluster's window
    p4 = Predictor(model, batch_size=16)
    pieces = score_variants(p4, variants, path, rc=False, share_reference=True, batch_size=4)
    assert pieces.attrs["counts"]["forward_passes"] == p4.n_forward == 4 + 9 + 1
    for name in ("SAD", "logSAD", "D2", "SAX"):
        np.testing.assert_allclose(pieces[name], shared[name], rtol=1e-6, atol=1e-6)
    # off-centre windows give (slightly) different scores than the centred ones
    assert not np.allclose(shared["SAD"], alone["SAD"], rtol=1e-6, atol=0)
    # with RC and two shifts the saving is per orientation and shift
    p3 = Predictor(model, batch_size=16)
    both = score_variants(p3, variants, path, rc=True, shifts=(0, 11), share_reference=True)
    assert both.attrs["counts"]["reference_passes_saved"] == 6 * 4
    assert both.attrs["counts"]["forward_passes"] == 4 * (3 + 9 + 1)
    with pytest.raises(InputError, match="cluster_bp"):
        score_variants(p3, variants, path, share_reference=True, cluster_bp=L)


def test_classification_model_gives_dlogit_dprob(genome):
    path, seqs = genome
    torch.manual_seed(0)
    m = build_model(load_config("resnet_peak") | {"n_tracks": 2, "seq_len": 512, "stage_channels": [16, 16, 16],
                                                    "stem_channels": 16, "hidden": 32}).eval()
    s1 = seqs["chr1"]
    rows = [("chr1", 10_001, s1[10_000], "G" if s1[10_000] != "G" else "T"),
            ("chr1", 11_001, s1[11_000:11_006], s1[11_000]),
            ("chr1", 12_001, s1[12_000], s1[12_000] + "ACGT")]
    variants = table(rows)
    tracks = [{"track_id": "p1", "transform": "sum;log1p"}, {"track_id": "p2", "transform": "sum"}]
    pred = Predictor(m, batch_size=8)
    out = score_variants(pred, variants, path, tracks, rc=True, shifts=(0, 3))
    assert list(out.columns) == ["key", "track_id", "dlogit", "dprob"]
    assert out.attrs["counts"]["forward_passes"] == 2 * 2 * 6  # no right-aligned windows
    sig = lambda v: 1 / (1 + np.exp(-v))
    for (chrom, pos, ref, alt), key in zip(rows, variants["key"]):
        dl, dp = [], []
        for s in (0, 3):
            ref_w, left_w, _ = by_hand_windows_len(seqs, chrom, pos, ref, alt, pos - 1 - (256 + s), 512)
            for rc in (False, True):
                y = run_model(m, [ref_w, left_w], rc=rc)[:, 0, :]
                dl.append(y[1] - y[0])
                dp.append(sig(y[1]) - sig(y[0]))
        got = scores_of(out, key)
        np.testing.assert_allclose(got["dlogit"].to_numpy(), np.mean(dl, axis=0), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got["dprob"].to_numpy(), np.mean(dp, axis=0), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="not a score of a classification model"):
        score_variants(pred, variants, path, scores=["SAD"])


def by_hand_windows_len(seqs, chrom, pos, ref, alt, start, length):
    p = pos - 1
    g = lambda a, b: padded(seqs, chrom, a, b)
    return g(start, start + length), (g(start, p) + alt + g(p + len(ref), p + len(ref) + length))[:length], None


def test_scalar_model_gives_sad(genome):
    path, seqs = genome
    torch.manual_seed(0)
    m = build_model(load_config("simple_cnn") | {"n_tracks": 1, "seq_len": 2001, "conv_channels": 8,
                                                   "pool": 100, "hidden": 8}).eval()
    s1 = seqs["chr1"]
    rows = [("chr1", 9_001, s1[9_000], "G" if s1[9_000] != "G" else "T")]
    variants = table(rows)
    out = score_variants(Predictor(m), variants, path, rc=False, scores="SAD")
    ref_w, left_w, _ = by_hand_windows_len(seqs, *rows[0], 9_000 - 1000, 2001)
    y = run_model(m, [ref_w, left_w])
    assert list(out.columns) == ["key", "track_id", "SAD"]
    np.testing.assert_allclose(out["SAD"].to_numpy(), y[1, 0] - y[0, 0], rtol=1e-5, atol=1e-6)


def test_flipped_rows_negated_and_determinism(genome, model):
    path, seqs = genome
    s1 = seqs["chr1"]
    rows = [("chr1", 19_001, s1[19_000], "T" if s1[19_000] != "T" else "A"),
            ("chr1", 23_001, s1[23_000:23_010], s1[23_000])]
    pred = Predictor(model, batch_size=8)
    plain = score_variants(pred, table(rows), path, shifts=(0, 1))
    again = score_variants(pred, table(rows), path, shifts=(0, 1))
    pd.testing.assert_frame_equal(plain, again)  # deterministic, bit for bit
    flip = score_variants(pred, table(rows, flipped=[True, False]), path, shifts=(0, 1))
    first = plain["key"] == table(rows)["key"][0]
    for name in ("SAD", "logSAD", "SAX"):
        np.testing.assert_array_equal(flip.loc[first, name], -plain.loc[first, name])
        np.testing.assert_array_equal(flip.loc[~first, name], plain.loc[~first, name])
    np.testing.assert_array_equal(flip["D2"], plain["D2"])  # unsigned: the same either way
    assert (plain["D2"] > 0).all()


def test_input_checks_and_empty(genome, model):
    path, seqs = genome
    pred = Predictor(model)
    s1 = seqs["chr1"]
    ok = table([("chr1", 19_001, s1[19_000], "T" if s1[19_000] != "T" else "A")])
    with pytest.raises(InputError, match="missing column"):
        score_variants(pred, ok.drop(columns="key"), path)
    with pytest.raises(InputError, match="duplicate variant key"):
        score_variants(pred, pd.concat([ok, ok]), path)
    with pytest.raises(InputError, match="shifts"):
        score_variants(pred, ok, path, shifts=(L // 2,))
    with pytest.raises(InputError, match="3 track rows for a model with 2 output tracks"):
        score_variants(pred, ok, path, [{"track_id": "a"}, {"track_id": "b"}, {"track_id": "c"}])
    with pytest.raises(InputError, match=r"tracks: row 2 \(track_id=b\).*unknown operation"):
        score_variants(pred, ok, path, [{"track_id": "a"}, {"track_id": "b", "transform": "sum;cube"}])
    with pytest.raises(InputError, match="not a score of a profile model"):
        score_variants(pred, ok, path, scores="SAD,dprob")
    empty = score_variants(pred, ok.iloc[:0], path, [{"track_id": "a"}, {"track_id": "b"}])
    assert len(empty) == 0 and list(empty.columns) == ["key", "track_id", "SAD", "logSAD", "D2", "SAX"]
    assert empty.attrs["counts"]["forward_passes"] == 0


def test_compute_scores_matches_hand():
    rng = np.random.default_rng(3)
    ref, alt = rng.random((2, 4, 10, 3)).astype(np.float32)
    got = compute_scores(ref, alt, "profile", ["SAD", "logSAD", "D2", "SAX"])
    for i in range(4):
        want = hand_scores(ref[i].astype(np.float64), alt[i].astype(np.float64))
        for name, v in want.items():
            np.testing.assert_allclose(got[name][i], v, rtol=1e-12)
