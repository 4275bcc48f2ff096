"""Build the simulated world, chromosome by chromosome, and regenerate any part of it.

:func:`simulate_world` streams: for each chromosome it draws the layout, builds the sequence,
scans it, appends the FASTA record, the annotation, the bigWig entries and peaks of every track
(chunk by chunk), the VCF records, the expression rows and the allele-specific labels, then
drops everything of that chromosome but the small truth tables. Peak memory is one chromosome's
sequence, sites and genotypes plus one chunk of one track, whatever the genome size.

Everything is written under ``<outdir>/.simulate_world.tmp`` and moved into ``outdir`` at the
end (no partial results). Same ``(scale, seed)`` -> byte-identical files.

:class:`World` holds the global draws (cell types, TF activities, track depths) and regenerates
chromosomes on demand: ``World.load(outdir).coverage("chr1", "ATAC_neuron")`` returns the expected
and observed coverage arrays that were written to the bigWig.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pysam

from seq2func import __version__
from seq2func.errors import InputError
from seq2func.io.motifs import Motif, load_jaspar_subset, motif_from_dict, motif_to_dict
from seq2func.simulate import cohort as cohort_mod
from seq2func.simulate import genome as genome_mod
from seq2func.simulate import tracks as tracks_mod
from seq2func.simulate.config import (
    C_CONSERVATION,
    C_EXPR_NOISE,
    C_GLOBAL,
    COMPENDIUM_TEMPLATES,
    TARGET_TEMPLATES,
    TF_ROLES,
    UBIQUITOUS,
    ModelParams,
    WorldConfig,
    config_for_scale,
    params_for_scale,
    rng_for,
)
from seq2func.simulate.expression import (
    ExpressionModel,
    haplotype_drives,
    site_drive,
    window_site_index,
    x_from_drive,
)
from seq2func.simulate.scanning import Scanner, Sites
from seq2func.transforms import parse_transform

log = logging.getLogger(__name__)

TRUTH_FORMAT = "seq2func-simulated-world/1"
TRANSFORMS = {"ATAC": "sum", "CAGE": "sum;soft_clip=32;sqrt"}


@dataclass
class ChromState:
    layout: genome_mod.ChromLayout
    codes: np.ndarray
    sites: Sites
    site_centre: np.ndarray  # start + width // 2
    site_acc: np.ndarray  # (n_ct, n_sites) act * acc * occ
    gene_drive: np.ndarray  # (n_genes, n_ct) reference drive
    gene_x: np.ndarray  # (n_genes, n_ct) reference linear expression


class World:
    """Global draws of a world plus chromosome regeneration."""

    def __init__(self, config: WorldConfig, seed: int, params: ModelParams | None = None,
                 motifs: list[Motif] | None = None, motif_provenance: dict | None = None):
        self.config = config
        self.seed = int(seed)
        self.params = params or params_for_scale(config.scale)
        if motifs is None:
            motifs, motif_provenance = load_jaspar_subset()
        self.motif_provenance = dict(motif_provenance or {})
        self.motifs = motifs
        names = [m.name for m in motifs]
        missing = [n for n in TF_ROLES if n not in names]
        if missing:
            raise ValueError(f"bundled motifs lack {missing}")
        self.scanner = Scanner.from_motifs(motifs, self.params)
        self.motif_probs = [m.probabilities(self.params.pseudocount) for m in motifs]
        self.tf_names = names
        self.acc_weight = np.array([TF_ROLES[n][1] for n in names])
        self.tx_weight = np.array([TF_ROLES[n][2] for n in names])
        self._make_cell_types()
        self.cage_kernel = tracks_mod.cage_kernel(self.params)
        self.samples = [f"IND{i + 1:04d}" for i in range(config.n_individuals)]
        self.n_genes = [max(1, int(round(config.genes_per_mb * L / 1e6))) for L in config.chrom_lengths]
        self.gene_offsets = list(np.concatenate([[0], np.cumsum(self.n_genes)[:-1]]).astype(int))

    # ------------------------------------------------------------------ global draws
    def _make_cell_types(self) -> None:
        cfg = self.config
        if cfg.n_compendium > len(COMPENDIUM_TEMPLATES) or cfg.n_target > len(TARGET_TEMPLATES):
            raise ValueError("too many cell types for the templates")
        rng = rng_for(self.seed, C_GLOBAL)
        idx = {n: i for i, n in enumerate(self.tf_names)}
        n_tf = len(self.tf_names)
        cts = []
        specs = [(n, tfs, None, "compendium") for n, tfs in COMPENDIUM_TEMPLATES[: cfg.n_compendium]]
        specs += [(n, tfs, rest, "target") for n, tfs, rest in TARGET_TEMPLATES[: cfg.n_target]]
        for name, tfs, rest, role in specs:
            a = np.zeros(n_tf)
            for tf, (cat, _, _) in TF_ROLES.items():
                i = idx[tf]
                if cat == "architectural":
                    a[i] = rng.uniform(0.9, 1.1)
                elif cat == "ubiquitous":
                    a[i] = rng.uniform(0.8, 1.2)
                elif cat == "repressor":
                    a[i] = rng.uniform(0.8, 1.2) * (1.0 if rest is None else rest)
                elif cat == "lineage":
                    leak = rng.random() < 0.3  # weak activity of other lineages' TFs
                    a[i] = rng.uniform(0.0, 0.3) if leak else 0.0
                # target_only stays 0 unless listed below
            for tf in tfs:
                a[idx[tf]] = rng.uniform(1.2, 2.0)
            if role == "compendium":
                depth_atac = float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))
                depth_cage = float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))
            else:
                first = not any(c["role"] == "target" for c in cts)
                depth_atac = 0.35 if first else float(np.exp(rng.uniform(np.log(0.4), np.log(0.8))))
                depth_cage = 0.5 if first else float(np.exp(rng.uniform(np.log(0.4), np.log(0.8))))
            cts.append({"name": name, "role": role, "lineage_tfs": list(tfs), "activity": a,
                        "atac_depth": depth_atac, "cage_depth": depth_cage})
        self.cell_types = cts
        self.cell_type_names = [c["name"] for c in cts]
        self.activity = np.stack([c["activity"] for c in cts])
        if cfg.personal_cell_type not in self.cell_type_names:
            raise ValueError(f"personal cell type {cfg.personal_cell_type} is not in this world")
        self.personal_index = self.cell_type_names.index(cfg.personal_cell_type)
        self.personal_tx = self.activity[self.personal_index] * self.tx_weight
        self.tracks = []
        for ci, c in enumerate(cts):
            for assay in ("ATAC", "CAGE"):
                tid = f"{assay}_{c['name']}"
                self.tracks.append({"track_id": tid, "cell_type": c["name"], "ct_index": ci, "assay": assay,
                                    "role": c["role"], "depth": c["atac_depth"] if assay == "ATAC" else c["cage_depth"],
                                    "file": f"tracks/{tid}.bw", "transform": TRANSFORMS[assay]})
        self.gene_programs = ["housekeeping"] + self.cell_type_names
        self.program_tfs = {"housekeeping": tuple(UBIQUITOUS)}
        for c in cts:
            self.program_tfs[c["name"]] = tuple(c["lineage_tfs"])
        others = [n for n in self.cell_type_names if n != cfg.personal_cell_type]
        probs = {"housekeeping": 0.3, cfg.personal_cell_type: 0.2}
        for n in others:
            probs[n] = 0.5 / len(others)
        self.gene_program_probs = np.array([probs[p] for p in self.gene_programs])

    # ------------------------------------------------------------------ chromosomes
    def chrom_index(self, chrom: str) -> int:
        """The 0-based index of a chromosome of this world.

        Parameters
        ----------
        chrom : str
            A chromosome name (``chr1``, ``chr2``, ...).

        Returns
        -------
        int

        Raises
        ------
        ValueError
            When the world has no such chromosome.
        """
        return self.config.chroms.index(chrom)

    def layout(self, ci: int) -> genome_mod.ChromLayout:
        """Regenerate the layout (genes, planted elements, N runs, blacklist) of one chromosome.

        Parameters
        ----------
        ci : int
            0-based chromosome index.

        Returns
        -------
        seq2func.simulate.genome.ChromLayout
        """
        return genome_mod.make_layout(self, ci, self.gene_offsets[ci])

    def chromosome(self, ci: int | str) -> ChromState:
        """Regenerate chromosome ``ci`` (index or name): layout, sequence, sites, gene expression.

        Parameters
        ----------
        ci : int or str
            0-based chromosome index or chromosome name.

        Returns
        -------
        ChromState
            Layout, sequence codes, sites, per-cell-type site accessibility and the genes'
            reference drive and linear expression ``(n_genes, n_cell_types)``.
        """
        if isinstance(ci, str):
            ci = self.chrom_index(ci)
        lay = self.layout(ci)
        codes = genome_mod.make_sequence(self, lay)
        sites = self.scanner.scan(codes)
        centre = sites.start + sites.width // 2
        acc_val = self.activity * self.acc_weight[None, :]
        site_acc = acc_val[:, sites.tf] * sites.occ[None, :]
        vals = self.activity * self.tx_weight[None, :]
        drive = np.zeros((len(lay.genes), len(self.cell_types)))
        for gi, g in enumerate(lay.genes):
            idx = window_site_index(sites, g.tss, self.params)
            s = sites.take(idx)
            drive[gi] = site_drive(s.start, s.width, s.tf, s.occ, float(g.tss), vals, self.params)
        return ChromState(lay, codes, sites, centre, site_acc, drive, x_from_drive(drive, self.params))

    def coverage(self, chrom: str, track_id: str, cs: ChromState | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(expected float64, observed int64) coverage of one track over one whole chromosome.

        Parameters
        ----------
        chrom : str
            Chromosome name.
        track_id : str
            One of the world's tracks (e.g. ``ATAC_neuron``).
        cs : ChromState, optional
            The chromosome, when already regenerated (default: regenerate it).

        Returns
        -------
        tuple of (numpy.ndarray, numpy.ndarray)
            Per-base expected (Poisson mean) and observed coverage, each ``(chromosome length,)``,
            exactly as written to the track's bigWig.
        """
        ci = self.chrom_index(chrom)
        cs = cs or self.chromosome(ci)
        ti = [t["track_id"] for t in self.tracks].index(track_id)
        track = self.tracks[ti]
        L = cs.layout.length
        lams, obss = [], []
        for k, a in enumerate(range(0, L, self.config.chunk_bp)):
            b = min(L, a + self.config.chunk_bp)
            lam = tracks_mod.expected_chunk(self, cs, track, a, b)
            lams.append(lam)
            obss.append(tracks_mod.observed_chunk(self, ti, ci, k, lam))
        return np.concatenate(lams), np.concatenate(obss)

    def expression_model(self) -> ExpressionModel:
        return ExpressionModel(self.scanner, self.params, self.cell_type_names, self.activity, self.tx_weight)

    @classmethod
    def load(cls, outdir: str | os.PathLike) -> "World":
        """The world that wrote ``outdir`` (from its truth.json).

        Parameters
        ----------
        outdir : str or os.PathLike
            A directory written by :func:`simulate_world`.

        Returns
        -------
        World
        """
        with open(Path(outdir) / "truth.json") as fh:
            truth = json.load(fh)
        return cls.from_truth(truth)

    @classmethod
    def from_truth(cls, truth: dict) -> "World":
        """The world described by a truth.json dict (its own motifs, config, seed and constants).

        Parameters
        ----------
        truth : dict
            Parsed truth.json (``config``, ``params``, ``seed``, ``motifs``).

        Returns
        -------
        World
        """
        cfg = WorldConfig.from_dict(truth["config"])
        p = dict(truth["params"])
        p["background"] = tuple(p["background"])
        motifs = [motif_from_dict(t) for t in truth["motifs"]["tfs"]]
        return cls(cfg, truth["seed"], ModelParams.from_dict(p), motifs, truth["motifs"].get("provenance"))

    def cohort(self, ci: int | str, cs: ChromState | None = None):
        """(variants, haplotype alleles (n_var x 2N), missing mask) of one chromosome.

        Parameters
        ----------
        ci : int or str
            0-based chromosome index or chromosome name.
        cs : ChromState, optional
            The chromosome, when already regenerated (default: regenerate it).

        Returns
        -------
        tuple
            The :class:`seq2func.simulate.cohort.Variants`, the allele index of every haplotype
            ``(n_var, 2 * n_individuals)`` (individual ``i``'s haplotypes are columns ``2i`` and
            ``2i + 1``), and the mask of alleles written as missing (same shape).
        """
        if isinstance(ci, str):
            ci = self.chrom_index(ci)
        cs = cs or self.chromosome(ci)
        v = cohort_mod.make_variants(self, cs)
        H, miss = cohort_mod.make_genotypes(self, cs, v)
        return v, H, miss

    def personal_expression(self, chrom: str) -> tuple[list[str], np.ndarray]:
        """(gene ids, noise-free log2 expression genes x individuals) of one chromosome.

        Parameters
        ----------
        chrom : str
            Chromosome name.

        Returns
        -------
        tuple of (list of str, numpy.ndarray)
            The chromosome's gene IDs and their expression in the personal cell type,
            ``(n_genes, n_individuals)``.
        """
        cs = self.chromosome(chrom)
        v, H, _ = self.cohort(chrom, cs)
        y, _ = _personal_expression(self, cs, v, H)
        return [g.gene_id for g in cs.layout.genes], y


