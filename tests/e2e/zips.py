"""ZIP archives for the tests, built byte by byte where `zipfile` would refuse or sanitise.

`build_zip` writes exactly the headers it is given, so an entry can lie about its size, carry a
Unix file type (symlink, device) or repeat a name. Deflated zeros are produced from one
full-flushed block repeated, so a 300 MB bomb costs ~300 KB and no CPU time.
"""

from __future__ import annotations

import functools
import io
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass

STORED = 0
DEFLATED = 8

_DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1
_UNIX = 3


@dataclass
class Entry:
    """One archive member. `data` is what goes on the wire (already compressed if deflated)."""

    name: str
    data: bytes = b""
    method: int = STORED
    crc: int | None = None
    """Defaults to the CRC-32 of `data` (correct for stored entries only)."""
    compressed_size: int | None = None
    """Defaults to `len(data)`."""
    uncompressed_size: int | None = None
    """Defaults to `len(data)` (correct for stored entries only)."""
    mode: int | None = None
    """Unix `st_mode` including the file type; None writes a DOS entry."""
    flags: int = 0


def file(name: str, data: bytes = b"", mode: int = 0o644) -> Entry:
    return Entry(name, data, mode=stat.S_IFREG | mode)


def directory(name: str) -> Entry:
    return Entry(name.rstrip("/") + "/", mode=stat.S_IFDIR | 0o755)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, target.encode(), mode=stat.S_IFLNK | 0o777)


def device(name: str, kind: int) -> Entry:
    """A character (`stat.S_IFCHR`) or block (`stat.S_IFBLK`) device node."""
    return Entry(name, mode=kind | 0o644)


def build_zip(entries: list[Entry]) -> bytes:
    """Serialises `entries` verbatim; adds ZIP64 end records when there are over 65,535."""
    out = io.BytesIO()
    central = io.BytesIO()
    for e in entries:
        name = e.name.encode()
        crc = zlib.crc32(e.data) if e.crc is None else e.crc
        csize = len(e.data) if e.compressed_size is None else e.compressed_size
        usize = len(e.data) if e.uncompressed_size is None else e.uncompressed_size
        offset = out.tell()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50, 20, e.flags, e.method, 0, _DOS_DATE_1980_01_01,
                crc, csize, usize, len(name), 0,
            )
        )
        out.write(name)
        out.write(e.data)
        made_by = (_UNIX << 8 | 20) if e.mode is not None else 20
        external = (e.mode << 16) if e.mode is not None else 0
        if e.mode is not None and stat.S_ISDIR(e.mode):
            external |= 0x10  # MS-DOS directory bit, as Info-ZIP writes it
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50, made_by, 20, e.flags, e.method, 0, _DOS_DATE_1980_01_01,
                crc, csize, usize, len(name), 0, 0, 0, 0, external, offset,
            )
        )
        central.write(name)
    cd_offset = out.tell()
    cd = central.getvalue()
    out.write(cd)
    n = len(entries)
    if n > 0xFFFF:
        zip64_eocd_offset = out.tell()
        out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(cd), cd_offset))
        out.write(struct.pack("<IIQI", 0x07064B50, 0, zip64_eocd_offset, 1))
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, len(cd), cd_offset, 0))
    else:
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(cd), cd_offset, 0))
    return out.getvalue()


_MIB = 1 << 20


@functools.lru_cache(maxsize=None)
def deflated_zeros(n_mib: int) -> tuple[bytes, int]:
    """(raw deflate stream, CRC-32) of `n_mib` MiB of zero bytes."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(_MIB)
    # A full flush resets the compressor, so every following 1 MiB block encodes identically.
    block = co.compress(zeros) + co.flush(zlib.Z_FULL_FLUSH)
    again = co.compress(zeros) + co.flush(zlib.Z_FULL_FLUSH)
    assert block == again
    tail = co.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(n_mib):
        crc = zlib.crc32(zeros, crc)
    return block * n_mib + tail, crc


def zeros_entry(name: str, n_mib: int, claimed_size: int | None = None) -> Entry:
    """A deflated entry of `n_mib` MiB of zeros; `claimed_size` makes its headers lie."""
    data, crc = deflated_zeros(n_mib)
    return Entry(
        name,
        data,
        method=DEFLATED,
        crc=crc,
        uncompressed_size=n_mib * _MIB if claimed_size is None else claimed_size,
        mode=stat.S_IFREG | 0o644,
    )


def simple_zip(files: dict[str, bytes] | None = None) -> bytes:
    """An ordinary, valid layer ZIP written by `zipfile`."""
    files = files or {"python/hello.py": b"print('hello')\n"}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def overlapping_bomb(n_entries: int, n_mib: int) -> bytes:
    """`n_entries` central-directory entries with distinct names that all point at the same
    local entry of `n_mib` MiB of deflated zeros (each entry is honest about its sizes)."""
    data, crc = deflated_zeros(n_mib)
    usize = n_mib * _MIB
    first = b"python/f00000"
    out = io.BytesIO()
    out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, DEFLATED, 0, _DOS_DATE_1980_01_01,
                          crc, len(data), usize, len(first), 0))
    out.write(first)
    out.write(data)
    cd_offset = out.tell()
    central = io.BytesIO()
    for i in range(n_entries):
        name = f"python/f{i:05d}".encode()
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, _UNIX << 8 | 20, 20, 0, DEFLATED, 0,
                                  _DOS_DATE_1980_01_01, crc, len(data), usize, len(name), 0, 0, 0, 0,
                                  (stat.S_IFREG | 0o644) << 16, 0))
        central.write(name)
    cd = central.getvalue()
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n_entries, n_entries, len(cd), cd_offset, 0))
    return out.getvalue()
