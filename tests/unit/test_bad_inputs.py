"""Bad input across every command-line entry point: one table, one rule.

The product rule for bad input is: **one clear line naming the file and the record, exit status 2,
and nothing partial published; htslib's (or libBigWig's) own stderr never precedes it.**

Every case below breaks one thing in a small valid world (the simulator's tiny world: FASTA,
bigWigs, samplesheet, TSS BED, GTF, blacklist, cohort VCF, expression; plus a tiny PREPARE dataset
with a one-step checkpoint, and a narrow basenji checkpoint for PERSONAL) and runs the script as a
subprocess exactly as Nextflow runs it (``python bin/<script>.py ...`` in a fresh task folder,
stdin closed, ``OMP_NUM_THREADS=1``). For every case :func:`assert_one_error_line` checks

1. exit status 2;
2. standard error, ignoring ``WARNING: ...`` lines and our own logging lines (``<date> <time>
   INFO|WARNING|DEBUG seq2func...: ...``), is exactly one line, and it starts with ``ERROR:`` (no
   htslib ``[E::...]``/``[W::...]`` line, no libBigWig text, no traceback, no Python warning);
3. that line holds the substrings the case states: the bad file's name (or the parameter, such as
   ``--seq_length``) and, where the input has records, the record (``line 3``, ``row 2
   (track_id=x)``, ``chr1:39800``, ...);

and :func:`assert_nothing_published` checks that the folder holding the output path(s) the command
was given is still empty (no file, no directory, no temporary leftover).

The matrix covers the samplesheet, the FASTA, bigWigs, BED/blacklist/TSS BED/GTF, the VCF (``--vcf``
and ``--cohort-vcf`` in VALIDATE, ``--vcf`` in PERSONAL), expression (TSV, tensorQTL phenotype BED,
bgzipped), the parameters (``validate_inputs.py params``, ``simulate_world.py``), the split
(``prepare_split.py``), PREPARE (``prepare_chrom.py``, ``prepare_merge.py``), training
(``train.py pretrain|finetune``), EVALUATE (``evaluate.py``) and PERSONAL (``personal.py
run|merge|finetune``).

Companion cases ("must succeed quietly", :func:`assert_quiet_success`): input that is unusual but
valid -- an unindexed bgzipped VCF given to VALIDATE and to PERSONAL (read whole), an unindexed
plain-text VCF, a VCF whose index is older than the data -- must not fail and must print nothing
from htslib (our own ``WARNING`` lines are fine).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyBigWig
import pysam
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "bin"
PY = sys.executable
SEQ_LENGTH = 16384
GENE = "GENE0001"  # chr1, TSS 39765 (1-based), '+'
SAMPLES5 = [f"IND{i:04d}" for i in range(1, 6)]

# --------------------------------------------------------------------------------------------
# the rule, stated once
# --------------------------------------------------------------------------------------------
#: our own logging lines (seq2func.cli.setup_logging: "%(asctime)s %(levelname)s %(name)s: %(message)s")
#: at a level below ERROR; an ERROR-level log line would be a second error report, so it is not ignored
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING) (seq2func[\w.]*|prepare_split|__main__): ")


def reported_lines(stderr: str) -> list[str]:
    """Standard error without ``WARNING:`` lines, our own logging lines and blank lines."""
    return [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("WARNING:") and not LOG_LINE.match(ln)]


def assert_one_error_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit status 2 and exactly one reported line, ``ERROR: ...``, holding every needle."""
    assert proc.returncode == 2, f"exit {proc.returncode}, expected 2\n--- stderr ---\n{proc.stderr[-4000:]}"
    lines = reported_lines(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), (
        "expected exactly one 'ERROR:' line and nothing else (no htslib/libBigWig text, traceback or "
        f"Python warning)\n--- stderr ---\n{proc.stderr[-4000:]}"
    )
    line = lines[0]
    for n in needles:
        assert n in line, f"{n!r} not in the error line:\n{line}"
    return line


def assert_nothing_published(pub: Path) -> None:
    """The folder holding the command's output path(s) is as empty as before the run."""
    left = sorted(str(p.relative_to(pub)) for p in pub.rglob("*"))
    assert not left, f"partial output left behind: {left}"


def assert_quiet_success(proc: subprocess.CompletedProcess) -> None:
    """Exit 0 and nothing from C libraries or Python's error machinery on standard error."""
    assert proc.returncode == 0, f"exit {proc.returncode}\n--- stderr ---\n{proc.stderr[-4000:]}"
    for ln in proc.stderr.splitlines():
        assert not re.match(r"^\[[EWI]::", ln), f"htslib line on stderr: {ln}"
        assert not ln.startswith("ERROR"), ln
        assert "Traceback" not in ln and not re.search(r"\b\w*Warning: ", ln), ln


