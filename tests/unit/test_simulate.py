"""Tests of the simulated world (seq2func.simulate, bin/simulate_world.py).

Oracles: pyBigWig, pysam, pyfaidx, bcftools / samtools / tabix, pyjaspar's bundled JASPAR
database, numpy statistics on the files as written. The tiny world is built once per session.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from seq2func.simulate import World, expression_model, simulate_world
from seq2func.transforms import parse_transform

REPO = Path(__file__).resolve().parents[2]
ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
needs_bcftools = pytest.mark.skipif(shutil.which("bcftools") is None or shutil.which("samtools") is None,
                                    reason="bcftools/samtools not installed")


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _checksums(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("world") / "tiny"
    t0 = time.time()
    paths = simulate_world(out, scale="tiny", seed=1)
    paths["wall_s"] = time.time() - t0
    paths["truth_dict"] = json.loads((out / "truth.json").read_text())
    return paths


@pytest.fixture(scope="session")
def world(tiny):
    return World.load(tiny["outdir"])


def _table(truth: dict, key: str) -> list[dict]:
    t = truth[key]
    return [dict(zip(t["columns"], r)) for r in t["rows"]]


# --------------------------------------------------------------------------- files and layout
def test_tiny_world_is_fast_and_complete(tiny):
    assert tiny["wall_s"] < 30  # seconds on a loaded 2-core machine (typically ~3 s)
    out = tiny["outdir"]
    for name in ("genome.fa", "genome.fa.fai", "genes.gtf", "tss.bed", "blacklist.bed", "samplesheet.csv",
                 "samplesheet_peaks.csv", "cohort.vcf.gz", "cohort.vcf.gz.tbi", "expression.tsv", "asv_labels.tsv",
                 "truth.json", "conservation.bw", "variants.vcf.gz", "variants.vcf.gz.tbi"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert not (out / ".simulate_world.tmp").exists()


def test_fasta_chromosomes_and_n_runs(tiny):
    import pyfaidx

    fa = pyfaidx.Fasta(str(tiny["fasta"]))
    truth = tiny["truth_dict"]
    names = list(fa.keys())
    assert names == [f"chr{i + 1}" for i in range(len(names))] and len(names) >= 3
    assert sum(len(fa[c]) for c in names) >= 1_000_000
    for c in truth["genome"]["chromosomes"]:
        seq = str(fa[c["name"]][:]).upper()
        assert len(seq) == c["length"]
        assert set(seq) <= set("ACGTN")
        interior = [r for r in c["n_runs"] if 0 < r[0] and r[1] < c["length"]]
        assert interior, "an interior N run to drop"
        for a, b in c["n_runs"]:
            assert set(seq[a:b]) == {"N"}
        gc = sum(seq.count(b) for b in "GC") / sum(seq.count(b) for b in "ACGT")
        assert 0.35 < gc < 0.55
    bl = [line.split("\t") for line in tiny["blacklist"].read_text().splitlines()]
    assert len(bl) >= 3
    for chrom, a, b in bl:
        assert chrom in names and 0 <= int(a) < int(b) <= len(fa[chrom])


def test_gtf_and_tss(tiny):
    feats = {}
    for line in tiny["gtf"].read_text().splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        assert len(f) == 9 and f[6] in "+-"
        gid = re.search(r'gene_id "([^"]+)"', f[8]).group(1)
        assert re.search(r'gene_name "[^"]+"', f[8])
        feats.setdefault(gid, {})[f[2]] = (f[0], int(f[3]), int(f[4]), f[6])
    assert 40 <= len(feats) <= 100
    tss = [line.split("\t") for line in tiny["tss_bed"].read_text().splitlines()]
    assert len(tss) == len(feats)
    for chrom, a, b, gid, score, strand in tss:
        assert set(feats[gid]) == {"gene", "transcript", "exon"}
        c, start, end, s = feats[gid]["gene"]
        assert (c, s) == (chrom, strand) and int(b) == int(a) + 1
        assert int(a) == (start - 1 if strand == "+" else end - 1)
    assert {t[5] for t in tss} == {"+", "-"}


def test_samplesheets(tiny):
    out = tiny["outdir"]
    rows = list(csv.DictReader(open(tiny["samplesheet"])))
    assert list(rows[0]) == ["track_id", "cell_type", "assay", "file", "role", "transform", "strand"]
    roles = {}
    for r in rows:
        assert ID_RE.match(r["track_id"]) and ID_RE.match(r["cell_type"])
        assert (out / r["file"]).is_file()
        parse_transform(r["transform"])
        assert r["strand"] == "." and r["assay"] in ("ATAC", "CAGE")
        roles.setdefault(r["role"], set()).add(r["cell_type"])
    assert set(roles) == {"compendium", "target"}
    assert len(roles["compendium"]) >= 8 and len(roles["target"]) >= 2
    assert len(rows) >= 20 and {r["assay"] for r in rows} == {"ATAC", "CAGE"}
    assert all(r["transform"] == "sum;soft_clip=32;sqrt" for r in rows if r["assay"] == "CAGE")
    peaks = list(csv.DictReader(open(tiny["samplesheet_peaks"])))
    assert {p["track_id"] for p in peaks} == {r["track_id"] for r in rows if r["assay"] == "ATAC"}
    for p in peaks:
        lines = (out / p["file"]).read_text().splitlines()
        assert lines
        prev = None
        for line in lines:
            f = line.split("\t")
            assert len(f) == 10
            a, b, summit = int(f[1]), int(f[2]), int(f[9])
            assert a < b and 0 <= summit < b - a and 0 <= int(f[4]) <= 1000
            if prev and prev[0] == f[0]:
                assert a >= prev[1]
            prev = (f[0], b)


# --------------------------------------------------------------------------- tracks
def test_bigwigs_equal_truth_coverage_and_noise_ceiling(tiny, world):
    import pyBigWig

    truth = tiny["truth_dict"]
    P = world.params
    chosen = ["ATAC_neuron", "CAGE_hepatocyte"]
    stats = {t: [] for t in chosen}
    genes = _table(truth, "genes")
    ct_names = [c["name"] for c in truth["cell_types"]]
    cage_depth = {t["track_id"]: t["depth"] for t in truth["tracks"]}["CAGE_hepatocyte"]
    hw = P.cage_half_width
    cage_obs, cage_x = [], []
    for chrom, L in zip(world.config.chroms, world.config.chrom_lengths):
        cs = world.chromosome(chrom)
        bl = np.zeros(L, bool)
        for a, b in cs.layout.blacklist:
            bl[a:b] = True
        for tid in chosen:
            lam, obs = world.coverage(chrom, tid, cs)
            bw = pyBigWig.open(str(tiny["outdir"] / "tracks" / f"{tid}.bw"))
            assert bw.chroms() == dict(zip(world.config.chroms, world.config.chrom_lengths))
            vals = bw.values(chrom, 0, L, numpy=True)
            bw.close()
            assert not np.isnan(vals).any()  # every base covered
            np.testing.assert_array_equal(vals, obs.astype(np.float32))
            assert lam.shape == (L,) and (lam >= 0).all()
            nb = L // P.bin_bp
            keep = ~bl[: nb * P.bin_bp].reshape(nb, -1).any(axis=1)
            stats[tid].append((lam[: nb * P.bin_bp].reshape(nb, -1).sum(1)[keep],
                               vals[: nb * P.bin_bp].reshape(nb, -1).sum(1)[keep].astype(np.float64)))
            if tid.startswith("CAGE"):
                # CAGE at a TSS = depth * (bg + gain * reference expression of the gene)
                for g in (g for g in genes if g["chrom"] == chrom):
                    x = 2.0 ** g["ref_log2x"][ct_names.index("hepatocyte")]
                    win = slice(g["tss"] - hw, g["tss"] + hw + 1)
                    expect = cage_depth * ((2 * hw + 1) * P.cage_bg + P.cage_gain * x)
                    assert lam[win].sum() == pytest.approx(expect, rel=1e-9)
                    cage_obs.append(vals[win].sum())
                    cage_x.append(x)
    from scipy.stats import spearmanr

    assert spearmanr(cage_obs, cage_x)[0] > 0.8
    by_id = {t["track_id"]: t for t in truth["tracks"]}
    for tid in chosen:
        L_, O_ = (np.concatenate(x) for x in zip(*stats[tid]))
        nc = by_id[tid]["noise_ceiling"]
        assert nc["bin_bp"] == 128 and nc["n_bins"] == L_.size
        assert np.corrcoef(L_, O_)[0, 1] == pytest.approx(nc["empirical_r"], abs=1e-9)
        analytic = np.sqrt(L_.var() / (L_.var() + L_.mean()))
        assert analytic == pytest.approx(nc["analytic_r"], rel=1e-9)
        assert abs(nc["analytic_r"] - nc["empirical_r"]) < 0.05
    for t in truth["tracks"]:
        assert 0.5 < t["noise_ceiling"]["analytic_r"] <= 1.0
    # per-chromosome ceilings on the samplesheet's transform (the quantity EVALUATE scores); oracle:
    # scipy's Poisson pmf summed bin by bin, numpy Pearson
    from scipy.stats import poisson

    for tid in chosen:
        tr = parse_transform(by_id[tid]["transform"])
        per = by_id[tid]["ceilings"]["chroms"]
        assert by_id[tid]["ceilings"]["transform"] == str(tr) and set(per) == set(world.config.chroms)
        for chrom, (L_, O_) in zip(world.config.chroms, stats[tid]):
            y = tr.apply(O_.astype(np.float32)).astype(np.float16).astype(np.float64)
            f_l = tr.apply(L_.astype(np.float32)).astype(np.float64)
            cond = np.empty_like(L_)
            for i, lam_i in enumerate(L_):
                k = np.arange(0, int(lam_i + 20 * np.sqrt(lam_i) + 50))
                cond[i] = (poisson.pmf(k, lam_i) * tr.apply(k.astype(np.float64))).sum()
            assert per[chrom]["n_bins"] == L_.size
            assert per[chrom]["sequence_ceiling"] == pytest.approx(np.corrcoef(f_l, y)[0, 1], abs=1e-6)
            assert per[chrom]["ceiling"] == pytest.approx(np.corrcoef(cond, y)[0, 1], abs=1e-6)
            assert per[chrom]["ceiling"] >= per[chrom]["sequence_ceiling"] - 0.01


def test_core_promoter_places_cage_and_enhancers_lie_within_reach(tiny, world):
    """Every TSS carries the core promoter in transcript orientation (read back with pysam), the
    expected CAGE of every gene peaks at its TSS base, no cohort variant touches a core promoter,
    and the genes' enhancers lie within reach_bp (recorded in truth.json)."""
    import pysam

    truth = tiny["truth_dict"]
    P = world.params
    assert truth["params"]["reach_bp"] == P.reach_bp == 4000
    core = [(int(o), q) for o, q in truth["params"]["core_promoter"]]
    rc = str.maketrans("ACGT", "TGCA")
    genes = _table(truth, "genes")
    fa = pysam.FastaFile(str(tiny["fasta"]))
    lo, hi = min(o for o, _ in core), max(o + len(q) for o, q in core)
    for g in genes:
        s = fa.fetch(g["chrom"], g["tss"] + lo, g["tss"] + hi) if g["strand"] == "+" else \
            fa.fetch(g["chrom"], g["tss"] - hi + 1, g["tss"] - lo + 1).translate(rc)[::-1]
        for o, q in core:
            assert s[o - lo:o - lo + len(q)] == q, (g["gene_id"], g["strand"], s)
    fa.close()
    cs = world.chromosome("chr1")
    lam, _ = world.coverage("chr1", "CAGE_hepatocyte", cs)
    for g in cs.layout.genes:
        assert int(np.argmax(lam[g.tss - 60:g.tss + 61])) == 60
    spans = {c: [(g["tss"] + lo, g["tss"] + hi) if g["strand"] == "+" else (g["tss"] - hi + 1, g["tss"] - lo + 1)
                 for g in genes if g["chrom"] == c] for c in world.config.chroms}
    with pysam.VariantFile(str(tiny["vcf"])) as vf:
        for rec in vf:  # REF spans never touch a core promoter
            assert not any(rec.start < b and a < rec.stop for a, b in spans[rec.chrom]), (rec.chrom, rec.pos)
    dist = truth["expression_model"]["enhancer_distance_bp"]
    tss_by_gene = {g["gene_id"]: g["tss"] for g in genes}
    d = [abs(e["centre"] - tss_by_gene[e["gene_id"]]) for e in truth["elements"] if e["kind"] == "enhancer"]
    assert dist["n"] == len(d) > 20 and dist["quantiles"]["1"] == max(d) <= P.reach_bp - 500 + 1
    assert dist["quantiles"]["0"] == min(d) >= 1500


