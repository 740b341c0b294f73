"""Property-based tests: every reader, fed random bytes, mixed encodings, byte-order marks, CRLF, NUL
bytes, carriage returns, damaged compression, empty and one-sided pairs, either reads the text as
docs/robustness.md documents or raises an ``InterlinguaError`` whose message is one line naming the
file (and the line, where there is one).  No other exception may escape.

Examples are derandomized (the same ones each run, so CI cannot flake); raise ``max_examples``
locally to search further.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interlingua.data.parallel import read_parallel_files, read_parallel_folder, read_parallel_tsv
from interlingua.data.textio import MAX_LINE_BYTES, iter_lines, read_lines
from interlingua.errors import DataError, InterlinguaError

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
UTF8_BOM = b"\xef\xbb\xbf"
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "": bytes,
    ".gz": gzip.compress,
    ".xz": lzma.compress,
    ".bz2": bz2.compress,
}

# One line's bytes, without its ending: mostly text in any script or blanks, one in twenty a bad line.
text_lines = st.text(st.characters(codec="utf-8", exclude_characters="\n\r\x00"), max_size=30).map(str.encode)
good_lines = st.one_of(
    text_lines,
    st.sampled_from([b"", b" ", b"\t", "\u3000".encode(), b"Hallo Welt", "caf\u00e9".encode()]),
    text_lines.map(lambda raw: UTF8_BOM + raw),  # a BOM at the start of a line (cat of two files)
)
bad_lines = st.one_of(
    st.binary(max_size=30).filter(lambda raw: b"\n" not in raw),  # random bytes
    st.just("caf\u00e9 na\u00efve".encode("latin-1")),  # another encoding
    st.just("Gr\u00fc\u00dfe".encode("utf-16-le")),  # UTF-16 without a BOM: NUL bytes
    st.just(b"nul\x00byte"),
    st.just(b"old\rmac\rline"),
    st.just(b"x" * 5000),
)
line_bytes = st.integers(0, 19).flatmap(lambda pick: bad_lines if pick == 0 else good_lines)
line_endings = st.sampled_from([b"\n", b"\r\n"])
# What a file starts with: one in five a UTF-8, UTF-16 (LE, BE) or UTF-32 LE mark, else nothing.
byte_order_marks = st.sampled_from([UTF8_BOM, b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00"])
file_starts = st.integers(0, 4).flatmap(lambda pick: byte_order_marks if pick == 0 else st.just(b""))


def assemble(draw, lines: list[bytes]) -> bytes:
    """A file of ``lines``: LF or CRLF endings, the last line perhaps unterminated, perhaps a mark first."""
    data = b"".join(line + draw(line_endings) for line in lines)
    if lines and draw(st.booleans()):
        data = data.removesuffix(b"\n").removesuffix(b"\r")  # no line ending after the last line
    return draw(file_starts) + data


@st.composite
def file_bytes(draw, lines=line_bytes) -> bytes:
    return assemble(draw, draw(st.lists(lines, max_size=8)))


@st.composite
def parallel_bytes(draw) -> tuple[bytes, bytes]:
    """Two aligned files; one time in five, one side has a line or two more than the other."""
    pairs = draw(st.lists(st.tuples(line_bytes, line_bytes), max_size=8))
    source, target = [s for s, _ in pairs], [t for _, t in pairs]
    longer = draw(st.sampled_from([None] * 8 + [source, target]))
    if longer is not None:
        longer.extend(draw(st.lists(line_bytes, min_size=1, max_size=2)))
    return assemble(draw, source), assemble(draw, target)


def reference_lines(data: bytes) -> tuple[list[str], tuple[int, str] | None]:
    """The documented reading of ``data``, written as simply as possible: the lines before the first
    bad one, and the (line number, problem) of that one, or None."""
    pieces = data.split(b"\n")
    ended = [True] * (len(pieces) - 1) + [False]
    if pieces[-1] == b"":
        pieces, ended = pieces[:-1], ended[:-1]
    lines: list[str] = []
    for number, (piece, has_ending) in enumerate(zip(pieces, ended, strict=True), start=1):
        if number == 1 and piece.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
            return lines, (number, "byte-order mark")
        piece = piece.removeprefix(UTF8_BOM)
        if has_ending and piece.endswith(b"\r"):
            piece = piece[:-1]
        if len(piece) > MAX_LINE_BYTES:
            return lines, (number, "line longer than")
        if b"\x00" in piece:
            return lines, (number, "NUL byte")
        if b"\r" in piece:
            return lines, (number, "carriage return")
        try:
            lines.append(piece.decode("utf-8"))
        except UnicodeDecodeError:
            return lines, (number, "invalid UTF-8")
    return lines, None


def write(folder: Path, name: str, data: bytes, compressor: Callable[[bytes], bytes] = bytes) -> Path:
    path = folder / name
    path.write_bytes(compressor(data))
    return path


def assert_user_error(error: InterlinguaError, *paths: Path) -> None:
    """The error is one line, names one of ``paths``, and (a DataError) has a sane line number."""
    message = str(error)
    assert "\n" not in message and "\r" not in message
    assert any(str(path) in message for path in paths), message
    if isinstance(error, DataError):
        assert error.line is None or error.line >= 1


def read_all(path: Path) -> tuple[list[str], DataError | None]:
    lines: list[str] = []
    try:
        for number, text in iter_lines(path):
            assert number == len(lines) + 1
            lines.append(text)
    except DataError as error:
        return lines, error
    return lines, None


@FUZZ
@given(data=file_bytes(), suffix=st.sampled_from(sorted(COMPRESSORS)))
def test_text_reader_follows_the_documented_rules(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), f"input.txt{suffix}", data, COMPRESSORS[suffix])
        lines, error = read_all(path)
        expected_lines, expected_error = reference_lines(data)
        assert lines == expected_lines
        if expected_error is None:
            assert error is None and read_lines(path) == expected_lines
        else:
            assert error is not None, f"accepted {data!r}"
            assert_user_error(error, path)
            assert error.line == expected_error[0] and expected_error[1] in error.problem


@FUZZ
@given(data=file_bytes(), suffix=st.sampled_from([".gz", ".xz", ".bz2"]), cut=st.integers(0, 200))
def test_damaged_compressed_files_are_data_errors(data: bytes, suffix: str, cut: int) -> None:
    """Truncated, bit-flipped or not-compressed-at-all content under a compression suffix."""
    compressed = COMPRESSORS[suffix](data)
    damaged = [
        compressed[: len(compressed) * cut // 201],
        compressed[:cut] + b"\x55" + compressed[cut + 1 :],
        data,
    ]
    with tempfile.TemporaryDirectory() as folder:
        for index, content in enumerate(damaged):
            path = write(Path(folder), f"damaged{index}{suffix}", content)
            _, error = read_all(path)
            if error is not None:
                assert_user_error(error, path)


@FUZZ
@given(files=parallel_bytes(), suffix=st.sampled_from(sorted(COMPRESSORS)))
def test_aligned_files_pair_or_fail_clearly(files: tuple[bytes, bytes], suffix: str) -> None:
    source, target = files
    with tempfile.TemporaryDirectory() as folder:
        src = write(Path(folder), f"x.de{suffix}", source, COMPRESSORS[suffix])
        tgt = write(Path(folder), f"x.en{suffix}", target, COMPRESSORS[suffix])
        (src_lines, src_error), (tgt_lines, tgt_error) = reference_lines(source), reference_lines(target)
        pairs = [(s, t) for s, t in zip(src_lines, tgt_lines, strict=False) if s.strip() and t.strip()]
        readable = src_error is None and tgt_error is None and len(src_lines) == len(tgt_lines)
        try:
            corpus = read_parallel_files(src, tgt, "de", "en")
        except DataError as error:
            assert_user_error(error, src, tgt)
            assert not readable or not pairs
            return
        assert readable, "a bad file or a line-count mismatch was accepted"
        assert list(zip(corpus.src, corpus.tgt, strict=True)) == pairs
        assert corpus.skipped_empty == len(src_lines) - len(pairs)


tsv_lines = st.one_of(
    line_bytes,
    st.tuples(line_bytes, line_bytes).map(b"\t".join),
    st.tuples(line_bytes, line_bytes, line_bytes).map(b"\t".join),
)


@FUZZ
@given(data=file_bytes(tsv_lines), suffix=st.sampled_from(sorted(COMPRESSORS)))
def test_tsv_pairs_or_fails_clearly(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), f"pairs.tsv{suffix}", data, COMPRESSORS[suffix])
        lines, line_error = reference_lines(data)
        fields = [line.split("\t") for line in lines]
        well_formed = line_error is None and all(len(parts) == 2 for parts in fields)
        pairs = [(s, t) for s, t in fields if s.strip() and t.strip()] if well_formed else []
        try:
            corpus = read_parallel_tsv(path, "de", "en")
        except DataError as error:
            assert_user_error(error, path)
            assert not pairs
            if line_error is None and not well_formed:
                first_bad = next(n for n, parts in enumerate(fields, start=1) if len(parts) != 2)
                assert error.line == first_bad and "tab-separated fields" in error.problem
            return
        assert well_formed and list(zip(corpus.src, corpus.tgt, strict=True)) == pairs
        assert corpus.skipped_empty == len(lines) - len(pairs)


PAIR_STEMS = ["de-en", "fr-en", "en-fr", "de-de", "xq-en", "de_DE-en", "pt_BR-en"]
OTHER_ENTRIES = ["README", "de-en.txt", "de-en-fr.de", ".hidden", "notes.tsv", "de-en.de", "fr-en.tsv.gz"]


@st.composite
def corpus_folder(draw) -> dict[str, bytes | None]:
    """A folder's entries, name -> content (None: a sub-folder): pairs as two files, a TSV, both,
    or one side only, in any compression, among files and folders that are not pairs."""
    entries: dict[str, bytes | None] = {}
    for stem in draw(st.lists(st.sampled_from(PAIR_STEMS), max_size=3, unique=True)):
        first, second = stem.split("-")
        suffix = draw(st.sampled_from(["", "", ".gz", ".xz"]))
        layout = draw(st.sampled_from(["files", "files", "tsv", "one side", "files and tsv"]))
        if "files" in layout:
            entries[f"{stem}.{first}{suffix}"], entries[f"{stem}.{second}{suffix}"] = draw(parallel_bytes())
        if "tsv" in layout:
            entries[f"{stem}.tsv{suffix}"] = draw(file_bytes(tsv_lines))
        if layout == "one side":
            entries[f"{stem}.{draw(st.sampled_from([first, second]))}{suffix}"] = draw(file_bytes())
    for name in draw(st.lists(st.sampled_from(OTHER_ENTRIES), max_size=2, unique=True)):
        entries[name] = draw(st.one_of(st.none(), file_bytes()))
    return entries


@FUZZ
@given(entries=corpus_folder(), pivot=st.sampled_from([None, "en", "fr"]))
def test_folder_reader_reads_or_fails_clearly(entries: dict[str, bytes | None], pivot: str | None) -> None:
    with tempfile.TemporaryDirectory() as parent:
        folder = Path(parent) / "corpus"
        folder.mkdir()
        for name, data in entries.items():
            if data is None:
                (folder / name).mkdir()
            else:
                (folder / name).write_bytes(COMPRESSORS.get(Path(name).suffix, bytes)(data))
        try:
            corpora = read_parallel_folder(folder, pivot=pivot)
        except InterlinguaError as error:
            message = str(error)
            assert "\n" not in message and "\r" not in message
            # A file's problem names the file; an unknown language code names the code.
            assert str(folder) in message or "unknown language code" in message, message
            return
        assert corpora
        for corpus in corpora:
            assert len(corpus.src) == len(corpus.tgt) > 0
            assert all(s.strip() and t.strip() for s, t in zip(corpus.src, corpus.tgt, strict=True))


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b""])
def test_a_line_at_the_size_limit_is_read_and_one_byte_more_is_an_error(
    tmp_path: Path, ending: bytes
) -> None:
    at_limit = write(tmp_path, "at_limit.txt", b"a" * MAX_LINE_BYTES + ending + b"next" * bool(ending))
    assert [len(line) for line in read_lines(at_limit)] == [MAX_LINE_BYTES, 4][: 1 + bool(ending)]
    over = write(tmp_path, "over.txt", b"ok\n" + b"a" * (MAX_LINE_BYTES + 1) + ending)
    with pytest.raises(DataError, match="line longer than 1 MiB") as info:
        read_lines(over)
    assert info.value.line == 2


def test_a_file_of_megabytes_without_a_newline_fails_on_its_first_line(tmp_path: Path) -> None:
    """The line is not read whole: the reader stops at the limit (a bounded read)."""
    path = write(tmp_path, "blob.bin.gz", b"\xab" * (8 * MAX_LINE_BYTES), gzip.compress)
    with pytest.raises(DataError, match="line longer than") as info:
        next(iter_lines(path))
    assert_user_error(info.value, path)
    assert info.value.line == 1