def load_world(outdir: str | os.PathLike) -> World:
    """The world that wrote ``outdir`` (see :meth:`World.load`).

    Parameters
    ----------
    outdir : str or os.PathLike
        A directory written by :func:`simulate_world`.

    Returns
    -------
    World
    """
    return World.load(outdir)


def expression_model(truth_or_outdir) -> ExpressionModel:
    """The truth expression model of a world (``truth.json`` dict or the world's directory).

    Parameters
    ----------
    truth_or_outdir : dict or str or os.PathLike
        A parsed truth.json, or a directory written by :func:`simulate_world`.

    Returns
    -------
    ExpressionModel
    """
    if isinstance(truth_or_outdir, dict):
        return World.from_truth(truth_or_outdir).expression_model()
    return World.load(truth_or_outdir).expression_model()


# ---------------------------------------------------------------------- writing
def _table(columns: list[str], rows: list[list]) -> dict:
    return {"columns": columns, "rows": rows}


def _personal_expression(world: World, cs: ChromState, v, H: np.ndarray):
    """Noise-free log2 expression (genes x individuals), per-gene effects of every variant."""
    P = world.params
    val = world.personal_tx
    n_ind = world.config.n_individuals
    ext = P.window_bp + P.margin_bp
    y = np.zeros((len(cs.layout.genes), n_ind))
    effects = []  # (variant index, gene index, allele, effect)
    for gi, g in enumerate(cs.layout.genes):
        sidx = window_site_index(cs.sites, g.tss, P)
        s = cs.sites.take(sidx)
        a = int(np.searchsorted(v.pos, g.tss - ext))
        b = int(np.searchsorted(v.pos, g.tss + ext))
        # variants whose REF span lies inside the window
        vi = np.arange(a, b)
        vi = vi[v.pos[vi] + v.ref_len[vi] <= g.tss + ext]
        sel = np.isin(v.alt_rows["var"], vi)
        remap = -np.ones(len(v), np.int64)
        remap[vi] = np.arange(vi.size)
        alt_rows = {k: x[sel] for k, x in v.alt_rows.items()}
        alt_rows["var"] = remap[alt_rows["var"]]
        args = (s, g.tss, v.pos[vi], v.ref_len[vi], v.delta[vi], alt_rows)
        A = H[vi].T.astype(np.int64)  # (2N, nv)
        uniq, inv = np.unique(A, axis=0, return_inverse=True)
        drive_u = haplotype_drives(*args, uniq, val, P)
        x_u = x_from_drive(drive_u, P)
        xh = x_u[np.asarray(inv).reshape(-1)]
        y[gi] = np.log2((xh[0::2] + xh[1::2]) / 2.0)
        # single-allele effects on the reference background
        single = [np.zeros(vi.size, np.int64)]
        keys = []
        for k, j in enumerate(vi):
            for al in range(1, len(v.alts[j]) + 1):
                r = np.zeros(vi.size, np.int64)
                r[k] = al
                single.append(r)
                keys.append((int(j), al))
        if keys:
            d = haplotype_drives(*args, np.stack(single), val, P)
            lx = np.log2(x_from_drive(d, P))
            eff = lx[1:] - lx[0]
            for (j, al), e in zip(keys, eff):
                if abs(e) >= 1e-3:
                    effects.append((j, gi, al, float(e)))
    return y, effects


