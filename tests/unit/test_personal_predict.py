"""Personal-genome prediction: TSS-bin reduction, haplotype dedup, combining, inputs."""

from __future__ import annotations

import gzip
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from seq2func.errors import InputError
from seq2func.personal.haplotypes import Haplotypes, center_on
from seq2func.personal.predict import (
    GenePredictor,
    combine_haplotypes,
    gene_window,
    hap_space,
    predict_gene,
    read_expression_matrix,
    read_tss,
    select_tracks,
)

torch.set_num_threads(1)


class CountG(nn.Module):
    """Profile stub: output[b, j, t] = (t + 1) * (number of G in input bin j + crop_bins) + j / 1000."""

    output_kind = "profile"

    def __init__(self, seq_len=400, bin_size=10, crop_bins=5, n_tracks=2, rf=None):
        super().__init__()
        self.config = {"name": "stub", "seq_len": seq_len, "bin_size": bin_size, "n_tracks": n_tracks}
        self.crop, self.rf = crop_bins, rf
        self.w = nn.Parameter(torch.ones(1))
        self.rows = 0

    def output_bins(self, L):
        return L // self.config["bin_size"] - 2 * self.crop

    def receptive_field(self):
        if self.rf is None:
            raise NotImplementedError
        return self.rf

    def forward(self, x):
        self.rows += x.shape[0]
        b = self.config["bin_size"]
        g = x[:, 2].unfold(-1, b, b).sum(-1)[:, self.crop:-self.crop]  # (B, bins)
        j = torch.arange(g.shape[1], dtype=x.dtype) / 1000
        t = torch.arange(1, self.config["n_tracks"] + 1, dtype=x.dtype)
        return (g[:, :, None] * t + j[None, :, None]) * self.w


class Scalar(nn.Module):
    """Scalar stub: (number of A) * 1 + (number of T) * 1000 per sequence; counts rows seen."""

    output_kind = "scalar"

    def __init__(self, seq_len):
        super().__init__()
        self.config = {"name": "stub", "seq_len": seq_len, "n_tracks": 1}
        self.rows = 0
        self.calls = 0

    def forward(self, x):
        self.rows += x.shape[0]
        self.calls += 1
        return (x[:, 0].sum(-1) + 1000 * x[:, 3].sum(-1))[:, None]


# --------------------------------------------------------------------------- TSS bins
def test_tss_bin_sum_hand_built():
    m = CountG(seq_len=400, bin_size=10, crop_bins=5, n_tracks=2)
    pred = GenePredictor(m, columns=[1], tss_bins=1)
    # output bin j covers input [50 + 10 j, 60 + 10 j); TSS at input 200 -> bin 15; bins 14..16 = input [190, 220)
    assert (pred.crop_bp, pred.n_bins, pred.tss_bin) == (50, 30, 15)
    seq = ["A"] * 400
    for pos in (189, 190, 195, 205, 219, 220, 300):  # 4 G inside [190, 220), 3 outside
        seq[pos] = "G"
    v = pred.predict(["".join(seq)])[0]
    expected = 2 * 4 + (14 + 15 + 16) / 1000  # track 1 has factor 2
    assert v == pytest.approx(expected)
    # two tracks summed, k = 0 (TSS bin only: input [200, 210) holds 1 G)
    pred2 = GenePredictor(m, columns=[0, 1], tss_bins=0)
    assert pred2.predict(["".join(seq)])[0] == pytest.approx((1 + 2) * 1 + 2 * 15 / 1000)


def test_tss_bins_outside_output_is_error():
    m = CountG(seq_len=400, bin_size=10, crop_bins=5)
    with pytest.raises(InputError, match="outside"):
        GenePredictor(m, columns=[0], tss_bins=20)


def test_checkpoint_crop_disagreement_uses_model(caplog):
    m = CountG(seq_len=400, bin_size=10, crop_bins=5)
    pred = GenePredictor(m, columns=[0], crop_bp=0)
    assert pred.crop_bp == 50


