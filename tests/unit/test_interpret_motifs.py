"""Motif helpers (seq2func.interpret.motifs): JASPAR from pyjaspar, Tomtom (memelite) recovering a
noisy JASPAR matrix, MEME round trip, TF-MoDISco (modiscolite) on a synthetic planted-motif set,
logos and tables, bad inputs."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from seq2func.errors import InputError
from seq2func.interpret.motifs import (
    JasparMatrix,
    information_content,
    jaspar_motifs,
    jaspar_releases,
    logo_png,
    motif_table,
    run_modisco,
    tomtom_matches,
    trim_motif,
    write_meme,
)

RELEASE = "JASPAR2024"
CTCF = "MA0139.2"


@pytest.fixture(scope="module")
def jaspar() -> list[JasparMatrix]:
    return jaspar_motifs(RELEASE, "CORE", "vertebrates")


@pytest.fixture(scope="module")
def ctcf(jaspar) -> JasparMatrix:
    return next(m for m in jaspar if m.matrix_id == CTCF)


def test_jaspar_from_pyjaspar(jaspar, ctcf):
    assert {"JASPAR2020", "JASPAR2022", "JASPAR2024", "JASPAR2026"} <= set(jaspar_releases())
    assert len(jaspar) > 500 and len({m.matrix_id for m in jaspar}) == len(jaspar)
    assert ctcf.name == "CTCF" and ctcf.counts.shape == (4, 15)
    mid, name, counts = ctcf  # a plain (matrix_id, name, counts) tuple too
    assert (mid, name) == (CTCF, "CTCF")
    np.testing.assert_allclose(ctcf.probabilities().sum(axis=0), 1.0)
    # the same numbers as the bundled subset (verbatim copy of pyjaspar's database)
    from seq2func.io.motifs import load_jaspar_subset

    bundled = next(m for m in load_jaspar_subset()[0] if m.matrix_id == CTCF)
    np.testing.assert_array_equal(bundled.counts.T, counts)


def test_bad_jaspar_release_is_one_input_error():
    with pytest.raises(InputError) as e:
        jaspar_motifs("JASPAR1999")
    msg = str(e.value)
    assert "\n" not in msg and "JASPAR1999" in msg and "JASPAR2024" in msg
    with pytest.raises(InputError, match="no matrices"):
        jaspar_motifs(RELEASE, tax_group="martians")


def _noisy(pwm: np.ndarray, rng: np.random.Generator, flank: tuple[int, int] = (2, 3)) -> np.ndarray:
    """A noisy copy: each column resampled from a Dirichlet around it, random columns on each side."""
    cols = np.stack([rng.dirichlet(30 * pwm[:, j] + 0.5) for j in range(pwm.shape[1])], axis=1)
    left, right = (rng.dirichlet(np.ones(4), size=k).T for k in flank)
    return np.concatenate([left, cols, right], axis=1)


def _random_pwm(rng: np.random.Generator, w: int = 12, top: float = 0.7) -> np.ndarray:
    """A motif-like random PWM: a random consensus base at each position with probability ``top``."""
    m = np.full((4, w), (1 - top) / 3)
    m[rng.integers(0, 4, w), np.arange(w)] = top
    return m


def test_tomtom_recovers_noisy_jaspar_matrix(jaspar, ctcf):
    rng = np.random.default_rng(0)
    q = _noisy(ctcf.probabilities(), rng)
    queries = {"noisy": q, "noisy_rc": q[::-1, ::-1].copy()}
    queries |= {f"random{i}": _random_pwm(rng) for i in range(10)}
    t = time.perf_counter()
    df = tomtom_matches(queries, jaspar, top_k=3, n_jobs=1)
    elapsed = time.perf_counter() - t
    assert len(df) == 3 * len(queries) and list(df["rank"][:3]) == [1, 2, 3]
    best = df[df["rank"] == 1].set_index("query")
    # offset: the target column under the query's first column, on the matched strand: the 2 left
    # flank columns come first in the query, the 3 right ones first in its reverse complement
    for name, strand, offset in (("noisy", "+", -2), ("noisy_rc", "-", -3)):
        row = best.loc[name]
        assert row.target_id == CTCF and row.target_name == "CTCF" and row.strand == strand
        assert row.q_value < 0.05 and row.p_value < 1e-10
        assert row.e_value == pytest.approx(row.p_value * len(jaspar))
        assert row.offset == offset and row.overlap == 15
    # random motif-like PWMs: at most the nominal share is "significant" per query, none over all pairs
    rnd = best.loc[[f"random{i}" for i in range(10)]]
    assert (rnd.q_value < 0.05).sum() <= 1
    df_all = tomtom_matches({k: v for k, v in queries.items() if k.startswith("random")}, jaspar, top_k=1,
                            q_scope="all", n_jobs=1)
    assert (df_all.q_value >= 0.05).all()
    print(f"tomtom: {len(queries)} queries x {len(jaspar)} targets in {elapsed:.2f} s")


def test_tomtom_bad_queries(jaspar, ctcf):
    good = ctcf.probabilities()
    with pytest.raises(InputError, match=r"transpose"):
        tomtom_matches({"wide": good.T}, jaspar)  # (w, 4)
    with pytest.raises(InputError, match=r"\(4, w\)"):
        tomtom_matches({"flat": good.ravel()}, jaspar)
    with pytest.raises(InputError, match="negative"):
        tomtom_matches({"neg": -good}, jaspar)
    with pytest.raises(InputError, match="non-empty dict"):
        tomtom_matches({}, jaspar)
    with pytest.raises(InputError, match="q_scope"):
        tomtom_matches({"ok": good}, jaspar, q_scope="target")


def test_meme_round_trip(tmp_path, jaspar, ctcf):
    from memelite.io import read_meme

    rng = np.random.default_rng(1)
    mine = {"my motif": _random_pwm(rng, 8), "other": _random_pwm(rng, 5)}
    p = write_meme(tmp_path / "mine.meme", mine)
    back = read_meme(str(p))
    assert list(back) == ["my_motif", "other"]
    for (k, v), got in zip(mine.items(), back.values()):
        np.testing.assert_allclose(got, v, atol=1e-6)
    write_meme(tmp_path / "jaspar.meme", jaspar[:20])
    back = read_meme(str(tmp_path / "jaspar.meme"))
    assert len(back) == 20
    first = jaspar[0]
    np.testing.assert_allclose(back[f"{first.matrix_id} {first.name.replace(' ', '_')}"], first.probabilities(),
                               atol=1e-6)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary left


def test_logo_and_table(tmp_path, ctcf):
    p = logo_png(tmp_path / "logos" / "ctcf.png", ctcf.probabilities(), "CTCF")
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    logo_png(tmp_path / "cwm.png", ctcf.probabilities() - 0.25, kind="weight")
    ic = information_content(ctcf.probabilities())
    assert ic.shape == (15,) and 0 <= ic.min() and ic.max() <= 2
    a, b = trim_motif(np.pad(ctcf.probabilities() - 0.25, ((0, 0), (3, 4))))
    assert 3 <= a < b <= 3 + 15


def _synthetic(n: int = 200, length: int = 200, seed: int = 0):
    """Random sequences, every other one with a CTCF instance (either strand) sampled from its PWM;
    hypothetical contributions = the PWM's log-odds at the planted site, N(0, 0.1) noise elsewhere."""
    from seq2func.io.motifs import load_jaspar_subset

    m = next(x for x in load_jaspar_subset()[0] if x.matrix_id == CTCF)
    p = m.probabilities(0.8).T
    lo = np.log2(p / 0.25)
    w = p.shape[1]
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length))
    hyp = rng.normal(0, 0.1, (n, 4, length)).astype(np.float32)
    for i in range(0, n, 2):
        s = int(rng.integers(30, length - 30 - w))
        pp, ll = (p[::-1, ::-1], lo[::-1, ::-1]) if rng.random() < 0.5 else (p, lo)
        codes[i, s:s + w] = [rng.choice(4, p=pp[:, j] / pp[:, j].sum()) for j in range(w)]
        hyp[i, :, s:s + w] += ll
    onehot = np.zeros((n, 4, length), np.float32)
    onehot[np.arange(n)[:, None], codes, np.arange(length)[None]] = 1
    return onehot, hyp


