"""Builders of small PREPARE inputs (FASTA, bigWigs, BEDs, samplesheets) shared by test_data_*.py.

Everything is generated with numpy / pyBigWig in a temporary directory; no file is read from the
repository. (This module holds helpers and one sanity test of the builders themselves.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyBigWig

CHROMS = {"chr1": 60_000, "chr2": 50_000, "chr3": 40_000}
N_RUN = ("chr2", 20_000, 32_000)  # a 12 kb run of N


def write_fasta(path: Path, chroms: dict[str, int] = CHROMS, seed: int = 1, n_runs=(N_RUN,)) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    seqs = {}
    with open(path, "w") as fh:
        for name, n in chroms.items():
            s = np.frombuffer(b"ACGTacgt", dtype=np.uint8)[rng.integers(0, 8, n)].copy()
            for c, a, b in n_runs:
                if c == name:
                    s[a:b] = ord("N")
            text = s.tobytes().decode()
            seqs[name] = text
            fh.write(f">{name} test\n")
            for i in range(0, n, 60):
                fh.write(text[i : i + 60] + "\n")
    return seqs


def write_bigwig(path: Path, chroms: dict[str, int], seed: int, rename=lambda c: c, skip=(), scale: float = 10.0) -> None:
    """Piecewise-constant coverage with random run lengths and gaps (no data -> NaN)."""
    rng = np.random.default_rng(seed)
    bw = pyBigWig.open(str(path), "w")
    header = [(rename(c), n) for c, n in chroms.items() if c not in skip]
    bw.addHeader(header)
    for c, n in chroms.items():
        if c in skip:
            continue
        starts, ends, vals = [], [], []
        pos = int(rng.integers(0, 50))
        while pos < n:
            run = int(rng.integers(1, 400))
            end = min(pos + run, n)
            if rng.random() < 0.8:
                starts.append(pos)
                ends.append(end)
                vals.append(float(np.round(rng.gamma(1.0, scale), 2)))
            pos = end + (int(rng.integers(1, 200)) if rng.random() < 0.2 else 0)
        bw.addEntries([rename(c)] * len(starts), starts, ends=ends, values=vals)
    bw.close()


SAMPLESHEET_DEFAULTS = {"cell_type": "cell", "assay": "ATAC", "role": "target"}


def write_samplesheet(path: Path, rows: list[dict]) -> Path:
    """A samplesheet as the docs describe it; required columns a row leaves out get
    :data:`SAMPLESHEET_DEFAULTS` (the optional transform and strand stay empty = defaults)."""
    cols = ["track_id", "cell_type", "assay", "file", "role", "transform", "strand"]
    with open(path, "w") as fh:
        fh.write(",".join(cols) + "\n")
        for r in rows:
            fh.write(",".join(str(r.get(c) or SAMPLESHEET_DEFAULTS.get(c, "")) for c in cols) + "\n")
    return path


def build_profile_world(root: Path) -> dict:
    """FASTA (3 chromosomes, one N run), 4 bigWigs, blacklist, samplesheet with relative paths."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tracks").mkdir(exist_ok=True)
    fasta = root / "genome.fa"
    seqs = write_fasta(fasta)
    # ATAC: Ensembl-style names (1, 2, 3) to exercise the alias map
    write_bigwig(root / "tracks" / "atac.bw", CHROMS, seed=11, rename=lambda c: c.removeprefix("chr"))
    # DNase: lacks chr3 -> zeros with a warning
    write_bigwig(root / "tracks" / "dnase.bw", CHROMS, seed=12, skip=("chr3",))
    write_bigwig(root / "tracks" / "cage_plus.bw", CHROMS, seed=13, scale=3.0)
    write_bigwig(root / "tracks" / "cage_minus.bw", CHROMS, seed=14, scale=3.0)
    rows = [
        dict(track_id="atac", cell_type="K562", assay="ATAC", file="tracks/atac.bw", role="compendium", transform="sum", strand="."),
        dict(track_id="dnase", cell_type="K562", assay="DNase", file="tracks/dnase.bw", role="compendium", transform="mean;sqrt", strand="."),
        dict(track_id="cage_p", cell_type="HepG2", assay="CAGE", file="tracks/cage_plus.bw", role="target", transform="sum;soft_clip=50;scale=0.5", strand="+"),
        dict(track_id="cage_m", cell_type="HepG2", assay="CAGE", file=str((root / "tracks" / "cage_minus.bw").resolve()), role="target", transform="sum;clip=300;log1p", strand="-"),
    ]
    sheet = write_samplesheet(root / "samplesheet.csv", rows)
    blacklist = root / "blacklist.bed"
    blacklist.write_text("chr1\t10000\t10500\tbad1\nchr1\t30100\t30101\tbad2\n3\t5000\t7000\tbad3\n")
    return dict(root=root, fasta=fasta, seqs=seqs, samplesheet=sheet, blacklist=blacklist, rows=rows)


def test_builders(tmp_path):
    w = build_profile_world(tmp_path / "w")
    bw = pyBigWig.open(str(w["root"] / "tracks" / "atac.bw"))
    assert set(bw.chroms()) == {"1", "2", "3"}
    assert len(w["seqs"]["chr2"]) == CHROMS["chr2"] and set(w["seqs"]["chr2"][20_000:32_000]) == {"N"}
