"""What SCORE_VARIANTS publishes: the scores per input record (TSV and Parquet), the input's
records with the scores as INFO fields (bgzipped, tabix-indexed VCF) and a JSON summary.

The scoring works on unique variants (:attr:`VariantSet.variants`, one row per ``key``); every
output here goes back to the input's records through :attr:`VariantSet.records` (``key`` per
record x ALT), so a variant given twice is scored once and reported twice, and a skipped ALT is
reported with no score and its ``skip_reason``. Every file is written under a temporary name in
its folder and renamed into place only when all files of the call are complete: a failure
publishes nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
from pysam.libcbgzf import BGZFile

from seq2func.io.atomic import write_json
from seq2func.io.text import CStderr
from seq2func.variants.records import VariantSet, vcf_header_and_records

#: columns of the scores table that are not scores
BOOKKEEPING = ("key", "track_id", "flipped")
#: columns of :func:`record_table` before ``track_id`` and the scores
RECORD_TABLE_COLUMNS = (
    "record_index", "alt_index", "input_chrom", "input_pos", "input_id", "input_ref", "input_alt",
    "chrom", "pos", "ref", "alt", "key", "flipped", "skip_reason",
)
INFO_ID = re.compile(r"^[A-Za-z_][0-9A-Za-z_.]*$")
_TBI_MAX = 1 << 29  # tabix (TBI) addresses positions below 2^29; longer contigs need CSI


# --------------------------------------------------------------------------------------------
# plumbing
# --------------------------------------------------------------------------------------------
def _temp(final: Path, suffix: str = ".tmp") -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=suffix)
    os.close(fd)
    return Path(tmp)


def _publish(pending: Sequence[tuple[Path, Path]]) -> None:
    for tmp, final in pending:
        os.replace(tmp, final)


def _cleanup(pending: Iterable[tuple[Path, Path]]) -> None:
    for tmp, _ in pending:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass


def _score_columns(scores: pd.DataFrame, vs: VariantSet) -> list[str]:
    """The score columns of a scores table, after checking its shape against ``vs``."""
    missing = [c for c in ("key", "track_id") if c not in scores.columns]
    if missing:
        raise ValueError(f"scores table lacks column(s) {missing}")
    if scores.duplicated(["key", "track_id"]).any():
        dup = scores.loc[scores.duplicated(["key", "track_id"]), ["key", "track_id"]].iloc[0].tolist()
        raise ValueError(f"scores table has (key, track_id) {dup} more than once")
    unknown = set(scores["key"]) - set(vs.variants["key"])
    if unknown:
        raise ValueError(f"scores table has {len(unknown)} key(s) not among the variants, e.g. {min(unknown)!r}")
    return [c for c in scores.columns if c not in BOOKKEEPING]


def record_table(scores: pd.DataFrame, vs: VariantSet) -> pd.DataFrame:
    """The scores of every input record x ALT x track.

    Parameters
    ----------
    scores
        One row per unique variant ``key`` and ``track_id``, one column per score (``SAD``,
        ``logSAD``, ..., ``pvalue_SAD``, ...); a ``flipped`` column, if any, is ignored (the
        variant set's is used).
    vs
        The variant set the scores are for.

    Returns
    -------
    pandas.DataFrame
        :data:`RECORD_TABLE_COLUMNS` -- the record as given (``input_*``), the FASTA-spelled,
        normalised variant (``chrom``, ``pos``, ``ref``, ``alt``, ``key``; NA when skipped),
        ``flipped`` and ``skip_reason`` -- then ``track_id`` and the score columns. Rows: input
        record x ALT x track (tracks in their order of first appearance in ``scores``), in input
        order; a skipped ALT has a row per track with NA scores.
    """
    score_cols = _score_columns(scores, vs)
    tracks = list(pd.unique(scores["track_id"]))
    rec = vs.records
    var = vs.variants[["key", "pos", "ref", "alt"]]
    base = rec[["record_index", "alt_index", "input_chrom", "input_pos", "input_id", "input_ref",
                "input_alt", "chrom", "key", "flipped", "skip_reason"]].merge(var, on="key", how="left", sort=False)
    base["pos"] = base["pos"].astype("Int64")
    base = base[list(RECORD_TABLE_COLUMNS)]
    n, t = len(base), len(tracks)
    out = base.loc[base.index.repeat(t)].reset_index(drop=True)
    out["track_id"] = pd.array(np.tile(np.asarray(tracks, dtype=object), n), dtype=object)
    vals = scores[["key", "track_id"] + score_cols]
    out = out.merge(vals, on=["key", "track_id"], how="left", sort=False)
    out.attrs = {}  # the scoring's attrs (counts) are not table metadata
    return out


def write_table(scores: pd.DataFrame, vs: VariantSet, out_tsv: str | os.PathLike,
                out_parquet: str | os.PathLike) -> pd.DataFrame:
    """Write the scores of every input record x ALT x track as TSV and Parquet.

    Parameters
    ----------
    scores
        One row per unique variant ``key`` and ``track_id`` (see :func:`record_table`).
    vs
        The variant set the scores are for.
    out_tsv, out_parquet
        The two outputs; the TSV writes missing values as ``NA`` and floats at full precision,
        so that ``pandas.read_csv(out_tsv, sep="\\t")`` equals ``pandas.read_parquet(out_parquet)``.

    Returns
    -------
    pandas.DataFrame
        The table written (:func:`record_table`).
    """
    table = record_table(scores, vs)
    tsv, pq = Path(out_tsv), Path(out_parquet)
    pending = [(_temp(tsv), tsv), (_temp(pq), pq)]
    try:
        table.to_csv(pending[0][0], sep="\t", index=False, na_rep="NA")
        table.to_parquet(pending[1][0], index=False)
        _publish(pending)
    finally:
        _cleanup(pending)
    return table


def write_summary(path: str | os.PathLike, **counts: object) -> Path:
    """Write the run's counts as JSON, atomically.

    Parameters
    ----------
    path
        The JSON file.
    **counts
        What to record, e.g. ``**vs.counts`` plus the scoring's own numbers; numpy scalars and
        NaN are cleaned (:func:`seq2func.io.atomic.write_json`).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    return write_json(path, counts)


# --------------------------------------------------------------------------------------------
# VCF
# --------------------------------------------------------------------------------------------
def info_ids(score_names: Sequence[str], tracks: Sequence[str]) -> dict[str, tuple[str, str]]:
    """INFO IDs ``<score>_<track>`` made valid (``^[A-Za-z_][0-9A-Za-z_.]*$``), one per pair.

    Parameters
    ----------
    score_names, tracks
        Scores and tracks, in output order (tracks outer, scores inner).

    Returns
    -------
    dict
        INFO ID -> ``(score, track)``. Characters other than letters, digits, ``_`` and ``.``
        become ``_``; an ID that would start with a digit or ``.`` gets a leading ``_``; an ID
        that two pairs would share gets ``_2``, ``_3``, ... appended.
    """
    out: dict[str, tuple[str, str]] = {}
    for t in tracks:
        for s in score_names:
            iid = re.sub(r"[^0-9A-Za-z_.]", "_", f"{s}_{t}")
            if not INFO_ID.match(iid):
                iid = "_" + iid
            base, k = iid, 2
            while iid in out:
                iid, k = f"{base}_{k}", k + 1
            out[iid] = (s, str(t))
    return out


def _describe(iid: str, score: str, track: str) -> str:
    text = f"{score} of track {track} (seq2func SCORE_VARIANTS; per ALT, '.' for an ALT not scored)"
    if iid != f"{score}_{track}":
        text += f"; INFO ID {iid} stands for {score}_{track}"
    return text.replace("\\", "/").replace('"', "'")


def _format(values: np.ndarray, digits: int = 6) -> np.ndarray:
    """Float scores as VCF text, ``digits`` significant digits (6: ``%g``, as htslib writes
    floats); ``.`` for NaN and infinities."""
    out = np.full(values.shape, ".", dtype=object)
    ok = np.isfinite(values)
    spec = f".{int(digits)}g"
    out[ok] = [format(float(v), spec) for v in values[ok]]
    return out


def _contig_header(contig: str, length: int | None) -> str:
    return f"##contig=<ID={contig}" + (f",length={length}" if length else "") + ">"


def _chosen_fields(
    table: pd.DataFrame,
    vs: VariantSet,
    scores: Sequence[str] | None,
    tracks: Sequence[str] | None,
) -> dict[str, tuple[str, str]]:
    """Check the scores and tracks asked for against the scores table and name their INFO fields.

    Parameters
    ----------
    table
        The scores: one row per unique variant ``key`` and ``track_id``, one column per score.
    vs
        The variant set the scores are for.
    scores
        Score columns to write, or None for every numeric one.
    tracks
        Tracks to write, or None for every track (in order of first appearance).

    Returns
    -------
    dict
        INFO ID -> ``(score, track)`` (:func:`info_ids`).
    """
    score_cols = _score_columns(table, vs)
    numeric = [c for c in score_cols
               if pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])]
    chosen = list(numeric if scores is None else scores)
    bad = [s for s in chosen if s not in score_cols]
    if bad:
        raise ValueError(f"score column(s) {bad} not in the scores table ({score_cols})")
    bad = [s for s in chosen if s not in numeric]
    if bad:
        raise ValueError(f"score column(s) {bad} are not numeric")
    all_tracks = [str(t) for t in pd.unique(table["track_id"])]
    chosen_tracks = [str(t) for t in (all_tracks if tracks is None else tracks)]
    bad = [t for t in chosen_tracks if t not in all_tracks]
    if bad:
        raise ValueError(f"track(s) {bad} not in the scores table")
    return info_ids(chosen, chosen_tracks)