def test_reverse_complement_average():
    m = CountG(seq_len=400, bin_size=10, crop_bins=5, n_tracks=1)
    seq = ["A"] * 400
    for pos in (191, 195, 205):
        seq[pos] = "G"
    seq[208] = "C"  # a C becomes G on the reverse strand
    seq = "".join(seq)
    fwd = GenePredictor(m, columns=[0], tss_bins=1).predict([seq])[0]
    both = GenePredictor(m, columns=[0], tss_bins=1, rc=True).predict([seq])[0]
    # reverse complement: positions p -> 399 - p; the C at 208 -> G at 191, inside [190, 220) after the flip
    rc = "".join({"A": "T", "C": "G", "G": "C", "T": "A"}[c] for c in reversed(seq))
    g_rc = sum(1 for p in range(180, 210) if rc[p] == "G")  # bins 14..16 of the rc output = input [190, 220) flipped
    assert fwd == pytest.approx(3 + 0.045)
    # flipped back, forward bins 14..16 are rc bins 15..13: the bin-index term becomes (15 + 14 + 13) / 1000
    assert g_rc == 1
    assert both == pytest.approx(0.5 * (fwd + g_rc + 0.042))


def test_receptive_field_key_only_when_smaller_than_input():
    m = CountG(seq_len=400, bin_size=10, crop_bins=5, rf=10)
    pred = GenePredictor(m, columns=[0])
    assert pred.relevant == (180, 230)
    a = "A" * 400
    b = "G" + "A" * 399  # differs outside the relevant span
    vals = pred.predict([a, b])
    assert m.rows == 1 and vals[0] == vals[1]
    m2 = CountG(seq_len=400, bin_size=10, crop_bins=5, rf=None)
    assert GenePredictor(m2, columns=[0]).relevant == (0, 400)


# --------------------------------------------------------------------------- combining
def test_combine_modes():
    a, b = np.array([1.0, 3.0]), np.array([3.0, 3.0])
    assert combine_haplotypes(a, b, "mean").tolist() == [2.0, 3.0]
    np.testing.assert_allclose(combine_haplotypes(a, b, "log_before"), (np.log1p(a) + np.log1p(b)) / 2)
    np.testing.assert_allclose(combine_haplotypes(a, b, "log_after"), np.log1p((a + b) / 2))
    np.testing.assert_allclose(hap_space(a, "log_after"), np.log1p(a))
    ta = torch.tensor(a)
    np.testing.assert_allclose(combine_haplotypes(ta, torch.tensor(b), "log_before").numpy(),
                               combine_haplotypes(a, b, "log_before"))
    with pytest.raises(ValueError):
        combine_haplotypes(a, b, "median")


