"""Train/valid/test split by whole chromosomes or by contig blocks, so test data never leaks into training.

:func:`make_split` reads the FASTA index (``.fai``) and, with ``split_by="chrom"`` (the default),
assigns every contig one label:

- explicit lists: ``test_chroms`` / ``valid_chroms`` (any spelling, ``22`` or ``chr22``); the
  remaining contigs are ``train``;
- ``fractions=(train, valid, test)``: contigs are assigned greedily, longest first, to the split
  whose share of the total length is furthest below its target (ties broken by a seeded shuffle),
  so the splits are balanced by length, not by count; every split with a positive fraction gets at
  least one contig when there are enough contigs;
- ``folds=K``: contigs (those not already ``test``) are dealt into ``fold0..fold{K-1}`` by the same
  length-balancing greedy rule. For fold ``k``, :func:`fold_roles` makes ``fold{k}`` the test set,
  ``fold{k+1 mod K}`` the validation set and the rest training.

Contigs filtered out (``chroms`` not listing them, ``exclude_chroms``, shorter than ``min_length``)
get ``exclude``. The result is a JSON-able dict (``split.json``) that PREPARE copies into the
manifest; a contig has exactly one label, so no chromosome is ever in two splits.

Contig blocks (``split_by="contig"``)
    For genomes with few chromosomes (one chromosome of a test kit, a bacterial genome), whole
    chromosomes cannot fill three splits. As in Basenji, the sequence is then cut at its assembly
    gaps and the pieces are assigned to splits:

    1. every included chromosome of the FASTA is streamed in 1 Mb blocks (never a whole contig in
       memory) and its runs of N (any non-ACGT letter, either case) of at least ``min_gap`` bp are
       the assembly gaps; the sequence between gaps is a contig; leading and trailing N of a
       chromosome are left out (shorter N runs stay inside contigs; the window N filter of
       PREPARE deals with them);
    2. each contig of length ``n`` is cut into ``ceil(n / block_size)`` equal blocks (so blocks
       are at most ``block_size`` bp); blocks shorter than ``seq_length`` (when given) cannot hold
       a window and are recorded with label ``exclude``;
    3. blocks are assigned to ``train``/``valid``/``test`` by ``fractions`` (default 0.8,0.1,0.1)
       with the same length-balanced, seeded greedy rule as chromosomes, or dealt into ``folds``;
       explicit ``test_chroms`` / ``valid_chroms`` are an error in this mode;
    4. between two blocks of one chromosome with different labels that are closer than ``gap`` bp
       (default ``seq_length``, which bounds any model's receptive field; 131072 without it), the
       **later block's start is moved** so that at least ``gap`` bp separate them (the earlier
       block is never trimmed). A block trimmed below ``seq_length`` (or to nothing) becomes
       ``exclude``. Blocks of different labels are therefore always ``>= gap`` bp apart, and since
       PREPARE tiles windows only inside blocks, no base of a test block is inside a window of
       another split.

    ``split.json`` then holds ``"split_by": "contig"``, the parameters ``block_size``, ``min_gap``,
    ``gap``, ``seq_length``, and ``"blocks"``: ``[{"chrom", "start", "end", "split"}, ...]``
    (0-based half-open, in FASTA chromosome order then by start; excluded blocks included with
    ``"split": "exclude"``). ``chroms[c]`` is ``"contigs"`` for a chromosome with blocks and
    ``"exclude"`` otherwise. In chrom mode ``"split_by": "chrom"`` is the only added key.

:func:`resolve_split_by` turns ``auto`` into ``chrom`` or ``contig``; :func:`check_nonempty` stops
a split that leaves a needed split empty; :func:`split_blocks` / :func:`chrom_blocks` give the
blocks of either mode (a chromosome is one block in chrom mode) and :func:`fold_roles` the roles of
each label for one fold.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.prepare.genome import N_LUT, Fasta

SPLITS = ("train", "valid", "test")
EXCLUDE = "exclude"
CONTIGS = "contigs"
FORMAT = "seq2func-split/1"
SPLIT_BY = ("chrom", "contig")
DEFAULT_GAP = 131072
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)  # prepare_split.py with nothing chosen; contig mode without fractions or folds
GAP_SCAN_BP = 1 << 20  # stream a chromosome 1 Mb at a time when looking for N runs


def read_fai(path: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
    """Contig names (in order) and lengths from a ``.fai``; a FASTA path is also accepted
    (its ``.fai`` is used, and built with pysam when missing).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.fai`` file, or a FASTA (its ``<path>.fai``).

    Returns
    -------
    tuple
        ``(names, lengths)``: contig names in index order, and name -> length in bp.

    Raises
    ------
    InputError
        When the index is missing, malformed, has duplicate contigs or lists none.
    """
    path = Path(path)
    if path.suffix != ".fai":
        fai = Path(str(path) + ".fai")
        if not fai.is_file():
            fa = Fasta(path)  # builds the index
            fa.close()
        path = fai
    if not path.is_file():
        raise InputError(path, None, "FASTA index not found")
    names: list[str] = []
    lengths: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) < 2:
                raise InputError(path, f"line {i}", "expected name<TAB>length")
            try:
                n = int(f[1])
            except ValueError:
                raise InputError(path, f"line {i}", f"length '{f[1]}' is not an integer") from None
            if f[0] in lengths:
                raise InputError(path, f"line {i}", f"duplicate contig {f[0]}")
            names.append(f[0])
            lengths[f[0]] = n
    if not names:
        raise InputError(path, None, "FASTA index lists no contigs")
    return names, lengths


def _as_list(x: str | Iterable[str] | None) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [t for t in re.split(r"[,\s]+", x) if t]
    return [t for t in x if t]


def _resolve(names: list[str], wanted: list[str], what: str) -> list[str]:
    amap = alias_map(names, wanted)
    missing = [w for w in wanted if w not in amap]
    if missing:
        raise InputError(f"--{what}", ", ".join(missing), "chromosome absent from the FASTA")
    return [amap[w] for w in wanted]


def _greedy(contigs: list[str], lengths: dict[str, int], labels: list[str], shares: list[float], seed: int) -> dict[str, str]:
    """Longest first into the label furthest below its target length (seeded tie-break).

    When there are at least as many contigs as labels with a positive share, each such label is
    first given one contig (smallest share first: the longest contig that fits its target, else the
    shortest left), so no requested split ends up empty.
    """
    rng = np.random.default_rng(seed)
    order = list(contigs)
    rng.shuffle(order)  # tie-break among equal lengths
    order.sort(key=lambda c: -lengths[c])  # stable: longest first
    total = float(sum(lengths[c] for c in order))
    target = [s * total for s in shares]
    filled = [0.0] * len(labels)
    out: dict[str, str] = {}
    remaining = list(order)
    positive = [j for j, s in enumerate(shares) if s > 0]
    if len(remaining) >= len(positive):
        for j in sorted(positive, key=lambda j: shares[j]):
            fits = [c for c in remaining if lengths[c] <= target[j]]
            c = fits[0] if fits else remaining[-1]
            out[c] = labels[j]
            filled[j] += lengths[c]
            remaining.remove(c)
    for c in remaining:
        deficit = [target[j] - filled[j] if shares[j] > 0 else -np.inf for j in range(len(labels))]
        j = int(np.argmax(deficit))
        out[c] = labels[j]
        filled[j] += lengths[c]
    return out


# --------------------------------------------------------------------------- contig blocks
def resolve_split_by(split_by: str, n_data_contigs: int, explicit_chroms: bool, min_contigs: int = 3) -> str:
    """Resolve ``--split_by`` to ``chrom`` or ``contig``.

    Parameters
    ----------
    split_by
        ``chrom``, ``contig`` (returned as they are) or ``auto``.
    n_data_contigs
        How many FASTA contigs hold data (e.g. those long enough for a window, or those the tracks
        cover).
    explicit_chroms
        Whether test/valid chromosomes were given explicitly (those only make sense by chromosome).
    min_contigs
        ``auto`` picks ``chrom`` from this many data contigs on (3: one per split; callers with
        ``K`` folds may pass ``max(3, K)``).

    Returns
    -------
    str
        ``chrom`` or ``contig``.

    Raises
    ------
    InputError
        For any other value of ``split_by``.
    """
    s = str(split_by).strip().lower()
    if s in SPLIT_BY:
        return s
    if s == "auto":
        return "chrom" if explicit_chroms or int(n_data_contigs) >= int(min_contigs) else "contig"
    raise InputError("--split_by", str(split_by), "must be chrom, contig or auto")


def find_gaps(fasta: Fasta, chrom: str, min_gap: int, block_bp: int = GAP_SCAN_BP) -> tuple[list[tuple[int, int]], int | None, int | None]:
    """Assembly gaps of ``chrom``: runs of N (any non-ACGT letter, either case) ``>= min_gap`` bp.

    Streams the chromosome ``block_bp`` at a time (runs crossing block edges are joined), so memory
    does not grow with the chromosome.

    Parameters
    ----------
    fasta
        An open :class:`seq2func.prepare.genome.Fasta`.
    chrom
        Chromosome name as spelled in the FASTA.
    min_gap
        Shortest N run that counts as a gap.
    block_bp
        Bases read at a time.

    Returns
    -------
    (gaps, first, last)
        ``gaps``: sorted half-open ``(start, end)`` N runs of at least ``min_gap`` bp; ``first`` /
        ``last``: the first non-N base and one past the last (``None`` for an all-N chromosome).
    """
    length = fasta.length(chrom)
    gaps: list[tuple[int, int]] = []
    open_run: int | None = None  # start of an N run reaching the end of the previous block
    first: int | None = None
    last: int | None = None
    for b0 in range(0, length, block_bp):
        b1 = min(b0 + block_bp, length)
        raw = np.frombuffer(fasta.fetch_text(chrom, b0, b1).encode("latin-1"), dtype=np.uint8)
        is_n = N_LUT[raw].astype(np.int8)
        del raw
        good = np.flatnonzero(is_n == 0)
        if good.size:
            if first is None:
                first = b0 + int(good[0])
            last = b0 + int(good[-1]) + 1
        d = np.diff(is_n, prepend=np.int8(0), append=np.int8(0))
        rs = np.flatnonzero(d == 1) + b0
        re_ = np.flatnonzero(d == -1) + b0
        del d, is_n, good
        if open_run is not None:
            if rs.size and rs[0] == b0:
                rs[0] = open_run  # the run continues from the previous block
            elif b0 - open_run >= min_gap:
                gaps.append((open_run, b0))
            open_run = None
        if rs.size and re_[-1] == b1 and b1 < length:
            open_run = int(rs[-1])  # may continue in the next block
            rs, re_ = rs[:-1], re_[:-1]
        long_ = (re_ - rs) >= min_gap
        gaps.extend(zip(rs[long_].tolist(), re_[long_].tolist()))
    return gaps, first, last


def find_contigs(fasta: Fasta, chrom: str, min_gap: int, block_bp: int = GAP_SCAN_BP) -> list[tuple[int, int]]:
    """Contigs of ``chrom``: the sequence between assembly gaps (see :func:`find_gaps`).

    Parameters
    ----------
    fasta
        An open :class:`seq2func.prepare.genome.Fasta`.
    chrom
        Chromosome name as spelled in the FASTA.
    min_gap
        Shortest N run that separates two contigs.
    block_bp
        Bases read at a time.

    Returns
    -------
    list of (start, end)
        Sorted, disjoint, half-open; leading and trailing N of the chromosome left out.
    """
    gaps, first, last = find_gaps(fasta, chrom, min_gap, block_bp)
    if first is None or last is None:
        return []
    out: list[tuple[int, int]] = []
    pos = first
    for gs, ge in gaps:
        if ge <= pos or gs >= last:
            continue
        if gs > pos:
            out.append((pos, gs))
        pos = ge
    if last > pos:
        out.append((pos, last))
    return out


def cut_blocks(start: int, end: int, block_size: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut into ``ceil(len / block_size)`` equal (to 1 bp) pieces.

    Parameters
    ----------
    start : int
        Start of the contig (0-based).
    end : int
        End of the contig (exclusive).
    block_size : int
        Longest block in bp.

    Returns
    -------
    list of (int, int)
        Consecutive half-open blocks covering ``[start, end)``; empty when ``end <= start``.
    """
    n = end - start
    if n <= 0:
        return []
    k = max(1, math.ceil(n / block_size))
    cuts = [start + (i * n) // k for i in range(k + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(k)]


def _trim_for_gap(blocks: list[dict], gap: int, min_len: int) -> None:
    """In place: move starts so blocks of different labels on one chromosome are ``>= gap`` apart.

    ``blocks`` are sorted by chromosome then start; only non-excluded blocks take part. The later
    block of a pair loses ``gap - distance`` bp at its start; a block left shorter than
    ``min_len`` (or empty) becomes ``exclude``.
    """
    prev: dict | None = None
    for b in blocks:
        if b["split"] == EXCLUDE:
            continue
        if prev is not None and prev["chrom"] == b["chrom"] and prev["split"] != b["split"]:
            need = prev["end"] + gap
            if b["start"] < need:
                b["start"] = min(need, b["end"])
        if b["end"] - b["start"] < max(min_len, 1):
            b["split"] = EXCLUDE
            continue
        prev = b


def _contig_split(
    fasta_path: Path,
    names: list[str],
    lengths: dict[str, int],
    included: list[str],
    labels: list[str],
    shares: list[float],
    seed: int,
    block_size: int,
    min_gap: int,
    gap: int,
    seq_length: int | None,
    folds: int | None,
) -> list[dict]:
    fa = Fasta(fasta_path)
    try:
        if [n for n in fa.names] != names or any(fa.lengths[c] != lengths[c] for c in names):
            raise InputError(fasta_path, None, "FASTA and its .fai disagree (contig names or lengths); rebuild the index")
        blocks: list[dict] = []
        for c in included:
            for a, b in find_contigs(fa, c, min_gap):
                for s, e in cut_blocks(a, b, block_size):
                    blocks.append({"chrom": c, "start": int(s), "end": int(e), "split": ""})
    finally:
        fa.close()
    min_len = int(seq_length or 0)
    keys: list[str] = []
    blen: dict[str, int] = {}
    for i, b in enumerate(blocks):
        if b["end"] - b["start"] < max(min_len, 1):
            b["split"] = EXCLUDE
        else:
            keys.append(str(i))
            blen[str(i)] = b["end"] - b["start"]
    if folds and len(keys) < folds:
        raise InputError("--folds", str(folds), f"only {len(keys)} contig blocks to deal into {folds} folds; lower --split_block_size")
    for k, lab in _greedy(keys, blen, labels, shares, seed).items():
        blocks[int(k)]["split"] = lab
    _trim_for_gap(blocks, gap, min_len)
    return blocks


def _check_int(name: str, value, lo: int) -> int:
    try:
        v = int(value)
        ok = not isinstance(value, float) or float(v) == value
    except (TypeError, ValueError):
        ok = False
    if not ok or v < lo:
        raise InputError(name, str(value), f"must be an integer >= {lo}")
    return v


def make_split(
    fai: str | os.PathLike,
    test_chroms: str | Sequence[str] | None = None,
    valid_chroms: str | Sequence[str] | None = None,
    fractions: str | Sequence[float] | None = None,
    folds: int | None = None,
    seed: int = 0,
    chroms: str | Sequence[str] | None = None,
    exclude_chroms: str | Sequence[str] | None = None,
    min_length: int = 0,
    split_by: str = "chrom",
    block_size: int = 1_000_000,
    min_gap: int = 50_000,
    gap: int | None = None,
    seq_length: int | None = None,
) -> dict:
    """Assign every contig of ``fai`` (or every contig block) to a split; returns the ``split.json`` dict.

    Parameters
    ----------
    fai
        The FASTA (plain or bgzip) or its ``.fai``. Contig mode needs the FASTA itself (a ``.fai``
        path is accepted when the FASTA lies next to it).
    test_chroms, valid_chroms
        Explicit test / validation chromosomes (chrom mode only; any spelling, ``22``/``chr22``).
    fractions
        ``(train, valid, test)`` length fractions (or ``"0.8,0.1,0.1"``); contig mode defaults to
        :data:`DEFAULT_FRACTIONS` when neither ``fractions`` nor ``folds`` is given (chromosome mode:
        every chromosome not named test or valid is ``train``; ``prepare_split.py`` passes
        :data:`DEFAULT_FRACTIONS` when nothing is chosen).
    folds
        Deal chromosomes (chrom mode, those not ``test``) or blocks (contig mode) into ``K``
        length-balanced folds ``fold0..fold{K-1}``.
    seed
        Tie-break seed of the greedy assignment.
    chroms, exclude_chroms, min_length
        Which chromosomes take part (the others are ``exclude``), in both modes.
    split_by
        ``chrom`` (default: whole chromosomes), ``contig`` (blocks of contigs cut at assembly gaps)
        or ``auto`` (:func:`resolve_split_by` with the number of included contigs at least
        ``seq_length`` long).
    block_size
        Contig mode: largest block, bp.
    min_gap
        Contig mode: shortest N run that counts as an assembly gap, bp.
    gap
        Contig mode: least distance between blocks of different labels, bp (default
        ``seq_length``, else 131072).
    seq_length
        Contig mode: window length of PREPARE; blocks shorter than this are ``exclude``.

    Returns
    -------
    dict
        ``format``, ``method`` (``chroms``/``fractions``/``folds``), ``seed``, ``folds``,
        ``fractions``, ``chroms`` (contig -> label), ``lengths``, ``split_by``; in contig mode also
        ``block_size``, ``min_gap``, ``gap``, ``seq_length`` and ``blocks``; ``digest`` last.

    Raises
    ------
    InputError
        One line naming the offending parameter.
    """
    names, lengths = read_fai(fai)
    test = _resolve(names, _as_list(test_chroms), "test_chroms")
    valid = _resolve(names, _as_list(valid_chroms), "valid_chroms")
    both = sorted(set(test) & set(valid))
    if both:
        raise InputError("--test_chroms/--valid_chroms", ", ".join(both), "chromosome in both the test and the validation set")
    keep = _resolve(names, _as_list(chroms), "chroms") if chroms else list(names)
    drop = set(_resolve(names, _as_list(exclude_chroms), "exclude_chroms"))
    if isinstance(fractions, str):
        try:
            fractions = [float(x) for x in _as_list(fractions)]
        except ValueError:
            raise InputError("--fractions", str(fractions), "expected three numbers train,valid,test") from None
    if fractions is not None:
        fractions = [float(x) for x in fractions]
        if len(fractions) != 3 or any(x < 0 for x in fractions) or not np.isclose(sum(fractions), 1.0, atol=1e-6):
            raise InputError("--fractions", ",".join(map(str, fractions)), "expected three non-negative numbers train,valid,test summing to 1")
    if folds is not None and folds != 0:
        if folds < 2:
            raise InputError("--folds", str(folds), "need at least 2 folds")
        if fractions is not None or valid:
            raise InputError("--folds", str(folds), "folds cannot be combined with --fractions or --valid_chroms")

    label: dict[str, str] = {}
    included = [c for c in names if c in set(keep) and c not in drop and lengths[c] >= min_length]
    if str(split_by).strip().lower() == "auto":
        L = int(seq_length or 1)
        split_by = resolve_split_by("auto", sum(lengths[c] >= L for c in included), bool(test or valid), max(3, int(folds or 0)))
    split_by = resolve_split_by(split_by, 0, False)
    if split_by == "contig":
        return _make_contig_split(fai, names, lengths, included, test, valid, fractions, folds, seed,
                                  block_size, min_gap, gap, seq_length)

    for c in names:
        if c not in included:
            label[c] = EXCLUDE
    for c in test:
        if c not in included:
            raise InputError("--test_chroms", c, "chromosome is excluded (by --chroms, --exclude_chroms or --min_length)")
        label[c] = "test"
    for c in valid:
        if c not in included:
            raise InputError("--valid_chroms", c, "chromosome is excluded (by --chroms, --exclude_chroms or --min_length)")
        label[c] = "valid"
    rest = [c for c in included if c not in label]
    if folds:
        method = "folds"
        if len(rest) < folds:
            raise InputError("--folds", str(folds), f"only {len(rest)} chromosomes to deal into {folds} folds")
        labels = [f"fold{k}" for k in range(folds)]
        label.update(_greedy(rest, lengths, labels, [1.0 / folds] * folds, seed))
    elif fractions is not None:
        method = "fractions"
        shares = list(fractions)
        labels = list(SPLITS)
        # explicit test/valid contigs count towards their shares
        pre_len = {s: sum(lengths[c] for c in included if label.get(c) == s) for s in SPLITS}
        total = sum(lengths[c] for c in included)
        rem_total = sum(lengths[c] for c in rest) or 1
        adj = [max(shares[j] * total - pre_len[labels[j]], 0.0) / rem_total for j in range(3)]
        ssum = sum(adj) or 1.0
        label.update(_greedy(rest, lengths, labels, [a / ssum for a in adj], seed))
    else:
        method = "chroms"
        for c in rest:
            label[c] = "train"
    split = {
        "format": FORMAT,
        "method": method,
        "seed": int(seed),
        "folds": int(folds) if folds else None,
        "fractions": list(fractions) if fractions is not None else None,
        "chroms": {c: label[c] for c in names},
        "lengths": {c: int(lengths[c]) for c in names},
        "split_by": "chrom",
    }
    split["digest"] = split_digest(split)
    return split


def _make_contig_split(fai, names, lengths, included, test, valid, fractions, folds, seed, block_size, min_gap, gap, seq_length) -> dict:
    if test or valid:
        raise InputError("--split_by", "contig", "--test_chroms/--valid_chroms name whole chromosomes; with contig blocks use --chrom_fractions or --folds")
    block_size = _check_int("--split_block_size", block_size, 1)
    min_gap = _check_int("--split_min_gap", min_gap, 1)
    if seq_length is not None:
        seq_length = _check_int("--seq_length", seq_length, 1)
    gap = _check_int("--split_gap", gap if gap is not None else (seq_length or DEFAULT_GAP), 0)
    if seq_length is not None and block_size < seq_length:
        raise InputError("--split_block_size", str(block_size), f"smaller than seq_length {seq_length}: no block could hold a window")
    fpath = Path(fai)
    if fpath.suffix == ".fai":
        fpath = fpath.with_suffix("")
        if not fpath.is_file():
            raise InputError("--split_by", "contig", f"contig blocks need the FASTA itself to find its N gaps, not only {fai}")
    if folds:
        method = "folds"
        labels = [f"fold{k}" for k in range(folds)]
        shares = [1.0 / folds] * folds
    else:
        method = "fractions"
        fractions = list(fractions) if fractions is not None else list(DEFAULT_FRACTIONS)
        labels = list(SPLITS)
        shares = list(fractions)
    blocks = _contig_split(fpath, names, lengths, included, labels, shares, seed, block_size, min_gap, gap, seq_length, folds)
    has = {b["chrom"] for b in blocks if b["split"] != EXCLUDE}
    split = {
        "format": FORMAT,
        "method": method,
        "seed": int(seed),
        "folds": int(folds) if folds else None,
        "fractions": list(fractions) if fractions is not None else None,
        "chroms": {c: (CONTIGS if c in has else EXCLUDE) for c in names},
        "lengths": {c: int(lengths[c]) for c in names},
        "split_by": "contig",
        "block_size": block_size,
        "min_gap": min_gap,
        "gap": gap,
        "seq_length": seq_length,
        "blocks": blocks,
    }
    split["digest"] = split_digest(split)
    return split


def split_digest(split: dict) -> str:
    """Short digest identifying a split (every key but ``digest`` itself).

    Parameters
    ----------
    split : dict
        A :func:`make_split` dict.

    Returns
    -------
    str
        First 16 hex digits of the sha256 of its canonical JSON.
    """
    body = {k: v for k, v in split.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def write_split(split: dict, path: str | os.PathLike) -> None:
    """Write a split as JSON, atomically (temporary file then rename).

    Parameters
    ----------
    split : dict
        A :func:`make_split` dict.
    path : str or os.PathLike
        The ``split.json`` to write.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(split, indent=2) + "\n")
    os.replace(tmp, path)


def load_split(path: str | os.PathLike) -> dict:
    """Read a ``split.json`` written by :func:`write_split` and check it.

    Parameters
    ----------
    path : str or os.PathLike
        The ``split.json``.

    Returns
    -------
    dict
        The split.

    Raises
    ------
    InputError
        When the file cannot be read, is not a split of this format, was edited after it was made
        (digest mismatch), or is a contig-mode split without a valid block list.
    """
    path = Path(path)
    try:
        split = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise InputError(path, None, f"cannot read split JSON: {err}") from None
    if not isinstance(split, dict) or split.get("format") != FORMAT or not isinstance(split.get("chroms"), dict):
        raise InputError(path, None, f"not a {FORMAT} file (make it with prepare_split.py)")
    if split.get("digest") != split_digest(split):
        raise InputError(path, "digest", "split JSON was edited after it was made (digest mismatch)")
    if split_mode(split) == "contig":
        blocks = split.get("blocks")
        if not isinstance(blocks, list) or any(not isinstance(b, dict) or b.get("chrom") not in split["chroms"] for b in blocks):
            raise InputError(path, "blocks", "contig-mode split without a valid block list")
    return split


# --------------------------------------------------------------------------- reading a split
def split_mode(split: dict) -> str:
    """``chrom`` or ``contig`` (a split made before contig blocks existed is ``chrom``).

    Parameters
    ----------
    split : dict
        A :func:`make_split` dict.

    Returns
    -------
    str
        Its ``split_by``.
    """
    return split.get("split_by") or "chrom"


def split_blocks(split: dict, include_excluded: bool = False) -> list[dict]:
    """The blocks of a split, in both modes.

    Parameters
    ----------
    split
        A :func:`make_split` dict.
    include_excluded
        Also return blocks / chromosomes labelled ``exclude``.

    Returns
    -------
    list of dict
        ``{"chrom", "start", "end", "split"}`` sorted by chromosome order then start; in chrom
        mode one block ``[0, length)`` per chromosome with the chromosome's label.
    """
    if split_mode(split) == "contig":
        out = [dict(b) for b in split["blocks"]]
    else:
        out = [{"chrom": c, "start": 0, "end": int(split["lengths"][c]), "split": lab} for c, lab in split["chroms"].items()]
    return out if include_excluded else [b for b in out if b["split"] != EXCLUDE]


def chrom_blocks(split: dict, chrom: str) -> list[tuple[int, int, str]]:
    """``(start, end, label)`` of the non-excluded blocks of ``chrom``, sorted by start.

    Parameters
    ----------
    split
        A :func:`make_split` dict.
    chrom
        Chromosome name as spelled in the split.

    Returns
    -------
    list of (int, int, str)
        Chrom mode: ``[(0, length, label)]`` (empty when the chromosome is excluded).
    """
    return sorted((int(b["start"]), int(b["end"]), str(b["split"])) for b in split_blocks(split) if b["chrom"] == chrom)


def split_labels(split: dict) -> list[str]:
    """Window labels a split can give (``train``/``valid``/``test``, ``fold<k>``), sorted; no ``exclude``.

    Parameters
    ----------
    split : dict
        A :func:`make_split` dict.

    Returns
    -------
    list of str
        The labels of its non-excluded blocks / chromosomes.
    """
    return sorted({b["split"] for b in split_blocks(split)})


def fold_role(label: str, fold: int, folds: int) -> str:
    """Role of one label when ``fold`` is held out: ``fold{fold}`` -> test, ``fold{fold+1 mod K}`` ->
    valid, other folds -> train; any other label (``test``, ``exclude``, ...) is returned as is.

    Parameters
    ----------
    label : str
        A split label (``fold<k>``, ``test``, ``exclude``, ...).
    fold : int
        The held-out fold.
    folds : int
        Number of folds ``K``.

    Returns
    -------
    str
        ``train``, ``valid``, ``test`` or ``label`` unchanged.
    """
    if label.startswith("fold") and label[4:].isdigit():
        k = int(label[4:])
        return "test" if k == fold else ("valid" if k == (fold + 1) % folds else "train")
    return label


def fold_roles(split: dict, fold: int, by: str = "chrom") -> dict[str, str] | list[dict]:
    """For a k-fold split: the train/valid/test role of each chromosome, label or block when ``fold`` is held out.

    ``fold{k}`` is test, ``fold{(k+1) % K}`` is valid, other folds train; chromosomes / blocks
    labelled ``test`` in the split stay test (an outer hold-out), ``exclude`` stays excluded.

    Parameters
    ----------
    split
        A k-fold :func:`make_split` dict (either mode).
    fold
        The held-out fold, ``0..K-1``.
    by
        ``chrom``: chromosome -> role (in contig mode a chromosome keeps its label ``contigs`` /
        ``exclude``, since its blocks have different roles); ``label``: label -> role for every
        label of the split (what a window's ``regions.tsv`` ``split`` column maps through, in both
        modes); ``block``: the :func:`split_blocks` list with a ``role`` key added.

    Returns
    -------
    dict or list
        As described for ``by``.

    Raises
    ------
    ValueError
        When the split has no folds, ``fold`` is out of range or ``by`` is unknown.
    """
    K = split.get("folds")
    if not K:
        raise ValueError("this split has no folds")
    if not 0 <= fold < K:
        raise ValueError(f"fold must be in 0..{K - 1}")
    if by == "chrom":
        return {c: fold_role(lab, fold, K) for c, lab in split["chroms"].items()}
    if by == "label":
        labs = {b["split"] for b in split_blocks(split, include_excluded=True)} | set(split["chroms"].values())
        return {lab: fold_role(lab, fold, K) for lab in sorted(labs)}
    if by == "block":
        return [dict(b, role=fold_role(b["split"], fold, K)) for b in split_blocks(split)]
    raise ValueError(f"by must be chrom, label or block, not {by!r}")


def requested_labels(split: dict, need: Sequence[str] = ("valid", "test")) -> list[str]:
    """Labels a split must fill for the roles in ``need``.

    Folds: every ``fold<k>`` (each is some fold's test and another's validation set), plus ``test``
    when ``test`` is needed and chromosomes were held out explicitly. Otherwise each needed split
    unless its fraction is 0 (``--fractions 0.9,0.1,0``: no test set wanted).

    Parameters
    ----------
    split
        A :func:`make_split` dict.
    need
        Roles that must not be empty (``train``/``valid``/``test``).

    Returns
    -------
    list of str
    """
    need = [n for n in need if n]
    if not need:
        return []
    if split.get("folds"):
        out = [f"fold{k}" for k in range(int(split["folds"]))]
        if "test" in need and "test" in split_labels(split):
            out.append("test")
        return out
    fr = split.get("fractions")
    out = []
    for s in need:
        if s in SPLITS and fr is not None and float(fr[SPLITS.index(s)]) == 0.0:
            continue
        out.append(s)
    return out


def check_nonempty(split: dict, need: Sequence[str] = ("valid", "test"), source: str = "split.json") -> None:
    """Stop when a needed split got no chromosome / block.

    Parameters
    ----------
    split
        A :func:`make_split` dict.
    need
        Roles that must get something (default ``valid`` and ``test``; a split whose fraction is 0
        is not needed). For a k-fold split every fold must get something.
    source
        Name of the split in the message.

    Raises
    ------
    InputError
        One line, e.g. ``split.json: valid: empty split: no chromosome/block assigned (contig mode:
        1 blocks of 1000000 bp on 1 chromosome(s); lower --split_block_size or change
        --chrom_fractions)``.
    """
    for s in need:
        if s not in SPLITS:
            raise InputError("--require", s, "must name train, valid or test")
    blocks = split_blocks(split)
    have = {b["split"] for b in blocks}
    for lab in requested_labels(split, need):
        if lab in have:
            continue
        if split_mode(split) == "contig":
            n_chr = len({b["chrom"] for b in blocks})
            how = (f"contig mode: {len(blocks)} blocks of {split.get('block_size')} bp on {n_chr} chromosome(s); "
                   f"lower --split_block_size or change --{'folds' if split.get('folds') else 'chrom_fractions'}")
        else:
            how = (f"chrom mode: {len(blocks)} chromosome(s); use --split_by contig, or change "
                   f"--{'folds' if split.get('folds') else 'chrom_fractions'} / --test_chroms / --valid_chroms")
        raise InputError(source, lab, f"empty split: no chromosome/block assigned ({how})")


def split_summary(split: dict) -> dict[str, dict[str, int]]:
    """Per label: number of blocks (chromosomes in chrom mode) and their total bp.

    Parameters
    ----------
    split : dict
        A :func:`make_split` dict.

    Returns
    -------
    dict
        Label -> ``{"blocks": int, "bp": int}``, sorted by label; excluded blocks are left out.
    """
    out: dict[str, dict[str, int]] = {}
    for b in split_blocks(split):
        d = out.setdefault(b["split"], {"blocks": 0, "bp": 0})
        d["blocks"] += 1
        d["bp"] += int(b["end"]) - int(b["start"])
    return dict(sorted(out.items()))