def run_script(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``python bin/<argv[0]> argv[1:]`` in ``cwd``, stdin closed, as a Nextflow task runs it."""
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run([PY, str(BIN / argv[0]), *map(str, argv[1:])], cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=env, timeout=300)


# --------------------------------------------------------------------------------------------
# one small valid world
# --------------------------------------------------------------------------------------------
@dataclass
class World:
    dir: Path
    fasta: Path
    sheet: Path  # two bigWig tracks (ATAC_neuron, CAGE_neuron)
    bw: Path  # tracks/ATAC_neuron.bw
    bw2: Path  # tracks/CAGE_neuron.bw
    gtf: Path
    tss: Path
    blacklist: Path
    vcf: Path  # cohort.vcf.gz (bgzip + tabix)
    expression: Path
    params: Path
    seqs: dict  # the FASTA's sequences, upper case
    dataset: Path  # PREPARE dataset (2,048 bp windows; chr1 train, chr2 valid, chr3 test)
    ckpt: Path  # one-step pretrain checkpoint of ``dataset``
    personal_ckpt: Path  # narrow basenji_tiny with the world's 20 tracks


def _write_fasta(path: Path, seqs: dict[str, str], width: int = 60) -> Path:
    with open(path, "w") as fh:
        for name, s in seqs.items():
            fh.write(f">{name}\n")
            for i in range(0, len(s), width):
                fh.write(s[i:i + width] + "\n")
    return path


def _write_bigwig(path: Path, chroms: list[tuple[str, int]]) -> Path:
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(chroms, maxZooms=0)
    for name, length in chroms:
        n = length // 1000
        bw.addEntries(name, 0, values=[1.0 + i % 5 for i in range(n)], span=1000, step=1000)
    bw.close()
    return path


def _tracks_of(world_dir: Path) -> list[dict]:
    import csv

    with open(world_dir / "samplesheet.csv") as fh:
        rows = list(csv.DictReader(fh))
    return [dict(track_id=r["track_id"], cell_type=r["cell_type"], assay=r["assay"], transform=r["transform"],
                 role=r["role"], strand=r["strand"], dataset_index=i, rc_index=i) for i, r in enumerate(rows)]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    import torch

    from seq2func.models import build_model, load_config
    from seq2func.simulate import simulate_world
    from seq2func.train import pretrain
    from seq2func.train.checkpoint import save_checkpoint

    try:
        from tests.unit.test_train import make_dataset, small_config
    except ImportError:  # pragma: no cover - rootdir-less layout
        from test_train import make_dataset, small_config

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("world")
    simulate_world(d, scale="tiny", seed=1)
    sheet = d / "samplesheet.small.csv"
    sheet.write_text("track_id,cell_type,assay,file,role,transform,strand\n"
                     "ATAC_neuron,neuron,ATAC,tracks/ATAC_neuron.bw,compendium,sum,.\n"
                     "CAGE_neuron,neuron,CAGE,tracks/CAGE_neuron.bw,target,sum;log1p,.\n")
    params = d / "params.json"
    params.write_text(json.dumps({"seq_length": SEQ_LENGTH, "bin_size": 128, "missing_samples": "error"}))
    with pysam.FastaFile(str(d / "genome.fa")) as fa:
        seqs = {c: fa.fetch(c).upper() for c in fa.references}

    m = tmp_path_factory.mktemp("model")
    ds = make_dataset(m)
    pretrain(ds, small_config(), m / "pre", epochs=1, max_steps=1, batch_size=4, warmup_steps=1, device="cpu",
             progress="none")
    torch.manual_seed(0)
    tracks = _tracks_of(d)
    model = build_model(load_config("basenji_tiny") | {"n_tracks": len(tracks), "stem_channels": 8,
                                                       "tower_channels": [8, 8], "final_channels": 8})
    pck = save_checkpoint(m / "personal.pt", model, kind="pretrain", tracks=tracks, train_params={},
                          dataset={"seq_length": model.config["seq_len"], "bin_size": 128, "crop_bp": 1024})
    return World(dir=d, fasta=d / "genome.fa", sheet=sheet, bw=d / "tracks" / "ATAC_neuron.bw",
                 bw2=d / "tracks" / "CAGE_neuron.bw", gtf=d / "genes.gtf", tss=d / "tss.bed",
                 blacklist=d / "blacklist.bed", vcf=d / "cohort.vcf.gz", expression=d / "expression.tsv",
                 params=params, seqs=seqs, dataset=ds, ckpt=m / "pre" / "model.pt",
                 personal_ckpt=pck)


# --------------------------------------------------------------------------------------------
# command lines
# --------------------------------------------------------------------------------------------
HEADER = "track_id,cell_type,assay,file,role,transform,strand\n"


def validate(w: World, pub: Path, *, sheet: Path | None = None, fasta: Path | None = None, params: Path | None = None,
             **files: Path) -> list[str]:
    """``validate_inputs.py inputs`` with the world's small samplesheet and FASTA, plus ``files``
    (option name with ``_`` for ``-``); outputs into ``pub``."""
    args = ["validate_inputs.py", "inputs", "--params", params or w.params, "--samplesheet", sheet or w.sheet,
            "--fasta", fasta or w.fasta]
    for k, v in files.items():
        args += [f"--{k.replace('_', '-')}", v]
    return args + ["--out", pub / "samplesheet.valid.csv", "--report", pub / "validation.json",
                   "--genes-out", pub / "genes.bed"]


def validate_params(d: Path, pub: Path, **params) -> list[str]:
    p = d / "params.input.json"
    p.write_text(json.dumps({"input": "samplesheet.csv", "fasta": "genome.fa", "seq_length": SEQ_LENGTH,
                             "bin_size": 128} | params))
    return ["validate_inputs.py", "params", "--params", p, "--out", pub / "params.json"]


def personal_run(w: World, pub: Path, *, vcf: Path | None = None, tss: Path | bool | None = None,
                 expression: Path | None = None, genes: Path | None = None, extra: tuple = ()) -> list[str]:
    """``personal.py run`` on the world, one small window per gene, no PrediXcan/ISM (``tss=False``:
    no ``--tss``); the chunk goes into ``pub``."""
    args = ["personal.py", "run", "--checkpoint", w.personal_ckpt, "--vcf", vcf or w.vcf, "--fasta", w.fasta,
            "--expression", expression or w.expression, "--out", pub / "chunk", "--device", "cpu",
            "--window", "4001", "--no-predixcan", "--ism", "none", "--null-draws", "10", "--cell-type", "neuron"]
    if tss is not False:
        args += ["--tss", tss or w.tss]
    if genes is not None:
        args += ["--genes-chunk", genes]
    return args + list(extra)


def gene_list(d: Path, *genes: str) -> Path:
    p = d / "genes.txt"
    p.write_text("".join(f"{g}\n" for g in genes))
    return p


def sheet_with(d: Path, *rows: str, name: str = "samplesheet.csv", header: str = HEADER) -> Path:
    p = d / name
    p.write_text(header + "".join(r + "\n" for r in rows))
    return p


def good_row(w: World, tid: str = "ATAC_neuron", path: Path | None = None) -> str:
    return f"{tid},neuron,ATAC,{path or w.bw},compendium,sum,."


def expr_tsv(d: Path, text: str, name: str = "expression.tsv") -> Path:
    p = d / name
    p.write_text(text)
    return p


def _expr_rows(genes=("GENE0001", "GENE0002", "GENE0003"), samples=SAMPLES5) -> list[str]:
    return [g + "".join(f"\t{1.5 + i * 0.25 + k}" for i in range(len(samples))) for k, g in enumerate(genes)]


def bgzip(src: Path, dst: Path | None = None) -> Path:
    dst = dst or Path(str(src) + ".gz")
    pysam.tabix_compress(str(src), str(dst), force=True)
    return dst


def plain_vcf_text(w: World) -> str:
    with gzip.open(w.vcf, "rt") as fh:
        return fh.read()


def write_vcf_text(d: Path, text: str, name: str, index: bool = True) -> Path:
    p = d / name
    p.write_text(text)
    if index:
        return Path(pysam.tabix_index(str(p), preset="vcf", force=True))
    return p


def zero_middle(src: Path, dst: Path, lo: float = 0.3, hi: float = 0.7) -> Path:
    """A copy of ``src`` with bytes [lo, hi) of its length zeroed: header, index and EOF block intact."""
    b = bytearray(src.read_bytes())
    b[int(len(b) * lo):int(len(b) * hi)] = bytes(int(len(b) * hi) - int(len(b) * lo))
    dst.write_bytes(bytes(b))
    return dst


def corrupt_bgzip_fasta(w: World, d: Path) -> Path:
    """The world's genome bgzipped and indexed (.fai, .gzi), then its middle blocks (chr2) zeroed."""
    good = d / "good.fa.gz"
    pysam.tabix_compress(str(w.fasta), str(good))
    pysam.faidx(str(good))
    bad = zero_middle(good, d / "genome.fa.gz")
    for ext in (".fai", ".gzi"):
        shutil.copy(str(good) + ext, str(bad) + ext)
    return bad


def vcf_head_and_records(w: World) -> tuple[list[str], list[str]]:
    lines = plain_vcf_text(w).splitlines()
    return [x for x in lines if x.startswith("#")], [x for x in lines if not x.startswith("#")]


# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------
@dataclass
class Case:
    id: str
    build: Callable[[World, Path, Path], list | tuple]  # (world, task dir, output folder) -> argv [, needles]
    expect: tuple[str, ...]  # substrings of the ERROR line
    ok: bool = False  # a "must succeed quietly" companion


CASES: list[Case] = []


def case(id: str, *expect: str, ok: bool = False):
    def deco(fn):
        CASES.append(Case(id, fn, expect, ok))
        return fn
    return deco


# ---- samplesheet -----------------------------------------------------------------------------
@case("samplesheet-missing-column", "samplesheet.csv", "header", "missing required column(s) 'role'")
def _(w, d, pub):
    s = sheet_with(d, f"a,neuron,ATAC,{w.bw}", header="track_id,cell_type,assay,file\n")
    return validate(w, pub, sheet=s)


@case("samplesheet-track-id-shell-characters", "samplesheet.csv", "row 2 (track_id=a;rm -rf)", "track_id must be")
def _(w, d, pub):
    return validate(w, pub, sheet=sheet_with(d, good_row(w), good_row(w, "a;rm -rf", w.bw2)))


@case("samplesheet-duplicate-track-id", "samplesheet.csv", "row 2 (track_id=ATAC_neuron)", "duplicate track_id", "first in row 1")
def _(w, d, pub):
    return validate(w, pub, sheet=sheet_with(d, good_row(w), good_row(w, path=w.bw2)))


@case("samplesheet-unknown-role", "samplesheet.csv", "row 1 (track_id=a)", "role must be", "'training'")
def _(w, d, pub):
    return validate(w, pub, sheet=sheet_with(d, f"a,neuron,ATAC,{w.bw},training,sum,."))


@case("samplesheet-bad-transform", "samplesheet.csv", "row 1 (track_id=a)", "'cube'")
def _(w, d, pub):
    return validate(w, pub, sheet=sheet_with(d, f"a,neuron,ATAC,{w.bw},target,sum;cube,."))


@case("samplesheet-missing-file", "nope/missing.bw", "file not found", "row 2 (track_id=b)")
def _(w, d, pub):
    return validate(w, pub, sheet=sheet_with(d, good_row(w), "b,neuron,CAGE,nope/missing.bw,target,sum,."))


@case("samplesheet-bigbed", "peaks.bb", "row 1 (track_id=a)", "bigBed is not supported")
def _(w, d, pub):
    (d / "peaks.bb").write_bytes((0x8789F2EB).to_bytes(4, "little") + bytes(range(256)) * 4)
    return validate(w, pub, sheet=sheet_with(d, "a,neuron,ATAC,peaks.bb,target,sum,."))


@case("samplesheet-mixed-bigwig-and-bed", "samplesheet.csv", "row 2 (track_id=p)", "mixed with bigWig")
def _(w, d, pub):
    (d / "p.narrowPeak").write_text("chr1\t100\t300\tp1\t500\t.\t5\t3\t2\t100\n")
    return validate(w, pub, sheet=sheet_with(d, good_row(w), "p,neuron,ATAC,p.narrowPeak,target,sum,."))


@case("samplesheet-tsv-wrong-column-count", "samplesheet.tsv", "row 2 (line 3)", "expected 7 tab-separated fields, got 5")
def _(w, d, pub):
    s = d / "samplesheet.tsv"
    s.write_text(HEADER.replace(",", "\t") + good_row(w).replace(",", "\t") + "\n"
                 + f"b\tneuron\tCAGE\t{w.bw2}\ttarget\n")
    return validate(w, pub, sheet=s)


# ---- FASTA -----------------------------------------------------------------------------------
@case("fasta-plain-gzip", "genome.fa.gz", "compressed with gzip, not bgzip")
def _(w, d, pub):
    with open(w.fasta, "rb") as src, gzip.open(d / "genome.fa.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    return validate(w, pub, fasta=d / "genome.fa.gz")


@case("fasta-text-before-header", "genome.fa", "line 1", "text before the first '>'")
def _(w, d, pub):
    (d / "genome.fa").write_text("made by hand\n" + w.fasta.read_text())
    return validate(w, pub, fasta=d / "genome.fa")


@case("fasta-invalid-character", "genome.fa", "line 3 (record 'chr1')", "invalid sequence character '*'")
def _(w, d, pub):
    seqs = dict(w.seqs)
    seqs["chr1"] = seqs["chr1"][:70] + "*" + seqs["chr1"][71:]
    return validate(w, pub, fasta=_write_fasta(d / "genome.fa", seqs))


@case("fasta-duplicate-record", "genome.fa", "duplicate sequence name (first at line 1)")
def _(w, d, pub):
    text = w.fasta.read_text()
    (d / "genome.fa").write_text(text + ">chr1\nACGT\n")
    return validate(w, pub, fasta=d / "genome.fa"), (f"line {text.count(chr(10)) + 1} (record 'chr1')",)


@case("fasta-empty-record", "genome.fa", "empty sequence")
def _(w, d, pub):
    chr1 = _write_fasta(d / "chr1.fa", {"chr1": w.seqs["chr1"]}).read_text()
    chr3 = _write_fasta(d / "chr3.fa", {"chr3": w.seqs["chr3"]}).read_text()
    (d / "genome.fa").write_text(chr1 + ">chr2\n" + chr3)  # chr2: a header and no sequence
    return validate(w, pub, fasta=d / "genome.fa"), (f"line {chr1.count(chr(10)) + 1} (record 'chr2')",)


# ---- bigWig ----------------------------------------------------------------------------------
@case("bigwig-truncated", "trunc.bw", "row 1 (track_id=a)", "truncated or corrupt")
def _(w, d, pub):
    (d / "trunc.bw").write_bytes(w.bw.read_bytes()[:300])
    return validate(w, pub, sheet=sheet_with(d, "a,neuron,ATAC,trunc.bw,target,sum,."))


@case("bigwig-not-a-bigwig", "signal.bw", "row 2 (track_id=b)", "not a bigWig")
def _(w, d, pub):
    (d / "signal.bw").write_text("chr1\t0\t100\t1.5\nchr1\t100\t200\t2.0\n")  # a bedGraph named .bw
    return validate(w, pub, sheet=sheet_with(d, good_row(w), "b,neuron,CAGE,signal.bw,target,sum,."))


@case("bigwig-other-assembly", "hg38.bw", "row 1 (track_id=a)", "do not match", "'chr1' length 700000 != 600000")
def _(w, d, pub):
    _write_bigwig(d / "hg38.bw", [("chr1", 700_000), ("chr2", 500_000), ("chr3", 400_000)])
    return validate(w, pub, sheet=sheet_with(d, "a,neuron,ATAC,hg38.bw,target,sum,."))


# ---- BED, blacklist, TSS BED, GTF ------------------------------------------------------------
@case("blacklist-end-before-start", "blacklist.bed", "line 2", "end 1000 < start 5000")
def _(w, d, pub):
    (d / "blacklist.bed").write_text("chr1\t100\t200\nchr1\t5000\t1000\n")
    return validate(w, pub, blacklist=d / "blacklist.bed")


@case("blacklist-space-separated", "blacklist.bed", "line 1", "tab-separated")
def _(w, d, pub):
    (d / "blacklist.bed").write_text("chr1 100 200\n")
    return validate(w, pub, blacklist=d / "blacklist.bed")


@case("tss-bed-non-integer", "tss.bed", "line 2", "'1e5'")
def _(w, d, pub):
    (d / "tss.bed").write_text("chr1\t39764\t39765\tGENE0001\t0\t+\nchr1\t1e5\t100001\tGENE0002\t0\t-\n")
    return validate(w, pub, tss_bed=d / "tss.bed")


@case("tss-bed-wrong-strand", "tss.bed", "line 1", "strand", "'x'")
def _(w, d, pub):
    (d / "tss.bed").write_text("chr1\t39764\t39765\tGENE0001\t0\tx\n")
    return validate(w, pub, tss_bed=d / "tss.bed")


@case("gtf-without-gene-id", "genes.gtf", "line 2", "without a gene_id")
def _(w, d, pub):
    (d / "genes.gtf").write_text('chr1\tt\tgene\t100\t900\t.\t+\t.\tgene_id "G1";\n'
                                 'chr1\tt\tgene\t1000\t2000\t.\t-\t.\tgene_name "G2";\n')
    return validate(w, pub, gtf=d / "genes.gtf")


@case("gtf-end-before-start", "genes.gtf", "line 1", "end 100 < start 900")
def _(w, d, pub):
    (d / "genes.gtf").write_text('chr1\tt\tgene\t900\t100\t.\t+\t.\tgene_id "G1";\n')
    return validate(w, pub, gtf=d / "genes.gtf")


# ---- VCF -------------------------------------------------------------------------------------
@case("vcf-gzip-not-bgzip", "variants.vcf.gz", "compressed with gzip, not bgzip")
def _(w, d, pub):
    with gzip.open(d / "variants.vcf.gz", "wt") as fh:
        fh.write(plain_vcf_text(w))
    return validate(w, pub, vcf=d / "variants.vcf.gz")


@case("cohort-vcf-gzip-not-bgzip", "cohort.vcf.gz", "compressed with gzip, not bgzip")
def _(w, d, pub):
    with gzip.open(d / "cohort.vcf.gz", "wt") as fh:
        fh.write(plain_vcf_text(w))
    return validate(w, pub, cohort_vcf=d / "cohort.vcf.gz")


@case("cohort-vcf-not-a-vcf", "cohort.vcf", "not a VCF")
def _(w, d, pub):
    (d / "cohort.vcf").write_text("this is a spreadsheet\nIND0001,0|1\n")
    return validate(w, pub, cohort_vcf=d / "cohort.vcf")


@case("vcf-ref-mismatch", "variants.vcf.gz", "chr1:", "REF", "!= FASTA")
def _(w, d, pub):
    head, recs = vcf_head_and_records(w)
    f = recs[0].split("\t")
    fa = w.seqs["chr1"][int(f[1]) - 1]
    wrong = "A" if fa != "A" else "C"
    f[3] = wrong
    f[4] = "G" if wrong != "G" and fa != "G" else "T"
    recs[0] = "\t".join(f)
    return validate(w, pub, vcf=write_vcf_text(d, "\n".join(head + recs[:50]) + "\n", "variants.vcf"))


@case("vcf-not-a-vcf", "variants.vcf.gz", "not a VCF")
def _(w, d, pub):
    (d / "variants.vcf.gz").write_bytes(np.random.default_rng(3).bytes(3000))
    return validate(w, pub, vcf=d / "variants.vcf.gz")


@case("vcf-malformed-position", "variants.vcf", ": line ", "POS 'abc' is not a number")
def _(w, d, pub):
    # --vcf is read by SCORE_VARIANTS' own reader in VALIDATE: the error names the file's line
    head, recs = vcf_head_and_records(w)
    f = recs[3].split("\t")
    f[1] = "abc"
    recs[3] = "\t".join(f)
    return validate(w, pub, vcf=write_vcf_text(d, "\n".join(head + recs[:20]) + "\n", "variants.vcf", index=False))


@case("cohort-vcf-no-samples", "sites.vcf.gz", "header", "no sample columns")
def _(w, d, pub):
    head, recs = vcf_head_and_records(w)
    head = [h for h in head if not h.startswith("##FORMAT")]
    head[-1] = "\t".join(head[-1].split("\t")[:8])
    recs = ["\t".join(r.split("\t")[:8]) for r in recs[:50]]
    return validate(w, pub, cohort_vcf=write_vcf_text(d, "\n".join(head + recs) + "\n", "sites.vcf"))


@case("personal-run-vcf-gzip-not-bgzip", "cohort.vcf.gz", "compressed with gzip, not bgzip")
def _(w, d, pub):
    with gzip.open(d / "cohort.vcf.gz", "wt") as fh:
        fh.write(plain_vcf_text(w))
    return personal_run(w, pub, vcf=d / "cohort.vcf.gz", genes=gene_list(d, GENE))


@case("personal-run-malformed-gt", "cohort.vcf.gz", "bad GT allele '0-1'")
def _(w, d, pub):
    head, recs = vcf_head_and_records(w)
    lo, hi = 53804 - 2000, 53804 + 2000  # the window of GENE0002, the chunk's second gene (GENE0001 is done)
    k = next(i for i, r in enumerate(recs) if r.startswith("chr1\t") and lo <= int(r.split("\t")[1]) <= hi)
    f = recs[k].split("\t")
    f[12] = "0-1"  # IND0003
    recs[k] = "\t".join(f)
    vcf = write_vcf_text(d, "\n".join(head + recs) + "\n", "cohort.vcf")
    return personal_run(w, pub, vcf=vcf, genes=gene_list(d, GENE, "GENE0002")), (f"cohort.vcf.gz: chr1:{f[1]}: ",)


@case("personal-run-vcf-corrupt-bgzf-block", "cohort.vcf.gz", "chr2:120611-124611", "corrupt bgzip data")
def _(w, d, pub):
    vcf = zero_middle(w.vcf, d / "cohort.vcf.gz")  # GENE0030's window (chr2:122611) lies in the zeroed blocks
    shutil.copy(str(w.vcf) + ".tbi", str(vcf) + ".tbi")
    return personal_run(w, pub, vcf=vcf, genes=gene_list(d, "GENE0030"))


@case("validate-vcf-index-older-than-data", ok=True)
def _(w, d, pub):
    shutil.copy(w.vcf, d / "cohort.vcf.gz")
    shutil.copy(str(w.vcf) + ".tbi", d / "cohort.vcf.gz.tbi")
    os.utime(d / "cohort.vcf.gz.tbi", (1_500_000_000, 1_500_000_000))  # htslib warns: index older than data
    return validate(w, pub, cohort_vcf=d / "cohort.vcf.gz", vcf=d / "cohort.vcf.gz", expression=w.expression)


@case("validate-unindexed-bgzip-cohort-vcf", ok=True)
def _(w, d, pub):
    shutil.copy(w.vcf, d / "cohort.vcf.gz")  # no .tbi next to it
    return validate(w, pub, cohort_vcf=d / "cohort.vcf.gz", expression=w.expression)


@case("personal-run-plain-text-vcf", ok=True)
def _(w, d, pub):
    (d / "cohort.vcf").write_text(plain_vcf_text(w))
    return personal_run(w, pub, vcf=d / "cohort.vcf", genes=gene_list(d, GENE))


@case("personal-run-unindexed-bgzip-vcf", ok=True)
def _(w, d, pub):
    shutil.copy(w.vcf, d / "cohort.vcf.gz")
    return personal_run(w, pub, vcf=d / "cohort.vcf.gz", genes=gene_list(d, GENE))


# ---- expression ------------------------------------------------------------------------------
def _validate_expr(w, pub, expr: Path) -> list[str]:
    return validate(w, pub, cohort_vcf=w.vcf, expression=expr)


EXPR_HEADER = "gene_id\t" + "\t".join(SAMPLES5) + "\n"


@case("expression-non-numeric", "expression.tsv", "line 3", "'high'", "sample 'IND0003'")
def _(w, d, pub):
    rows = _expr_rows()
    f = rows[1].split("\t")
    f[3] = "high"
    rows[1] = "\t".join(f)
    return _validate_expr(w, pub, expr_tsv(d, EXPR_HEADER + "\n".join(rows) + "\n"))


@case("expression-duplicate-gene", "expression.tsv", "line 4", "duplicate gene ID 'GENE0001'", "first at line 2")
def _(w, d, pub):
    rows = _expr_rows(("GENE0001", "GENE0002", "GENE0001"))
    return _validate_expr(w, pub, expr_tsv(d, EXPR_HEADER + "\n".join(rows) + "\n"))


@case("expression-duplicate-individual", "expression.tsv", "line 1", "duplicated individual ID 'IND0002'")
def _(w, d, pub):
    s = SAMPLES5[:4] + ["IND0002"]
    return _validate_expr(w, pub, expr_tsv(d, "gene_id\t" + "\t".join(s) + "\n" + "\n".join(_expr_rows(samples=s)) + "\n"))


@case("expression-wrong-column-count", "expression.tsv", "line 3", "expected 6 tab-separated columns", "got 5")
def _(w, d, pub):
    rows = _expr_rows()
    rows[1] = rows[1].rsplit("\t", 1)[0]
    return _validate_expr(w, pub, expr_tsv(d, EXPR_HEADER + "\n".join(rows) + "\n"))


@case("expression-header-without-individuals", "expression.tsv", "line 1", "header has no individual columns")
def _(w, d, pub):
    return _validate_expr(w, pub, expr_tsv(d, "gene_id\nGENE0001\nGENE0002\n"))


@case("expression-first-column-not-gene-id", "expression.tsv", "line 1", "expected 'gene_id'", "'individual'")
def _(w, d, pub):
    text = "individual\tGENE0001\tGENE0002\n" + "".join(f"{s}\t1.0\t2.0\n" for s in SAMPLES5)
    return _validate_expr(w, pub, expr_tsv(d, text))


@case("expression-bed-bgzip-end-before-start", "phenotypes.bed.gz", "line 3", "end 100 < start 53803")
def _(w, d, pub):
    head = "#chr\tstart\tend\tgene_id\t" + "\t".join(SAMPLES5) + "\n"
    vals = "\t".join("1.0" for _ in SAMPLES5)
    p = expr_tsv(d, head + f"chr1\t39764\t39765\tGENE0001\t{vals}\nchr1\t53803\t100\tGENE0002\t{vals}\n", "phenotypes.bed")
    return _validate_expr(w, pub, bgzip(p))


@case("expression-bed-non-numeric", "phenotypes.bed", "line 2", "'1,5'", "sample 'IND0002'")
def _(w, d, pub):
    head = "#chr\tstart\tend\tgene_id\t" + "\t".join(SAMPLES5) + "\n"
    p = expr_tsv(d, head + "chr1\t39764\t39765\tGENE0001\t1.0\t1,5\t2\t3\t4\n", "phenotypes.bed")
    return _validate_expr(w, pub, p)


@case("expression-individuals-absent-from-vcf", "expression.tsv", "line 1", "NOBODY", "--missing_samples")
def _(w, d, pub):
    s = SAMPLES5[:4] + ["NOBODY"]
    return _validate_expr(w, pub, expr_tsv(d, "gene_id\t" + "\t".join(s) + "\n" + "\n".join(_expr_rows(samples=s)) + "\n"))


@case("expression-no-individual-shared-with-vcf", "expression.tsv", "line 1", "sample IDs do not match", "cohort.vcf.gz")
def _(w, d, pub):
    s = ["X1", "X2", "X3"]
    return _validate_expr(w, pub, expr_tsv(d, "gene_id\t" + "\t".join(s) + "\n" + "\n".join(_expr_rows(samples=s)) + "\n"))


@case("personal-run-missing-samples-error", "expression.tsv", "samples", "NOBODY", "not in the VCF")
def _(w, d, pub):
    lines = w.expression.read_text().splitlines()
    lines[0] = lines[0].replace("IND0003", "NOBODY")
    return personal_run(w, pub, expression=expr_tsv(d, "\n".join(lines) + "\n"), genes=gene_list(d, GENE),
                        extra=("--missing-samples", "error"))


@case("personal-run-no-individual-shared", "expression.tsv", "samples")
def _(w, d, pub):
    lines = w.expression.read_text().splitlines()
    lines[0] = re.sub(r"IND(\d+)", r"X\1", lines[0])
    return personal_run(w, pub, expression=expr_tsv(d, "\n".join(lines) + "\n"), genes=gene_list(d, GENE),
                        extra=("--missing-samples", "drop"))


@case("personal-run-expression-non-numeric", "expression.tsv", "line 2", "'n/a'")
def _(w, d, pub):
    lines = w.expression.read_text().splitlines()
    f = lines[1].split("\t")
    f[5] = "n/a"
    lines[1] = "\t".join(f)
    return personal_run(w, pub, expression=expr_tsv(d, "\n".join(lines) + "\n"), genes=gene_list(d, GENE))


@case("personal-finetune-expression-duplicate-gene", "expression.tsv", "line 3", "duplicate gene ID")
def _(w, d, pub):
    lines = w.expression.read_text().splitlines()
    lines.insert(2, lines[1])
    expr = expr_tsv(d, "\n".join(lines) + "\n")
    return ["personal.py", "finetune", "--checkpoint", w.personal_ckpt, "--vcf", w.vcf, "--fasta", w.fasta,
            "--tss", w.tss, "--expression", expr, "--out", pub / "ft", "--device", "cpu", "--cell-type", "neuron",
            "--window", "4001", "--genes-chunk", gene_list(d, GENE, "GENE0002"), "--epochs", "1"]


@case("personal-finetune-unknown-mode", "--mode", "bogus", "must be one of reference, textbook, empirical")
def _(w, d, pub):
    return ["personal.py", "finetune", "--checkpoint", w.personal_ckpt, "--vcf", w.vcf, "--fasta", w.fasta,
            "--tss", w.tss, "--expression", w.expression, "--out", pub / "ft", "--device", "cpu", "--cell-type", "neuron",
            "--window", "4001", "--genes-chunk", gene_list(d, GENE, "GENE0002"), "--epochs", "1", "--mode", "bogus"]


# ---- parameters ------------------------------------------------------------------------------
@case("params-seq-length-not-divisible", "--seq_length", "16500 is not divisible by --bin_size 128")
def _(w, d, pub):
    return validate_params(d, pub, seq_length=16500)


@case("params-split-by-unknown", "--split_by", "'bogus'")
def _(w, d, pub):
    return validate_params(d, pub, split_by="bogus")


@case("params-missing-samples-unknown", "--missing_samples", "'maybe'")
def _(w, d, pub):
    return validate_params(d, pub, missing_samples="maybe")


@case("params-chrom-fractions-not-summing-to-one", "--chrom_fractions", "summing to 1", "0.8,0.1,0.2")
def _(w, d, pub):
    return validate_params(d, pub, chrom_fractions="0.8,0.1,0.2")


@case("simulate-world-unknown-scale", "--scale", "'huge'")
def _(w, d, pub):
    return ["simulate_world.py", "--scale", "huge", "--outdir", pub / "world"]


# ---- split -----------------------------------------------------------------------------------
def _one_chrom_fasta(w: World, d: Path) -> Path:
    fa = _write_fasta(d / "onechrom.fa", {"chr1": w.seqs["chr1"]})
    pysam.faidx(str(fa))
    return fa


@case("split-one-chromosome-by-chrom", "onechrom.fa", "valid: empty split", "chrom mode: 1 chromosome(s)")
def _(w, d, pub):
    return ["prepare_split.py", "--fasta", _one_chrom_fasta(w, d), "--split-by", "chrom", "--fractions", "0.8,0.1,0.1",
            "--out", pub / "split.json", "--chroms-out", pub / "chroms.txt"]


@case("split-contig-block-too-large", "onechrom.fa", "valid: empty split", "contig mode: 1 blocks of 100000000 bp")
def _(w, d, pub):
    return ["prepare_split.py", "--fasta", _one_chrom_fasta(w, d), "--split-by", "contig", "--fractions", "0.8,0.1,0.1",
            "--block-size", "100000000", "--seq-length", str(SEQ_LENGTH), "--out", pub / "split.json",
            "--chroms-out", pub / "chroms.txt"]


@case("split-fasta-plain-gzip", "genome.fa.gz", "compressed with gzip, not bgzip")
def _(w, d, pub):
    with open(w.fasta, "rb") as src, gzip.open(d / "genome.fa.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    return ["prepare_split.py", "--fasta", d / "genome.fa.gz", "--test-chroms", "chr3", "--valid-chroms", "chr2",
            "--out", pub / "split.json"]


# ---- PREPARE ---------------------------------------------------------------------------------
def _prepare_chrom(w: World, pub: Path, *extra) -> list[str]:
    return ["prepare_chrom.py", "--fasta", w.fasta, "--samplesheet", w.sheet, "--out", pub / "chr1.part",
            "--seq-length", str(SEQ_LENGTH), "--test-chroms", "chr3", "--valid-chroms", "chr2", *extra]


@case("prepare-chrom-absent", "genome.fa", "chrZ", "absent from the FASTA")
def _(w, d, pub):
    return _prepare_chrom(w, pub, "--chrom", "chrZ")


@case("prepare-chrom-bad-bin-size", "--bin_size", "100", "not a multiple")
def _(w, d, pub):
    return _prepare_chrom(w, pub, "--chrom", "chr1", "--bin-size", "100")


@case("prepare-chrom-blacklist-end-before-start", "blacklist.bed", "line 1", "end 100 < start 5000")
def _(w, d, pub):
    (d / "blacklist.bed").write_text("chr1\t5000\t100\n")
    return _prepare_chrom(w, pub, "--chrom", "chr1", "--blacklist", d / "blacklist.bed")


@case("prepare-chrom-fasta-plain-gzip", "genome.fa.gz", "compressed with gzip, not bgzip")
def _(w, d, pub):
    with open(w.fasta, "rb") as src, gzip.open(d / "genome.fa.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    return ["prepare_chrom.py", "--fasta", d / "genome.fa.gz", "--samplesheet", w.sheet, "--out", pub / "chr1.part",
            "--seq-length", str(SEQ_LENGTH), "--chrom", "chr1", "--test-chroms", "chr3", "--valid-chroms", "chr2"]


@case("prepare-chrom-bigwig-corrupt-data-block", "zeroed.bw", "row 1 (track_id=ATAC_neuron)", "chr1:", "cannot read values")
def _(w, d, pub):
    b = bytearray(w.bw.read_bytes())
    b[len(b) // 10: len(b) // 2] = bytes(len(b) // 2 - len(b) // 10)  # header and index intact, data blocks zeroed
    (d / "zeroed.bw").write_bytes(bytes(b))
    sheet = sheet_with(d, "ATAC_neuron,neuron,ATAC,zeroed.bw,compendium,sum,.")
    return ["prepare_chrom.py", "--fasta", w.fasta, "--samplesheet", sheet, "--out", pub / "chr1.part",
            "--seq-length", str(SEQ_LENGTH), "--chrom", "chr1", "--test-chroms", "chr3", "--valid-chroms", "chr2"]


@case("prepare-chrom-fasta-corrupt-bgzf-block", "genome.fa.gz", "chr2:", "corrupt or truncated bgzip data")
def _(w, d, pub):
    return ["prepare_chrom.py", "--fasta", corrupt_bgzip_fasta(w, d), "--samplesheet", w.sheet, "--out", pub / "chr2.part",
            "--seq-length", str(SEQ_LENGTH), "--chrom", "chr2", "--test-chroms", "chr3", "--valid-chroms", "chr2"]


@case("prepare-chrom-bigwig-other-assembly", "hg38.bw", "row 1 (track_id=a)", "contig chr1", "length 700000")
def _(w, d, pub):
    _write_bigwig(d / "hg38.bw", [("chr1", 700_000), ("chr2", 500_000), ("chr3", 400_000)])
    sheet = sheet_with(d, "a,neuron,ATAC,hg38.bw,target,sum,.")
    return ["prepare_chrom.py", "--fasta", w.fasta, "--samplesheet", sheet, "--out", pub / "chr1.part",
            "--seq-length", str(SEQ_LENGTH), "--chrom", "chr1", "--test-chroms", "chr3", "--valid-chroms", "chr2"]


@case("prepare-merge-not-a-part", "part.json", "not a prepare_chrom part")
def _(w, d, pub):
    (d / "chr1.part").mkdir()
    (d / "chr1.part" / "notes.txt").write_text("hello\n")
    return ["prepare_merge.py", d / "chr1.part", "--out", pub / "dataset"]


# ---- training --------------------------------------------------------------------------------
def _train(cmd: str, dataset: Path, pub: Path, *extra) -> list[str]:
    return ["train.py", cmd, "--dataset", dataset, "--outdir", pub / "run", "--device", "cpu", "--epochs", "1",
            "--max-steps", "1", "--batch-size", "4", "--progress", "none", *extra]


@case("train-pretrain-dataset-not-a-dataset", "mydata", "manifest.json", "not a seq2func dataset")
def _(w, d, pub):
    (d / "mydata").mkdir()
    (d / "mydata" / "regions.tsv").write_text("chrom\tstart\tend\n")
    return _train("pretrain", d / "mydata", pub, "--model", "basenji_tiny")


@case("train-finetune-checkpoint-random-bytes", "model.pt", "not a PyTorch checkpoint file")
def _(w, d, pub):
    (d / "model.pt").write_bytes(np.random.default_rng(1).bytes(4096))
    return _train("finetune", w.dataset, pub, "--checkpoint", d / "model.pt", "--cell-type", "HepG2", "--strategy", "full")


@case("train-finetune-checkpoint-truncated", "model.pt", "truncated or corrupt checkpoint")
def _(w, d, pub):
    (d / "model.pt").write_bytes(w.ckpt.read_bytes()[:20_000])
    return _train("finetune", w.dataset, pub, "--checkpoint", d / "model.pt", "--cell-type", "HepG2")


@case("train-finetune-checkpoint-plain-state-dict", "weights.pt", "format", "expected seq2func-checkpoint/1")
def _(w, d, pub):
    import torch

    from seq2func.train import load_checkpoint

    torch.save(load_checkpoint(w.ckpt)["state_dict"], d / "weights.pt")  # what torch.save(model.state_dict()) writes
    return _train("finetune", w.dataset, pub, "--checkpoint", d / "weights.pt", "--cell-type", "HepG2")


@case("train-finetune-checkpoint-other-dataset", "personal.pt", "seq_length", "the dataset has 2048")
def _(w, d, pub):
    return _train("finetune", w.dataset, pub, "--checkpoint", w.personal_ckpt, "--cell-type", "HepG2")


# ---- EVALUATE --------------------------------------------------------------------------------
@case("evaluate-split-does-not-exist", "--split", "bogus")
def _(w, d, pub):
    return ["evaluate.py", "--checkpoint", w.ckpt, "--dataset", w.dataset, "--outdir", pub / "eval", "--split", "bogus",
            "--device", "cpu", "--no-plots"]


@case("evaluate-tss-bed-non-integer", "tss.bed", "line 1")
def _(w, d, pub):
    (d / "tss.bed").write_text("chr3\tten\t11\tg1\t0\t+\n")
    return ["evaluate.py", "--checkpoint", w.ckpt, "--dataset", w.dataset, "--outdir", pub / "eval", "--device", "cpu",
            "--tss-bed", d / "tss.bed", "--no-plots"]


@case("evaluate-expression-duplicate-individual", "expr.tsv", "line 1", "duplicated individual ID 'ind1'")
def _(w, d, pub):
    (d / "tss.bed").write_text("chr3\t1000\t1001\tg1\t0\t+\n")
    (d / "expr.tsv").write_text("gene_id\tind0\tind1\tind1\ng1\t1\t2\t3\n")
    return ["evaluate.py", "--checkpoint", w.ckpt, "--dataset", w.dataset, "--outdir", pub / "eval", "--device", "cpu",
            "--tss-bed", d / "tss.bed", "--expression", d / "expr.tsv", "--no-plots"]


@case("evaluate-checkpoint-other-dataset", "personal.pt", "seq_length", "16384")
def _(w, d, pub):
    return ["evaluate.py", "--checkpoint", w.personal_ckpt, "--dataset", w.dataset, "--outdir", pub / "eval",
            "--device", "cpu", "--no-plots"]


# ---- PERSONAL --------------------------------------------------------------------------------
@case("personal-run-tss-genes-not-in-expression", "tss.bed", "none of its 2 gene(s) (OTHER1, OTHER2) is in", "expression.tsv")
def _(w, d, pub):
    (d / "tss.bed").write_text("chr1\t39764\t39765\tOTHER1\t0\t+\nchr1\t53803\t53804\tOTHER2\t0\t-\n")
    return personal_run(w, pub, tss=d / "tss.bed", extra=("--chrom", "chr1"))


@case("personal-run-track-not-in-model", "--track", "NOPE", "not a track of the model")
def _(w, d, pub):
    return personal_run(w, pub, genes=gene_list(d, GENE), extra=("--track", "NOPE"))


@case("personal-run-fasta-plain-gzip", "genome.fa.gz", "compressed with gzip, not bgzip")
def _(w, d, pub):
    with open(w.fasta, "rb") as src, gzip.open(d / "genome.fa.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    args = personal_run(w, pub, genes=gene_list(d, GENE))
    args[args.index("--fasta") + 1] = d / "genome.fa.gz"
    return args


@case("personal-run-fasta-corrupt-bgzf-block", "genome.fa.gz", "chr2:120611-124611", "corrupt or truncated bgzip data")
def _(w, d, pub):
    args = personal_run(w, pub, genes=gene_list(d, "GENE0030"))
    args[args.index("--fasta") + 1] = corrupt_bgzip_fasta(w, d)
    return args


@case("personal-run-vcf-ref-mismatch", "cohort.vcf.gz", "REF", "!= FASTA")
def _(w, d, pub):
    head, recs = vcf_head_and_records(w)
    lo, hi = 39765 - 2000, 39765 + 2000
    k = next(i for i, r in enumerate(recs) if r.startswith("chr1\t") and lo <= int(r.split("\t")[1]) <= hi
             and len(r.split("\t")[3]) == 1 and len(r.split("\t")[4]) == 1)
    f = recs[k].split("\t")
    fa = w.seqs["chr1"][int(f[1]) - 1]
    f[3] = next(b for b in "ACGT" if b not in (fa, f[4]))
    recs[k] = "\t".join(f)
    vcf = write_vcf_text(d, "\n".join(head + recs) + "\n", "cohort.vcf")
    return personal_run(w, pub, vcf=vcf, genes=gene_list(d, GENE)), (f"chr1:{f[1]}:",)


@case("personal-run-vcf-not-a-vcf", "cohort.vcf", "not a VCF")
def _(w, d, pub):
    (d / "cohort.vcf").write_text("#CHROM,POS\nchr1,100\n")
    return personal_run(w, pub, vcf=d / "cohort.vcf", genes=gene_list(d, GENE))


@case("personal-run-checkpoint-random-bytes", "model.pt", "not a PyTorch checkpoint file")
def _(w, d, pub):
    (d / "model.pt").write_bytes(np.random.default_rng(2).bytes(4096))
    args = personal_run(w, pub, genes=gene_list(d, GENE))
    args[args.index("--checkpoint") + 1] = d / "model.pt"
    return args


@case("personal-run-tss-bed-wrong-strand", "tss.bed", "line 2", "strand", "'plus'")
def _(w, d, pub):
    (d / "tss.bed").write_text("chr1\t39764\t39765\tGENE0001\t0\t+\nchr1\t53803\t53804\tGENE0002\t0\tplus\n")
    return personal_run(w, pub, tss=d / "tss.bed", genes=gene_list(d, GENE))


@case("personal-run-gtf-without-gene-id", "genes.gtf", "line 2", "gene_id")
def _(w, d, pub):
    (d / "genes.gtf").write_text('chr1\tt\tgene\t39765\t64484\t.\t+\t.\tgene_id "GENE0001";\n'
                                 'chr1\tt\tgene\t28791\t53804\t.\t-\t.\tgene_name "SIM0002";\n')
    return personal_run(w, pub, tss=d / "genes.gtf", genes=gene_list(d, GENE))


@case("personal-run-expression-bed-end-before-start", "phenotypes.bed.gz", "line 3", "end 100 < start 53803")
def _(w, d, pub):
    samples = w.expression.read_text().split("\n", 1)[0].split("\t")[1:]
    vals = "\t".join("1.0" for _ in samples)
    p = expr_tsv(d, "#chr\tstart\tend\tgene_id\t" + "\t".join(samples) + "\n"
                 + f"chr1\t39764\t39765\tGENE0001\t{vals}\nchr1\t53803\t100\tGENE0002\t{vals}\n", "phenotypes.bed")
    return personal_run(w, pub, tss=False, expression=bgzip(p), genes=gene_list(d, GENE))


@case("personal-merge-not-a-chunk", "chunk1", "not a finished personal chunk directory")
def _(w, d, pub):
    (d / "chunk1").mkdir()
    return ["personal.py", "merge", d / "chunk1", "--out", pub / "personal", "--no-figures"]


BAD = [c for c in CASES if not c.ok]
QUIET = [c for c in CASES if c.ok]


def _build(c: Case, w: World, tmp_path: Path) -> tuple[list, tuple[str, ...], Path, Path]:
    """A fresh task folder ``d`` with an empty output folder ``pub``; the case's argv and needles
    (a builder returns ``(argv, more_needles)`` when the record is known only once it built its input)."""
    d = tmp_path / "task"
    pub = d / "pub"
    pub.mkdir(parents=True)
    built = c.build(w, d, pub)
    argv, more = built if isinstance(built, tuple) else (built, ())
    return argv, c.expect + tuple(more), d, pub


@pytest.mark.parametrize("c", BAD, ids=[c.id for c in BAD])
def test_bad_input_is_one_error_line(c: Case, world: World, tmp_path: Path):
    argv, needles, d, pub = _build(c, world, tmp_path)
    proc = run_script(argv, cwd=d)
    assert_one_error_line(proc, *needles)
    assert_nothing_published(pub)


@pytest.mark.parametrize("c", QUIET, ids=[c.id for c in QUIET])
def test_tolerated_input_succeeds_quietly(c: Case, world: World, tmp_path: Path):
    argv, _, d, pub = _build(c, world, tmp_path)
    proc = run_script(argv, cwd=d)
    assert_quiet_success(proc)
    assert any(pub.iterdir()), "no output written"


def test_matrix_size():
    assert len(BAD) >= 45 and len(QUIET) >= 1
    assert len({c.id for c in CASES}) == len(CASES)