def _info_values(table: pd.DataFrame, vs: VariantSet, ids: dict[str, tuple[str, str]],
                 digits: int) -> list[np.ndarray]:
    """The values of each INFO field as VCF text, one per record x ALT.

    Parameters
    ----------
    table
        The scores: one row per unique variant ``key`` and ``track_id``, one column per score.
    vs
        The variant set the scores are for.
    ids
        INFO ID -> ``(score, track)`` (:func:`_chosen_fields`).
    digits
        Significant digits of the values.

    Returns
    -------
    list of numpy.ndarray
        One array per INFO field (in the order of ``ids``), one text per row of ``vs.records``
        (``.`` for an ALT not scored).
    """
    rec = vs.records
    keys = rec["key"].where(rec["key"].notna(), "")
    field_text: list[np.ndarray] = []
    tab = table.assign(track_id=table["track_id"].astype(str)).set_index(["track_id", "key"])
    for s, t in ids.values():
        col = tab[s].xs(t, level="track_id") if len(tab) else pd.Series(dtype=float)
        v = col.reindex(keys.to_numpy()).to_numpy(dtype=float, na_value=np.nan)
        field_text.append(_format(v, digits))
    return field_text


def _record_starts(vs: VariantSet) -> tuple[np.ndarray, int]:
    """Where each input record's rows begin in ``vs.records``.

    Parameters
    ----------
    vs
        The variant set.

    Returns
    -------
    starts : numpy.ndarray
        ``n_records + 1`` row offsets: record ``r`` is rows ``starts[r]:starts[r + 1]``.
    n_records : int
        The number of input records.
    """
    rec_idx = vs.records["record_index"].to_numpy()
    n_records = int(vs.counts["records"])
    starts = np.searchsorted(rec_idx, np.arange(n_records + 1))
    return starts, n_records


