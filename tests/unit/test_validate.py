"""VALIDATE: happy paths and one-line failures for bad input (through the real CLI).

Inputs are built with independent libraries (pyBigWig writes the bigWigs, pysam/htslib bgzips and
indexes the VCF, samtools builds the FASTA index); bcftools is the oracle for REF agreement.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyBigWig
import pysam
import pytest

import seq2func.cli
from seq2func import validate as V
from seq2func.errors import InputError
from seq2func.io.fasta import check_fasta
from seq2func.io.text import CStderr

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bin" / "validate_inputs.py"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
REALDATA = SHARED / "realdata" / "hg19_chr22"

CHROMS = [("chr1", 2000), ("chr2", 1500)]
SAMPLES = ["S1", "S2", "S3"]
HEADER = "track_id,cell_type,assay,file,role,transform,strand\n"


# ------------------------------------------------------------------------------------------
# building tiny inputs


def write_fasta(path: Path, seqs: dict[str, str], width: int = 60) -> Path:
    with open(path, "w") as fh:
        for name, s in seqs.items():
            fh.write(f">{name} test contig\n")
            for i in range(0, len(s), width):
                fh.write(s[i : i + width] + "\n")
    return path


def write_bigwig(path: Path, chroms: list[tuple[str, int]], value: float = 1.0) -> Path:
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(chroms, maxZooms=0)
    for name, length in chroms:
        n = length // 100
        bw.addEntries(name, 0, values=[value + i % 7 for i in range(n)], span=100, step=100)
    bw.close()
    return path


def write_vcf(path: Path, seqs: dict[str, str], records: list[tuple[str, int, str, str]], contig_names=None, gt=True) -> Path:
    """Write a VCF and bgzip+tabix it with htslib; returns the .vcf.gz path."""
    contig_names = contig_names or {c: c for c in seqs}
    lines = ["##fileformat=VCFv4.2"]
    for c, s in seqs.items():
        lines.append(f"##contig=<ID={contig_names[c]},length={len(s)}>")
    if gt:
        lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
        lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"] + SAMPLES))
    else:
        lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]))
    for chrom, pos, ref, alt in records:
        row = [contig_names[chrom], str(pos), ".", ref, alt, ".", "PASS", "."]
        if gt:
            row += ["GT", "0|1", "1|1", "0|0"]
        lines.append("\t".join(row))
    path.write_text("\n".join(lines) + "\n")
    return Path(pysam.tabix_index(str(path), preset="vcf", force=True))


def variant_records(seqs: dict[str, str]) -> list[tuple[str, int, str, str]]:
    recs = []
    for chrom, pos in (("chr1", 101), ("chr1", 201), ("chr1", 1500), ("chr2", 50), ("chr2", 777)):
        ref = seqs[chrom][pos - 1].upper()
        alt = "A" if ref != "A" else "C"
        recs.append((chrom, pos, ref, alt))
    # a deletion and a multi-allelic site
    recs.append(("chr1", 301, seqs["chr1"][300:303].upper(), seqs["chr1"][300].upper()))
    recs.sort(key=lambda r: (r[0], r[1]))
    return recs


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("world")
    rng = np.random.default_rng(7)
    seqs = {c: "".join(rng.choice(list("ACGT"), size=n)) for c, n in CHROMS}
    seqs["chr2"] = seqs["chr2"][:600] + "N" * 100 + seqs["chr2"][700:].lower()
    w: dict[str, Path] = {"dir": d}
    w["fasta"] = write_fasta(d / "genome.fa", seqs)
    pysam.faidx(str(w["fasta"]))
    (d / "tracks").mkdir()
    w["bw1"] = write_bigwig(d / "tracks" / "atac_a.bw", CHROMS)
    w["bw2"] = write_bigwig(d / "tracks" / "cage_b.bigWig", CHROMS, 2.0)
    w["sheet"] = d / "samplesheet.csv"
    w["sheet"].write_text(
        HEADER
        + "atac_a,cellA,ATAC,tracks/atac_a.bw,compendium,mean;sqrt,.\n"
        + f"cage_b,cellB,CAGE,{w['bw2']},target,sum; soft_clip=32 ;scale=0.5,+\n"
    )
    w["peaks"] = d / "peaks.narrowPeak"
    w["peaks"].write_text("chr1\t100\t300\tp1\t500\t.\t5.0\t3.0\t2.0\t100\nchr2\t1000\t1200\tp2\t400\t.\t4.0\t2.0\t1.0\t50\n")
    w["sheet_peaks"] = d / "samplesheet_peaks.csv"
    w["sheet_peaks"].write_text("track_id,cell_type,assay,file,role\natac_a,cellA,ATAC,peaks.narrowPeak,target\n")
    w["gtf"] = d / "genes.gtf"
    gtf = []
    for gid, chrom, s, e, strand in (("G1", "chr1", 401, 900, "+"), ("G2", "chr2", 201, 500, "-")):
        attrs = f'gene_id "{gid}"; gene_name "N{gid}";'
        gtf.append(f"{chrom}\ttest\tgene\t{s}\t{e}\t.\t{strand}\t.\t{attrs}")
        gtf.append(f"{chrom}\ttest\ttranscript\t{s}\t{e}\t.\t{strand}\t.\t{attrs} transcript_id \"{gid}.1\";")
        gtf.append(f"{chrom}\ttest\texon\t{s}\t{e}\t.\t{strand}\t.\t{attrs} transcript_id \"{gid}.1\";")
    w["gtf"].write_text("#!genome-build test\n" + "\n".join(gtf) + "\n")
    w["tss"] = d / "tss.bed"
    w["tss"].write_text("chr1\t400\t401\tG1\t0\t+\nchr2\t499\t500\tG2\t0\t-\n")
    w["blacklist"] = d / "blacklist.bed"
    w["blacklist"].write_text("chr1\t1900\t1950\nchr2\t600\t700\n")
    w["vcf"] = write_vcf(d / "variants.vcf", seqs, variant_records(seqs))
    w["cohort"] = write_vcf(d / "cohort.vcf", seqs, variant_records(seqs)[:4])
    w["expression"] = d / "expression.tsv"
    w["expression"].write_text("gene_id\tS1\tS2\tS3\nG1\t1.5\t2\tNA\nG2\t0.1\t-0.3\t4e-2\n")
    w["covariates"] = d / "covariates.tsv"
    w["covariates"].write_text("id\tS1\tS2\tS3\nPC1\t0.1\t0.2\t0.3\n")
    w["params"] = d / "params.json"
    w["params"].write_text(
        json.dumps(
            {
                "input": str(w["sheet"]), "fasta": str(w["fasta"]), "outdir": "results", "seq_length": 1024,
                "bin_size": 128, "crop_bp": 128, "test_chroms": "chr2", "strict": False,
                "config_profile_name": "test", "validate_params": True, "max_cpus": 2, "stride": None,
            }
        )
    )
    w["seqs"] = seqs  # type: ignore[assignment]
    return w


def write_params(tmp_path: Path, world, **over) -> Path:
    p = json.loads(world["params"].read_text())
    p.update(over)
    out = tmp_path / "params.json"
    out.write_text(json.dumps(p))
    return out


ALL_FILES = {
    "--fasta": "fasta", "--gtf": "gtf", "--tss-bed": "tss", "--blacklist": "blacklist", "--vcf": "vcf",
    "--cohort-vcf": "cohort", "--expression": "expression", "--covariates": "covariates",
}


def _validate_app():
    """bin/validate_inputs.py imported as a module (for the fast in-process runs)."""
    global _APP
    if _APP is None:
        spec = importlib.util.spec_from_file_location("validate_inputs_script", SCRIPT)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _APP = mod.app
    return _APP


_APP = None

# Parametrized variants run in-process (same code path, no interpreter start-up); the first case
# of every kind of bad input runs as a real subprocess (exit code, stdin closed, fd-level stderr).
SUBPROCESS_IDS = {"zero-bytes", "track_id-shell", "end<start", "no-header", "duplicate", "type", "divisible", "strand"}


def _run_inprocess(args: list[str]) -> subprocess.CompletedProcess:
    err = io.StringIO()
    cap = CStderr()  # C libraries write to fd 2 directly
    old_argv = sys.argv
    sys.argv = [str(SCRIPT)] + args
    code = 0
    try:
        with cap, contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            seq2func.cli.run(_validate_app())
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = old_argv
    return subprocess.CompletedProcess(args, code, "", err.getvalue() + cap.text)


def run_cli(world, tmp_path: Path, *, params: Path | None = None, sheet: Path | None = None, drop=(), extra=(), sub: bool = False, **files):
    """Run bin/validate_inputs.py (a subprocess when ``sub``, else in-process); ``files``
    overrides (option name with _ for -, value a Path)."""
    args = ["inputs", "--params", str(params or world["params"]), "--samplesheet", str(sheet or world["sheet"])]
    for opt, key in ALL_FILES.items():
        name = opt[2:].replace("-", "_")
        if opt in drop or name in drop:
            continue
        path = files.get(name, world[key])
        args += [opt, str(path)]
    args += ["--out", str(tmp_path / "out" / "samplesheet.valid.csv"), "--report", str(tmp_path / "out" / "validation.json")]
    args += ["--work-dir", str(tmp_path)] + list(extra)
    if not sub:
        return _run_inprocess(args)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, str(SCRIPT)] + args, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=120)


def _sub(request) -> bool:
    return request.node.callspec.id in SUBPROCESS_IDS


def assert_bad(proc, tmp_path: Path, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("ERROR: "), line
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in line, (n, line)
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir()), list(out.iterdir())
    return line


def assert_ok(proc, tmp_path: Path) -> tuple[list[dict[str, str]], dict]:
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "out" / "samplesheet.valid.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    report = json.loads((tmp_path / "out" / "validation.json").read_text())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["samplesheet.valid.csv", "validation.json"]
    return rows, report


# ------------------------------------------------------------------------------------------
# happy paths


def test_happy_path_profile_mode(world, tmp_path):
    proc = run_cli(world, tmp_path, sub=True, params=write_params(tmp_path, world, unknown_knob=3))
    rows, report = assert_ok(proc, tmp_path)
    assert [r["track_id"] for r in rows] == ["atac_a", "cage_b"]
    assert rows[0]["file"] == "tracks/0001/atac_a.bw"
    assert rows[1]["file"] == "tracks/0002/cage_b.bigWig"
    assert rows[0]["transform"] == "mean;sqrt"
    assert rows[1]["transform"] == "sum;soft_clip=32;scale=0.5"
    assert [r["strand"] for r in rows] == [".", "+"]
    assert report["samplesheet"]["mode"] == "profile"
    assert report["params"]["stride"] == 1024  # null stride -> seq_length
    assert report["params"]["max_n_frac"] == 0.1
    assert report["split"]["test_chroms"] == ["chr2"]
    # the genome as samtools sees it (oracle: samtools faidx index)
    fai = dict(line.split("\t")[:2] for line in Path(str(world["fasta"]) + ".fai").read_text().splitlines())
    assert report["genome"]["lengths"] == {k: int(v) for k, v in fai.items()}
    params_kinds = [f["param"] for f in report["files"]]
    for p in ("fasta", "input", "gtf", "tss_bed", "blacklist", "vcf", "cohort_vcf", "expression", "covariates"):
        assert p in params_kinds
    bws = [f for f in report["files"] if f["param"] == "input"]
    assert all(f["alias_map"] == {"chr1": "chr1", "chr2": "chr2"} for f in bws)
    # unknown parameters warn (with a hint) but never fail; nf-core internals are silent
    assert any("--unknown_knob" in w for w in report["warnings"])
    assert not any("config_profile_name" in w or "max_cpus" in w for w in report["warnings"])
    assert "WARNING: --unknown_knob" in proc.stderr


def test_happy_path_peak_mode_and_vcf_oracle(world, tmp_path):
    proc = run_cli(world, tmp_path, sheet=world["sheet_peaks"])
    rows, report = assert_ok(proc, tmp_path)
    assert report["samplesheet"]["mode"] == "peak"
    assert rows[0]["file"] == "tracks/0001/peaks.narrowPeak" and rows[0]["transform"] == "sum" and rows[0]["strand"] == "."
    if shutil.which("bcftools"):  # oracle: bcftools agrees every REF matches the FASTA
        r = subprocess.run(["bcftools", "norm", "--check-ref", "e", "-f", str(world["fasta"]), str(world["vcf"])], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def test_staged_dir_layout(world, tmp_path):
    """Nextflow stages row i at tracks/<iiii>/<basename>; the samplesheet may name remote files."""
    staged = tmp_path / "tracks"
    for i, src in ((1, world["bw1"]), (2, world["bw2"])):
        (staged / f"{i:04d}").mkdir(parents=True)
        os.symlink(src, staged / f"{i:04d}" / src.name)
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(HEADER + f"a,cellA,ATAC,s3://bucket/x/{world['bw1'].name},target,,\nb,cellB,ATAC,{world['bw2']},compendium,,-\n")
    proc = run_cli(world, tmp_path, sheet=sheet, extra=["--staged-dir", str(staged)])
    rows, _ = assert_ok(proc, tmp_path)
    assert [r["file"] for r in rows] == ["tracks/0001/atac_a.bw", "tracks/0002/cage_b.bigWig"]
    # the same files without the staged dir: the s3:// path cannot be read locally
    tmp2 = tmp_path / "again"
    tmp2.mkdir()
    assert_bad(run_cli(world, tmp2, sheet=sheet), tmp2, "row 1 (track_id=a)", "remote")


def test_harmonised_vcf_1_vs_chr1(world, tmp_path):
    seqs = world["seqs"]
    vcf = write_vcf(tmp_path / "ensembl.vcf", seqs, variant_records(seqs), contig_names={"chr1": "1", "chr2": "2"})
    proc = run_cli(world, tmp_path, vcf=vcf)
    _, report = assert_ok(proc, tmp_path)
    (entry,) = [f for f in report["files"] if f["param"] == "vcf"]
    assert entry["alias_map"] == {"1": "chr1", "2": "chr2"}
    assert entry["renamed"] == {"1": "chr1", "2": "chr2"}
    assert entry["ref_checked"] == len(variant_records(seqs))


def test_index_built_in_work_dir_when_fasta_dir_read_only(world, tmp_path, monkeypatch):
    fa = tmp_path / "ro" / "genome.fa"
    fa.parent.mkdir()
    shutil.copy(world["fasta"], fa)
    import seq2func.io.fasta as io_fasta

    monkeypatch.setattr(io_fasta, "_dir_writable", lambda d: False)
    wd = tmp_path / "work"
    wd.mkdir()
    g = check_fasta(fa, "genome.fa", wd)
    assert g.fai == (wd / "genome.fa.fai").resolve() and g.fai.exists() and not Path(str(fa) + ".fai").exists()
    assert g.lengths == dict(CHROMS)
    assert g.fetch("chr1", 0, 10) == world["seqs"]["chr1"][:10]


def test_bgzipped_fasta_gets_fai_and_gzi(world, tmp_path):
    gz = tmp_path / "genome.fa.gz"
    subprocess.run(["bgzip", "-c", str(world["fasta"])], stdout=open(gz, "wb"), check=True)
    g = check_fasta(gz, "genome.fa.gz", tmp_path)
    assert g.gzi is not None and g.gzi.exists() and g.lengths == dict(CHROMS)
    assert g.fetch("chr2", 595, 605) == world["seqs"]["chr2"][595:605]


def test_strict_turns_missing_chromosome_warning_into_error(world, tmp_path):
    bw = write_bigwig(tmp_path / "only_chr1.bw", CHROMS[:1])
    sheet = tmp_path / "s.csv"
    sheet.write_text(HEADER + f"a,cellA,ATAC,{bw},target,,\n")
    _, report = assert_ok(run_cli(world, tmp_path, sheet=sheet), tmp_path)
    assert any("only_chr1.bw" in w and "chr2" in w for w in report["warnings"])
    tmp2 = tmp_path / "strict"
    tmp2.mkdir()
    assert_bad(run_cli(world, tmp2, sheet=sheet, params=write_params(tmp2, world, strict=True)), tmp2, "only_chr1.bw", "row 1", "--strict")


# ------------------------------------------------------------------------------------------
# bad input: one line, exit 2, nothing written


def test_bad_samplesheet_missing_column(world, tmp_path):
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text("track_id,cell_type,assay,file\na,cellA,ATAC,x.bw\n")
    assert_bad(run_cli(world, tmp_path, sub=True, sheet=sheet), tmp_path, "samplesheet.csv: header: missing required column(s) 'role'")


@pytest.mark.parametrize("content", ["", HEADER], ids=["zero-bytes", "header-only"])
def test_bad_samplesheet_empty(world, tmp_path, content, request):
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(content)
    assert_bad(run_cli(world, tmp_path, sheet=sheet, sub=_sub(request)), tmp_path, "samplesheet.csv", "empty samplesheet")


@pytest.mark.parametrize(
    "row, needles",
    [
        ("a;rm -rf,cellA,ATAC,tracks/atac_a.bw,target,,", ["row 1 (track_id=a;rm -rf)", "track_id must be letters"]),
        ("a,cell A,ATAC,tracks/atac_a.bw,target,,", ["row 1 (track_id=a)", "cell_type must be"]),
        ("a,cellA,ATAC,tracks/atac_a.bw,training,,", ["row 1 (track_id=a)", "role must be 'compendium' or 'target'", "'training'"]),
        ("a,cellA,ATAC,tracks/atac_a.bw,target,,x", ["row 1 (track_id=a)", "strand must be"]),
        ("a,cellA,ATAC,tracks/atac_a.bw,target,sum;cube,", ["row 1 (track_id=a)", "unknown operation 'cube'"]),
        ("a,cellA,ATAC,tracks/atac_a.bw,target", ["row 1 (line 2)", "expected 7 comma-separated fields, got 5"]),
    ],
    ids=["track_id-shell", "cell_type-space", "role-enum", "strand-enum", "transform", "short-row"],
)
def test_bad_samplesheet_row(world, tmp_path, row, needles, request):
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(HEADER + row + "\n")
    assert_bad(run_cli(world, tmp_path, sheet=sheet, sub=_sub(request)), tmp_path, "samplesheet.csv: ", *needles)


def test_bad_samplesheet_duplicate_track_id(world, tmp_path):
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(HEADER + f"t1,cellA,ATAC,{world['bw1']},target,,\nt1,cellB,ATAC,{world['bw2']},target,,\n")
    assert_bad(run_cli(world, tmp_path, sub=True, sheet=sheet), tmp_path, "samplesheet.csv: row 2 (track_id=t1): duplicate track_id 't1' (first in row 1)")


def test_bad_missing_track_file(world, tmp_path):
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(HEADER + "t1,cellA,ATAC,nope/missing.bw,target,,\n")
    assert_bad(run_cli(world, tmp_path, sub=True, sheet=sheet), tmp_path, "ERROR: nope/missing.bw: file not found", "row 1 (track_id=t1)")


def test_bad_corrupt_bigwig(world, tmp_path):
    bad = tmp_path / "corrupt.bw"
    bad.write_bytes(np.random.default_rng(1).bytes(4096))
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(HEADER + f"t1,cellA,ATAC,{world['bw1']},target,,\nt2,cellA,CAGE,corrupt.bw,target,,\n")
    assert_bad(run_cli(world, tmp_path, sub=True, sheet=sheet), tmp_path, "ERROR: corrupt.bw: row 2 (track_id=t2): not a bigWig file")


def test_bad_truncated_bigwig(world, tmp_path):
    """A real bigWig header, cut short: libBigWig's complaint must not leak as extra lines."""
    bad = tmp_path / "trunc.bw"
    bad.write_bytes(world["bw1"].read_bytes()[:300])
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(HEADER + "t1,cellA,ATAC,trunc.bw,target,,\n")
    assert_bad(run_cli(world, tmp_path, sheet=sheet), tmp_path, "ERROR: trunc.bw: ", "row 1 (track_id=t1)")


