"""Chromosome layout (genes, regulatory elements, planted motifs, N runs, blacklist) and sequence.

Layout of one chromosome of length ``L`` (all coordinates 0-based, half-open):

* ``[0, telomere_bp)`` and ``[L - telomere_bp, L)`` are N (telomere-like runs).
* ``deserts_per_mb`` gene-free *deserts* of ``desert_bp``; each holds an interior N run
  (500-3,000 bp) and one blacklist interval (2-5 kb).
* Genes: ``round(genes_per_mb * L / 1e6)`` TSSs, one per equal slot of the region that keeps
  ``window_bp + margin_bp + 1 kb`` away from telomeres and deserts; strand +/-; gene body
  2-30 kb (one exon). Each gene has a *program*: ``housekeeping`` (ubiquitous TFs), or a cell
  type (its lineage TFs); neuronal genes may carry a REST site in the promoter.
* Core promoter at every TSS (``ModelParams.core_promoter``, strand-aware, in transcript
  orientation): a TATA box ``TATAAAAG`` at -31..-24, an initiator ``TCAGTCT`` at -2..+4 whose A
  is the TSS (the centre of the CAGE kernel) and a DPE ``AGACG`` at +28..+32. It is not a TF site
  (no PWM scores it; it does not change expression): it tells a sequence model where, to the
  base, transcription starts. Cohort variants are kept out of it (``cohort.CORE_GAP``).
* Promoter: 2-4 (causal genes: 1-2) planted sites within TSS-250..TSS+150 (strand-aware; not over
  the core promoter); enhancers: 0-1 (housekeeping) or 1-3 clusters of 2-4 sites at
  1.5 kb..min(window - 1 kb, reach - 500 bp) from the TSS (``reach_bp``: 4 kb at the tiny and
  small scales, meant for 16-kb models; 20 kb at the large scale); orphan
  enhancers (one per 40 kb) and single CTCF sites (one per 25 kb) anywhere.
* Causal designs (genes of class ``causal``, 35 %): 1-2 per gene, either ``break`` (70 %: an SNV
  at the most damaging position of a planted site, preferably in the promoter, of a TF that drives
  expression in the personal cell type, sites weighted by that TF's activity) or ``create`` (a
  *latent* site, TFs weighted by squared activity, in the promoter (70 %) or an enhancer, planted
  with its most important base replaced by the worst one; the ALT allele restores it). Genes of class ``null`` (25 %) get no variant that changes any
  site, and no indels, within their window.

Background sequence: a first-order Markov chain per 500-bp segment whose stationary GC content
is that of the segment's 100-kb isochore (0.37/0.41/0.46/0.52) with CpG depletion
``P(G|C) x 0.22``; segments overlapping TSS +/- 600 bp are CpG islands (GC 0.65, CpG factor
0.9). Planted instances are PWM samples (score >= threshold + plant_margin), random strand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seq2func.simulate.config import C_LAYOUT, C_SEQUENCE, UBIQUITOUS, rng_for
from seq2func.simulate.scanning import COMPLEMENT, LETTERS

SEGMENT_BP = 500
ISOCHORE_BP = 100_000
ISOCHORE_GC = (0.37, 0.41, 0.46, 0.52)
ISOCHORE_P = (0.3, 0.35, 0.25, 0.10)
CPG_FACTOR = 0.22
CGI_GC = 0.65
CGI_CPG_FACTOR = 0.9
CGI_HALF_BP = 600


@dataclass
class Gene:
    gene_id: str
    name: str
    chrom: str
    tss: int
    strand: int  # +1 / -1
    start: int
    end: int
    program: str
    klass: str = "other"  # causal / null / other


@dataclass
class Instance:
    iid: str
    chrom: str
    start: int
    strand: int
    tf: int
    element: str  # promoter / enhancer / orphan / ctcf / latent
    element_id: str
    gene_id: str
    seq: np.ndarray = field(repr=False)  # genome (+ strand) codes of the span

    @property
    def end(self) -> int:
        return self.start + int(self.seq.size)


@dataclass
class Design:
    """A designed causal SNV (0-based ``pos``; codes ``ref``/``alt``)."""

    chrom: str
    pos: int
    ref: int
    alt: int
    kind: str  # break / create
    iid: str
    gene_id: str
    element: str
    tf: int


@dataclass
class ChromLayout:
    name: str
    index: int
    length: int
    genes: list[Gene]
    instances: list[Instance]
    elements: list[dict]
    n_runs: list[tuple[int, int]]
    blacklist: list[tuple[int, int]]
    deserts: list[tuple[int, int]]
    designs: list[Design]
    isochore_class: np.ndarray = field(repr=False)
    cores: list[tuple[int, np.ndarray]] = field(default_factory=list, repr=False)  # (start, + strand codes)


def core_promoter_pieces(tss: int, strand: int, P) -> list[tuple[int, np.ndarray]]:
    """Genome (start, + strand codes) of the core promoter elements of a TSS.

    ``P.core_promoter`` holds (offset, sequence) pairs in transcript orientation, offset 0 being
    the TSS base (the Inr's A). On the - strand an element at offsets [o, o + w) occupies genome
    positions ``tss - (o + w - 1) .. tss - o`` and is written reverse-complemented.

    Parameters
    ----------
    tss : int
        The TSS (0-based genome coordinate).
    strand : int
        ``+1`` or ``-1``.
    P : ModelParams
        Its ``core_promoter`` pairs.

    Returns
    -------
    list of tuple of (int, numpy.ndarray)
        One ``(genome start, + strand uint8 codes)`` per element, in ``P.core_promoter`` order.
    """
    code = {c: i for i, c in enumerate("ACGT")}
    out = []
    for off, seq in P.core_promoter:
        fwd = np.array([code[c] for c in seq], dtype=np.uint8)
        if strand > 0:
            out.append((tss + int(off), fwd))
        else:
            out.append((tss - (int(off) + fwd.size - 1), COMPLEMENT[fwd][::-1].copy()))
    return out


def core_promoter_span(P) -> tuple[int, int]:
    """(first, last) offset, in transcript orientation, covered by the core promoter.

    Parameters
    ----------
    P : ModelParams
        Its ``core_promoter`` pairs.

    Returns
    -------
    tuple of (int, int)
        Inclusive offsets relative to the TSS; ``(0, 0)`` without a core promoter.
    """
    if not P.core_promoter:
        return 0, 0
    return min(o for o, _ in P.core_promoter), max(o + len(q) - 1 for o, q in P.core_promoter)


def _complement_intervals(excl: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    out, cur = [], lo
    for a, b in sorted(excl):
        a, b = max(a, lo), min(b, hi)
        if a > cur:
            out.append((cur, a))
        cur = max(cur, b)
    if cur < hi:
        out.append((cur, hi))
    return out


def _draw_deserts(rng: np.random.Generator, cfg, L: int, tel: int,
                  reach: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]]]:
    """Draw the gene deserts, their N runs and blacklist intervals (plus the telomere N runs).

    Parameters
    ----------
    rng : numpy.random.Generator
        The chromosome's layout generator (consumed).
    cfg : WorldConfig
        The world's configuration.
    L : int
        Chromosome length.
    tel : int
        Telomere N run length.
    reach : int
        Gene-free margin around deserts and telomeres (``window_bp + margin_bp + 1000``).

    Returns
    -------
    deserts : list of (int, int)
        The deserts.
    n_runs : list of (int, int)
        The N runs (telomeres and one per desert), sorted.
    blacklist : list of (int, int)
        One blacklist interval per desert.
    """
    n_des = max(1, int(round(L / 1e6 * cfg.deserts_per_mb)))
    deserts, n_runs, blacklist = [], [(0, tel), (L - tel, L)], []
    for i in range(n_des):
        c = int(L * (i + 0.5) / n_des + rng.uniform(-0.1, 0.1) * L / n_des)
        a = max(tel + reach, c - cfg.desert_bp // 2)
        deserts.append((a, a + cfg.desert_bp))
    for a, b in deserts:
        nl = int(rng.integers(500, 3001))
        mid = (a + b) // 2
        n_runs.append((mid - nl // 2, mid - nl // 2 + nl))
        bl = int(rng.integers(2000, 5001))
        blacklist.append((a + 3000, a + 3000 + bl))
    n_runs.sort()
    return deserts, n_runs, blacklist


def _draw_genes(rng: np.random.Generator, world, name: str, L: int, tel: int, reach: int,
                deserts: list[tuple[int, int]], gene_offset: int) -> list[Gene]:
    """Draw the genes: one TSS per equal slot of the allowed region, strand, length and program.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chromosome's layout generator (consumed).
    world : World
        The world (configuration, gene programs and their probabilities).
    name : str
        Chromosome name.
    L : int
        Chromosome length.
    tel : int
        Telomere N run length.
    reach : int
        Gene-free margin around deserts and telomeres.
    deserts : list of (int, int)
        The deserts.
    gene_offset : int
        Number of genes on the chromosomes before this one (gene IDs and names).

    Returns
    -------
    list of Gene
        The genes, by TSS.
    """
    cfg = world.config
    excl = [(0, tel + reach), (L - tel - reach, L)] + [(a - reach, b + reach) for a, b in deserts]
    allowed = _complement_intervals(excl, 0, L)
    total = sum(b - a for a, b in allowed)
    n_genes = max(1, int(round(cfg.genes_per_mb * L / 1e6)))
    slot = total / n_genes
    pad = min(2000.0, slot / 4)
    cum = np.cumsum([0] + [b - a for a, b in allowed])
    programs = world.gene_programs
    prog_p = world.gene_program_probs
    genes: list[Gene] = []
    for gi in range(n_genes):
        u = rng.uniform(slot * gi + pad, slot * (gi + 1) - pad)
        k = int(np.searchsorted(cum, u, side="right") - 1)
        k = min(k, len(allowed) - 1)
        t = int(allowed[k][0] + (u - cum[k]))
        strand = 1 if rng.random() < 0.5 else -1
        glen = int(rng.integers(2000, 30001))
        if strand > 0:
            start, end = t, min(t + glen, L - tel)
        else:
            start, end = max(tel, t + 1 - glen), t + 1
        prog = programs[int(rng.choice(len(programs), p=prog_p))]
        gid = f"GENE{gene_offset + gi + 1:04d}"
        genes.append(Gene(gid, f"SIM{gene_offset + gi + 1:04d}", name, t, strand, start, end, prog))
    return genes


@dataclass
class _Planter:
    """Plants motif instances on one chromosome: the layout generator, the mask of bases already
    used (N runs, blacklist, core promoters, planted sites; 2-bp flanks) and the instances so far."""

    world: Any
    rng: np.random.Generator
    sc: Any  # the world's Scanner
    tf_index: dict[str, int]  # TF name -> scanner index
    name: str
    L: int
    tel: int
    used: np.ndarray = field(repr=False)
    instances: list[Instance] = field(default_factory=list)
    elements: list[dict] = field(default_factory=list)

    def place(self, centre: int, half: int, tf: int, element: str, element_id: str, gene_id: str,
              latent_col: bool = False):
        """Plant one instance of ``tf`` within ``centre +/- half`` on free bases (40 tries).

        Parameters
        ----------
        centre, half : int
            Where to plant.
        tf : int
            The TF (scanner index).
        element, element_id, gene_id : str
            The instance's element kind, element and gene.
        latent_col : bool
            Unused.

        Returns
        -------
        inst : Instance or None
            The instance planted (None when no free place was found).
        fwd : numpy.ndarray or None
            Its sequence in motif orientation.
        """
        world, rng, sc, used, instances = self.world, self.rng, self.sc, self.used, self.instances
        tel, L, name = self.tel, self.L, self.name
        w = int(sc.widths[tf])
        for _ in range(40):
            s0 = int(rng.integers(centre - half, centre + half - w + 1))
            if s0 < tel or s0 + w > L - tel or used[max(0, s0 - 2) : s0 + w + 2].any():
                continue
            fwd = sc.sample_instance(tf, rng, world.motif_probs[tf], sc.thresholds[tf] + world.params.plant_margin)
            strand = 1 if rng.random() < 0.5 else -1
            inst = Instance(f"{name}_m{len(instances) + 1:05d}", name, s0, strand, tf, element, element_id, gene_id,
                            fwd.copy() if strand > 0 else COMPLEMENT[fwd][::-1].copy())
            used[max(0, s0 - 2) : s0 + w + 2] = True
            instances.append(inst)
            return inst, fwd
        return None, None

    def pick_tfs(self, pool: list[str], n: int) -> list[int]:
        """``n`` TFs (scanner indices) drawn uniformly from ``pool``.

        Parameters
        ----------
        pool : list of str
            TF names.
        n : int
            How many to draw.

        Returns
        -------
        list of int
            The TFs drawn.
        """
        return [self.tf_index[pool[int(self.rng.integers(len(pool)))]] for _ in range(n)]


def _reserve_cores(genes: list[Gene], P, used: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Place the core promoter of every gene and mark it used (nothing else is planted over it).

    Parameters
    ----------
    genes : list of Gene
        The genes.
    P : ModelParams
        The model parameters (``core_promoter``).
    used : numpy.ndarray
        The used-base mask, updated in place.

    Returns
    -------
    list of (int, numpy.ndarray)
        The core promoter pieces (start, + strand codes).
    """
    cores: list[tuple[int, np.ndarray]] = []
    for g in genes:
        for start, codes in core_promoter_pieces(g.tss, g.strand, P):
            cores.append((start, codes))
            used[max(0, start - 2) : start + codes.size + 2] = True
    return cores


def _plant_gene_elements(pl: _Planter, genes: list[Gene]) -> None:
    """Draw each gene's class and plant its promoter and enhancer sites.

    Parameters
    ----------
    pl : _Planter
        The chromosome's planter (its instances and elements are extended).
    genes : list of Gene
        The genes (``klass`` is set).

    Returns
    -------
    None
    """
    world, rng, sc, name, tel, L = pl.world, pl.rng, pl.sc, pl.name, pl.tel, pl.L
    P = world.params
    W = P.window_bp
    tf_index, place, pick_tfs, elements = pl.tf_index, pl.place, pl.pick_tfs, pl.elements
    for g in genes:
        u = rng.random()
        g.klass = "causal" if u < 0.35 else ("null" if u < 0.60 else "other")
        prog_tfs = list(world.program_tfs[g.program])
        # promoter (causal genes have fewer sites, so one site matters more)
        eid = f"{g.gene_id}_promoter"
        n_prom = int(rng.integers(1, 3)) if g.klass == "causal" else int(rng.integers(2, 5))
        pool = list(UBIQUITOUS) if g.program == "housekeeping" else list(UBIQUITOUS) + prog_tfs * 2
        tfs = pick_tfs(pool, n_prom)
        if g.program == world.config.personal_cell_type and rng.random() < 0.5:
            tfs.append(tf_index["REST"])
        centre = g.tss - g.strand * 50
        placed = [place(centre, 200, tf, "promoter", eid, g.gene_id)[0] for tf in tfs]
        elements.append({"element_id": eid, "kind": "promoter", "chrom": name, "centre": centre, "gene_id": g.gene_id,
                         "tfs": [sc.names[i.tf] for i in placed if i is not None]})
        # enhancers
        n_enh = int(rng.integers(0, 2)) if g.program == "housekeeping" else int(rng.integers(1, 4))
        epool = list(UBIQUITOUS) + ["FOSL2::JUN"] if g.program == "housekeeping" else prog_tfs
        for e in range(n_enh):
            d = int(rng.integers(1500, max(1501, min(W - 1000, P.reach_bp - 500))))
            centre = g.tss + (d if rng.random() < 0.5 else -d)
            if centre < tel + 500 or centre > L - tel - 500:
                continue
            eid = f"{g.gene_id}_enh{e + 1}"
            placed = [place(centre, 120, tf, "enhancer", eid, g.gene_id)[0] for tf in pick_tfs(epool, int(rng.integers(2, 5)))]
            elements.append({"element_id": eid, "kind": "enhancer", "chrom": name, "centre": centre, "gene_id": g.gene_id,
                             "tfs": [sc.names[i.tf] for i in placed if i is not None]})


def _plant_orphans_and_ctcf(pl: _Planter) -> None:
    """Plant orphan enhancers (one per 40 kb) and single CTCF sites (one per 25 kb) anywhere.

    Parameters
    ----------
    pl : _Planter
        The chromosome's planter (its instances and elements are extended).

    Returns
    -------
    None
    """
    world, rng, sc, name, tel, L = pl.world, pl.rng, pl.sc, pl.name, pl.tel, pl.L
    tf_index, place, pick_tfs, elements = pl.tf_index, pl.place, pl.pick_tfs, pl.elements
    programs = world.gene_programs
    lineage_programs = [p for p in programs if p != "housekeeping"]
    for e in range(int(round(L / 40_000))):
        centre = int(rng.integers(tel + 500, L - tel - 500))
        prog = lineage_programs[int(rng.integers(len(lineage_programs)))]
        eid = f"{name}_orphan{e + 1}"
        placed = [place(centre, 120, tf, "orphan", eid, "")[0] for tf in pick_tfs(list(world.program_tfs[prog]), int(rng.integers(2, 5)))]
        elements.append({"element_id": eid, "kind": "orphan", "chrom": name, "centre": centre, "gene_id": "",
                         "tfs": [sc.names[i.tf] for i in placed if i is not None]})
    ctcf = tf_index["CTCF"]
    for e in range(int(round(L / 25_000))):
        centre = int(rng.integers(tel + 500, L - tel - 500))
        place(centre, 100, ctcf, "ctcf", f"{name}_ctcf{e + 1}", "")


def _free_for_design(design_pos: list[int], pos: int) -> bool:
    """Whether ``pos`` is more than 40 bp from every design so far.

    Parameters
    ----------
    design_pos : list of int
        Positions of the designs so far.
    pos : int
        Candidate position.

    Returns
    -------
    bool
        True when ``pos`` is free.
    """
    return all(abs(pos - p) > 40 for p in design_pos)


def _damaging_column(sc, fwd: np.ndarray, tf: int) -> tuple[int, int]:
    """The most damaging column of a site and the worst base there.

    Parameters
    ----------
    sc : Scanner
        The scanner (``log_odds``).
    fwd : numpy.ndarray
        The site's sequence in motif orientation.
    tf : int
        The TF (scanner index).

    Returns
    -------
    j : int
        The column whose change loses most score.
    worst : int
        The lowest-scoring base of column ``j``.
    """
    lo = sc.log_odds[tf]
    dmg = lo[np.arange(lo.shape[0]), fwd] - lo.min(axis=1)
    j = int(np.argmax(dmg))
    return j, int(np.argmin(lo[j]))


def _design_break(pl: _Planter, g: Gene, cands: list[Instance], act, design_pos: list[int]) -> Design | None:
    """A ``break`` design: an SNV at the most damaging position of one of ``cands``.

    Parameters
    ----------
    pl : _Planter
        The chromosome's planter (generator, scanner).
    g : Gene
        The causal gene.
    cands : list of Instance
        Its driver sites not yet designed (not empty).
    act : numpy.ndarray
        Activity * tx weight per TF in the personal cell type.
    design_pos : list of int
        Positions of the designs so far.

    Returns
    -------
    Design or None
        The design (None when its position is too close to another design).
    """
    rng = pl.rng
    prom = [i for i in cands if i.element == "promoter"]
    pool = prom if (prom and rng.random() < 0.7) else cands
    wts = np.array([act[i.tf] for i in pool])
    inst = pool[int(rng.choice(len(pool), p=wts / wts.sum()))]
    fwd = inst.seq if inst.strand > 0 else COMPLEMENT[inst.seq][::-1]
    j, worst = _damaging_column(pl.sc, fwd, inst.tf)
    if inst.strand > 0:
        pos, ref, alt = inst.start + j, int(fwd[j]), worst
    else:
        w = inst.seq.size
        pos, ref, alt = inst.start + (w - 1 - j), int(COMPLEMENT[fwd[j]]), int(COMPLEMENT[worst])
    if not _free_for_design(design_pos, pos):
        return None
    return Design(pl.name, pos, ref, alt, "break", inst.iid, g.gene_id, inst.element, inst.tf)


def _design_create(pl: _Planter, g: Gene, drivers: list[int], act, design_pos: list[int]) -> Design | None:
    """A ``create`` design: a latent site planted with its most important base broken.

    Parameters
    ----------
    pl : _Planter
        The chromosome's planter (generator, scanner, elements; the latent site is planted).
    g : Gene
        The causal gene.
    drivers : list of int
        The TFs that drive expression in the personal cell type.
    act : numpy.ndarray
        Activity * tx weight per TF in the personal cell type.
    design_pos : list of int
        Positions of the designs so far.

    Returns
    -------
    Design or None
        The design (None when no site was planted, or its position is too close to another
        design: the site then stays intact, a ``decoy``).
    """
    rng = pl.rng
    wts = np.array([act[i] for i in drivers]) ** 2
    tf = drivers[int(rng.choice(len(drivers), p=wts / wts.sum()))]
    enh = [e for e in pl.elements if e["gene_id"] == g.gene_id and e["kind"] == "enhancer"]
    if enh and rng.random() < 0.3:
        el = enh[int(rng.integers(len(enh)))]
        centre, half, element, eid = el["centre"], 150, "enhancer", el["element_id"]
    else:
        centre, half, element, eid = g.tss - g.strand * 50, 220, "promoter", f"{g.gene_id}_promoter"
    inst, fwd = pl.place(centre, half, tf, "latent", eid, g.gene_id)
    if inst is None:
        return None
    j, worst = _damaging_column(pl.sc, fwd, tf)
    w = fwd.size
    k = j if inst.strand > 0 else w - 1 - j
    good = int(inst.seq[k])
    inst.seq[k] = worst if inst.strand > 0 else int(COMPLEMENT[worst])
    pos = inst.start + k
    if not _free_for_design(design_pos, pos):
        inst.seq[k] = good
        inst.element = "decoy"  # keeps its (intact) sequence; simply an extra site
        return None
    return Design(pl.name, pos, int(inst.seq[k]), good, "create", inst.iid, g.gene_id, element, tf)


def _design_causal(pl: _Planter, genes: list[Gene]) -> list[Design]:
    """Draw the causal designs of the ``causal`` genes (1-2 each, ``break`` or ``create``).

    Parameters
    ----------
    pl : _Planter
        The chromosome's planter (latent sites are planted).
    genes : list of Gene
        The genes, classes drawn.

    Returns
    -------
    list of Design
        The designs, by position.
    """
    rng, sc = pl.rng, pl.sc
    designs: list[Design] = []
    act = pl.world.personal_tx  # activity * tx weight per TF in the personal cell type
    drivers = [i for i in range(len(sc.names)) if act[i] > 0.3]
    design_pos: list[int] = []
    by_gene: dict[str, list[Instance]] = {}
    for inst in pl.instances:
        if inst.gene_id:
            by_gene.setdefault(inst.gene_id, []).append(inst)
    for g in genes:
        if g.klass != "causal":
            continue
        n_d = 1 if rng.random() < 0.7 else 2
        for _ in range(n_d):
            kind = "break" if rng.random() < 0.7 else "create"
            cands = [i for i in by_gene.get(g.gene_id, []) if i.tf in drivers and i.element in ("promoter", "enhancer")
                     and not any(d.iid == i.iid for d in designs)]
            if kind == "break" and cands:
                design = _design_break(pl, g, cands, act, design_pos)
            else:
                design = _design_create(pl, g, drivers, act, design_pos)
            if design is None:
                continue
            designs.append(design)
            design_pos.append(design.pos)
    designs.sort(key=lambda d: d.pos)
    return designs


def make_layout(world, ci: int, gene_offset: int) -> ChromLayout:
    """Draw the layout of chromosome ``ci`` (deterministic in ``world.seed`` and ``ci``).

    Parameters
    ----------
    world : seq2func.simulate.world.World
        The world (config, params, scanner, cell types, seed).
    ci : int
        0-based chromosome index.
    gene_offset : int
        Number of genes on earlier chromosomes: gene IDs of this one start at ``gene_offset + 1``.

    Returns
    -------
    ChromLayout
    """
    cfg, P, sc = world.config, world.params, world.scanner
    rng = rng_for(world.seed, C_LAYOUT, ci)
    name = cfg.chroms[ci]
    L = int(cfg.chrom_lengths[ci])
    tel = cfg.telomere_bp
    reach = P.window_bp + P.margin_bp + 1000

    deserts, n_runs, blacklist = _draw_deserts(rng, cfg, L, tel, reach)
    genes = _draw_genes(rng, world, name, L, tel, reach, deserts, gene_offset)
    # isochores
    n_iso = (L + ISOCHORE_BP - 1) // ISOCHORE_BP
    iso = rng.choice(len(ISOCHORE_GC), size=n_iso, p=ISOCHORE_P).astype(np.int8)

    used = np.zeros(L, dtype=bool)
    for a, b in n_runs + blacklist:
        used[a:b] = True
    tf_index = {n: i for i, n in enumerate(sc.names)}
    # core promoters first: nothing else is planted over them
    cores = _reserve_cores(genes, P, used)
    pl = _Planter(world, rng, sc, tf_index, name, L, tel, used)
    _plant_gene_elements(pl, genes)
    _plant_orphans_and_ctcf(pl)
    designs = _design_causal(pl, genes)
    pl.instances.sort(key=lambda i: i.start)
    return ChromLayout(name, ci, L, genes, pl.instances, pl.elements, n_runs, blacklist, deserts, designs, iso, cores)


def _transition_cdf(gc: float, cpg: float) -> tuple[np.ndarray, np.ndarray]:
    pi = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    T = np.tile(pi, (4, 1))
    T[1, 2] *= cpg  # C -> G depleted
    T /= T.sum(axis=1, keepdims=True)
    return np.cumsum(pi)[:3], np.cumsum(T, axis=1)[:, :3]


def make_sequence(world, layout: ChromLayout) -> np.ndarray:
    """Background Markov sequence + N runs + planted instances (codes, length L).

    Parameters
    ----------
    world : seq2func.simulate.world.World
        The world (its seed).
    layout : ChromLayout
        The chromosome's layout (from :func:`make_layout`).

    Returns
    -------
    numpy.ndarray
        ``(layout.length,)`` ``uint8`` codes (see :func:`seq2func.simulate.scanning.encode`).
    """
    rng = rng_for(world.seed, C_SEQUENCE, layout.index)
    L = layout.length
    nseg = (L + SEGMENT_BP - 1) // SEGMENT_BP
    seg_start = np.arange(nseg, dtype=np.int64) * SEGMENT_BP
    cls = layout.isochore_class[seg_start // ISOCHORE_BP].astype(np.int64)
    cgi = np.zeros(nseg, dtype=bool)
    for g in layout.genes:
        a = max(0, (g.tss - CGI_HALF_BP) // SEGMENT_BP)
        b = min(nseg, (g.tss + CGI_HALF_BP) // SEGMENT_BP + 1)
        cgi[a:b] = True
    cls[cgi] = len(ISOCHORE_GC)
    params = [(gc, CPG_FACTOR) for gc in ISOCHORE_GC] + [(CGI_GC, CGI_CPG_FACTOR)]
    init = np.stack([_transition_cdf(*p)[0] for p in params])  # (classes, 3)
    trans = np.stack([_transition_cdf(*p)[1] for p in params])  # (classes, 4, 3)
    out = np.empty((nseg, SEGMENT_BP), dtype=np.uint8)
    u = rng.random(nseg)
    prev = (u[:, None] > init[cls]).sum(axis=1)
    out[:, 0] = prev
    for j in range(1, SEGMENT_BP):
        u = rng.random(nseg)
        prev = (u[:, None] > trans[cls, prev]).sum(axis=1)
        out[:, j] = prev
    codes = out.reshape(-1)[:L].copy()
    for a, b in layout.n_runs:
        codes[a:b] = 4
    for start, core in layout.cores:
        codes[start : start + core.size] = core
    for inst in layout.instances:
        codes[inst.start : inst.end] = inst.seq
    return codes


def write_fasta_record(fh, name: str, codes: np.ndarray, width: int = 60) -> None:
    """Append one FASTA record (``width`` bases per line) to a binary file handle.

    Parameters
    ----------
    fh : binary file
        Open for writing.
    name : str
        The record name.
    codes : numpy.ndarray
        Sequence codes ``0..4`` (written as ``ACGTN``).
    width : int, optional
        Bases per line.
    """
    fh.write(f">{name}\n".encode())
    L = codes.size
    full = L // width
    if full:
        block = np.empty((full, width + 1), dtype=np.uint8)
        block[:, :width] = LETTERS[codes[: full * width]].reshape(full, width)
        block[:, width] = ord("\n")
        fh.write(block.tobytes())
    if L % width:
        fh.write(LETTERS[codes[full * width :]].tobytes() + b"\n")
