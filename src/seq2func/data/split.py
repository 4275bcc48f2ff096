"""Train/valid/test split by whole chromosomes, so test chromosomes never leak into training.

:func:`make_split` reads the FASTA index (``.fai``) and assigns every contig one label:

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
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from seq2func.chroms import alias_map
from seq2func.errors import InputError

SPLITS = ("train", "valid", "test")
EXCLUDE = "exclude"
FORMAT = "seq2func-split/1"


def read_fai(path: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
    """Contig names (in order) and lengths from a ``.fai``; a FASTA path is also accepted
    (its ``.fai`` is used, and built with pysam when missing)."""
    path = Path(path)
    if path.suffix != ".fai":
        fai = Path(str(path) + ".fai")
        if not fai.is_file():
            from seq2func.data.genome import Fasta

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
) -> dict:
    """Assign every contig of ``fai`` to ``train``/``valid``/``test`` (or ``fold<k>``) or ``exclude``.

    Explicit ``test_chroms``/``valid_chroms`` win; ``fractions`` then split the rest by length; with
    ``folds`` the non-test contigs are dealt into K length-balanced folds. Chromosome names may use
    any spelling (``22``/``chr22``). Returns the ``split.json`` dict.
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
    }
    split["digest"] = split_digest(split)
    return split


def split_digest(split: dict) -> str:
    body = {k: v for k, v in split.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def write_split(split: dict, path: str | os.PathLike) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(split, indent=2) + "\n")
    os.replace(tmp, path)


def load_split(path: str | os.PathLike) -> dict:
    path = Path(path)
    try:
        split = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise InputError(path, None, f"cannot read split JSON: {err}") from None
    if not isinstance(split, dict) or split.get("format") != FORMAT or not isinstance(split.get("chroms"), dict):
        raise InputError(path, None, f"not a {FORMAT} file (make it with prepare_split.py)")
    if split.get("digest") != split_digest(split):
        raise InputError(path, "digest", "split JSON was edited after it was made (digest mismatch)")
    return split


def fold_roles(split: dict, fold: int) -> dict[str, str]:
    """For a k-fold split: chromosome -> train/valid/test when ``fold`` is held out.

    ``fold{k}`` is test, ``fold{(k+1) % K}`` is valid, other folds train; contigs labelled
    ``test`` in the split stay test (an outer hold-out), ``exclude`` stays excluded.
    """
    K = split.get("folds")
    if not K:
        raise ValueError("this split has no folds")
    if not 0 <= fold < K:
        raise ValueError(f"fold must be in 0..{K - 1}")
    out = {}
    for c, lab in split["chroms"].items():
        if lab.startswith("fold"):
            k = int(lab[4:])
            out[c] = "test" if k == fold else ("valid" if k == (fold + 1) % K else "train")
        else:
            out[c] = lab
    return out