@pytest.mark.parametrize(
    "line, needle",
    [
        ("chr1\t500\t400\tp\t0\t.\t1\t1\t1\t10", "line 2: end 400 < start 500"),
        ("chr1\t500\t500\tp\t0\t.\t1\t1\t1\t10", "line 2: end == start 500"),
        ("chr1\t5e2\t600\tp\t0\t.\t1\t1\t1\t10", "line 2: coordinates must be integers, got '5e2'"),
        ("chr1 100 200", "line 2: peak BED columns must be tab-separated"),
        ("chr1\t100\t2500\tp\t0\t.\t1\t1\t1\t10", "line 2: end 2500 is beyond the end of chr1 (length 2000"),
    ],
    ids=["end<start", "end==start", "non-integer", "spaces", "beyond-contig"],
)
def test_bad_peak_bed(world, tmp_path, line, needle, request):
    peaks = tmp_path / "peaks.narrowPeak"
    peaks.write_text("chr1\t100\t300\tp1\t500\t.\t5\t3\t2\t100\n" + line + "\n")
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text("track_id,cell_type,assay,file,role\npk,cellA,ATAC,peaks.narrowPeak,target\n")
    assert_bad(run_cli(world, tmp_path, sheet=sheet, sub=_sub(request)), tmp_path, "ERROR: peaks.narrowPeak: " + needle)