def simulate_world(outdir: str | os.PathLike, scale: str = "tiny", seed: int = 1,
                   config: WorldConfig | None = None) -> dict[str, Path]:
    """Write the world into ``outdir`` (see docs/developers.md for the file contract).

    Parameters
    ----------
    outdir : str or os.PathLike
        The output directory (created when missing; outputs already there are replaced). The world is
        written to ``<outdir>/.simulate_world.tmp`` first and moved in only when complete.
    scale : str, optional
        ``tiny``, ``small`` or ``large`` (ignored when ``config`` is given).
    seed : int, optional
        The world's seed: same ``(scale, seed)``, byte-identical files.
    config : WorldConfig, optional
        A configuration to use instead of the scale's.

    Returns
    -------
    dict
        Name -> path of every output (``fasta``, ``gtf``, ``vcf``, ``truth``, ``tracks``, ...).

    Raises
    ------
    InputError
        When ``outdir`` exists and is not a directory.
    """
    t0 = time.time()
    cfg = config or config_for_scale(scale)
    world = World(cfg, seed)
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise InputError("--outdir", None, f"{outdir} exists and is not a directory")
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = outdir / ".simulate_world.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "tracks").mkdir(parents=True)
    (tmp / "peaks").mkdir()
    try:
        _write_world(world, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # publish
    for name in sorted(os.listdir(tmp)):
        dst = outdir / name
        if dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)
        os.replace(tmp / name, dst)
    tmp.rmdir()
    log.info("world written to %s in %.1fs", outdir, time.time() - t0)
    return {
        "outdir": outdir, "fasta": outdir / "genome.fa", "fai": outdir / "genome.fa.fai", "gtf": outdir / "genes.gtf",
        "tss_bed": outdir / "tss.bed", "blacklist": outdir / "blacklist.bed", "samplesheet": outdir / "samplesheet.csv",
        "samplesheet_peaks": outdir / "samplesheet_peaks.csv", "vcf": outdir / "cohort.vcf.gz",
        "tbi": outdir / "cohort.vcf.gz.tbi", "expression": outdir / "expression.tsv", "asv_labels": outdir / "asv_labels.tsv",
        "truth": outdir / "truth.json", "tracks": outdir / "tracks", "peaks": outdir / "peaks",
        "conservation": outdir / "conservation.bw", "variants": outdir / "variants.vcf.gz",
    }