def _info_fields_of(ids: dict[str, tuple[str, str]], field_text: list[np.ndarray],
                    starts: np.ndarray) -> Callable[[int], list[str]]:
    """The function giving a record's INFO fields.

    Parameters
    ----------
    ids
        INFO ID -> ``(score, track)``.
    field_text
        The values of each field per record x ALT (:func:`_info_values`).
    starts
        Row offsets of the records (:func:`_record_starts`).

    Returns
    -------
    callable
        Record index -> ``["ID=v1,v2", ...]``: the fields with at least one ALT scored.
    """
    id_list = list(ids)

    def ours(r: int) -> list[str]:
        a, b = starts[r], starts[r + 1]
        out = []
        for iid, txt in zip(id_list, field_text):
            cell = txt[a:b]
            if any(x != "." for x in cell):
                out.append(f"{iid}=" + ",".join(cell))
        return out

    return ours


def _minimal_vcf(vs: VariantSet, starts: np.ndarray, n_records: int, chrom_fa: np.ndarray,
                 ours: Callable[[int], list[str]]) -> tuple[list[str], list[tuple[str, int, list[str]]]]:
    """The records and header of the minimal VCF made from the records (TSV input, or no input).

    Parameters
    ----------
    vs
        The variant set.
    starts, n_records
        Row offsets of the records and their number (:func:`_record_starts`).
    chrom_fa
        The FASTA's contig spelling of each record (not a string when absent from the FASTA).
    ours
        Record index -> its INFO fields (:func:`_info_fields_of`).

    Returns
    -------
    header : list of str
        The ``##`` lines so far: file format, source, reference and contigs (the FASTA's, then
        those of the records absent from it).
    lines : list of tuple
        ``(CHROM, POS, columns)`` per record, in input order.
    """
    rec = vs.records
    lengths = vs.contigs
    lines: list[tuple[str, int, list[str]]] = []  # (CHROM, POS, columns) per record
    first = rec.iloc[starts[:-1]] if n_records else rec
    alts_of = rec.groupby("record_index", sort=True)["input_alt"].agg(list) if n_records else {}
    for r, row in enumerate(first.itertuples(index=False)):
        chrom = chrom_fa[r] if isinstance(chrom_fa[r], str) else row.input_chrom
        if r in vs._anchored:
            pos, ref, alts = vs._anchored[r]
            alt_text = ",".join(alts)
        else:
            pos, ref, alt_text = int(row.input_pos), row.input_ref, ",".join(alts_of[r])
        info = ";".join(ours(r)) or "."
        vid = re.sub(r"[\s;]+", "_", row.input_id or "") or "."  # no white space or ';' in a VCF ID
        lines.append((chrom, pos, [chrom, str(pos), vid, ref, alt_text, ".", ".", info]))
    header = ["##fileformat=VCFv4.2", "##source=seq2func SCORE_VARIANTS"]
    if vs.fasta:
        header.append(f"##reference=file://{os.path.abspath(vs.fasta)}")
    header += [_contig_header(c, n) for c, n in lengths.items()]
    known = set(lengths)
    header += [_contig_header(c, None) for c in dict.fromkeys(x[0] for x in lines) if c not in known]
    return header, lines