def test_bad_mixed_bigwig_and_peaks(world, tmp_path):
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(HEADER + f"a,cellA,ATAC,{world['bw1']},target,,\np,cellA,ATAC,{world['peaks']},target,,\n")
    assert_bad(run_cli(world, tmp_path, sub=True, sheet=sheet), tmp_path, "samplesheet.csv: row 2 (track_id=p)", "mixed with bigWig", "profile mode")


@pytest.mark.parametrize(
    "text, needle",
    [
        ("ACGTACGT\n>chr1\nACGT\n", "genome.fa: line 1: not a FASTA file"),
        (">chr1\nACGTACGT\n>chr2\nACGT\n>chr1\nACGT\n", "genome.fa: line 5 (record 'chr1'): duplicate sequence name (first at line 1)"),
        (">chr1\nACGTAC*T\n>chr2\nACGT\n", "genome.fa: line 2 (record 'chr1'): invalid sequence character '*'"),
        (">chr1\n>chr2\nACGT\n", "genome.fa: line 1 (record 'chr1'): empty sequence"),
        (">chr1\nACGTACGT\nACG\nACGTACGT\n", "genome.fa: line 4: cannot index FASTA"),
        ("", "genome.fa: empty file"),
    ],
    ids=["no-header", "duplicate", "bad-char", "empty-record", "ragged-lines", "zero-bytes"],
)
def test_bad_fasta(world, tmp_path, text, needle, request):
    fa = tmp_path / "genome.fa"
    fa.write_text(text)
    assert_bad(run_cli(world, tmp_path, fasta=fa, sub=_sub(request)), tmp_path, needle)


