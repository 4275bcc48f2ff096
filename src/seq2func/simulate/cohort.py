"""The cohort: variant sites, phased haplotypes with LD, the VCF and allele-specific labels.

Variant sites (per chromosome, ``rng_for(seed, C_VARIANTS, chrom)``):

* positions: Poisson with ``window_variant_rate`` per bp inside TSS +/- (window + margin) and
  ``background_variant_rate`` elsewhere (outside the telomeric N runs), plus the designed causal
  SNVs; accepted left to right so that variant spans are >= ``MIN_GAP`` bp apart (longer than any
  motif, so the site changes of two variants never interact); none starts within ``CORE_GAP`` bp
  of a TSS, so every haplotype keeps its core promoters (genome module);
* types: 85 % SNV (transitions 2/3), 12 % indel (half insertions, half deletions, length
  ``min(10, Geometric(0.45))``, insertions half tandem duplications), 3 % multi-allelic SNV
  (two ALT bases). REF never contains N. Indels and multi-allelic sites keep ``EDGE_GAP`` bp from
  every TSS and from the edges of every expression window (TSS +/- (window + margin)).
* in windows of ``null`` genes only SNVs that neither touch nor create any site are kept.

Haplotypes (``rng_for(seed, C_GENOTYPES, chrom)``): ``n_founders`` founder haplotypes;
recombination points every ``Exp(ld_block_mean_bp)`` bp; each of the ``2N`` haplotypes copies
one founder per block, keeping its previous founder with ``ld_keep_prob`` (so LD decays over a
few blocks), otherwise drawing one from the block's Dirichlet(1) founder frequencies. Each site
has a target frequency ``f`` log-uniform in ``[1/2N, 1/2]`` (a spectrum skewed to rare alleles);
each founder carries the ALT with probability ``f``; sites no founder carries become recent
mutations on ``max(1, Binomial(2N, f))`` random haplotypes. Causal SNVs have ``f ~ U(0.1, 0.45)``
and 1..F-1 founder carriers. Multi-allelic sites put the second ALT on haplotypes without the
first. Missing calls: ``missing_rate`` of alleles (only REF alleles, never at causal sites) are
written as ``.``; a third of them with the other allele also ``.`` when that one is REF too.

VCF: VCFv4.2, ``##contig`` lines with lengths, no date line, ``ID`` = ``<chrom>_v<serial>``,
INFO ``AC``, ``AN``, ``AF``, ``VT`` (SNV/INDEL), every genotype phased (``a|b``), samples
``IND0001..``. Written as BGZF (no timestamps) and indexed with tabix.

Allele-specific labels (``asv_labels.tsv``): for every cell type, biallelic variants with
``|delta| >= asv_threshold`` where ``delta = sum(act * acc * occ)`` over the sites the ALT allele
creates minus those it destroys, are label 1 with ``direction = sign(delta)``; each is matched
with one label-0 variant with ``|delta| < asv_threshold / 10`` in that cell type and the closest
distance to its nearest TSS (greedy, each used once per cell type), direction 0: alternately one
that touches a motif site whose TF is inactive in that cell type (a motif scanner cannot tell it
from a positive; a model of that cell type can) and one that touches no site.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seq2func.simulate.config import C_GENOTYPES, C_MISSING, C_VARIANTS, rng_for
from seq2func.simulate.scanning import LETTERS, Sites, encode

MIN_GAP = 32
EDGE_GAP = 60
CORE_GAP = 45  # no cohort variant starts within this many bp of a TSS: core promoters stay intact
DESIGN_GAP = 60


@dataclass
class Variants:
    chrom: str
    pos: np.ndarray  # 0-based start of REF
    ref: list[str]
    alts: list[list[str]]
    kind: list[str]  # snv / ins / del / multi
    design: np.ndarray  # index into layout.designs, -1 if none
    ids: list[str] = field(default_factory=list)
    ref_len: np.ndarray | None = None
    delta: np.ndarray | None = None  # (n, 3) length change per allele index
    alt_rows: dict | None = None  # sites created by ALT alleles
    ref_rows: dict | None = None  # sites destroyed (REF sites overlapping the REF span)
    dacc: np.ndarray | None = None  # (n, 3, n_ct) accessibility change per allele
    touches: np.ndarray | None = None  # bool: any site overlapped by REF or created by an ALT

    def __len__(self) -> int:
        return int(self.pos.size)

    def subset(self, keep: np.ndarray) -> "Variants":
        """The variants selected by a mask, their site rows renumbered (``ids`` are dropped).

        Parameters
        ----------
        keep : numpy.ndarray
            ``(n_var,)`` boolean mask.

        Returns
        -------
        Variants
            Needs :func:`local_effects` to have filled the per-allele fields.
        """
        idx = np.flatnonzero(keep)
        remap = -np.ones(len(self), np.int64)
        remap[idx] = np.arange(idx.size)

        def rows(r):
            m = keep[r["var"]]
            out = {k: v[m] for k, v in r.items()}
            out["var"] = remap[out["var"]]
            return out

        return Variants(
            self.chrom, self.pos[idx], [self.ref[i] for i in idx], [self.alts[i] for i in idx],
            [self.kind[i] for i in idx], self.design[idx], [], self.ref_len[idx], self.delta[idx],
            rows(self.alt_rows), rows(self.ref_rows), self.dacc[idx], self.touches[idx],
        )


def _merge(intervals):
    out = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def make_variants(world, cs) -> Variants:
    """Variant sites of one chromosome, with their local site effects (see module docstring).

    Parameters
    ----------
    world : seq2func.simulate.world.World
        The world (config, params, scanner, seed).
    cs : seq2func.simulate.world.ChromState
        The chromosome (layout, sequence codes, sites).

    Returns
    -------
    Variants
        Sorted by position, with IDs ``<chrom>_v<serial>`` and the fields of :func:`local_effects`.
    """
    cfg, P = world.config, world.params
    lay, codes = cs.layout, cs.codes
    L = lay.length
    rng = rng_for(world.seed, C_VARIANTS, lay.index)
    tel = cfg.telomere_bp
    ext = P.window_bp + P.margin_bp
    wins = _merge([(max(0, g.tss - ext), min(L, g.tss + ext)) for g in lay.genes])
    wlen = np.array([b - a for a, b in wins], dtype=np.int64)
    cum = np.concatenate([[0], np.cumsum(wlen)])
    n_w = int(rng.poisson(cfg.window_variant_rate * cum[-1]))
    u = rng.integers(0, max(1, cum[-1]), size=n_w)
    k = np.searchsorted(cum, u, side="right") - 1
    pos_w = np.array([wins[i][0] for i in k], dtype=np.int64) + (u - cum[k])
    n_b = int(rng.poisson(cfg.background_variant_rate * (L - 2 * tel)))
    pos_b = rng.integers(tel, L - tel, size=n_b)
    cand = np.unique(np.concatenate([pos_w, pos_b]).astype(np.int64))
    n = cand.size
    ut = rng.random(n)
    is_del = rng.random(n) < 0.5
    klen = np.minimum(10, rng.geometric(0.45, size=n))
    dup = rng.random(n) < 0.5
    rbase = rng.integers(0, 4, size=(n, 10))
    ti = rng.random(n) < 2 / 3
    tv = rng.integers(0, 2, size=n)
    second = rng.integers(0, 2, size=n)

    edges = np.sort(np.array([e for g in lay.genes for e in (g.tss - ext, g.tss, g.tss + ext)], dtype=np.int64))
    dpos = np.array([d.pos for d in lay.designs], dtype=np.int64)
    tss_pos = np.sort(np.array([g.tss for g in lay.genes], dtype=np.int64))

    def near(sorted_pts, p, gap):
        if sorted_pts.size == 0:
            return False
        i = int(np.searchsorted(sorted_pts, p))
        return (i < sorted_pts.size and sorted_pts[i] - p < gap) or (i > 0 and p - sorted_pts[i - 1] < gap)

    TRANS = {0: 2, 2: 0, 1: 3, 3: 1}
    TRANSV = {0: (1, 3), 2: (1, 3), 1: (0, 2), 3: (0, 2)}
    out_pos, out_ref, out_alts, out_kind, out_design = [], [], [], [], []
    design_iter = iter(range(len(lay.designs)))
    next_design = next(design_iter, None)
    last_end = -(10**9)

    def emit_design(i):
        d = lay.designs[i]
        out_pos.append(d.pos)
        out_ref.append(chr(LETTERS[d.ref]))
        out_alts.append([chr(LETTERS[d.alt])])
        out_kind.append("snv")
        out_design.append(i)
        return d.pos + 1

    for c in range(n):
        p = int(cand[c])
        while next_design is not None and lay.designs[next_design].pos <= p + DESIGN_GAP:
            last_end = emit_design(next_design)
            next_design = next(design_iter, None)
        if p < last_end + MIN_GAP or near(dpos, p, DESIGN_GAP) or near(tss_pos, p, CORE_GAP):
            continue
        r = int(codes[p])
        if r == 4:
            continue
        kind = "snv" if ut[c] < 0.85 else ("indel" if ut[c] < 0.97 else "multi")
        if kind != "snv" and near(edges, p, EDGE_GAP):
            kind = "snv"
        if kind == "snv":
            a = TRANS[r] if ti[c] else TRANSV[r][tv[c]]
            ref, alts = chr(LETTERS[r]), [chr(LETTERS[a])]
        elif kind == "multi":
            others = [b for b in range(4) if b != r]
            a1 = TRANS[r]
            a2 = [b for b in others if b != a1][int(second[c])]
            ref, alts = chr(LETTERS[r]), [chr(LETTERS[a1]), chr(LETTERS[a2])]
        elif is_del[c]:
            kl = int(klen[c])
            span = codes[p : p + kl + 1]
            if p + kl + 1 > L - tel or (span == 4).any():
                continue
            ref, alts, kind = LETTERS[span].tobytes().decode(), [chr(LETTERS[r])], "del"
        else:
            kl = int(klen[c])
            nxt = codes[p + 1 : p + 1 + kl]
            ins = nxt if (dup[c] and nxt.size == kl and not (nxt == 4).any()) else rbase[c, :kl].astype(np.uint8)
            ref, alts, kind = chr(LETTERS[r]), [chr(LETTERS[r]) + LETTERS[ins].tobytes().decode()], "ins"
        out_pos.append(p)
        out_ref.append(ref)
        out_alts.append(alts)
        out_kind.append(kind)
        out_design.append(-1)
        last_end = p + len(ref)
    while next_design is not None:
        emit_design(next_design)
        next_design = next(design_iter, None)

    order = np.argsort(np.array(out_pos, dtype=np.int64), kind="stable")
    v = Variants(
        lay.name,
        np.array(out_pos, dtype=np.int64)[order],
        [out_ref[i] for i in order],
        [out_alts[i] for i in order],
        [out_kind[i] for i in order],
        np.array(out_design, dtype=np.int64)[order],
    )
    local_effects(world, cs, v)
    # null genes: keep only SNVs that touch no site
    bad = np.zeros(len(v), dtype=bool)
    for g in lay.genes:
        if g.klass != "null":
            continue
        a = np.searchsorted(v.pos, g.tss - ext)
        b = np.searchsorted(v.pos, g.tss + ext)
        for i in range(a, b):
            if v.design[i] < 0 and (v.touches[i] or v.kind[i] != "snv"):
                bad[i] = True
    v = v.subset(~bad)
    v.ids = [f"{lay.name}_v{i + 1:06d}" for i in range(len(v))]
    return v


def local_effects(world, cs, v: Variants) -> None:
    """Sites destroyed / created by every allele, by scanning all local alleles at once.

    Fills ``ref_len``, ``delta``, ``ref_rows``, ``alt_rows``, ``dacc`` and ``touches`` of ``v``
    in place.

    Parameters
    ----------
    world : seq2func.simulate.world.World
        The world (scanner, TF activities and accessibility weights).
    cs : seq2func.simulate.world.ChromState
        The chromosome (its sequence codes).
    v : Variants
        The chromosome's variants.
    """
    sc = world.scanner
    m = sc.wmax - 1
    codes = cs.codes
    n = len(v)
    v.ref_len = np.array([len(r) for r in v.ref], dtype=np.int64)
    v.delta = np.zeros((n, 3), dtype=np.int64)
    pieces, seg_var, seg_allele, seg_start, seg_len = [], [], [], [], []
    sep = np.full(sc.wmax + 1, 4, np.uint8)
    off = 0
    for i in range(n):
        p, rl = int(v.pos[i]), int(v.ref_len[i])
        left = codes[max(0, p - m) : p]
        right = codes[p + rl : p + rl + m]
        for a, allele in enumerate([v.ref[i]] + v.alts[i]):
            if a:
                v.delta[i, a] = len(allele) - rl
            al = encode(allele)
            piece = np.concatenate([left, al, right])
            pieces.append(piece)
            pieces.append(sep)
            seg_var.append(i)
            seg_allele.append(a)
            seg_start.append(off + left.size)  # allele start in concatenated coordinates
            seg_len.append(al.size)
            off += piece.size + sep.size
    if pieces:
        allc = np.concatenate(pieces)
        sites = sc.scan(allc)
    else:
        sites = Sites.empty()
    seg_start_a = np.array(seg_start, dtype=np.int64)
    seg_len_a = np.array(seg_len, dtype=np.int64)
    # the segment of a site: last allele start <= site end - 1 ... use the allele span overlap
    k = np.searchsorted(seg_start_a, sites.start + sites.width - 1, side="right") - 1
    ok = k >= 0
    k = np.where(ok, k, 0)
    ov = ok & (sites.start < seg_start_a[k] + seg_len_a[k]) & (sites.start + sites.width > seg_start_a[k])
    sites, k = sites.take(np.flatnonzero(ov)), k[ov]
    sv = np.array(seg_var, dtype=np.int64)[k]
    sa = np.array(seg_allele, dtype=np.int64)[k]
    rel = sites.start - seg_start_a[k]
    rows = {"var": sv, "allele": sa, "rel": rel, "tf": sites.tf.astype(np.int64), "occ": sites.occ, "width": sites.width}
    is_ref = sa == 0
    v.ref_rows = {kk: vv[is_ref] for kk, vv in rows.items()}
    v.alt_rows = {kk: vv[~is_ref] for kk, vv in rows.items()}
    n_ct = world.activity.shape[0]
    acc_val = world.activity * world.acc_weight[None, :]  # (n_ct, n_tf)
    v.dacc = np.zeros((n, 3, n_ct))
    contrib = acc_val[:, rows["tf"]] * rows["occ"][None, :]  # (n_ct, R)
    for a in range(3):
        sel = sa == a
        tot = np.zeros((n, n_ct))
        np.add.at(tot, sv[sel], contrib[:, sel].T)
        v.dacc[:, a, :] = tot
    ref_tot = v.dacc[:, 0, :].copy()
    for a in range(3):
        v.dacc[:, a, :] -= ref_tot
    v.touches = np.zeros(n, dtype=bool)
    v.touches[sv] = True


def make_genotypes(world, cs, v: Variants) -> tuple[np.ndarray, np.ndarray]:
    """(alleles (n_var x 2N int8), missing mask (n_var x 2N bool)); hap 2i / 2i+1 = individual i.

    Parameters
    ----------
    world : seq2func.simulate.world.World
        The world (config, seed).
    cs : seq2func.simulate.world.ChromState
        The chromosome (its layout).
    v : Variants
        The chromosome's variants (from :func:`make_variants`).

    Returns
    -------
    tuple of (numpy.ndarray, numpy.ndarray)
        Allele index per haplotype (0 = REF, 1 and 2 = ALTs) and the mask of alleles written as
        missing.
    """
    cfg = world.config
    lay = cs.layout
    rng = rng_for(world.seed, C_GENOTYPES, lay.index)
    H2 = 2 * cfg.n_individuals
    F = cfg.n_founders
    L = lay.length
    nb_max = int(L / cfg.ld_block_mean_bp * 3) + 10
    gaps = rng.exponential(cfg.ld_block_mean_bp, size=nb_max)
    bounds = np.cumsum(gaps)
    bounds = bounds[bounds < L]
    n_blocks = bounds.size + 1
    freqs = rng.dirichlet(np.ones(F), size=n_blocks)
    assign = np.empty((n_blocks, H2), dtype=np.int64)
    cum_f = np.cumsum(freqs, axis=1)
    for b in range(n_blocks):
        draw = np.minimum((rng.random(H2)[:, None] > cum_f[b][None, :]).sum(axis=1), F - 1)
        if b == 0:
            assign[b] = draw
        else:
            keep = rng.random(H2) < cfg.ld_keep_prob
            assign[b] = np.where(keep, assign[b - 1], draw)
    n = len(v)
    block = np.searchsorted(bounds, v.pos, side="right")
    lo, hi = 1.0 / H2, 0.5
    f = np.exp(rng.uniform(np.log(lo), np.log(hi), size=n))
    causal = v.design >= 0
    f[causal] = rng.uniform(0.1, 0.45, size=int(causal.sum()))
    carriers = rng.random((n, F)) < f[:, None]
    H = np.zeros((n, H2), dtype=np.int8)
    for i in range(n):
        c = carriers[i]
        if causal[i]:
            if not c.any():
                c[int(rng.integers(F))] = True
            if c.all():
                c[int(rng.integers(F))] = False
        elif c.all():
            c[int(rng.integers(F))] = False
        if c.any():
            H[i] = c[assign[block[i]]]
        else:
            k = max(1, int(rng.binomial(H2, f[i])))
            H[i, rng.choice(H2, size=min(k, H2), replace=False)] = 1
        if v.kind[i] == "multi":
            free = np.flatnonzero(H[i] == 0)
            f2 = f[i] * rng.uniform(0.2, 1.0)
            c2 = (rng.random(F) < f2) & ~c
            sel = free[c2[assign[block[i]][free]]] if c2.any() else np.zeros(0, np.int64)
            if sel.size == 0 and free.size:
                k = max(1, int(rng.binomial(H2, f2)))
                sel = rng.choice(free, size=min(k, free.size), replace=False)
            H[i, sel] = 2
    # missing calls (only REF alleles, never at causal sites)
    rng_m = rng_for(world.seed, C_MISSING, lay.index)
    miss = np.zeros_like(H, dtype=bool)
    n_miss = max(3, int(rng_m.binomial(n * H2, cfg.missing_rate))) if n else 0
    for _ in range(n_miss):
        i, h = int(rng_m.integers(n)), int(rng_m.integers(H2))
        if causal[i] or H[i, h] != 0:
            continue
        miss[i, h] = True
        if rng_m.random() < 1 / 3:
            mate = h ^ 1
            if H[i, mate] == 0:
                miss[i, mate] = True
    return H, miss


def vcf_header(world) -> str:
    """The cohort VCF's header (meta lines and the ``#CHROM`` line with every sample).

    Parameters
    ----------
    world : seq2func.simulate.world.World
        The world (config, seed, samples).

    Returns
    -------
    str
        Newline-terminated header text.
    """
    cfg = world.config
    lines = [
        "##fileformat=VCFv4.2",
        f"##source=seq2func.simulate (scale={cfg.scale}, seed={world.seed})",
        "##reference=genome.fa",
    ]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in zip(cfg.chroms, cfg.chrom_lengths)]
    lines += [
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="ALT allele count in called haplotypes">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Number of called haplotypes">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="ALT allele frequency in called haplotypes">',
        '##INFO=<ID=VT,Number=1,Type=String,Description="Variant type: SNV or INDEL">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(world.samples),
    ]
    return "\n".join(lines) + "\n"


_GT_CHAR = np.frombuffer(b"012", dtype=np.uint8)


def write_vcf_records(fh, v: Variants, H: np.ndarray, miss: np.ndarray, block: int = 2000) -> None:
    """Write the VCF body lines of one chromosome, ``block`` records at a time (bounded memory).

    Parameters
    ----------
    fh : binary file
        Open for writing (the BGZF cohort VCF).
    v : Variants
        The chromosome's variants.
    H : numpy.ndarray
        ``(n_var, 2N)`` allele indices (see :func:`make_genotypes`).
    miss : numpy.ndarray
        ``(n_var, 2N)`` missing mask.
    block : int, optional
        Records per write.
    """
    for a in range(0, len(v), block):
        fh.write(vcf_records(v, H, miss, a, min(len(v), a + block)))


def vcf_records(v: Variants, H: np.ndarray, miss: np.ndarray, lo: int = 0, hi: int | None = None) -> bytes:
    """VCF body lines of records ``lo:hi`` of one chromosome.

    Parameters
    ----------
    v : Variants
        The chromosome's variants.
    H : numpy.ndarray
        ``(n_var, 2N)`` allele indices (see :func:`make_genotypes`).
    miss : numpy.ndarray
        ``(n_var, 2N)`` missing mask.
    lo : int, optional
        First record.
    hi : int, optional
        One past the last record (default: all).

    Returns
    -------
    bytes
        Tab-separated VCF lines (phased genotypes, INFO ``AC``/``AN``/``AF``/``VT``), each
        newline-terminated.
    """
    hi = H.shape[0] if hi is None else hi
    H, miss = H[lo:hi], miss[lo:hi]
    n, H2 = H.shape
    N = H2 // 2
    if n == 0:
        return b""
    ch = _GT_CHAR[H]
    ch[miss] = ord(".")
    g = np.empty((n, N, 4), dtype=np.uint8)
    g[:, :, 0] = ch[:, 0::2]
    g[:, :, 1] = ord("|")
    g[:, :, 2] = ch[:, 1::2]
    g[:, :, 3] = ord("\t")
    g[:, -1, 3] = ord("\n")
    gts = g.reshape(n, -1)
    called = ~miss
    an = called.sum(axis=1)
    out = []
    for i in range(n):
        j = lo + i
        nalt = len(v.alts[j])
        ac = [int(((H[i] == a + 1) & called[i]).sum()) for a in range(nalt)]
        af = ",".join(f"{c / an[i]:.6g}" if an[i] else "0" for c in ac)
        vt = "SNV" if v.kind[j] in ("snv", "multi") else "INDEL"
        info = f"AC={','.join(map(str, ac))};AN={an[i]};AF={af};VT={vt}"
        out.append(f"{v.chrom}\t{v.pos[j] + 1}\t{v.ids[j]}\t{v.ref[j]}\t{','.join(v.alts[j])}\t.\tPASS\t{info}\tGT\t".encode())
        out.append(gts[i].tobytes())
    return b"".join(out)


def asv_rows(world, cs, v: Variants) -> list[tuple]:
    """Labelled allele-specific variants of one chromosome (see module docstring).

    Parameters
    ----------
    world : seq2func.simulate.world.World
        The world (cell types, params).
    cs : seq2func.simulate.world.ChromState
        The chromosome (its genes' TSSs).
    v : Variants
        The chromosome's variants, with :func:`local_effects` filled.

    Returns
    -------
    list of tuple
        ``(variant_id, chrom, pos (1-based), ref, alt, cell_type, label, direction)`` rows of
        ``asv_labels.tsv``, sorted by position, cell type and label (positives first).
    """
    P = world.params
    tss = np.sort(np.array([g.tss for g in cs.layout.genes], dtype=np.int64))
    if len(v) == 0:
        return []
    i = np.clip(np.searchsorted(tss, v.pos), 1, tss.size - 1) if tss.size > 1 else np.zeros(len(v), np.int64)
    dist = np.minimum(np.abs(v.pos - tss[np.maximum(i - 1, 0)]), np.abs(v.pos - tss[i]))
    biallelic = np.array([len(a) == 1 for a in v.alts])
    rows = []
    for ct_i, ct in enumerate(world.cell_type_names):
        d = v.dacc[:, 1, ct_i]
        pos_idx = np.flatnonzero(biallelic & (np.abs(d) >= P.asv_threshold))
        quiet = biallelic & (np.abs(d) < 0.1 * P.asv_threshold)
        # negatives alternate: a variant that touches a motif site but changes nothing in this cell type
        # (its TF is not active here: only a cell-type-aware model can tell), then one touching no site
        pools = [np.flatnonzero(quiet & v.touches), np.flatnonzero(quiet & ~v.touches)]
        used = [np.zeros(pl.size, dtype=bool) for pl in pools]
        for n_pos, j in enumerate(pos_idx):
            rows.append((j, ct_i, 1, int(np.sign(d[j]))))
            for k in (n_pos % 2, 1 - n_pos % 2):
                pool, u = pools[k], used[k]
                if pool.size and not u.all():
                    cost = np.abs(dist[pool] - dist[j]).astype(np.float64)
                    cost[u] = np.inf
                    kbest = int(np.argmin(cost))
                    u[kbest] = True
                    rows.append((int(pool[kbest]), ct_i, 0, 0))
                    break
    rows.sort(key=lambda r: (int(v.pos[r[0]]), r[1], -r[2]))
    return [(v.ids[j], v.chrom, int(v.pos[j]) + 1, v.ref[j], v.alts[j][0], world.cell_type_names[ct_i], lab, dirn)
            for j, ct_i, lab, dirn in rows]