# --------------------------------------------------------------------------- dedup
def _haps(unique, inverse, reference, shifts=None):
    h = Haplotypes(chrom="c", start=1, end=len(reference), reference=reference, samples=[f"S{i}" for i in range(len(inverse) // 2)],
                   unique_sequences=unique, inverse=np.asarray(inverse), allele_matrix=np.zeros((len(inverse), 0), np.int16),
                   alt_dosage=np.zeros((len(inverse) // 2, 0), np.int8), snv_columns=np.zeros(0, np.int64))
    return h


def test_prediction_dedup_counts_unique_haplotypes():
    ref = "ACGT" * 25 + "A"  # 101 bp, TSS at offset 50
    u = [ref, ref[:10] + "T" + ref[11:], ref[:70] + "A" + ref[71:]]
    inverse = [0, 1, 1, 2, 0, 0, 2, 2, 1, 0]  # 5 individuals, 10 haplotypes, 3 distinct
    haps = _haps(u, inverse, ref)
    m = Scalar(seq_len=101)
    pred = GenePredictor(m, columns=[0], batch_size=2)
    gp = predict_gene(pred, haps, 50, "mean")
    assert m.rows == haps.n_unique == 3  # the reference equals unique haplotype 0: not predicted again
    direct = m(torch.nn.functional.one_hot(torch.as_tensor([["ACGT".index(c) for c in s] for s in u]), 4)
               .float().transpose(1, 2))[:, 0].numpy()
    np.testing.assert_allclose(gp.hap_values, direct[np.asarray(inverse)])
    np.testing.assert_allclose(gp.individual, (direct[inverse][0::2] + direct[inverse][1::2]) / 2)
    assert gp.reference_value == direct[0]
    assert pred.n_model_inputs == 3 and pred.n_requests == 4


def test_prediction_dedup_on_simulated_haplotypes(tmp_path):
    from seq2func.personal.haplotypes import HaplotypeBuilder
    from seq2func.simulate import simulate_world

    world = tmp_path / "w"
    simulate_world(world, scale="tiny", seed=1)
    L = 3001
    first = open(world / "tss.bed").readline().split("\t")
    win = gene_window(first[3], first[0], int(first[1]), first[5].strip(), L)
    with HaplotypeBuilder(world / "cohort.vcf.gz", world / "genome.fa") as b:
        haps = b.build(win.chrom, win.start, win.end)
    m = Scalar(seq_len=L)
    pred = GenePredictor(m, columns=[0], batch_size=64)
    gp = predict_gene(pred, haps, win.ref_offset, "mean")
    inputs = set(haps.centered(win.ref_offset, L))
    assert 1 < haps.n_unique < len(haps.inverse)
    assert m.rows == len(inputs | {center_on(haps.reference, win.ref_offset, L)})
    assert m.rows <= haps.n_unique + 1
    assert m.calls == -(-m.rows // 64)  # batched
    # the TSS sits at the input centre of every haplotype, whatever the indels upstream did
    flank = haps.reference[win.ref_offset - 3:win.ref_offset + 4]
    hits = sum(center_on(s, int(c), L)[L // 2 - 3:L // 2 + 4] == flank for s, c in zip(haps.unique_sequences, gp.centres))
    assert hits >= 0.9 * haps.n_unique
    # values equal a prediction of every haplotype without dedup
    m2 = Scalar(seq_len=L)
    full = GenePredictor(m2, columns=[0], batch_size=64)
    seqs = [center_on(s, int(gp.centres[haps.inverse[k]]), L) for k, s in enumerate(haps.sequences)]
    np.testing.assert_allclose(full._run(seqs), gp.hap_values)


def test_receptive_field_dedup_matches_full_prediction(tmp_path):
    """On a real (narrow) basenji in eval mode, keying by the receptive-field span changes nothing."""
    from seq2func.models import build_model, load_config

    torch.manual_seed(0)
    cfg = load_config("basenji_tiny") | {"n_tracks": 2, "stem_channels": 8, "tower_channels": [8, 8], "final_channels": 8}
    model = build_model(cfg).eval()
    rng = np.random.default_rng(0)
    L = cfg["seq_len"]
    a = GenePredictor(model, columns=[1], rf_dedup=True, batch_size=8)
    b = GenePredictor(model, columns=[1], rf_dedup=False, batch_size=8)
    lo, hi = a.relevant
    assert 0 < lo < L // 2 < hi < L
    base = rng.choice(list("ACGT"), L)
    outside = np.r_[0:lo, hi:L]
    seqs = []
    for k in range(5):  # changes only where the TSS bins cannot see them
        s = base.copy()
        pos = rng.choice(outside, 200, replace=False)
        s[pos] = rng.choice(list("ACGT"), 200)
        seqs.append("".join(s))
    inside = base.copy()
    inside[L // 2 + 5] = "A" if base[L // 2 + 5] != "A" else "C"
    seqs.append("".join(inside))
    full = b.predict(seqs)
    np.testing.assert_allclose(full[:5], full[0], rtol=1e-6)  # the receptive-field claim itself
    assert abs(full[5] - full[0]) > 0
    np.testing.assert_allclose(a.predict(seqs), full, rtol=1e-6)
    assert (a.n_model_inputs, b.n_model_inputs) == (2, 6)


# --------------------------------------------------------------------------- inputs
def test_read_tss_bed_and_gtf(tmp_path):
    bed = tmp_path / "tss.bed"
    bed.write_text("chr1\t100\t101\tG1\t0\t+\nchr1\t500\t501\tG2\t0\t-\nchr1\t600\t601\tG1\t0\t+\n")
    df = read_tss(bed)
    assert df.to_dict("list") == {"gene_id": ["G1", "G2"], "chrom": ["chr1", "chr1"], "tss": [100, 500], "strand": ["+", "-"]}
    gtf = tmp_path / "genes.gtf.gz"
    with gzip.open(gtf, "wt") as fh:
        fh.write(textwrap.dedent("""\
            #!comment
            chr1\tsim\tgene\t101\t300\t.\t+\t.\tgene_id "G1"; gene_name "A";
            chr1\tsim\texon\t101\t300\t.\t+\t.\tgene_id "G1";
            chr2\tsim\tgene\t401\t501\t.\t-\t.\tgene_id "G2"; gene_name "B";
            """))
    g = read_tss(gtf)
    assert g.to_dict("list") == {"gene_id": ["G1", "G2"], "chrom": ["chr1", "chr2"], "tss": [100, 500], "strand": ["+", "-"]}
    bad = tmp_path / "bad.bed"
    bad.write_text("chr1\tx\t1\tG\t0\t+\n")
    with pytest.raises(InputError, match="line 1"):
        read_tss(bad)


def test_read_expression_matrix(tmp_path):
    p = tmp_path / "e.tsv"
    p.write_text("gene_id\tI1\tI2\tI3\nG1\t1.5\tNA\t2\nG2\t0\t1\t\n")
    e = read_expression_matrix(p)
    assert list(e.columns) == ["I1", "I2", "I3"] and e.index.tolist() == ["G1", "G2"]
    assert np.isnan(e.loc["G1", "I2"]) and np.isnan(e.loc["G2", "I3"]) and e.loc["G1", "I3"] == 2
    p.write_text("gene_id\tI1\tI2\nG1\t1.5\tabc\n")
    with pytest.raises(InputError, match="line 2: value 'abc' for sample 'I2' is not a number .gene 'G1'"):
        read_expression_matrix(p)
    p.write_text("gene_id\tI1\tI1\nG1\t1\t2\n")
    with pytest.raises(InputError, match="duplicated"):
        read_expression_matrix(p)
    p.write_text("gene\tI1\nG1\t1\n")
    with pytest.raises(InputError, match="gene_id"):
        read_expression_matrix(p)


def test_select_tracks():
    tracks = [{"track_id": "ATAC_n", "cell_type": "neuron", "assay": "ATAC"},
              {"track_id": "CAGE_n", "cell_type": "neuron", "assay": "CAGE"},
              {"track_id": "CAGE_h", "cell_type": "hep", "assay": "CAGE"}]
    assert select_tracks(tracks, 3, cell_type="neuron") == [1]
    assert select_tracks(tracks, 3, track="CAGE_h") == [2]
    assert select_tracks(tracks, 3, track="0") == [0]
    with pytest.raises(InputError, match="choose one"):
        select_tracks(tracks, 3)
    with pytest.raises(InputError, match="no CAGE track"):
        select_tracks(tracks, 3, cell_type="liver")
    with pytest.raises(InputError, match="not a track"):
        select_tracks(tracks, 3, track="nope")
    assert select_tracks(None, 1) == [0]


def test_gene_window_clipping():
    w = gene_window("G", "chr1", 100, "+", 40001)
    assert (w.start, w.end, w.ref_offset) == (1, 20101, 100)
    w = gene_window("G", "chr1", 50000, "-", 40001, chrom_len=60000)
    assert (w.start, w.end, w.ref_offset) == (30001, 60000, 20000)
    w = gene_window("G", "chr1", 50000, "+", 4)  # even: TSS right of the midpoint
    assert (w.start, w.end, w.ref_offset) == (49999, 50002, 2)