def test_chunked_tracks_and_peaks_equal_unchunked(world):
    import io

    from seq2func.simulate import tracks

    cs = world.chromosome("chr2")
    L = cs.layout.length
    g = cs.layout.genes[3]
    cuts = [0, g.tss - 5, g.tss + 7, world.config.chunk_bp, L]  # chunk edges right at a TSS
    for tid in ("ATAC_neuron", "CAGE_neuron"):
        t = next(t for t in world.tracks if t["track_id"] == tid)
        whole = tracks.expected_chunk(world, cs, t, 0, L)
        parts = np.concatenate([tracks.expected_chunk(world, cs, t, a, b) for a, b in zip(cuts[:-1], cuts[1:])])
        np.testing.assert_allclose(parts, whole, rtol=1e-9, atol=1e-12)
        lam, obs = world.coverage("chr2", tid, cs)
        np.testing.assert_allclose(lam, whole, rtol=1e-9, atol=1e-12)
        if t["assay"] == "ATAC":
            outs = []
            for edges in ([0, L], sorted({0, L, *range(0, L, 4096)})):
                fh = io.StringIO()
                pc = tracks.PeakCaller(fh, t, world.params, [0])
                pc.start_chrom("chr2")
                for a, b in zip(edges[:-1], edges[1:]):
                    pc.feed(a, whole[a:b], obs[a:b])
                pc.end_chrom(L)
                outs.append(fh.getvalue())
            assert outs[0] and outs[0] == outs[1]