def test_bad_bigwig_of_another_assembly(world, tmp_path):
    bw = write_bigwig(tmp_path / "hg38.bw", [("chr1", 3000), ("chr2", 1500)])
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(HEADER + "a,cellA,ATAC,hg38.bw,target,,\n")
    with pyBigWig.open(str(bw)) as b:  # oracle: the file really says 3000
        assert b.chroms("chr1") == 3000
    assert_bad(
        run_cli(world, tmp_path, sub=True, sheet=sheet), tmp_path,
        "ERROR: hg38.bw: row 1 (track_id=a): chromosome names/lengths do not match", "genome.fa (e.g. 'chr1' length 3000 != 2000)",
    )


def test_bad_no_shared_chromosome_names(world, tmp_path):
    bw = write_bigwig(tmp_path / "scaffolds.bw", [("scaffold_1", 2000), ("scaffold_2", 1500)])
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(HEADER + f"a,cellA,ATAC,{bw.name},target,,\n")
    assert_bad(run_cli(world, tmp_path, sub=True, sheet=sheet), tmp_path, "scaffolds.bw: row 1 (track_id=a)", "do not match", "genome.fa: no contig in common", "'scaffold_1'")


def test_bad_vcf_ref_mismatch(world, tmp_path):
    seqs = world["seqs"]
    recs = variant_records(seqs)
    chrom, pos, ref, alt = recs[1]
    wrong = "G" if ref != "G" else "T"
    recs[1] = (chrom, pos, wrong, alt if alt != wrong else "C")
    vcf = write_vcf(tmp_path / "bad.vcf", seqs, recs)
    if shutil.which("bcftools"):  # oracle: bcftools also sees the mismatch
        r = subprocess.run(["bcftools", "norm", "--check-ref", "e", "-f", str(world["fasta"]), str(vcf)], capture_output=True, text=True)
        assert r.returncode != 0
    assert_bad(run_cli(world, tmp_path, sub=True, vcf=vcf), tmp_path, f"ERROR: {vcf}: {chrom}:{pos}: REF '{wrong}' != FASTA '{ref}'")