def _write_variants_to_score(tmp: Path) -> None:
    """``variants.vcf.gz`` (+ ``.tbi``): the sites of the cohort VCF that the variant benchmark
    labels (``asv_labels.tsv``) or that are causal (truth), without genotypes (INFO ``AF`` kept):
    what ``-profile test`` scores with SCORE_VARIANTS."""
    with open(tmp / "asv_labels.tsv") as fh:
        want = {line.split("\t", 1)[0] for line in fh.readlines()[1:]}
    with open(tmp / "truth.json") as fh:
        want |= {c["variant_id"] for c in json.load(fh)["causal_variants"]}
    with pysam.VariantFile(str(tmp / "cohort.vcf.gz")) as vin:
        text = []
        for line in str(vin.header).splitlines():
            if line.startswith("##FORMAT"):
                continue
            if line.startswith("#CHROM"):
                line = "\t".join(line.split("\t")[:8])
            text.append(line)
        for rec in vin:
            if rec.id in want:
                text.append("\t".join(str(rec).rstrip("\n").split("\t")[:8]))
    out = tmp / "variants.vcf"
    out.write_text("\n".join(text) + "\n")
    pysam.tabix_index(str(out), preset="vcf", force=True)  # bgzips to variants.vcf.gz


CONSERVATION_STEP = 10  # bp per conservation value