def _input_vcf_records(input_path: str | os.PathLike, vs: VariantSet, starts: np.ndarray, n_records: int,
                       ours_set: set[str], ours: Callable[[int], list[str]]
                       ) -> tuple[list[str], list[tuple[str, int, list[str]]]]:
    """The input VCF's records with our INFO fields, after checking they are the variant set's.

    Parameters
    ----------
    input_path
        The VCF/BCF the variant set was read from.
    vs
        The variant set.
    starts, n_records
        Row offsets of the records and their number (:func:`_record_starts`).
    ours_set
        Our INFO IDs: fields of the input with these IDs are dropped.
    ours
        Record index -> its INFO fields (:func:`_info_fields_of`).

    Returns
    -------
    header_in : list of str
        The input's header lines.
    lines : list of tuple
        ``(CHROM, POS, columns)`` per record (first 8 columns), in input order.
    """
    rec = vs.records
    same = os.path.abspath(os.fspath(input_path)) == os.path.abspath(vs.path)
    header_in, source = vcf_header_and_records(input_path, vs.display if same else None)
    in_chrom, in_pos = rec["input_chrom"].to_numpy(), rec["input_pos"].to_numpy()
    lines: list[tuple[str, int, list[str]]] = []  # (CHROM, POS, columns) per record
    r = -1
    for r, (_, f) in enumerate(source):
        if r >= n_records or f[0] != in_chrom[starts[r]] or int(f[1]) != int(in_pos[starts[r]]):
            raise ValueError(f"{input_path} is not the file the variant set was read from (record {r + 1} differs)")
        kept = [kv for kv in f[7].split(";") if kv and kv != "." and kv.split("=", 1)[0] not in ours_set]
        f[7] = ";".join(kept + ours(r)) or "."
        lines.append((f[0], int(f[1]), f))
    if r + 1 != n_records:
        raise ValueError(f"{input_path} has {r + 1} records, the variant set {n_records}")
    return header_in, lines