def test_bad_vcf_ref_mismatch_harmonised(world, tmp_path):
    """The REF check looks up the harmonised name ('1' -> chr1) and reports the VCF's own."""
    seqs = world["seqs"]
    recs = variant_records(seqs)
    chrom, pos, ref, alt = recs[0]
    wrong = "G" if ref != "G" else "T"
    recs[0] = (chrom, pos, wrong, alt if alt != wrong else "C")
    vcf = write_vcf(tmp_path / "ens.vcf", seqs, recs, contig_names={"chr1": "1", "chr2": "2"})
    assert_bad(run_cli(world, tmp_path, vcf=vcf), tmp_path, f"1:{pos}: REF '{wrong}' != FASTA '{ref}'", f"chr1:{pos}")


def test_bad_cohort_vcf_without_genotypes(world, tmp_path):
    vcf = write_vcf(tmp_path / "sites.vcf", world["seqs"], variant_records(world["seqs"]), gt=False)
    assert_bad(run_cli(world, tmp_path, cohort_vcf=vcf), tmp_path, "sites.vcf.gz: header: cohort VCF has no sample columns")


def test_bad_expression_sample_ids(world, tmp_path):
    expr = tmp_path / "expression.tsv"
    expr.write_text("gene_id\tIND1\tIND2\tIND3\tIND4\nG1\t1\t2\t3\t4\n")
    assert_bad(
        run_cli(world, tmp_path, sub=True, expression=expr, drop=("covariates",)), tmp_path,
        "ERROR: " + str(expr) + ": line 1: sample IDs do not match", "'IND1', 'IND2', 'IND3' ... (4 in all)", "'S1', 'S2', 'S3'",
    )


def test_bad_expression_value(world, tmp_path):
    expr = tmp_path / "expression.tsv"
    expr.write_text("gene_id\tS1\tS2\tS3\nG1\t1\t2\t3\nG2\t1\thigh\t3\n")
    assert_bad(run_cli(world, tmp_path, expression=expr, drop=("covariates",)), tmp_path, "expression.tsv: line 3: value 'high' for sample 'S2' is not a number")