def test_modisco_finds_planted_motif(tmp_path, jaspar):
    onehot, hyp = _synthetic()
    t = time.perf_counter()
    patterns = run_modisco(onehot, hyp, min_metacluster_size=50, n_leiden_runs=4, max_seqlets=1000, seed=0)
    elapsed = time.perf_counter() - t
    assert patterns and patterns[0].metacluster == "pos"
    top = patterns[0]
    assert top.n_seqlets >= 50 and top.pwm.shape == top.cwm.shape and top.pwm.shape[0] == 4
    np.testing.assert_allclose(top.pwm.sum(axis=0), 1.0, atol=1e-6)
    assert set(top.seqlets.columns) == {"example_idx", "start", "end", "is_revcomp"}
    assert (top.seqlets.example_idx % 2 == 0).mean() > 0.9  # seqlets come from the planted sequences
    df = tomtom_matches({p.name: p.pwm for p in patterns}, jaspar, top_k=3, n_jobs=1)
    best = df[df["rank"] == 1].set_index("query").loc[top.name]
    assert best.target_id == CTCF and best.q_value < 0.05
    # outputs: MEME file, logos, table
    write_meme(tmp_path / "patterns.meme", patterns)
    from memelite.io import read_meme

    assert list(read_meme(str(tmp_path / "patterns.meme"))) == [p.name for p in patterns]
    logo_png(tmp_path / "top.cwm.png", top.cwm, top.name, kind="weight")
    table = motif_table(tmp_path / "motifs.tsv", patterns, df)
    back = pd.read_csv(tmp_path / "motifs.tsv", sep="\t")
    assert list(back.pattern) == [p.name for p in patterns] and back.loc[0, "best_target_id"] == CTCF
    assert len(table) == len(patterns)
    print(f"modisco: {len(patterns)} pattern(s) from 200 x 200 bp in {elapsed:.1f} s")