def _input_vcf_header(header_in: list[str], lines: list[tuple[str, int, list[str]]], ours_set: set[str],
                      vs: VariantSet) -> list[str]:
    """The input's ``##`` header lines without our INFO IDs, plus missing contigs and our source.

    Parameters
    ----------
    header_in
        The input's header lines.
    lines
        ``(CHROM, POS, columns)`` per record (:func:`_input_vcf_records`).
    ours_set
        Our INFO IDs: their ``##INFO`` lines in the input are dropped.
    vs
        The variant set (contig lengths and aliases).

    Returns
    -------
    list of str
        The ``##`` lines so far: ``##fileformat`` first, ``##contig`` lines for the records'
        contigs the input does not declare, then ``##source``.
    """
    lengths = vs.contigs
    info_re = re.compile(r"^##INFO=<ID=([^,>]+)")
    contig_re = re.compile(r"^##contig=<ID=([^,>]+)")
    header = []
    declared = set()
    for h in header_in:
        if h.startswith("#CHROM") or not h.startswith("##"):
            continue
        m = info_re.match(h)
        if m and m.group(1) in ours_set:
            continue
        m = contig_re.match(h)
        if m:
            declared.add(m.group(1))
        header.append(h)
    if not header or not header[0].startswith("##fileformat"):
        header.insert(0, "##fileformat=VCFv4.2")
    for c in dict.fromkeys(x[0] for x in lines):
        if c not in declared:
            header.append(_contig_header(c, lengths.get(vs.aliases.get(c, c))))
    header.append("##source=seq2func SCORE_VARIANTS")
    return header


def _finish_header(header: list[str], ids: dict[str, tuple[str, str]]) -> list[str]:
    """Add our ``##INFO`` lines and the ``#CHROM`` line to the header.

    Parameters
    ----------
    header
        The ``##`` lines so far.
    ids
        INFO ID -> ``(score, track)``.

    Returns
    -------
    list of str
        ``header``, our ``##INFO`` lines, the ``#CHROM`` line.
    """
    for iid, (s, t) in ids.items():
        header.append(f'##INFO=<ID={iid},Number=A,Type=Float,Description="{_describe(iid, s, t)}">')
    header.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    return header


def _tabix_order(lines: list[tuple[str, int, list[str]]], chrom_fa: np.ndarray, lengths: dict[str, int]) -> list[int]:
    """The order tabix needs: FASTA contig order, one block per spelling, then POS, then input order.

    Parameters
    ----------
    lines
        ``(CHROM, POS, columns)`` per record, in input order.
    chrom_fa
        The FASTA's contig spelling of each record (not a string when absent from the FASTA).
    lengths
        The FASTA's contigs and lengths, in FASTA order.

    Returns
    -------
    list of int
        Indices into ``lines``, in output order.
    """
    rank = {c: i for i, c in enumerate(lengths)}
    spelling: dict[str, int] = {}
    for r, (c, _, _) in enumerate(lines):
        spelling.setdefault(c, len(spelling))
    def contig_rank(r: int) -> int:
        fa = chrom_fa[r]
        return rank[fa] if isinstance(fa, str) and fa in rank else len(rank)
    return sorted(range(len(lines)), key=lambda r: (contig_rank(r), spelling[lines[r][0]], lines[r][1], r))


def _write_indexed_vcf(out_vcf_gz: str | os.PathLike, header: list[str], lines: list[tuple[str, int, list[str]]],
                       order: list[int], lengths: dict[str, int]) -> None:
    """Write the VCF bgzipped and index it (TBI, or CSI for contigs longer than 2^29), atomically.

    Parameters
    ----------
    out_vcf_gz
        The output; its index is ``out_vcf_gz + '.tbi'`` (or ``'.csi'``, and a stale index of the
        other kind is removed).
    header
        The header lines, ``#CHROM`` line last.
    lines
        ``(CHROM, POS, columns)`` per record.
    order
        The order to write ``lines`` in (:func:`_tabix_order`).
    lengths
        The FASTA's contigs and lengths.

    Returns
    -------
    None
    """
    out = Path(out_vcf_gz)
    csi = any(n >= _TBI_MAX for n in lengths.values())
    index_final = Path(f"{out}.csi" if csi else f"{out}.tbi")
    gz_tmp = _temp(out, ".tmp.vcf.gz")
    pending = [(gz_tmp, out), (_temp(index_final, ".tmp.idx"), index_final)]
    try:
        with BGZFile(str(gz_tmp), "wb") as fh:
            fh.write(("\n".join(header) + "\n").encode())
            buf: list[str] = []
            for r in order:
                buf.append("\t".join(lines[r][2]))
                if len(buf) >= 10000:
                    fh.write(("\n".join(buf) + "\n").encode())
                    buf = []
            if buf:
                fh.write(("\n".join(buf) + "\n").encode())
        cap = CStderr()
        try:
            with cap:
                pysam.tabix_index(str(gz_tmp), preset="vcf", force=True, csi=csi, index=str(pending[1][0]))
        except (OSError, ValueError) as err:
            raise OSError(f"cannot index {out}: {'; '.join(cap.messages()) or err}") from None
        _publish(pending)
        stale = Path(f"{out}.tbi" if csi else f"{out}.csi")
        if stale.exists():
            stale.unlink()
    finally:
        _cleanup(pending)