def conservation_track(layout, length: int, rng: np.random.Generator,
                       step: int = CONSERVATION_STEP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A GERP-like conservation score for one chromosome, ``step``-bp bins: neutral noise
    (N(-0.5, 0.8)) everywhere, and each planted motif instance's bins raised by one draw of
    U(2.5, 5.0), as constrained sites score in GERP RS. Returns ``(starts, ends, values)`` for
    ``pyBigWig.addEntries``; its own RNG component, so no other output of the world changes.

    Parameters
    ----------
    layout : seq2func.simulate.genome.ChromLayout
        The chromosome's layout (its planted ``instances``).
    length : int
        Chromosome length (bp).
    rng : numpy.random.Generator
        The conservation component's generator.
    step : int, optional
        Bin size (bp).

    Returns
    -------
    tuple of numpy.ndarray
        Bin starts and ends (int64; the last bin ends at ``length``) and scores (float64).
    """
    n = -(-int(length) // step)
    vals = rng.normal(-0.5, 0.8, size=n)
    for inst in layout.instances:
        a, b = int(inst.start) // step, -(-int(inst.end) // step)
        vals[a:b] += rng.uniform(2.5, 5.0)
    starts = np.arange(n, dtype=np.int64) * step
    ends = np.minimum(starts + step, int(length))
    return starts, ends, vals.astype(np.float64)


@dataclass
class _TrackWriters:
    """The open bigWigs and per-track accumulators of :func:`_write_world`."""

    bws: list  # one pyBigWig writer per track
    cons_bw: Any  # conservation.bw
    peak_callers: dict  # track index -> tracks.PeakCaller (ATAC tracks)
    peak_counters: dict  # track index -> [number of peaks written]
    noise: list  # one tracks.NoiseStats per track
    ceilings: list  # one tracks.TransformedCeiling per track


@dataclass
class _TextOutputs:
    """The open FASTA, annotation, VCF, expression and label files of :func:`_write_world`."""

    fasta: Any
    gtf: Any
    tss_bed: Any
    bl_bed: Any
    vcf: Any
    expr: Any
    asv: Any


@dataclass
class _TruthTables:
    """What :func:`_write_world` collects, chromosome by chromosome, for ``truth.json``."""

    genes: list = field(default_factory=list)
    inst: list = field(default_factory=list)
    elem: list = field(default_factory=list)
    causal: list = field(default_factory=list)
    eff: list = field(default_factory=list)
    chrom_info: list = field(default_factory=list)
    counts: dict = field(default_factory=lambda: {
        "variants": 0, "snv": 0, "indel": 0, "insertion": 0, "deletion": 0, "multiallelic": 0,
        "missing_alleles": 0, "missing_both": 0, "asv_rows": 0, "asv_positive": 0})
    maf_hist: np.ndarray = field(default_factory=lambda: np.zeros(6, dtype=np.int64))
    maf_edges: list = field(default_factory=lambda: [0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5])


def _open_track_writers(stack: contextlib.ExitStack, world: World, tmp: Path) -> _TrackWriters:
    """Open the tracks' and the conservation bigWigs and the ATAC tracks' narrowPeak files.

    Parameters
    ----------
    stack : contextlib.ExitStack
        Closes what is opened.
    world : World
        The world.
    tmp : Path
        The output directory.

    Returns
    -------
    _TrackWriters
        The writers and the per-track accumulators.
    """
    # deferred: pyBigWig only to write a world; loading one (load_world, expression_model, truth) stays light
    import pyBigWig

    cfg, P = world.config, world.params
    header = [(c, int(n)) for c, n in zip(cfg.chroms, cfg.chrom_lengths)]
    bws = []
    for t in world.tracks:
        bw = pyBigWig.open(str(tmp / t["file"]), "w")
        stack.callback(bw.close)
        bw.addHeader(header)
        bws.append(bw)
    cons_bw = pyBigWig.open(str(tmp / "conservation.bw"), "w")
    stack.callback(cons_bw.close)
    cons_bw.addHeader(header)
    peak_callers, peak_counters = {}, {}
    for ti, t in enumerate(world.tracks):
        if t["assay"] == "ATAC":
            fh = stack.enter_context(open(tmp / "peaks" / f"{t['track_id']}.narrowPeak", "w"))
            peak_counters[ti] = [0]
            peak_callers[ti] = tracks_mod.PeakCaller(fh, t, P, peak_counters[ti])
    noise = [tracks_mod.NoiseStats(P.bin_bp) for _ in world.tracks]
    ceilings = [tracks_mod.TransformedCeiling(P.bin_bp, parse_transform(t["transform"])) for t in world.tracks]
    return _TrackWriters(bws, cons_bw, peak_callers, peak_counters, noise, ceilings)


def _open_text_outputs(stack: contextlib.ExitStack, world: World, tmp: Path) -> _TextOutputs:
    """Open the FASTA, GTF, TSS BED, blacklist BED, cohort VCF, expression and ASV label files
    and write their headers.

    Parameters
    ----------
    stack : contextlib.ExitStack
        Closes what is opened.
    world : World
        The world.
    tmp : Path
        The output directory.

    Returns
    -------
    _TextOutputs
        The open files.
    """
    cfg, seed = world.config, world.seed
    fasta = stack.enter_context(open(tmp / "genome.fa", "wb"))
    gtf = stack.enter_context(open(tmp / "genes.gtf", "w"))
    tss_bed = stack.enter_context(open(tmp / "tss.bed", "w"))
    bl_bed = stack.enter_context(open(tmp / "blacklist.bed", "w"))
    vcf = pysam.libcbgzf.BGZFile(str(tmp / "cohort.vcf.gz"), "wb")
    stack.callback(vcf.close)
    vcf.write(cohort_mod.vcf_header(world).encode())
    expr = stack.enter_context(open(tmp / "expression.tsv", "w"))
    expr.write("gene_id\t" + "\t".join(world.samples) + "\n")
    asv = stack.enter_context(open(tmp / "asv_labels.tsv", "w"))
    asv.write("variant_id\tchrom\tpos\tref\talt\tcell_type\tlabel\tdirection\n")
    gtf.write(f"#!simulated by seq2func.simulate scale={cfg.scale} seed={seed}\n")
    return _TextOutputs(fasta, gtf, tss_bed, bl_bed, vcf, expr, asv)


def _write_annotation(out: _TextOutputs, chrom: str, cs: ChromState) -> None:
    """Append the chromosome's FASTA record, genes (GTF, TSS BED) and blacklist intervals.

    Parameters
    ----------
    out : _TextOutputs
        The open files.
    chrom : str
        Chromosome name.
    cs : ChromState
        The chromosome.

    Returns
    -------
    None
    """
    lay = cs.layout
    genome_mod.write_fasta_record(out.fasta, chrom, cs.codes)
    for g in lay.genes:
        s = "+" if g.strand > 0 else "-"
        base = f'gene_id "{g.gene_id}"; gene_name "{g.name}"; gene_biotype "protein_coding";'
        tr = base + f' transcript_id "{g.gene_id}.1";'
        out.gtf.write(f"{chrom}\tseq2func\tgene\t{g.start + 1}\t{g.end}\t.\t{s}\t.\t{base}\n")
        out.gtf.write(f"{chrom}\tseq2func\ttranscript\t{g.start + 1}\t{g.end}\t.\t{s}\t.\t{tr}\n")
        out.gtf.write(f"{chrom}\tseq2func\texon\t{g.start + 1}\t{g.end}\t.\t{s}\t.\t{tr} exon_number \"1\";\n")
        out.tss_bed.write(f"{chrom}\t{g.tss}\t{g.tss + 1}\t{g.gene_id}\t0\t{s}\n")
    for a, b in lay.blacklist:
        out.bl_bed.write(f"{chrom}\t{a}\t{b}\n")


def _write_chrom_tracks(world: World, ci: int, chrom: str, cs: ChromState, tw: _TrackWriters) -> None:
    """Write the chromosome's coverage of every track (chunk by chunk), peaks and conservation.

    Parameters
    ----------
    world : World
        The world.
    ci : int
        Chromosome index.
    chrom : str
        Chromosome name.
    cs : ChromState
        The chromosome.
    tw : _TrackWriters
        The bigWig writers and per-track accumulators (fed).

    Returns
    -------
    None
    """
    cfg, seed = world.config, world.seed
    lay = cs.layout
    L = lay.length
    for pc in tw.peak_callers.values():
        pc.start_chrom(chrom)
    for k, a in enumerate(range(0, L, cfg.chunk_bp)):
        b = min(L, a + cfg.chunk_bp)
        bad = np.zeros(b - a, dtype=bool)
        for s_, e_ in lay.blacklist:
            s2, e2 = max(s_, a), min(e_, b)
            if s2 < e2:
                bad[s2 - a : e2 - a] = True
        for ti, t in enumerate(world.tracks):
            lam = tracks_mod.expected_chunk(world, cs, t, a, b)
            obs = tracks_mod.observed_chunk(world, ti, ci, k, lam)
            st, en, vals = tracks_mod.run_length(obs, a)
            tw.bws[ti].addEntries([chrom] * st.size, st, ends=en, values=vals)
            tw.noise[ti].feed(lam, obs, bad)
            tw.ceilings[ti].feed(chrom, lam, obs, bad)
            if ti in tw.peak_callers:
                tw.peak_callers[ti].feed(a, lam, obs)
    for pc in tw.peak_callers.values():
        pc.end_chrom(L)
    st, en, vals = conservation_track(lay, L, rng_for(seed, C_CONSERVATION, ci))
    tw.cons_bw.addEntries([chrom] * st.size, st, ends=en, values=vals)


def _write_cohort(world: World, ci: int, cs: ChromState, vcf, tables: _TruthTables):
    """Draw the chromosome's cohort, append its VCF records and count its variants.

    Parameters
    ----------
    world : World
        The world.
    ci : int
        Chromosome index.
    cs : ChromState
        The chromosome.
    vcf : pysam.libcbgzf.BGZFile
        The cohort VCF.
    tables : _TruthTables
        Its ``counts`` and ``maf_hist`` are updated.

    Returns
    -------
    v : object
        The variants.
    H : numpy.ndarray
        Their haplotype alleles (variants x 2N).
    miss : numpy.ndarray
        Which alleles are missing.
    """
    counts = tables.counts
    v, H, miss = world.cohort(ci, cs)
    cohort_mod.write_vcf_records(vcf, v, H, miss)
    counts["variants"] += len(v)
    for kd in v.kind:
        if kd == "snv":
            counts["snv"] += 1
        elif kd == "multi":
            counts["multiallelic"] += 1
        else:
            counts["indel"] += 1
            counts["insertion" if kd == "ins" else "deletion"] += 1
    counts["missing_alleles"] += int(miss.sum())
    counts["missing_both"] += int((miss[:, 0::2] & miss[:, 1::2]).sum())
    if len(v):
        af = (H > 0).mean(axis=1)
        maf = np.minimum(af, 1 - af)
        tables.maf_hist += np.histogram(maf, bins=tables.maf_edges)[0]
    return v, H, miss


def _write_expression(world: World, ci: int, cs: ChromState, v, H: np.ndarray, out: _TextOutputs,
                      tables: _TruthTables) -> tuple[np.ndarray, list]:
    """Append the chromosome's observed expression rows and allele-specific variant labels.

    Parameters
    ----------
    world : World
        The world.
    ci : int
        Chromosome index.
    cs : ChromState
        The chromosome.
    v : object
        The chromosome's variants.
    H : numpy.ndarray
        Their haplotype alleles.
    out : _TextOutputs
        The open files (expression, ASV labels).
    tables : _TruthTables
        Its ``counts`` (ASV rows) are updated.

    Returns
    -------
    y : numpy.ndarray
        Noise-free log2 expression (genes x individuals).
    effects : list
        Per-gene effects of every variant (variant index, gene index, allele, effect).
    """
    P = world.params
    y, effects = _personal_expression(world, cs, v, H)
    rng_e = rng_for(world.seed, C_EXPR_NOISE, ci)
    noise_e = rng_e.normal(0.0, P.noise_sd, size=y.shape)
    yo = y + noise_e
    for gi, g in enumerate(cs.layout.genes):
        out.expr.write(g.gene_id + "\t" + "\t".join(f"{x:.6f}" for x in yo[gi]) + "\n")
    rows = cohort_mod.asv_rows(world, cs, v)
    for r in rows:
        out.asv.write("\t".join(str(x) for x in r) + "\n")
    tables.counts["asv_rows"] += len(rows)
    tables.counts["asv_positive"] += sum(1 for r in rows if r[6] == 1)
    return y, effects


def _truth_layout_rows(world: World, chrom: str, cs: ChromState, y: np.ndarray, tables: _TruthTables) -> None:
    """Collect the chromosome's genes, planted instances and elements for the truth.

    Parameters
    ----------
    world : World
        The world.
    chrom : str
        Chromosome name.
    cs : ChromState
        The chromosome.
    y : numpy.ndarray
        Noise-free log2 expression (genes x individuals).
    tables : _TruthTables
        Its ``genes``, ``inst`` and ``elem`` are extended.

    Returns
    -------
    None
    """
    P, sc = world.params, world.scanner
    lay = cs.layout
    var_g = y.var(axis=1)
    pi = world.personal_index
    for gi, g in enumerate(lay.genes):
        klass = g.klass
        if klass == "null" and var_g[gi] > 1e-12:
            klass = "other"
        tables.genes.append([
            g.gene_id, g.name, chrom, g.tss, "+" if g.strand > 0 else "-", g.start, g.end, g.program, klass,
            [float(x) for x in np.log2(cs.gene_x[gi])], float(cs.gene_drive[gi, pi]), float(y[gi].mean()),
            float(var_g[gi]), float(var_g[gi] / (var_g[gi] + P.noise_sd ** 2)),
        ])
    for inst in lay.instances:
        tables.inst.append([inst.iid, chrom, inst.start, inst.end, "+" if inst.strand > 0 else "-",
                            sc.names[inst.tf], world.motifs[inst.tf].matrix_id, inst.element, inst.element_id,
                            inst.gene_id, genome_mod.LETTERS[inst.seq].tobytes().decode()])
    tables.elem.extend(lay.elements)


def _truth_variant_rows(world: World, chrom: str, cs: ChromState, v, H: np.ndarray, effects: list,
                        tables: _TruthTables) -> None:
    """Collect the chromosome's variant-gene effects and causal variants for the truth.

    Parameters
    ----------
    world : World
        The world.
    chrom : str
        Chromosome name.
    cs : ChromState
        The chromosome.
    v : object
        The chromosome's variants.
    H : numpy.ndarray
        Their haplotype alleles.
    effects : list
        Per-gene effects of every variant (variant index, gene index, allele, effect).
    tables : _TruthTables
        Its ``eff`` and ``causal`` are extended.

    Returns
    -------
    None
    """
    sc = world.scanner
    lay = cs.layout
    gene_ids = [g.gene_id for g in lay.genes]
    eff_by_var: dict[int, list] = {}
    for j, gi, al, e in effects:
        eff_by_var.setdefault(j, []).append((gene_ids[gi], al, e))
        tables.eff.append([v.ids[j], gene_ids[gi], v.alts[j][al - 1], e])
    for j in np.flatnonzero(v.design >= 0):
        d = lay.designs[int(v.design[j])]
        ge = {gid: e for gid, al, e in eff_by_var.get(int(j), [])}
        main = ge.get(d.gene_id, 0.0)
        af = float((H[j] == 1).mean())
        tables.causal.append({
            "variant_id": v.ids[j], "chrom": chrom, "pos": int(v.pos[j]) + 1, "ref": v.ref[j], "alt": v.alts[j][0],
            "kind": d.kind, "tf": sc.names[d.tf], "matrix_id": world.motifs[d.tf].matrix_id, "instance_id": d.iid,
            "element": d.element, "gene_id": d.gene_id, "effect_log2": main, "sign": int(np.sign(main)),
            "effects_by_gene": ge, "alt_frequency": af,
            "accessibility_effect": {ct: float(v.dacc[j, 1, k]) for k, ct in enumerate(world.cell_type_names)},
        })


def _write_chrom(world: World, ci: int, chrom: str, tw: _TrackWriters, out: _TextOutputs,
                 tables: _TruthTables) -> None:
    """Write everything of one chromosome and collect its truth tables.

    Parameters
    ----------
    world : World
        The world.
    ci : int
        Chromosome index.
    chrom : str
        Chromosome name.
    tw : _TrackWriters
        The bigWig writers and per-track accumulators.
    out : _TextOutputs
        The open text files.
    tables : _TruthTables
        The truth tables, extended.

    Returns
    -------
    None
    """
    tc = time.time()
    cs = world.chromosome(ci)
    lay = cs.layout
    L = lay.length
    _write_annotation(out, chrom, cs)
    # tracks, chunk by chunk
    _write_chrom_tracks(world, ci, chrom, cs, tw)
    # cohort
    v, H, miss = _write_cohort(world, ci, cs, out.vcf, tables)
    y, effects = _write_expression(world, ci, cs, v, H, out, tables)
    # truth tables
    _truth_layout_rows(world, chrom, cs, y, tables)
    _truth_variant_rows(world, chrom, cs, v, H, effects, tables)
    tables.chrom_info.append({"name": chrom, "length": L, "n_runs": [list(x) for x in lay.n_runs],
                              "blacklist": [list(x) for x in lay.blacklist], "n_genes": len(lay.genes),
                              "n_instances": len(lay.instances), "n_sites": len(cs.sites), "n_variants": len(v)})
    log.info("%s: %d bp, %d genes, %d variants (%.1fs)", chrom, L, len(lay.genes), len(v), time.time() - tc)


def _write_samplesheets(world: World, tmp: Path) -> None:
    """Write ``samplesheet.csv`` (bigWig tracks) and ``samplesheet_peaks.csv`` (ATAC narrowPeaks).

    Parameters
    ----------
    world : World
        The world.
    tmp : Path
        The output directory.

    Returns
    -------
    None
    """
    cols = ["track_id", "cell_type", "assay", "file", "role", "transform", "strand"]
    with open(tmp / "samplesheet.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for t in world.tracks:
            parse_transform(t["transform"])
            w.writerow([t["track_id"], t["cell_type"], t["assay"], t["file"], t["role"], t["transform"], "."])
    with open(tmp / "samplesheet_peaks.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for t in world.tracks:
            if t["assay"] == "ATAC":
                w.writerow([t["track_id"], t["cell_type"], t["assay"], f"peaks/{t['track_id']}.narrowPeak", t["role"], "", "."])


def _write_world(world: World, tmp: Path) -> None:
    """Write every file of the world into ``tmp`` (streaming, one chromosome at a time)."""
    with contextlib.ExitStack() as stack:
        tw = _open_track_writers(stack, world, tmp)
        out = _open_text_outputs(stack, world, tmp)
        tables = _TruthTables()
        for ci, chrom in enumerate(world.config.chroms):
            _write_chrom(world, ci, chrom, tw, out, tables)

    pysam.faidx(str(tmp / "genome.fa"))
    pysam.tabix_index(str(tmp / "cohort.vcf.gz"), preset="vcf", force=True)

    # samplesheets
    _write_samplesheets(world, tmp)

    truth = _truth(world, tables.chrom_info, tables.genes, tables.inst, tables.elem, tables.causal, tables.eff,
                   tables.counts, tables.maf_edges, tables.maf_hist, tw.noise, tw.peak_counters, tw.ceilings)
    with open(tmp / "truth.json", "w") as fh:
        json.dump(truth, fh, indent=1)
        fh.write("\n")
    _write_variants_to_score(tmp)


def _enhancer_distances(genes: list, elems: list[dict]) -> dict:
    """Distribution of |enhancer centre - TSS| of the genes' own planted enhancers (bp)."""
    tss = {g[0]: int(g[3]) for g in genes}
    d = np.array([abs(int(e["centre"]) - tss[e["gene_id"]]) for e in elems
                  if e["kind"] == "enhancer" and e["gene_id"] in tss], dtype=np.float64)
    if d.size == 0:
        return {"n": 0}
    q = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
    return {"n": int(d.size), "quantiles": {f"{x:g}": float(np.quantile(d, x)) for x in q},
            "mean": float(d.mean()), "histogram_1kb": np.bincount((d // 1000).astype(np.int64)).tolist()}


def _truth(world: World, chrom_info, genes, inst, elems, causal, eff, counts, maf_edges, maf_hist, noise, peak_counters,
           ceilings) -> dict:
    cfg, P, sc = world.config, world.params, world.scanner
    tfs = []
    for i, m in enumerate(world.motifs):
        cat, acc, tx = TF_ROLES[m.name]
        d = motif_to_dict(m)
        tfs.append({"name": m.name, "matrix_id": m.matrix_id, "species": d["species"], "tf_class": d["tf_class"],
                    "width": m.width, "category": cat,
                    "acc_weight": acc, "tx_weight": tx, "threshold": float(sc.thresholds[i]),
                    "counts": d["counts"], "log_odds": [[float(x) for x in row] for row in sc.log_odds[i]]})
    tracks = []
    for ti, t in enumerate(world.tracks):
        e = {k: t[k] for k in ("track_id", "cell_type", "assay", "role", "file", "transform", "depth")}
        e["noise_ceiling"] = noise[ti].result()
        e["ceilings"] = ceilings[ti].result()
        if ti in peak_counters:
            e["n_peaks"] = peak_counters[ti][0]
            e["peaks_file"] = f"peaks/{t['track_id']}.narrowPeak"
        tracks.append(e)
    return {
        "format": TRUTH_FORMAT,
        "generator": {"package": "seq2func", "version": __version__, "module": "seq2func.simulate"},
        "scale": cfg.scale,
        "seed": world.seed,
        "config": cfg.to_dict(),
        "params": P.to_dict(),
        "genome": {
            "chromosomes": chrom_info,
            "background_model": {
                "kind": "first-order Markov chain per 500-bp segment",
                "isochore_bp": genome_mod.ISOCHORE_BP, "isochore_gc": list(genome_mod.ISOCHORE_GC),
                "cpg_factor": genome_mod.CPG_FACTOR, "cgi_gc": genome_mod.CGI_GC,
                "cgi_cpg_factor": genome_mod.CGI_CPG_FACTOR, "cgi_half_bp": genome_mod.CGI_HALF_BP,
            },
        },
        "motifs": {"provenance": world.motif_provenance, "tfs": tfs},
        "occupancy": {
            "score": "sum over motif positions of ln(p / background); N scores n_log_odds",
            "probabilities": "p = (counts + pseudocount / 4) / (column total + pseudocount)",
            "threshold": "h = min(max(score with background tail probability bg_tail_p, planted_quantile of PWM-sample scores), max score - plant_margin - 0.5)",
            "occupancy": "occ = 1 / (1 + exp(-beta * (score - h))) if score >= h - cutoff else 0; both strands",
            "planting": "instances are PWM samples with score >= h + plant_margin, random strand",
        },
        "cell_types": [{"name": c["name"], "role": c["role"], "lineage_tfs": c["lineage_tfs"],
                        "activities": {tf: float(a) for tf, a in zip(world.tf_names, c["activity"])},
                        "atac_depth": c["atac_depth"], "cage_depth": c["cage_depth"]} for c in world.cell_types],
        "tracks": tracks,
        "track_model": {
            "ATAC": "lambda = depth * (atac_bg + atac_gain * boxfilter^passes(sum at site centres (start + width // 2) of activity * acc_weight * occ))",
            "CAGE": "lambda = depth * (cage_bg + cage_gain * sum over genes of x_ref(gene, cell type) * gaussian_kernel(pos - tss))",
            "N": "lambda = 0 in N runs",
            "blacklist": "lambda += depth * blacklist_level inside blacklist intervals",
            "observed": "Poisson(lambda) per base, bigWig runs of equal values covering every base",
            "noise_ceiling": "analytic_r = sqrt(Var(L) / (Var(L) + E[L])) over bin_bp bins of summed expected L, blacklist bins and partial last bins excluded; empirical_r = Pearson(expected, observed) binned",
            "ceilings": "per chromosome, on the samplesheet's transform f of the same bins (targets are float16): ceiling = Pearson(E[f(K) | L], f(O)), the best any predictor reaches; sequence_ceiling = Pearson(f(L), f(O)), a perfect sequence model",
            "core_promoter": "every TSS carries the core promoter (offset, sequence) pairs of params.core_promoter in transcript orientation, offset 0 = the TSS = the CAGE kernel centre; no cohort variant starts within 45 bp of a TSS",
            "peaks": "runs of expected lambda >= peak_fold * depth * atac_bg, length >= peak_min_bp",
        },
        "expression_model": {
            "formula": {
                "drive": "sum over sites of activity[tf] * tx_weight[tf] * occ * g(d), d = |start + (width - 1) / 2 - tss|",
                "g": "1 if d <= promoter_bp; enhancer_gain * exp(-(d - promoter_bp) / decay_bp) if d <= min(window_bp, reach_bp); else 0",
                "x": "x0 + x_scale * softplus(drive)",
                "individual": "log2((x_hap1 + x_hap2) / 2) + Normal(0, noise_sd^2)",
            },
            "window_bp": P.window_bp, "margin_bp": P.margin_bp, "promoter_bp": P.promoter_bp,
            "enhancer_gain": P.enhancer_gain, "decay_bp": P.decay_bp, "x0": P.x0, "x_scale": P.x_scale,
            "noise_sd": P.noise_sd, "reach_bp": P.reach_bp,
            "enhancer_distance_bp": _enhancer_distances(genes, elems),
            "personal_cell_type": cfg.personal_cell_type,
            "haplotype_window": "reference interval [tss - window_bp - margin_bp, tss + window_bp + margin_bp) with bcftools consensus -H 1 / -H 2; tss index shifted by the indels before it",
            "missing_policy": "missing alleles ('.') only ever hide REF alleles: treat them as REF",
            "expression_units": "expression.tsv holds observed log2 expression",
            "reference_log2x": "genes.rows[*].ref_log2x: per cell type (order of cell_types), reference genome",
        },
        "genes": _table(["gene_id", "gene_name", "chrom", "tss", "strand", "start", "end", "program", "class",
                         "ref_log2x", "ref_drive_personal", "mean_log2_personal", "var_genetic_personal",
                         "h2_personal"], genes),
        "instances": _table(["instance_id", "chrom", "start", "end", "strand", "tf", "matrix_id", "element",
                             "element_id", "gene_id", "sequence"], inst),
        "elements": elems,
        "causal_variants": causal,
        "variant_gene_effects": _table(["variant_id", "gene_id", "alt", "effect_log2"], eff),
        "cohort": {
            "n_individuals": cfg.n_individuals, "samples": world.samples, **counts,
            "maf_histogram": {"edges": maf_edges, "counts": [int(x) for x in maf_hist]},
            "ld": {"n_founders": cfg.n_founders, "block_mean_bp": cfg.ld_block_mean_bp, "keep_prob": cfg.ld_keep_prob},
        },
        "asv": {"threshold": P.asv_threshold,
                "definition": "label 1: biallelic, |delta accessibility drive (act * acc * occ, ALT - REF)| >= threshold in that cell type; label 0: matched variant touching no site"},
    }
