"""Opening a price file: what may be read, in which dialect, and how.

A price file is a regular file of comma-separated fields in UTF-8 (or
ASCII) text, with or without a byte-order mark. Anything else is refused
with a message that says so before any parsing starts: a pipe or a device
could stream forever, and a file in another dialect would be misread.

The rows are read column by column, only the columns the layout uses,
straight from the file (pandas with the pyarrow engine where installed), so
that memory stays within a small multiple of the parsed columns. A file the
fast reader rejects is read again line by line, to name the offending line.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import stat

import numpy as np
import pandas as pd

__all__ = ["SUPPORTED_DIALECT", "check_regular_file", "quote", "malformed"]

SUPPORTED_DIALECT = (
    "comma-separated fields in UTF-8 or ASCII text (a byte-order mark is allowed)"
)
QUOTE_LIMIT = 200
HEAD_BYTES = 1 << 20
_CHUNK = 1 << 24
_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
UTF8_BOM = b"\xef\xbb\xbf"


def quote(value, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of a field, cut to ``limit`` characters for error messages."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, unquoted, for lists in messages."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} chars)"


def malformed(path: str, line_no: int, reason: str, text: str | None = None):
    """A ValueError naming the file and the 1-based line, as an editor counts."""
    shown = "" if text is None else f": {quote(text)}"
    return ValueError(f"{path}, line {line_no}: {reason}{shown}")


def check_regular_file(path, where: str) -> os.stat_result:
    """Refuse what is not a regular file before opening it.

    A FIFO would block the reader and a device such as ``/dev/zero`` never
    ends; neither is a price file.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"price file not found: {where}") from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise ValueError(f"{where}: is a directory, expected a CSV file")
    if not stat.S_ISREG(mode):
        kind = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(mode)
            else "a character device"
            if stat.S_ISCHR(mode)
            else "a block device"
            if stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise ValueError(
            f"{where}: is {kind}, not a regular file; load_prices reads CSV files "
            "stored on disk (save the stream to a file first)"
        )
    return info


def _encoding_error(where: str, what: str) -> ValueError:
    return ValueError(
        f"{where}: {what}; load_prices reads {SUPPORTED_DIALECT}; re-save the file "
        "as UTF-8 (e.g. pandas.read_csv(path, encoding=...).to_csv(new_path, "
        "index=False))"
    )