def test_modisco_bad_inputs():
    onehot, hyp = _synthetic(n=4, length=80)
    with pytest.raises(InputError, match="differs"):
        run_modisco(onehot, hyp[:, :, :50])
    with pytest.raises(InputError, match=r"\(N, 4, L\)"):
        run_modisco(onehot.transpose(0, 2, 1), hyp.transpose(0, 2, 1))
    with pytest.raises(InputError, match="shorter than one seqlet"):
        run_modisco(onehot, hyp, window=30)


def test_pairwise_jaccard_of_zero_rows_is_finite_with_self_first():
    """modiscolite's pairwise Jaccard of all-zero seqlet vectors is 0/0 = NaN (it stopped Leiden
    with "Cannot accept NaN weights" in a pipeline run); the wrapped kernel gives 0 between them,
    1 with itself, self first, and leaves rows without zeros as they were."""
    from modiscolite import affinitymat

    from seq2func.interpret.motifs import _finite_jaccard

    rng = np.random.default_rng(3)
    X = rng.normal(size=(8, 30)).astype(np.float32)
    X[[2, 5, 6]] = 0.0
    raw_j, raw_n = affinitymat.pairwise_jaccard(X, 8)
    assert np.isnan(raw_j).any()  # the upstream behaviour this guards against
    with _finite_jaccard():
        j, n = affinitymat.pairwise_jaccard(X, 8)
    assert np.isfinite(j).all()
    assert (n[:, 0] == np.arange(8)).all() and (j[:, 0] == 1.0).all()
    for i in (2, 5, 6):
        assert sorted(n[i]) == list(range(8)) and (j[i, 1:] == 0).all()
    ok = [0, 1, 3, 4, 7]
    np.testing.assert_array_equal(j[ok], np.nan_to_num(raw_j[ok], nan=0.0))  # only zero columns change
    assert (np.diff(j, axis=1) <= 0).all()
    # the patch is undone afterwards
    assert np.isnan(affinitymat.pairwise_jaccard(X, 8)[0]).any()


def test_modisco_tolerates_zero_contribution_sequences():
    onehot, hyp = _synthetic()
    hyp[1::4] = 0.0  # a quarter of the sequences carry no contribution at all
    patterns = run_modisco(onehot, hyp, min_metacluster_size=50, n_leiden_runs=4, max_seqlets=1000, seed=0)
    assert patterns and all(np.isfinite(p.cwm).all() for p in patterns)