@pytest.mark.parametrize(
    "over, needle",
    [
        ({"bin_size": "abc"}, "ERROR: --bin_size: must be an integer >= 1, got 'abc'"),
        ({"max_n_frac": 1.5}, "ERROR: --max_n_frac: must be a number between 0 and 1, got 1.5"),
        ({"personal_fdr": 1}, "ERROR: --personal_fdr: must be a number > 0 and < 1, got 1"),
        ({"sim_scale": "huge"}, "ERROR: --sim_scale: must be one of tiny, small, large, got 'huge'"),
        ({"input": "samples.tsv"}, "ERROR: --input: must be a samplesheet path ending in .csv"),
        ({"strict": "yes"}, "ERROR: --strict: must be true or false, got 'yes'"),
        ({"seq_length": 1000}, "ERROR: --seq_length: 1000 is not divisible by --bin_size 128"),
        ({"crop_bp": 64}, "ERROR: --crop_bp: 64 is not divisible by --bin_size 128"),
        ({"crop_bp": 512}, "ERROR: --crop_bp: 2 x 512 must be less than --seq_length 1024"),
        ({"chrom_fractions": "0.8,0.1,0.2", "test_chroms": None}, "ERROR: --chrom_fractions: must be three fractions"),
        ({"folds": 1}, "ERROR: --folds: must be 0 (no cross-validation) or >= 2, got 1"),
        ({"test_chroms": "chr9"}, "ERROR: --test_chroms: 'chr9' is not a contig of"),
        ({"seq_length": 4096}, "ERROR: --seq_length: 4096 is longer than every contig"),
    ],
    ids=["type", "maximum", "exclusive-maximum", "enum", "pattern", "boolean", "divisible", "crop-divisible", "crop-size", "fractions", "folds", "test-chrom", "too-long"],
)
def test_bad_params(world, tmp_path, over, needle, request):
    assert_bad(run_cli(world, tmp_path, params=write_params(tmp_path, world, **over), sub=_sub(request)), tmp_path, needle)


def _params_cmd(tmp_path: Path, params: dict) -> subprocess.CompletedProcess:
    p = tmp_path / "params.input.json"
    p.write_text(json.dumps(params))
    args = [sys.executable, str(SCRIPT), "params", "--params", str(p), "--schema", str(REPO / "nextflow_schema.json"), "--out", str(tmp_path / "out" / "params.json")]
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=120)


def test_params_step_resolves_defaults(tmp_path):
    proc = _params_cmd(tmp_path, {"simulate": True, "seq_length": 16384, "bin_size": 128, "config_profile_name": "Test profile", "seqLength": 5})
    assert proc.returncode == 0, proc.stderr
    resolved = json.loads((tmp_path / "out" / "params.json").read_text())
    assert resolved["stride"] == 16384 and resolved["outdir"] == "results" and resolved["sim_scale"] == "tiny"
    assert "WARNING: --seqLength: unknown parameter, ignored (did you mean --seq_length?)" in proc.stderr
    assert "config_profile_name" not in proc.stderr


def test_bad_params_input_required_without_simulate(tmp_path):
    proc = _params_cmd(tmp_path, {"seq_length": 1024, "bin_size": 128})
    assert_bad(proc, tmp_path, "ERROR: --input: required unless --simulate")


@pytest.mark.parametrize(
    "line, needle",
    [
        ("chr1\ttest\tgene\t10\t50\t.\t*\t.\tgene_id \"G9\";", "genes.gtf: line 3: strand must be '+', '-' or '.', got '*'"),
        ("chr1\ttest\tgene\t50\t10\t.\t+\t.\tgene_id \"G9\";", "genes.gtf: line 3: end 10 < start 50"),
        ("chr1\ttest\tgene\tten\t50\t.\t+\t.\tgene_id \"G9\";", "genes.gtf: line 3: coordinates must be integers, got 'ten'"),
        ("chr1\ttest\tgene\t10\t50\t.\t+", "genes.gtf: line 3: expected 9 tab-separated GTF columns, got 7"),
        ("chr1\ttest\tgene\t10\t50\t.\t+\t.\tgene_name \"X\";", "genes.gtf: line 3: gene record without a gene_id"),
    ],
    ids=["strand", "end<start", "non-integer", "columns", "no-gene_id"],
)
def test_bad_gtf(world, tmp_path, line, needle, request):
    gtf = tmp_path / "genes.gtf"
    gtf.write_text('#x\nchr1\ttest\tgene\t1\t100\t.\t+\t.\tgene_id "G1";\n' + line + "\n")
    assert_bad(run_cli(world, tmp_path, gtf=gtf, sub=_sub(request)), tmp_path, needle)


def test_bad_tss_bed_without_strand(world, tmp_path):
    tss = tmp_path / "tss.bed"
    tss.write_text("chr1\t400\t401\tG1\n")
    assert_bad(run_cli(world, tmp_path, tss_bed=tss), tmp_path, "tss.bed: line 1: expected at least 6 tab-separated columns, got 4")


# ------------------------------------------------------------------------------------------
# in-process units