def read_head(path, where: str) -> tuple[list[str], int, bool]:
    """The first lines of the file, checked for the supported encoding.

    Returns the lines (the last one dropped when the head ends mid-line), the
    length of the byte-order mark and whether the head is the whole file.
    """
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
        complete = not f.read(1)
    for bom, name in _BOMS:
        if head.startswith(bom):
            raise _encoding_error(where, f"the file is {name} text (byte-order mark)")
    if b"\x00" in head:
        zeros = np.frombuffer(head[: len(head) // 2 * 2], dtype=np.uint8)
        odd = zeros[1::2] == 0
        even = zeros[0::2] == 0
        looks_utf16 = zeros.size > 8 and (odd.mean() > 0.4 or even.mean() > 0.4)
        what = (
            "the file looks like UTF-16 text (every other byte is zero)"
            if looks_utf16 and not (odd.all() and even.all())
            else "the file holds NUL bytes, so it is not a text file"
        )
        raise _encoding_error(where, what)
    bom = len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0
    try:
        text = head[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        if complete or exc.start < len(head) - bom - 3:
            raise _encoding_error(
                where,
                f"not UTF-8 text (undecodable byte at offset {exc.start + bom})",
            ) from exc
        text = head[bom : bom + exc.start].decode("utf-8")  # a cut character
    lines = text.splitlines()
    if not complete and lines:
        lines = lines[:-1]
    return lines, bom, complete


def separator_error(lines: list[str], where: str) -> ValueError | None:
    """A ValueError when the first lines are separated by something else."""
    for line in lines[:10]:
        if not line.strip():
            continue
        if "," in line:
            return None
        counts = {sep: line.count(sep) for sep in _SEPARATORS}
        sep = max(counts, key=counts.get)
        if counts[sep] == 0:
            return None
        return ValueError(
            f"{where}: the fields are separated by {_SEPARATORS[sep]} ({sep!r}), "
            f"line 1 is {quote(line)}; load_prices reads {SUPPORTED_DIALECT}; "
            f"convert it, e.g. pandas.read_csv(path, sep={sep!r}).to_csv(new_path, "
            "index=False)"
        )
    return None


def body_offset(path, lines_before: int, bom: int) -> int | None:
    """Byte offset of line ``lines_before + 1``; None for exotic line ends."""
    offset = bom
    with open(path, "rb") as f:
        f.seek(bom)
        for _ in range(lines_before):
            line = f.readline()
            if not line.endswith(b"\n") or b"\r" in line[:-2]:
                return None
            offset += len(line)
    return offset


def _scan_lines(path, offset: int, first_line: int, n_fields: int | None = None):
    """Numbers (1-based) of the non-blank lines after ``offset``.

    With ``n_fields``, also whether every such line has that many
    comma-separated fields (for files without quotes).
    """
    out, line0, carry, fields_ok = [], first_line, b"", True
    space = np.array([9, 10, 13, 32], dtype=np.uint8)
    with open(path, "rb") as f:
        f.seek(offset)
        while True:
            chunk = f.read(_CHUNK)
            buf = carry + chunk
            if not chunk:
                if buf.strip():
                    buf += b"\n"
                    carry = b""
                else:
                    break
            cut = buf.rfind(b"\n") + 1
            block, carry = buf[:cut], buf[cut:]
            if not block:
                continue
            arr = np.frombuffer(block, dtype=np.uint8)
            ends = np.flatnonzero(arr == 10)
            starts = np.concatenate([[0], ends[:-1] + 1])
            ink = np.concatenate([[0], np.cumsum(~np.isin(arr, space))])
            filled = ink[ends] > ink[starts]
            if n_fields is not None and fields_ok:
                commas = np.flatnonzero(arr == 44)
                counts = np.bincount(np.searchsorted(ends, commas), minlength=ends.size)
                fields_ok = bool((counts[filled] + 1 == n_fields).all())
            out.append(line0 + np.flatnonzero(filled).astype(np.int64))
            line0 += ends.size
            if not chunk:
                break
    lines = np.concatenate(out) if out else np.empty(0, dtype=np.int64)
    return lines, fields_ok


def _nonblank_lines(path, offset: int, first_line: int) -> np.ndarray:
    return _scan_lines(path, offset, first_line)[0]


def _maybe_blank(raw: pd.DataFrame, used: list[int]) -> np.ndarray:
    """Rows whose used fields are all empty (blank lines among them)."""
    blank = np.ones(len(raw), dtype=bool)
    for pos in used:
        col = raw[pos]
        if col.dtype.kind == "f":
            blank &= col.isna().to_numpy()
        else:
            blank &= (col == "").to_numpy(dtype=bool)  # strings are never null
        if not blank.any():
            break
    return blank


class LineTexts:
    """Text of data row ``k``, read from the file only when a message needs it."""

    def __init__(self, path, line_numbers: np.ndarray):
        self.path = path
        self.line_numbers = line_numbers

    def __getitem__(self, k) -> str:
        target = int(self.line_numbers[k])
        with open(self.path, "rb") as f:
            for number, line in enumerate(f, start=1):
                if number == target:
                    return line.decode("utf-8", errors="replace").rstrip("\r\n")
        return ""

    def __len__(self) -> int:
        return len(self.line_numbers)


def _string_mapper(pa):
    """Arrow-backed strings in pandas, where pandas does not default to them.

    pandas 3 maps arrow strings to its own ``str`` dtype; on pandas 2.3 the same
    dtype is spelled out (older pandas gets Python objects: slower, same values).
    """
    if pd.__version__.split(".")[0] != "2":
        return None
    try:
        dtype = pd.StringDtype("pyarrow", na_value=np.nan)
    except TypeError:
        return None
    return {pa.string(): dtype}.get


def _has_pyarrow() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def _c_options(n_fields, used, na_values) -> dict:
    """``read_csv`` options of both C-engine readers: fields by position."""
    return dict(engine="c", header=None, names=list(range(n_fields)), usecols=used,
                keep_default_na=False, na_values=na_values)


def _read_columns_c(path, offset, first_line, n_fields, used, numeric, na_values):
    """:func:`read_columns` with pandas' C engine (no pyarrow installed).

    The C engine pads short rows with NaN, so the fields of every line are
    counted first (a pass over the bytes, file without quotes only).
    """
    with open(path, "rb") as f:
        f.seek(offset)
        while chunk := f.read(_CHUNK):
            if b'"' in chunk:
                return None
    line_numbers, fields_ok = _scan_lines(path, offset, first_line, n_fields)
    if not fields_ok or not line_numbers.size:
        return None

    def read(dtype):
        with open(path, "rb") as f:
            f.seek(offset)
            return pd.read_csv(
                f, dtype=dtype, skip_blank_lines=True, encoding="utf-8",
                **_c_options(n_fields, used, na_values),
            )

    try:
        try:
            raw = read({p: ("float64" if p in numeric else str) for p in used})
        except (ValueError, TypeError):  # a field that is not a number
            raw = read(str)
    except (ValueError, TypeError, pd.errors.ParserError, UnicodeDecodeError):
        return None
    if len(raw) != line_numbers.size:
        return None
    return raw, line_numbers, LineTexts(path, line_numbers)


def read_columns(
    path,
    offset: int,
    first_line: int,
    n_fields: int,
    used: list[int],
    numeric: set[int],
    na_values: list[str],
    categorical: set[int] = frozenset(),
):
    """The used columns of the rows from byte ``offset``, read columnwise.

    Numeric columns are float64 when every field parses, else every column is
    text so that the caller can name the line. Returns ``(frame,
    line_numbers, row_texts)``, or None when the fast reader cannot vouch
    for the rows (a wrong number of fields, quoted line breaks, odd line
    ends): the caller then reads line by line.
    """
    if not _has_pyarrow():
        return _read_columns_c(
            path, offset, first_line, n_fields, used, numeric, na_values
        )
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    names = [str(i) for i in range(n_fields)]
    category = pa.dictionary(pa.int32(), pa.string())

    def read(text_only: bool, skip_blank: bool):
        types = {
            str(p): pa.float64() if p in numeric and not text_only else pa.string()
            for p in used
        }
        types.update({str(p): category for p in categorical})
        with open(path, "rb") as f:
            f.seek(offset)
            table = pa_csv.read_csv(
                f,
                read_options=pa_csv.ReadOptions(column_names=names),
                parse_options=pa_csv.ParseOptions(
                    newlines_in_values=False, ignore_empty_lines=skip_blank
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types=types,
                    include_columns=[str(p) for p in used],
                    null_values=na_values,
                    strings_can_be_null=False,
                ),
            )
        frame = table.to_pandas(types_mapper=_string_mapper(pa))
        frame.columns = used
        return frame

    def read_numbers_or_text(skip_blank: bool):
        try:
            return read(text_only=False, skip_blank=skip_blank)
        except pa.ArrowInvalid:  # a field that is not a number: keep the text
            return read(text_only=True, skip_blank=skip_blank)

    try:
        # Lines and rows correspond one to one; a blank line is a row of
        # empty fields, told apart from a row of empty fields by the file.
        raw = read_numbers_or_text(skip_blank=False)
        n = len(raw)
        line_numbers = np.arange(first_line, first_line + n, dtype=np.int64)
        if n and _maybe_blank(raw, used).any():
            raw = read_numbers_or_text(skip_blank=True)
            n = len(raw)
            line_numbers = _nonblank_lines(path, offset, first_line)
            if line_numbers.size != n:
                return None
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if n == 0:
        return None
    return raw.reset_index(drop=True), line_numbers, LineTexts(path, line_numbers)


def _field_counts(text: str, rows: list[str]) -> np.ndarray:
    """Number of comma-separated fields on each row of ``text``."""
    if '"' in text:
        return np.fromiter((len(r) for r in csv.reader(rows)), dtype=np.int64)
    buf = np.frombuffer(text.encode(), dtype=np.uint8)
    newlines = np.flatnonzero(buf == ord("\n"))
    commas = np.flatnonzero(buf == ord(","))
    row_of_comma = np.searchsorted(newlines, commas)
    return np.bincount(row_of_comma, minlength=len(rows)) + 1


def read_lines(lines, header_line, n_fields, used, numeric, na_values, path):
    """:func:`read_columns` on the decoded lines, naming any malformed line.

    The exact, slower reader for files the columnwise readers decline.
    Returns the frame (columns keyed by position), the 1-based line number of
    each row and the row texts.
    """
    start = header_line
    body = lines[start:]
    blank = np.fromiter(
        (not line or line.isspace() for line in body), dtype=bool, count=len(body)
    )
    keep = np.flatnonzero(~blank)
    if not keep.size:
        raise ValueError(f"{path}: no data rows after the header on line {start}")
    rows = body if not blank.any() else [body[j] for j in keep]
    line_numbers = keep.astype(np.int64) + start + 1
    text = "\n".join(rows)
    counts = _field_counts(text, rows)
    bad = np.flatnonzero(counts != n_fields)
    if bad.size:
        k = bad[0]
        raise malformed(
            path,
            int(line_numbers[k]),
            f"expected {n_fields} comma-separated fields as in the header, "
            f"got {counts[k]}",
            rows[k],
        )

    def read(dtype):
        return pd.read_csv(
            io.StringIO(text), dtype=dtype, **_c_options(n_fields, used, na_values)
        )

    try:
        raw = read({pos: (np.float64 if pos in numeric else str) for pos in used})
    except (ValueError, TypeError):
        # Some field is not a number: read text so the line can be named.
        try:
            raw = read(str)
        except pd.errors.ParserError as exc:
            raise ValueError(f"{path}: not a readable CSV file ({exc})") from exc
    if len(raw) != len(rows):  # a quoted field spanning lines
        raise ValueError(
            f"{path}: quoted fields spanning several lines are not supported "
            f"(read {len(raw)} records from {len(rows)} lines)"
        )
    return raw, line_numbers, rows