def test_atac_peaks_sit_on_planted_elements(tiny):
    truth = tiny["truth_dict"]
    inst = _table(truth, "instances")
    centres = {}
    for i in inst:
        centres.setdefault(i["chrom"], []).append((i["start"] + i["end"]) // 2)
    blacklist = [line.split("\t") for line in tiny["blacklist"].read_text().splitlines()]
    lines = (tiny["outdir"] / "peaks" / "ATAC_hepatocyte.narrowPeak").read_text().splitlines()
    peaks = [x.split("\t") for x in lines]
    # blacklist intervals carry an artefact signal, so they show up as peaks
    on_bl = [f for f in peaks if any(b[0] == f[0] and int(f[1]) < int(b[2]) and int(b[1]) < int(f[2]) for b in blacklist)]
    assert on_bl
    strong = [f for f in peaks if float(f[6]) > 50 and f not in on_bl]
    assert len(strong) >= 10
    near = 0
    for f in strong:
        c = np.array(centres[f[0]])
        near += np.min(np.abs(c - (int(f[1]) + int(f[9])))) < 300
    assert near / len(strong) > 0.8


# --------------------------------------------------------------------------- motifs
def test_bundled_motifs_match_pyjaspar():
    from pyjaspar import jaspardb

    doc = json.loads((REPO / "assets" / "motifs" / "jaspar_subset.json").read_text())
    prov = doc["provenance"]
    assert prov["jaspar_release"].startswith("JASPAR") and prov["pyjaspar_version"]
    db = jaspardb(release=prov["jaspar_release"])
    assert 10 <= len(doc["motifs"]) <= 20
    ids = set()
    for m in doc["motifs"]:
        ref = db.fetch_motif_by_id(m["matrix_id"])
        assert ref is not None and ref.name == m["name"]
        for b in "ACGT":
            np.testing.assert_array_equal(np.array(m["counts"][b]), np.array(ref.counts[b]))
        ids.add(m["matrix_id"])
    assert "MA0139.2" in ids  # CTCF


def test_planted_instances_are_motif_samples(tiny, world):
    import pyfaidx

    fa = pyfaidx.Fasta(str(tiny["fasta"]))
    inst = _table(tiny["truth_dict"], "instances")
    names = world.tf_names
    for i in inst[:: max(1, len(inst) // 60)]:
        seq = str(fa[i["chrom"]][i["start"] : i["end"]]).upper()
        assert seq == i["sequence"]
        tf = names.index(i["tf"])
        from seq2func.simulate.scanning import encode

        s = world.scanner.score_one(encode(seq), tf, 1 if i["strand"] == "+" else -1)
        if i["element"] != "latent":
            assert s >= world.scanner.thresholds[tf] + world.params.plant_margin - 1e-4


@needs_bcftools
def test_variants_to_score_are_the_labelled_and_causal_sites(tiny, tmp_path):
    """variants.vcf.gz: the cohort sites labelled in asv_labels.tsv or causal in truth.json, no genotypes,
    INFO as in the cohort (oracle: bcftools view -i ID=@ids -G on the cohort VCF)."""
    ids = {line.split("\t")[0] for line in (tiny["outdir"] / "asv_labels.tsv").read_text().splitlines()[1:]}
    ids |= {c["variant_id"] for c in tiny["truth_dict"]["causal_variants"]}
    (tmp_path / "ids.txt").write_text("\n".join(sorted(ids)) + "\n")
    want = subprocess.run(["bcftools", "view", "-H", "-G", "-i", f"ID=@{tmp_path / 'ids.txt'}", str(tiny["vcf"])],
                          capture_output=True, text=True, check=True).stdout
    got = subprocess.run(["bcftools", "view", "-H", str(tiny["variants"])], capture_output=True, text=True, check=True).stdout
    assert got == want and len(got.splitlines()) == len(ids) > 40
    assert (tiny["outdir"] / "variants.vcf.gz.tbi").is_file()


def test_conservation_is_elevated_over_planted_motifs(tiny):
    """conservation.bw (GERP-like, 10-bp values): planted motif instances score high, the rest is neutral
    noise; read with pyBigWig, instances from truth.json."""
    import pyBigWig

    bw = pyBigWig.open(str(tiny["conservation"]))
    assert bw.chroms() == {c["name"]: c["length"] for c in tiny["truth_dict"]["genome"]["chromosomes"]}
    inst = _table(tiny["truth_dict"], "instances")
    on = np.array([np.nanmean(bw.values(i["chrom"], i["start"], i["end"])) for i in inst])
    covered = {c: np.zeros(n, dtype=bool) for c, n in bw.chroms().items()}
    for i in inst:
        covered[i["chrom"]][i["start"] // 10 * 10:(i["end"] + 9) // 10 * 10] = True
    off = np.concatenate([np.asarray(bw.values(c, 0, n), dtype=float)[~covered[c]] for c, n in bw.chroms().items()])
    # one bin of N(-0.5, 0.8) + U(2.5, 5) falls below 0.5 with p ~ 0.03, so a rare short instance may
    assert len(inst) > 100 and np.quantile(on, 0.02) > 0.5 and np.median(on) > 2.5 and (on > 0.5).mean() > 0.98
    assert abs(np.mean(off) + 0.5) < 0.05 and 0.7 < np.std(off) < 0.9
    bw.close()


# --------------------------------------------------------------------------- cohort
@needs_bcftools
def test_vcf_opens_and_passes_bcftools(tiny, tmp_path):
    vcf = tiny["vcf"]
    r = subprocess.run(["bcftools", "view", "-Ov", "-o", os.devnull, str(vcf)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    copy = tmp_path / "c.vcf.gz"
    shutil.copy(vcf, copy)
    r = subprocess.run(["bcftools", "index", "-t", str(copy)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["tabix", "-l", str(vcf)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.split() == ["chr1", "chr2", "chr3"]
    r = subprocess.run(["bcftools", "view", "-H", "-r", "chr2:100000-200000", str(vcf)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip()
    import pysam

    with pysam.VariantFile(str(vcf)) as vf:
        assert list(vf.header.samples)[:2] == ["IND0001", "IND0002"]
        assert dict((c, vf.header.contigs[c].length) for c in vf.header.contigs) == {
            c["name"]: c["length"] for c in tiny["truth_dict"]["genome"]["chromosomes"]}
        assert sum(1 for _ in vf.fetch("chr1", 0, 200_000)) > 0
        assert not any(line.startswith("##fileDate") for line in str(vf.header).splitlines())


def test_vcf_content_ref_alleles_and_genotypes(tiny):
    import pysam

    fa = pysam.FastaFile(str(tiny["fasta"]))
    n_snv = n_ins = n_del = n_multi = n_missing = n_missing_both = 0
    mafs, positions, dos = [], [], []
    with pysam.VariantFile(str(tiny["vcf"])) as vf:
        samples = list(vf.header.samples)
        assert len(samples) >= 60
        last = {}
        for rec in vf:
            assert fa.fetch(rec.chrom, rec.pos - 1, rec.pos - 1 + len(rec.ref)) == rec.ref
            assert rec.pos > last.get(rec.chrom, 0)
            last[rec.chrom] = rec.pos
            if len(rec.alts) > 1:
                n_multi += 1
            for a in rec.alts:
                if len(a) == len(rec.ref) == 1:
                    n_snv += 1
                elif len(a) > len(rec.ref):
                    n_ins += 1
                else:
                    n_del += 1
            gts = []
            for s in rec.samples.values():
                assert s.phased
                gt = s["GT"]
                assert len(gt) == 2
                n_missing += sum(a is None for a in gt)
                n_missing_both += all(a is None for a in gt)
                gts.append([0 if a is None else a for a in gt])
            g = np.array(gts)
            af = (g > 0).mean()
            mafs.append(min(af, 1 - af))
            if rec.chrom == "chr1" and len(rec.alts) == 1:
                positions.append(rec.pos)
                dos.append((g > 0).sum(axis=1))
    assert n_snv > 1000 and n_ins >= 10 and n_del >= 10 and n_multi >= 5
    assert 0 < n_missing < 0.001 * len(mafs) * len(samples) * 2 and n_missing_both >= 1
    mafs = np.array(mafs)
    assert np.mean(mafs < 0.05) > 0.3 and np.mean(mafs > 0.2) > 0.05  # skewed to rare, some common
    # LD: nearby common variants correlate more than distant ones
    pos = np.array(positions)
    D = np.array(dos, dtype=float)
    common = (D.mean(axis=1) / 2 > 0.1) & (D.mean(axis=1) / 2 < 0.9)
    pos, D = pos[common], D[common]
    R = np.corrcoef(D) ** 2
    dist = np.abs(pos[:, None] - pos[None, :])
    iu = np.triu_indices(pos.size, 1)
    near = R[iu][(dist[iu] < 5_000)]
    far = R[iu][(dist[iu] > 200_000)]
    assert near.mean() > 2 * far.mean()


@needs_bcftools
def test_expression_follows_truth_model(tiny, world, tmp_path):
    import pysam

    truth = tiny["truth_dict"]
    em = truth["expression_model"]
    W, M, sd = em["window_bp"], em["margin_bp"], em["noise_sd"]
    ct = em["personal_cell_type"]
    model = expression_model(truth)
    genes = _table(truth, "genes")
    genes.sort(key=lambda g: -g["h2_personal"])
    chosen = genes[:4] + [g for g in genes if g["class"] == "null"][:2]
    with open(tiny["expression"]) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        expr = {f[0]: np.array(f[1:], float) for f in (line.rstrip("\n").split("\t") for line in fh)}
    assert header[0] == "gene_id" and header[1] == "IND0001" and len(expr) == len(genes)
    inds = [0, 3, 7, 11, 19, 23, 31, 42]
    regions = [f"{g['chrom']}:{g['tss'] - W - M + 1}-{g['tss'] + W + M}" for g in chosen]
    ref_fa = tmp_path / "windows.fa"
    r = subprocess.run(["samtools", "faidx", str(tiny["fasta"]), *regions, "-o", str(ref_fa)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # the reference window reproduces the truth's reference expression (full scan vs chromosome scan)
    ref_seqs = _read_fasta(ref_fa)
    ci = [c["name"] for c in truth["cell_types"]].index(ct)
    for g, reg in zip(chosen, regions):
        pred = model.predict(ref_seqs[reg], W + M, ct)
        assert pred["log2x"] == pytest.approx(g["ref_log2x"][ci], abs=1e-9)
    vf = pysam.VariantFile(str(tiny["vcf"]))
    noise_free = {}
    for chrom in sorted({g["chrom"] for g in chosen}):
        ids, y = world.personal_expression(chrom)
        noise_free.update(zip(ids, y))
    resid, pred_all, obs_all = [], [], []
    for i in inds:
        sample = header[1 + i]
        haps = {}
        for h in (1, 2):
            r = subprocess.run(["bcftools", "consensus", "-s", sample, "-H", str(h), "-f", str(ref_fa), str(tiny["vcf"])],
                               capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            haps[h] = _read_fasta_text(r.stdout)
        for g, reg in zip(chosen, regions):
            tidx = {1: W + M, 2: W + M}
            for rec in vf.fetch(g["chrom"], g["tss"] - W - M, g["tss"]):
                gt = rec.samples[sample]["GT"]
                for h in (1, 2):
                    a = gt[h - 1]
                    if a:
                        tidx[h] += len(rec.alts[a - 1]) - len(rec.ref)
            y = model.individual(haps[1][reg], tidx[1], haps[2][reg], tidx[2], ct)
            # bcftools haplotypes + full-scan model == the simulator's own noise-free value
            assert y == pytest.approx(noise_free[g["gene_id"]][i], abs=1e-9)
            o = expr[g["gene_id"]][i]
            resid.append(o - y)
            pred_all.append(y)
            obs_all.append(o)
    resid = np.array(resid)
    assert abs(resid.mean()) < 3 * sd / np.sqrt(resid.size) + 0.05
    assert 0.65 * sd < resid.std(ddof=1) < 1.4 * sd
    assert np.corrcoef(pred_all, obs_all)[0, 1] > 0.8


def _read_fasta_text(text: str) -> dict[str, str]:
    out, name, buf = {}, None, []
    for line in text.splitlines():
        if line.startswith(">"):
            if name:
                out[name] = "".join(buf)
            name, buf = line[1:].split()[0], []
        else:
            buf.append(line.strip())
    if name:
        out[name] = "".join(buf)
    return out


def _read_fasta(path: Path) -> dict[str, str]:
    return _read_fasta_text(path.read_text())


def test_causal_variants_in_truth_and_vcf(tiny, world):
    import pysam

    truth = tiny["truth_dict"]
    causal = truth["causal_variants"]
    assert len(causal) >= 5
    assert {c["kind"] for c in causal} == {"break", "create"}
    assert max(abs(c["effect_log2"]) for c in causal) > 0.4
    genes = {g["gene_id"]: g for g in _table(truth, "genes")}
    assert any(g["h2_personal"] > 0.3 for g in genes.values())
    assert sum(g["class"] == "null" and g["var_genetic_personal"] == 0 for g in genes.values()) >= 3
    model = world.expression_model()
    W, M = world.params.window_bp, world.params.margin_bp
    fa = pysam.FastaFile(str(tiny["fasta"]))
    vf = pysam.VariantFile(str(tiny["vcf"]))
    ct = world.config.personal_cell_type
    for c in causal[:6]:
        recs = [r for r in vf.fetch(c["chrom"], c["pos"] - 1, c["pos"]) if r.id == c["variant_id"]]
        assert len(recs) == 1 and recs[0].ref == c["ref"] and recs[0].alts == (c["alt"],)
        g = genes[c["gene_id"]]
        ref = fa.fetch(g["chrom"], g["tss"] - W - M, g["tss"] + W + M)
        k = c["pos"] - 1 - (g["tss"] - W - M)
        alt = ref[:k] + c["alt"] + ref[k + 1 :]
        eff = model.predict(alt, W + M, ct)["log2x"] - model.predict(ref, W + M, ct)["log2x"]
        assert eff == pytest.approx(c["effect_log2"], abs=1e-9)
        assert int(np.sign(eff)) == c["sign"]


def test_asv_labels(tiny):
    import pysam

    rows = list(csv.DictReader(open(tiny["asv_labels"]), delimiter="\t"))
    assert list(rows[0]) == ["variant_id", "chrom", "pos", "ref", "alt", "cell_type", "label", "direction"]
    labels = np.array([int(r["label"]) for r in rows])
    assert 0.4 < labels.mean() < 0.6 and labels.sum() >= 20
    dirs = {(int(r["label"]), int(r["direction"])) for r in rows}
    assert dirs <= {(1, 1), (1, -1), (0, 0)} and (1, 1) in dirs and (1, -1) in dirs
    cts = {c["name"] for c in tiny["truth_dict"]["cell_types"]}
    assert {r["cell_type"] for r in rows} <= cts
    with pysam.VariantFile(str(tiny["vcf"])) as vf:
        for r in rows[:: max(1, len(rows) // 40)]:
            recs = [x for x in vf.fetch(r["chrom"], int(r["pos"]) - 1, int(r["pos"])) if x.id == r["variant_id"]]
            assert len(recs) == 1 and recs[0].ref == r["ref"] and recs[0].alts == (r["alt"],)


def test_truth_json_contents(tiny):
    truth = tiny["truth_dict"]
    assert truth["seed"] == 1 and truth["scale"] == "tiny"
    for key in ("motifs", "cell_types", "tracks", "expression_model", "genes", "instances", "causal_variants", "cohort"):
        assert key in truth
    acts = {c["name"]: c["activities"] for c in truth["cell_types"]}
    comp = [c for c in truth["cell_types"] if c["role"] == "compendium"]
    targ = [c for c in truth["cell_types"] if c["role"] == "target"]
    # partly new grammar: some TF is active only in target cell types
    new = [tf for tf in acts[targ[0]["name"]] if all(acts[c["name"]][tf] == 0 for c in comp)
           and any(acts[t["name"]][tf] > 1 for t in targ)]
    assert new
    assert all(len(t["log_odds"]) == t["width"] for t in truth["motifs"]["tfs"])


# --------------------------------------------------------------------------- determinism and CLI
def test_cli_is_deterministic(tiny, tmp_path):
    out = tmp_path / "again"
    r = subprocess.run([sys.executable, str(REPO / "bin" / "simulate_world.py"), "--scale", "tiny", "--seed", "1",
                        "--outdir", str(out)], capture_output=True, text=True, env=_env())
    assert r.returncode == 0, r.stderr
    assert os.access(REPO / "bin" / "simulate_world.py", os.X_OK)
    assert _checksums(out) == _checksums(tiny["outdir"])


def test_cli_rejects_unknown_scale(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "bin" / "simulate_world.py"), "--scale", "huge", "--outdir",
                        str(tmp_path / "x")], capture_output=True, text=True, env=_env())
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("ERROR: --scale")


def test_other_seed_differs(tiny, tmp_path):
    out = tmp_path / "seed2"
    simulate_world(out, scale="tiny", seed=2)
    a, b = _checksums(out), _checksums(tiny["outdir"])
    assert set(a) == set(b)
    for name in ("genome.fa", "cohort.vcf.gz", "expression.tsv", "tracks/ATAC_neuron.bw"):
        assert a[name] != b[name]