def write_vcf(
    table: pd.DataFrame,
    vs: VariantSet,
    input_path: str | os.PathLike | None,
    out_vcf_gz: str | os.PathLike,
    *,
    scores: Sequence[str] | None = None,
    tracks: Sequence[str] | None = None,
    digits: int = 6,
) -> dict[str, tuple[str, str]]:
    """Write every input record with its scores as INFO fields: a bgzipped, tabix-indexed VCF.

    For a VCF/BCF input (``input_path`` the file :func:`~seq2func.variants.records.read_variants`
    read), each record keeps its own CHROM, POS, ID, REF, ALT, QUAL, FILTER and INFO (INFO
    fields with the IDs written here are replaced), our fields appended to the INFO; the header is
    the input's, with our ``##INFO`` lines added. FORMAT and the sample columns are dropped: the
    output is sites-only. For a TSV input, or ``input_path=None``, a minimal VCF is made from the
    records: ``#CHROM POS ID REF ALT QUAL FILTER INFO`` with the FASTA's contig spelling, the
    TSV's ``-`` alleles anchored as :func:`~seq2func.variants.records.read_variants` anchored
    them, ``##contig`` lines from the FASTA index.

    Records are sorted as tabix needs: by FASTA contig order (contigs absent from the FASTA last,
    in order of appearance; two spellings of one contig, ``22`` and ``chr22``, in two blocks), then
    POS, then input order. A TBI index is written, or a CSI one when a contig is longer than 2^29.

    Parameters
    ----------
    table
        The scores: one row per unique variant ``key`` and ``track_id``, one column per score.
    vs
        The variant set the scores are for.
    input_path
        The VCF/BCF read, or None for the minimal VCF (ignored for a TSV input).
    out_vcf_gz
        The output; its index is ``out_vcf_gz + '.tbi'`` (or ``'.csi'``).
    scores
        Score columns to write (default: every numeric column of ``table`` but ``key``,
        ``track_id`` and ``flipped``).
    tracks
        Tracks to write (default: every track, in order of first appearance).
    digits
        Significant digits of the values.

    Returns
    -------
    dict
        INFO ID -> ``(score, track)``: one ``Number=A,Type=Float`` field per chosen track and
        score, ``<score>_<track>`` sanitised by :func:`info_ids` (the mapping also in each
        field's description). Per ALT the value, or ``.`` for an ALT not scored; a record none of
        whose ALTs was scored carries none of our fields.
    """
    ids = _chosen_fields(table, vs, scores, tracks)
    field_text = _info_values(table, vs, ids, digits)
    starts, n_records = _record_starts(vs)
    ours = _info_fields_of(ids, field_text, starts)
    chrom_fa = vs.records["chrom"].to_numpy()[starts[:-1]] if n_records else np.array([], dtype=object)
    if input_path is None or vs.format == "tsv":
        header, lines = _minimal_vcf(vs, starts, n_records, chrom_fa, ours)
    else:
        ours_set = set(ids)
        header_in, lines = _input_vcf_records(input_path, vs, starts, n_records, ours_set, ours)
        header = _input_vcf_header(header_in, lines, ours_set, vs)
    header = _finish_header(header, ids)
    order = _tabix_order(lines, chrom_fa, vs.contigs)
    _write_indexed_vcf(out_vcf_gz, header, lines, order, vs.contigs)
    return ids


__all__ = ["BOOKKEEPING", "RECORD_TABLE_COLUMNS", "info_ids", "record_table", "write_summary", "write_table",
           "write_vcf"]