def test_flatten_schema_and_defaults():
    import jsonschema

    schema = V.load_schema(REPO / "nextflow_schema.json")
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator.check_schema(json.loads((REPO / "assets" / "schema_input.json").read_text()))
    props, required = V.flatten_schema(schema)
    expected_defaults = {
        "outdir": "results", "simulate": False, "sim_scale": "tiny", "sim_seed": 1, "seq_length": 131072, "bin_size": 128,
        "crop_bp": 0, "max_n_frac": 0.1, "folds": 0, "strict": False, "publish_dir_mode": "copy", "use_gpu": False,
        "validate_only": False, "help": False, "version": False, "monochrome_logs": False,
    }
    for k, v in expected_defaults.items():
        assert props[k]["default"] == v, k
    for k in ("input", "fasta", "gtf", "tss_bed", "blacklist", "vcf", "cohort_vcf", "expression", "covariates", "pretrained", "stride", "test_chroms", "valid_chroms", "chrom_fractions"):
        assert "default" not in props[k], k  # null in nextflow.config
    for k, p in props.items():
        assert p.get("type") and p.get("description"), k
    assert required == ["outdir"]
    resolved = V.validate_params({"outdir": "r", "stride": None}, schema)
    assert resolved["stride"] is None and resolved["seq_length"] == 131072


def test_validate_params_kebab_case_hint():
    schema = V.load_schema(REPO / "nextflow_schema.json")
    w = V.Warnings()
    V.validate_params({"seq-length": 1000, "seqLength": 1000, "bin_sise": 3}, schema, w)
    assert any("--seq-length" in m and "did you mean --seq_length" in m for m in w.items)
    assert not any("--seqLength" in m for m in w.items)
    assert any("--bin_sise" in m and "--bin_size" in m for m in w.items)


def test_expression_bed_layout_and_partial_overlap(tmp_path):
    expr = tmp_path / "expr.bed"
    expr.write_text("#chr\tstart\tend\tgene_id\tS1\tS2\tX9\n1\t10\t11\tG1\t1\t2\t3\n")
    w = V.Warnings()
    info = V.check_expression(expr, "expr.bed", None, w, vcf_samples=SAMPLES)
    assert info["layout"] == "bed" and info["samples_shared_with_vcf"] == 2
    assert any("'X9'" in m for m in w.items)
    with pytest.raises(InputError, match="X9"):
        V.check_expression(expr, "expr.bed", None, V.Warnings(strict=True), vcf_samples=SAMPLES)


def test_write_outputs_is_atomic(tmp_path, monkeypatch):
    out, rep = tmp_path / "o" / "s.csv", tmp_path / "o" / "v.json"

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(json, "dumps", boom)
    with pytest.raises(OSError):
        V.write_outputs([], {"a": 1}, out, rep)
    assert list((tmp_path / "o").iterdir()) == []


# ------------------------------------------------------------------------------------------
# real data


@pytest.mark.realdata
def test_realdata_hg19_chr22_validates_with_alias(tmp_path):
    if not SHARED.exists():
        pytest.skip("../shared not present")
    fa = REALDATA / "genome" / "hg19_chr22_partial.fa.gz"
    bw = REALDATA / "tracks" / "GM12878_STAT1_chr22_1-30Mb.bigWig"
    vcf = REALDATA / "variants" / "1000G_phase1_5samples_chr22.vcf.gz"
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text(f"track_id,cell_type,assay,file,role\nSTAT1,GM12878,ChIP-seq,{bw},target\n")
    params = tmp_path / "params.json"
    # --vcf is checked as SCORE_VARIANTS reads it: a third of the 1000G records lie on FASTA N, which the
    # default --ref_mismatch error refuses (one line, the first such record) and skip leaves out
    params.write_text(json.dumps({"input": str(sheet), "fasta": str(fa), "vcf": str(vcf), "seq_length": 131072, "bin_size": 128, "tss_bed": None}))
    args = [sys.executable, str(SCRIPT), "inputs", "--params", str(params), "--samplesheet", str(sheet), "--fasta", str(fa), "--vcf", str(vcf),
            "--tss-bed", str(REALDATA / "annotation" / "gencode_tss_chr22.bed"),
            "--out", str(tmp_path / "out" / "samplesheet.valid.csv"), "--report", str(tmp_path / "out" / "validation.json"), "--work-dir", str(tmp_path)]
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=300)
    assert_bad(proc, tmp_path, "1000G_phase1_5samples_chr22.vcf.gz: 22:50300078: REF 'A' vs FASTA 'N' at chr22:50300078: FASTA is N there")
    params.write_text(json.dumps({"input": str(sheet), "fasta": str(fa), "vcf": str(vcf), "seq_length": 131072, "bin_size": 128,
                                  "tss_bed": None, "ref_mismatch": "skip"}))
    proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=300)
    rows, report = assert_ok(proc, tmp_path)
    assert rows[0]["file"] == "tracks/0001/GM12878_STAT1_chr22_1-30Mb.bigWig"
    assert report["genome"]["lengths"] == {"chr22": 51304566}
    (v,) = [f for f in report["files"] if f["param"] == "vcf"]
    assert v["alias_map"] == {"22": "chr22"} and v["records"] == 10376 and v["ref_on_n"] == 3486
    assert v["unique"] == 6890 and v["ref_mismatch"] == 0  # every REF on real bases equals the FASTA
    assert report["decisions"]["variant_contigs"] == ["chr22"]
    (t,) = [f for f in report["files"] if f["param"] == "input"]
    assert t["alias_map"] == {"chr22": "chr22"}


# ------------------------------------------------------------------------------------------
# decisions (validation.json) and the gene table (genes.bed) that later stages follow


def test_decisions_and_genes_bed(world, tmp_path):
    genes_out = tmp_path / "out" / "genes.bed"
    proc = run_cli(world, tmp_path, drop=("covariates",), extra=["--genes-out", str(genes_out)])
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "out" / "validation.json").read_text())
    d = report["decisions"]
    assert d["mode"] == "profile" and d["cell_types"] == {"compendium": ["cellA"], "target": ["cellB"]}
    assert d["data_contigs"] == ["chr1", "chr2"]  # both >= seq_length 1024 and covered by the bigWigs
    assert d["split_by"] == "chrom"  # --test_chroms given explicitly
    assert d["expression"]["layout"] == "tsv" and d["expression"]["individuals_used"] == SAMPLES
    assert d["genes"] == {"annotation": "tss_bed", "genes": 2, "tss_from_annotation": 2, "expression_genes_without_tss": 0}
    assert genes_out.read_text() == "chr1\t400\t401\tG1\tannotation\t+\nchr2\t499\t500\tG2\tannotation\t-\n"


def test_split_by_auto_picks_contigs_for_few_chromosomes(world, tmp_path):
    proc = run_cli(world, tmp_path, params=write_params(tmp_path, world, test_chroms=None), drop=("covariates",))
    assert proc.returncode == 0, proc.stderr
    d = json.loads((tmp_path / "out" / "validation.json").read_text())["decisions"]
    assert d["split_by"] == "contig" and len(d["data_contigs"]) == 2


def test_expression_bed_places_genes_the_annotation_lacks(world, tmp_path):
    """A phenotype BED with versioned IDs: G1.2 matches the annotation's G1 (TSS and strand from there),
    G7.1 is not in it and sits at the BED's start (contig `1` written as the FASTA's `chr1`)."""
    bed = tmp_path / "pheno.bed"
    bed.write_text("#chr\tstart\tend\tphenotype_id\tS1\tS2\tS3\n1\t333\t334\tG1.2\t1\t2\t3\n1\t777\t778\tG7.1\t4\t5\t6\n")
    genes_out = tmp_path / "out" / "genes.bed"
    proc = run_cli(world, tmp_path, drop=("covariates",), expression=bed, extra=["--genes-out", str(genes_out)])
    assert proc.returncode == 0, proc.stderr
    assert genes_out.read_text() == "chr1\t400\t401\tG1.2\tannotation\t+\nchr1\t777\t778\tG7.1\texpression_bed\t.\n"
    d = json.loads((tmp_path / "out" / "validation.json").read_text())["decisions"]
    assert d["expression"]["layout"] == "bed" and d["genes"]["tss_from_expression_bed"] == 1


def test_missing_samples_policy(world, tmp_path):
    expr = tmp_path / "expression.tsv"
    expr.write_text("gene_id\tS1\tS2\tX9\nG1\t1\t2\t3\n")
    assert_bad(run_cli(world, tmp_path, expression=expr, drop=("covariates",)), tmp_path,
               "expression.tsv: line 1: 1 of 3 expression samples have no genotypes", "'X9'", "--missing_samples drop")
    proc = run_cli(world, tmp_path, params=write_params(tmp_path, world, missing_samples="drop"), expression=expr, drop=("covariates",))
    assert proc.returncode == 0, proc.stderr
    d = json.loads((tmp_path / "out" / "validation.json").read_text())["decisions"]["expression"]
    assert d["individuals_used"] == ["S1", "S2"] and d["individuals_dropped"] == 1 and d["missing_samples"] == "drop"


def test_no_expression_gene_can_be_placed(world, tmp_path):
    expr = tmp_path / "expression.tsv"
    expr.write_text("gene_id\tS1\tS2\tS3\nNOPE\t1\t2\t3\n")
    assert_bad(run_cli(world, tmp_path, expression=expr, drop=("covariates",)), tmp_path,
               "expression.tsv: none of its 1 genes ('NOPE') has a TSS in --tss_bed")


@pytest.mark.parametrize("model, sheet, needle", [
    ("basenji_tiny", "sheet_peaks", "--model: basenji_tiny: a basenji model does not suit this samplesheet's BED/narrowPeak tracks"),
    ("resnet_peak", "sheet", "--model: resnet_peak: a resnet model does not suit this samplesheet's bigWig tracks"),
    ("no_such_model", "sheet", "--model: no_such_model: no model config 'no_such_model'"),
])
def test_model_must_suit_the_tracks(world, tmp_path, model, sheet, needle):
    params = write_params(tmp_path, world, model=model, input=str(world[sheet]))
    assert_bad(run_cli(world, tmp_path, params=params, sheet=world[sheet], drop=("covariates", "expression", "cohort_vcf")),
               tmp_path, needle)


def test_personal_finetune_needs_individuals_to_hold_out(world, tmp_path):
    """--personal_finetune on a cohort too small to hold individuals out stops at VALIDATE (one line
    naming the expression file), not after training in PERSONAL_FINETUNE; --skip_personal or no
    fine-tuning passes (the shipped real data: 5 genotyped individuals)."""
    expr = tmp_path / "expression.tsv"
    expr.write_text("gene_id\tS1\tS2\tS3\nG1\t1\t2\t3\n")
    assert_bad(run_cli(world, tmp_path, params=write_params(tmp_path, world, personal_finetune=True), expression=expr,
                       drop=("covariates",)), tmp_path,
               "expression.tsv: samples: 3 individuals have genotypes in", "needs at least 6 to hold some out")
    for over in ({"personal_finetune": True, "skip_personal": True}, {"personal_finetune": False}, {}):
        proc = run_cli(world, tmp_path, params=write_params(tmp_path, world, **over), expression=expr, drop=("covariates",))
        assert proc.returncode == 0, (over, proc.stderr)
