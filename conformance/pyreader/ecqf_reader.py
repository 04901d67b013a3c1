#!/usr/bin/env python3
"""ECQF v0.1 conformance reader, written from spec/ecqf.md alone.

This is the project's second, independent reader: it was written from the specification
text only, without looking at the C library, so that every place where it disagrees with
the C reader points either at a bug or at a gap in the spec.  It is also meant to be read:
every check cites the spec clause it implements, e.g. [R-5].

Usage:
    python3 ecqf_reader.py FILE

Protocol (the conformance reader protocol):
  * The whole file is validated against every MUST of the spec: header, layout, padding,
    header and blob checksums, directory, metadata, tensor entries, parts, tables, tile
    index, a full decode of every tile with all end-of-stream checks, and the escapes.
  * If the file is valid, one line per tensor is printed, in directory order:
        tensor <name> codes=<hex> values=<hex>
    codes  = BLAKE2b-256 of the code u of every element, one byte each, row-major
             (for scheme NONE: of the stored value bytes instead);
    values = BLAKE2b-256 of the dequantized values as f32 little-endian, row-major,
             computed as section 7 prescribes (binary32, round-to-nearest-even, no FMA).
    Exit status 0.
  * Otherwise exactly one line "error <ECQF_ERR_NAME> <message>" is printed for the first
    violation found, nothing else, and the exit status is 1.  Nothing is printed for any
    tensor in that case ("Reject ... exposes no tensor data").

Only the Python standard library is needed.  For ZSTD-coded tensors the frame header and
block structure are parsed here; frames made only of raw and RLE blocks are decoded here
too; compressed blocks need the `zstandard` or `pyzstd` module or the `zstd` command line
tool, and without any of them the tensor is reported as ECQF_ERR_UNSUPPORTED.

Order of checks: exactly the order of spec section 12 ("Reading a file, step by step"),
which says that a reader performing its steps in order, rejecting at the first failure,
conforms; within one entry, a field is checked before anything computed from it (section
11).  open_ecqf() is the structural part (header, header checksum, directory, every entry
with its blob layout, padding, parameters [S-8]/[S-9], tables, tile index and escapes);
decode_tensor() is the content part (blob checksum, data decode with all stream checks,
dequantization).  Where sections 11 and 12 leave a choice, README.md (section O) says what
this reader does, and where the spec still leaves a gap (section G).

Sizes: the spec computes sizes exactly [C-2]; this reader does too, with Python integers,
and emulates a reader with 64-bit sizes by rejecting, as ECQF_ERR_LIMIT, every size or
offset of the spec that does not fit 64 bits (fit_u64).
"""

import hashlib
import math
import struct
import sys
from array import array
from itertools import chain, repeat
from operator import add, mul

# ----------------------------------------------------------------------------------------
# Error names (section 11)
# ----------------------------------------------------------------------------------------

E_IO = "ECQF_ERR_IO"
E_NOMEM = "ECQF_ERR_NOMEM"
E_TRUNCATED = "ECQF_ERR_TRUNCATED"
E_BAD_MAGIC = "ECQF_ERR_BAD_MAGIC"
E_UNSUPPORTED_VERSION = "ECQF_ERR_UNSUPPORTED_VERSION"
E_UNSUPPORTED_FEATURE = "ECQF_ERR_UNSUPPORTED_FEATURE"
E_BAD_HEADER = "ECQF_ERR_BAD_HEADER"
E_TRAILING_DATA = "ECQF_ERR_TRAILING_DATA"
E_BAD_LAYOUT = "ECQF_ERR_BAD_LAYOUT"
E_NONZERO_PADDING = "ECQF_ERR_NONZERO_PADDING"
E_HEADER_CHECKSUM = "ECQF_ERR_HEADER_CHECKSUM"
E_BLOB_CHECKSUM = "ECQF_ERR_BLOB_CHECKSUM"
E_LIMIT = "ECQF_ERR_LIMIT"
E_RESERVED_NONZERO = "ECQF_ERR_RESERVED_NONZERO"
E_BAD_DIRECTORY = "ECQF_ERR_BAD_DIRECTORY"
E_BAD_UTF8 = "ECQF_ERR_BAD_UTF8"
E_DUPLICATE_NAME = "ECQF_ERR_DUPLICATE_NAME"
E_BAD_DTYPE = "ECQF_ERR_BAD_DTYPE"
E_BAD_SCHEME = "ECQF_ERR_BAD_SCHEME"
E_BAD_CODING = "ECQF_ERR_BAD_CODING"
E_BAD_TABLE = "ECQF_ERR_BAD_TABLE"
E_BAD_TILE_INDEX = "ECQF_ERR_BAD_TILE_INDEX"
E_CORRUPT_STREAM = "ECQF_ERR_CORRUPT_STREAM"
E_BAD_ESCAPES = "ECQF_ERR_BAD_ESCAPES"
# API-only in section 11 (never caused by file contents): used when a ZSTD frame needs a
# decompressor that this Python installation does not have.
E_UNSUPPORTED = "ECQF_ERR_UNSUPPORTED"


class EcqfError(Exception):
    """A violation of the spec (or an I/O problem); `name` is a section-11 error name."""

    def __init__(self, name, message):
        super().__init__("%s %s" % (name, message))
        self.name = name
        self.message = message


def fail(name, message):
    raise EcqfError(name, message)


# ----------------------------------------------------------------------------------------
# Constants
# ----------------------------------------------------------------------------------------

MAGIC = b"\x89ECQF\r\n\n"            # 89 45 43 51 46 0D 0A 0A  [H-1]
HEADER_SIZE = 96                      # [H-4]
U64_MAX = (1 << 64) - 1
MiB = 1 << 20

# dtype codes (6.1): code -> (name, size in bytes)
DTYPES = {0: ("F32", 4), 1: ("F16", 2), 2: ("BF16", 2)}
DT_F32, DT_F16, DT_BF16 = 0, 1, 2

# schemes (section 7) and codings (section 8)
SCHEME_NONE, SCHEME_AFFINE, SCHEME_SYMMETRIC, SCHEME_ECSQ = 0, 1, 2, 3
CODING_RAW, CODING_RANS, CODING_PREFIX, CODING_ZSTD = 0, 1, 2, 3
SCHEME_NAMES = {0: "NONE", 1: "AFFINE", 2: "SYMMETRIC", 3: "ECSQ"}
CODING_NAMES = {0: "RAW", 1: "RANS", 2: "PREFIX", 3: "ZSTD"}

ECSQ_HAS_ESCAPE = 1                   # [S-7]
ECSQ_PER_ROW = 2

PART_NAMES = ("params", "table", "tile_index", "escapes", "data")   # [T-10]
P_PARAMS, P_TABLE, P_TILE_INDEX, P_ESCAPES, P_DATA = range(5)

# Metadata types (section 5)
MT_U64, MT_I64, MT_F64, MT_STRING, MT_BYTES, MT_BOOL = 1, 2, 3, 4, 5, 6

assert array("H").itemsize == 2 and array("I").itemsize == 4
assert array("i").itemsize == 4 and array("Q").itemsize == 8 and array("f").itemsize == 4


# ----------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------

def align_up(x, a):
    """Smallest multiple of a that is >= x (section 1)."""
    return (x + a - 1) // a * a


def blake2b_256(*chunks):
    """BLAKE2b with a 32-byte digest and no key (RFC 7693, libsodium crypto_generichash)."""
    h = hashlib.blake2b(digest_size=32)
    for c in chunks:
        h.update(c)
    return h.digest()


def le_array(typecode, data):
    """An array of little-endian integers or floats [C-1]."""
    a = array(typecode)
    a.frombytes(data)
    if sys.byteorder == "big":
        a.byteswap()
    return a


def le_bytes(a):
    """The bytes of an array, little-endian [C-1]."""
    if sys.byteorder == "big":
        a = array(a.typecode, a)
        a.byteswap()
    return a.tobytes()


def is_zero(data):
    return data.count(0) == len(data)


# [T-7] control characters forbidden in tensor names: U+0001..U+001F and U+007F.  In UTF-8
# these code points are exactly the single bytes 0x01..0x1F and 0x7F (a byte below 0x80 is
# never part of a multi-byte sequence), so the check can be made on the bytes.  U+0080..U+009F
# (the C1 controls, e.g. U+0085) are not in the list and are allowed.
NAME_CONTROL_BYTES = bytes(range(0x01, 0x20)) + b"\x7f"


def check_text(data, what, clause, no_controls=False):
    """[M-2] well-formed UTF-8 (RFC 3629) and no byte 0; for tensor names ([T-7],
    `no_controls`) also no control character.  All of these are ECQF_ERR_BAD_UTF8.

    Python's strict UTF-8 decoder rejects overlong forms, surrogates (U+D800..U+DFFF) and
    anything above U+10FFFF, exactly the RFC 3629 rules."""
    if 0 in data:
        fail(E_BAD_UTF8, "%s %s contains the byte 0" % (clause, what))
    try:
        data.decode("utf-8", "strict")
    except UnicodeDecodeError:
        fail(E_BAD_UTF8, "%s %s is not well-formed UTF-8" % (clause, what))
    if no_controls:
        for i, b in enumerate(data):
            if b in NAME_CONTROL_BYTES:
                fail(E_BAD_UTF8, "%s %s contains the control character U+%04X at byte %d"
                     % (clause, what, b, i))


def fit_u64(value, what):
    """[C-2]: arithmetic on sizes and offsets is exact in the spec, and a reader MUST detect
    a value that does not fit its own integers.  This reader computes exactly (Python
    integers) and then emulates a reader with 64-bit sizes: a size or offset of the spec
    that is 2^64 or more is ECQF_ERR_LIMIT (section 11: "any size that overflows 64
    bits")."""
    if value > U64_MAX:
        fail(E_LIMIT, "[C-2] %s is %d, which does not fit 64 bits" % (what, value))
    return value


def product(xs):
    p = 1
    for x in xs:
        p *= x
    return p


# ----------------------------------------------------------------------------------------
# binary16 / bfloat16 / binary32 (section 1 and [S-2])
# ----------------------------------------------------------------------------------------

def f16_bits_to_f32_bits(h):
    """Exact binary16 -> binary32 conversion on bit patterns [S-2].

    Infinities and NaNs keep sign and payload (the payload is shifted up, the quiet bit is
    not forced), so no information is lost; see README for this NaN choice."""
    sign = (h & 0x8000) << 16
    e = (h >> 10) & 0x1F
    m = h & 0x3FF
    if e == 0x1F:                                   # inf or NaN
        return sign | 0x7F800000 | (m << 13)
    if e == 0:
        if m == 0:                                  # +-0
            return sign
        shift = 11 - m.bit_length()                 # subnormal: normalise the significand
        m <<= shift
        e = 1 - shift
        return sign | ((e + 112) << 23) | ((m & 0x3FF) << 13)
    return sign | ((e + 112) << 23) | (m << 13)     # normal: rebias 15 -> 127


_F16_TO_F32_BYTES = None


def f16_to_f32_bytes_table():
    """Table of all 65536 binary16 patterns -> 4 little-endian binary32 bytes (built once)."""
    global _F16_TO_F32_BYTES
    if _F16_TO_F32_BYTES is None:
        pack = struct.Struct("<I").pack
        _F16_TO_F32_BYTES = [pack(f16_bits_to_f32_bits(h)) for h in range(65536)]
    return _F16_TO_F32_BYTES


def f32_round(x):
    """Reference scalar rounding of a binary64 value to binary32: round-to-nearest-even,
    overflow to +-infinity.  (struct raises OverflowError where the rounded value is
    infinite although x is finite; IEEE 754 says the result is then infinity.)"""
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def f32_round_all(values):
    """Vector form of f32_round: an array('f') of the binary32 roundings of `values`.

    CPython stores a float into an array('f') with the C conversion (float)x, which on an
    IEEE 754 machine in the default rounding mode is round-to-nearest-even with overflow to
    infinity -- the same function as f32_round (selftest.py checks that they agree).

    Why binary64 arithmetic followed by one rounding gives the exact binary32 result of each
    operation of section 7 [S-2]:
      * every product in section 7 has a binary32 factor (24-bit significand) and a small
        integer factor (|k| < 2^24), so it is exact in binary64 (53 bits);
      * a sum of two binary32 values rounded first to binary64 and then to binary32 gives
        the correctly rounded binary32 sum, because 53 >= 2*24 + 2 (double rounding is
        innocuous, Figueroa 1995).
    """
    return array("f", values)


def f32_values_from(data, dtype, count):
    """Decode `count` parameters stored in `dtype` into Python floats holding binary32
    values (conversions from f16 and bf16 are exact [S-2])."""
    if dtype == DT_F32:
        return list(le_array("f", data))
    bits = le_array("H", data)
    if dtype == DT_F16:
        conv = [f16_bits_to_f32_bits(h) for h in bits]
    else:                                           # BF16: the top 16 bits of a binary32
        conv = [h << 16 for h in bits]
    return list(struct.unpack("<%df" % count, struct.pack("<%dI" % count, *conv)))


# ----------------------------------------------------------------------------------------
# Header (section 3)
# ----------------------------------------------------------------------------------------

class Header:
    pass


HEADER_FIELDS = struct.Struct("<HHIQQQQQII")      # offsets 8..64


def parse_header(buf):
    """Check every header field; return a Header.  Does not look at the directory."""
    n = len(buf)
    # [H-1] magic.  A file shorter than 8 bytes whose bytes match the start of the magic
    # is reported as truncated, one whose bytes differ as bad magic.
    k = min(n, 8)
    if buf[:k] != MAGIC[:k]:
        fail(E_BAD_MAGIC, "[H-1] the first 8 bytes are not the ECQF magic")
    if n < HEADER_SIZE:
        fail(E_TRUNCATED, "[H-1] file of %d bytes is shorter than the 96-byte header" % n)

    h = Header()
    (h.version_major, h.version_minor, h.header_size, h.required_features,
     h.optional_features, h.file_size, h.directory_offset, h.directory_size,
     h.alignment, h.reserved) = HEADER_FIELDS.unpack_from(buf, 8)
    h.checksum = bytes(buf[64:96])

    if h.version_major != 0:                                   # [H-2]
        fail(E_UNSUPPORTED_VERSION, "[H-2] version_major %d (this reader implements 0)"
             % h.version_major)
    # [H-3] any version_minor is accepted.
    if h.header_size != HEADER_SIZE:                           # [H-4]
        fail(E_BAD_HEADER, "[H-4] header_size is %d, not 96" % h.header_size)
    if h.required_features != 0:                               # [F-1]
        fail(E_UNSUPPORTED_FEATURE, "[F-1] required_features 0x%x: no required feature is "
             "defined in version 0.1" % h.required_features)
    # [F-2] optional_features: unknown bits are ignored.
    if h.file_size > n:                                        # [H-7]
        fail(E_TRUNCATED, "[H-7] file_size is %d but the file has %d bytes"
             % (h.file_size, n))
    if h.file_size < n:
        fail(E_TRAILING_DATA, "[H-7] file_size is %d but the file has %d bytes"
             % (h.file_size, n))
    a = h.alignment                                            # [H-10]
    if a < 64 or a > 65536 or (a & (a - 1)) != 0:
        fail(E_BAD_HEADER, "[H-10] alignment %d is not a power of two in 64..65536" % a)
    if h.reserved != 0:                                        # [H-11], named by section 12
        fail(E_RESERVED_NONZERO, "[H-11] header reserved field is %d" % h.reserved)
    # [H-9] the directory ends exactly at the end of the file.  (That directory_offset is
    # the value computed in [L-1], [H-8], is checked once the directory is parsed.)
    if (h.directory_offset < HEADER_SIZE
            or h.directory_offset + h.directory_size != h.file_size):
        fail(E_BAD_LAYOUT, "[H-8]/[H-9] directory [%d, +%d) does not end at file_size %d"
             % (h.directory_offset, h.directory_size, h.file_size))
    if h.directory_size > 256 * MiB:                           # [D-3]
        fail(E_LIMIT, "[D-3] directory_size %d exceeds 256 MiB" % h.directory_size)
    return h


def verify_header_checksum(buf, h):
    """[H-12] BLAKE2b-256 of the first 64 header bytes followed by the whole directory,
    verified before any directory field is interpreted."""
    d = buf[h.directory_offset:h.directory_offset + h.directory_size]
    if blake2b_256(buf[:64], d) != h.checksum:
        fail(E_HEADER_CHECKSUM, "[H-12] header checksum mismatch")


# ----------------------------------------------------------------------------------------
# Directory (sections 4, 5, 6)
# ----------------------------------------------------------------------------------------

class Cursor:
    """Reads the packed directory; running past its end is [D-2]."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n, what):
        if len(self.data) - self.pos < n:
            fail(E_BAD_DIRECTORY, "[D-2] %s runs past the end of the directory" % what)
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt, what):
        s = struct.Struct("<" + fmt)
        return s.unpack(self.take(s.size, what))

    def u8(self, what):
        return self.unpack("B", what)[0]

    def u16(self, what):
        return self.unpack("H", what)[0]

    def u32(self, what):
        return self.unpack("I", what)[0]

    def u64(self, what):
        return self.unpack("Q", what)[0]


class Metadata:
    def __init__(self, key, mtype, value):
        self.key, self.type, self.value = key, mtype, value


# Smallest possible entries, used to bound the counts by the directory size (section 12):
# a metadata entry has a 1-byte key and at least a 1-byte value (BOOL); a tensor entry has a
# 1-byte name and no dims.
MIN_METADATA_ENTRY = 2 + 1 + 1 + 1
MIN_TENSOR_ENTRY = 8 + 1 + 16 + 16 + 8 + 40 + 32


def open_ecqf(buf):
    """The structural checks of section 12, in its order, up to "the file is now
    structurally valid".  Returns (metadata list, tensor list)."""
    h = parse_header(buf)
    verify_header_checksum(buf, h)
    d = buf[h.directory_offset:h.directory_offset + h.directory_size]

    # The directory head (section 4)
    cur = Cursor(d)
    metadata_count, tensor_count, reserved = cur.unpack("IIQ", "directory head")
    if reserved != 0:                                            # [D-1]
        fail(E_RESERVED_NONZERO, "[D-1] directory reserved field is nonzero")
    if metadata_count > 65536:                                   # [D-3]
        fail(E_LIMIT, "[D-3] metadata_count %d exceeds 65536" % metadata_count)
    if tensor_count > 1048576:
        fail(E_LIMIT, "[D-3] tensor_count %d exceeds 1048576" % tensor_count)
    if 16 + metadata_count * MIN_METADATA_ENTRY + tensor_count * MIN_TENSOR_ENTRY > len(d):
        fail(E_BAD_DIRECTORY, "[D-2] %d metadata and %d tensor entries cannot fit in a "
             "directory of %d bytes" % (metadata_count, tensor_count, len(d)))

    metadata = []
    prev_key = None
    for i in range(metadata_count):
        m = parse_metadata_entry(cur, i)
        if prev_key is not None:                                 # [M-6]
            if m.key == prev_key:
                fail(E_DUPLICATE_NAME, "[M-6] duplicate metadata key %r" % m.key)
            if m.key < prev_key:    # bytes compare as unsigned byte strings, prefix first
                fail(E_BAD_DIRECTORY, "[M-6] metadata key %r is not after %r"
                     % (m.key, prev_key))
        prev_key = m.key
        metadata.append(m)

    tensors = []
    end = HEADER_SIZE                                   # E(-1) = 96
    for i in range(tensor_count):
        t = parse_tensor_entry(cur, i)
        check_blob_structure(buf, h, t, end)
        end = t.blob_offset + t.blob_size
        tensors.append(t)

    if cur.pos != len(d):                                        # [D-2]
        fail(E_BAD_DIRECTORY, "[D-2] %d leftover bytes after the last tensor entry"
             % (len(d) - cur.pos))
    directory_offset = align_up(end, 8)                          # [L-1], [H-8]
    if h.directory_offset != directory_offset:
        fail(E_BAD_LAYOUT, "[H-8] directory_offset %d, computed %d"
             % (h.directory_offset, directory_offset))
    if not is_zero(buf[end:directory_offset]):                   # [L-2]
        fail(E_NONZERO_PADDING, "[L-2] nonzero padding byte before the directory")
    names = set()
    for t in tensors:                                            # [T-7]
        if t.name in names:
            fail(E_DUPLICATE_NAME, "[T-7] duplicate tensor name %r" % t.name)
        names.add(t.name)
    return metadata, tensors


def parse_metadata_entry(cur, i):
    what = "metadata entry %d" % i
    key_length = cur.u16(what)
    if not 1 <= key_length <= 256:                               # [M-1]
        fail(E_LIMIT, "[M-1] %s: key_length %d is not in 1..256" % (what, key_length))
    key = cur.take(key_length, what + " key")
    check_text(key, what + " key", "[M-2]")
    mtype = cur.u8(what)
    if mtype == MT_U64:
        value = cur.unpack("Q", what)[0]
    elif mtype == MT_I64:
        value = cur.unpack("q", what)[0]
    elif mtype == MT_F64:
        value = cur.unpack("d", what)[0]                         # any binary64, NaN too
    elif mtype in (MT_STRING, MT_BYTES):
        length = cur.u32(what)
        if length > 16 * MiB:                                    # [M-7]
            fail(E_LIMIT, "[M-7] %s: value of %d bytes exceeds 16 MiB" % (what, length))
        value = cur.take(length, what + " value")
        if mtype == MT_STRING:                                   # [M-4], [M-2]
            check_text(value, what + " STRING value", "[M-2]")
    elif mtype == MT_BOOL:
        value = cur.u8(what)
        if value > 1:                                            # [M-5]
            fail(E_BAD_DIRECTORY, "[M-5] %s: BOOL value %d is not 0 or 1" % (what, value))
    else:                                                        # [M-3]
        fail(E_BAD_DIRECTORY, "[M-3] %s: unknown metadata type %d" % (what, mtype))
    # Metadata is inert: it is validated, never evaluated.
    return Metadata(key, mtype, value)


class Tensor:
    """One tensor entry plus everything derived from it."""
    pass


def parse_tensor_entry(cur, i):
    t = Tensor()
    what = "tensor entry %d" % i
    (name_length, t.ndim, t.scheme, t.coding, t.dtype,
     reserved) = cur.unpack("HBBBBH", what)
    if not 1 <= name_length <= 1024:                             # [T-1]
        fail(E_LIMIT, "[T-1] %s: name_length %d is not in 1..1024" % (what, name_length))
    if t.ndim > 8:                                               # [T-2]
        fail(E_LIMIT, "[T-2] %s: ndim %d exceeds 8" % (what, t.ndim))
    t.name = cur.take(name_length, what + " name")
    t.dims = list(cur.unpack("%dQ" % t.ndim, what + " dims"))                  # [T-8]
    t.scheme_params = cur.take(16, what + " scheme_params")
    t.coding_params = cur.take(16, what + " coding_params")
    t.blob_offset = cur.u64(what + " blob_offset")                              # [T-9]
    t.part_size = list(cur.unpack("5Q", what + " part_size"))                   # [T-10]
    t.blob_checksum = cur.take(32, what + " blob_checksum")                     # [T-11]

    # -- the entry has been read; now its fields are checked --
    if reserved != 0:                                            # [T-6]
        fail(E_RESERVED_NONZERO, "[T-6] %s: reserved field is nonzero" % what)
    check_text(t.name, what + " name", "[T-7]", no_controls=True)
    what = "tensor %r" % t.name

    # [T-8] element count and the matrix view (section 6).  Both products are exact here
    # (Python integers), so an intermediate product never wraps: dims [2^40, 2^40, 0, 7]
    # have rows = 0 (README, gap G2).
    t.numel = product(t.dims)
    if t.numel > (1 << 48):
        fail(E_LIMIT, "[T-8] %s: %d elements exceed 2^48" % (what, t.numel))
    if t.ndim == 0:
        t.rows, t.cols = 1, 1
    else:
        t.cols = t.dims[-1]
        t.rows = product(t.dims[:-1])
    if t.rows > U64_MAX:
        # Only possible with a zero last dimension (else rows <= numel <= 2^48): [T-8] asks
        # rows < 2^64 even then.
        fail(E_LIMIT, "[T-8] %s: row count %d is not below 2^64" % (what, t.rows))

    if t.dtype not in DTYPES:                                    # [T-5]
        fail(E_BAD_DTYPE, "[T-5] %s: unknown dtype %d" % (what, t.dtype))
    if t.scheme not in SCHEME_NAMES:                             # [T-3]
        fail(E_BAD_SCHEME, "[T-3] %s: unknown scheme %d" % (what, t.scheme))
    if t.coding not in CODING_NAMES:                             # [T-4]
        fail(E_BAD_CODING, "[T-4] %s: unknown coding %d" % (what, t.coding))

    check_scheme_params(t, what)
    check_coding_params(t, what)
    return t


def check_scheme_params(t, what):
    """Section 7: scheme_params, Q (code alphabet) and the RAW code width (8.1)."""
    sp = t.scheme_params
    t.has_escape = False
    t.per_row = False
    t.escape_code = -1
    if t.scheme == SCHEME_NONE:
        # 7.0: scheme_params all zero ([S-1]: every byte is unused); RAW or ZSTD only [S-3].
        if not is_zero(sp):
            fail(E_RESERVED_NONZERO, "[S-1] %s: scheme NONE with nonzero scheme_params" % what)
        if t.coding not in (CODING_RAW, CODING_ZSTD):
            fail(E_BAD_SCHEME, "[S-3] %s: scheme NONE allows only RAW and ZSTD, not %s"
                 % (what, CODING_NAMES[t.coding]))
        t.Q = None
        return

    if t.scheme in (SCHEME_AFFINE, SCHEME_SYMMETRIC):
        # [S-4] / [S-6]: u8 bits, u8 param_dtype, u16 group_size / block_size
        bits, pdt, gs = struct.unpack_from("<BBH", sp, 0)
        clause = "[S-4]" if t.scheme == SCHEME_AFFINE else "[S-6]"
        if not is_zero(sp[4:]):                                  # [S-1]
            fail(E_RESERVED_NONZERO, "[S-1] %s: unused scheme_params bytes are nonzero" % what)
        if not 2 <= bits <= 8:
            fail(E_BAD_SCHEME, "%s %s: bits %d is not in 2..8" % (clause, what, bits))
        if pdt not in DTYPES:
            fail(E_BAD_SCHEME, "%s %s: param_dtype %d is not F32, F16 or BF16"
                 % (clause, what, pdt))
        if gs not in (16, 32, 64, 128, 256):
            fail(E_BAD_SCHEME, "%s %s: group/block size %d is not 16, 32, 64, 128 or 256"
                 % (clause, what, gs))
        if t.cols % gs != 0:                                     # [S-5], 7.2
            fail(E_BAD_SCHEME, "%s %s: cols %d is not a multiple of %d"
                 % ("[S-5]" if t.scheme == SCHEME_AFFINE else "[S-6]", what, t.cols, gs))
        t.bits, t.param_dtype, t.group_size = bits, pdt, gs
        t.Q = 1 << bits
        t.width = bits                                           # 8.1
        return

    # ECSQ, 7.3 [S-7]: u16 alphabet, u16 zero_code, u8 flags
    Q, z, flags = struct.unpack_from("<HHB", sp, 0)
    if not is_zero(sp[5:]):                                      # [S-1]
        fail(E_RESERVED_NONZERO, "[S-1] %s: unused scheme_params bytes are nonzero" % what)
    if Q > 256:                      # the alphabet limit of section 10 is LIMIT (section 11)
        fail(E_LIMIT, "[S-7] %s: alphabet %d exceeds 256" % (what, Q))
    if Q == 0:                       # the rest of [S-7] is BAD_SCHEME
        fail(E_BAD_SCHEME, "[S-7] %s: alphabet 0 (it must be 1..256)" % what)
    if z >= Q:
        fail(E_BAD_SCHEME, "[S-7] %s: zero_code %d is not below the alphabet %d" % (what, z, Q))
    if flags & ~(ECSQ_HAS_ESCAPE | ECSQ_PER_ROW):
        fail(E_BAD_SCHEME, "[S-7] %s: unknown ECSQ flag bits 0x%x" % (what, flags))
    t.has_escape = bool(flags & ECSQ_HAS_ESCAPE)
    t.per_row = bool(flags & ECSQ_PER_ROW)
    if t.has_escape:
        if Q < 2 or z >= Q - 1:
            fail(E_BAD_SCHEME, "[S-7] %s: HAS_ESCAPE needs alphabet >= 2 and zero_code < "
                 "alphabet-1" % what)
        t.escape_code = Q - 1
    t.Q, t.zero_code = Q, z
    t.width = max(1, (Q - 1).bit_length())                       # max(1, ceil(log2 Q)), 8.1


def check_coding_params(t, what):
    """Section 8: coding_params, the symbol alphabet and the tile grid."""
    cp = t.coding_params
    t.T = 1                         # RAW and ZSTD count as one tile (7.3.1)
    if t.numel == 0 and t.coding != CODING_RAW:                  # [K-2]
        fail(E_BAD_CODING, "[K-2] %s: a tensor with no elements must use RAW" % what)
    if t.coding in (CODING_RAW, CODING_ZSTD):
        if not is_zero(cp):                                      # [K-1], 8.1, 8.2
            fail(E_RESERVED_NONZERO, "[K-1] %s: %s with nonzero coding_params"
                 % (what, CODING_NAMES[t.coding]))
        return

    # RANS or PREFIX, 8.3
    p, W, pack, S, tile_rows, tile_cols, reserved = struct.unpack("<BBBBIII", cp)
    if reserved != 0:                                            # [K-1]
        fail(E_RESERVED_NONZERO, "[K-1] %s: coding_params reserved field is nonzero" % what)
    if t.coding == CODING_RANS and not 10 <= p <= 15:            # [K-6]
        fail(E_BAD_CODING, "[K-6] %s: rANS precision %d is not in 10..15" % (what, p))
    if t.coding == CODING_PREFIX and not 1 <= p <= 12:
        fail(E_BAD_CODING, "[K-6] %s: max_length %d is not in 1..12" % (what, p))
    if W not in (1, 2, 4, 8, 16, 32, 64):                        # [K-7]
        fail(E_BAD_CODING, "[K-7] %s: lanes %d is not 1, 2, 4, ..., 64" % (what, W))
    if pack not in (1, 2):                                       # [K-8]
        fail(E_BAD_CODING, "[K-8] %s: pack %d is not 1 or 2" % (what, pack))
    if pack == 2 and t.Q > 16:
        fail(E_BAD_CODING, "[K-8] %s: pack 2 needs an alphabet of at most 16, not %d"
             % (what, t.Q))
    if S < 1:                                                    # [K-9]
        fail(E_BAD_CODING, "[K-9] %s: stripe_rows is 0" % what)
    if tile_rows < 1 or tile_cols < 1:              # [K-10] tile dimensions of 0: BAD_CODING
        fail(E_BAD_CODING, "[K-10] %s: tile_rows and tile_cols must be at least 1" % what)
    if tile_rows * tile_cols > (1 << 20):           # [K-10] tile elements, a limit: LIMIT
        fail(E_LIMIT, "[K-10] %s: tile of %d x %d exceeds 2^20 elements"
             % (what, tile_rows, tile_cols))
    t.precision = t.max_length = p
    t.lanes, t.pack, t.stripe_rows = W, pack, S
    t.tile_rows, t.tile_cols = tile_rows, tile_cols
    t.A = t.Q if pack == 1 else 256                              # [K-8]
    # 9.1 tile grid (numel > 0 here because of [K-2]; tile_rows and tile_cols were checked
    # above, before the tile count computed from them: section 11)
    t.TR = -(-t.rows // tile_rows)
    t.TC = -(-t.cols // tile_cols)
    t.T = t.TR * t.TC
    if t.T > (1 << 32) - 1:                         # [G-1] tile count, a limit: LIMIT
        fail(E_LIMIT, "[G-1] %s: %d tiles exceed 2^32-1" % (what, t.T))


def raw_data_size(t):
    """Size of the RAW data part (8.1), also the decompressed size of a ZSTD frame (8.2)."""
    if t.scheme == SCHEME_NONE:
        return t.numel * DTYPES[t.dtype][1]
    return -(-t.numel * t.width // 8)                            # ceil(numel*width/8)


def check_part_sizes(t, what):
    """[B-2]: the fixed part sizes, from sections 7 and 8.  `escapes` and `data` are
    variable where their sections say so and are then checked later (7.3.1, 8.2, 9.4)."""
    ps = t.part_size
    if t.numel == 0:                                             # [K-2]
        for k in (P_TABLE, P_TILE_INDEX, P_ESCAPES, P_DATA):
            if ps[k] != 0:
                fail(E_BAD_CODING, "[K-2] %s: a tensor with no elements must have an empty "
                     "%s part" % (what, PART_NAMES[k]))

    expected = [0, 0, 0, 0, None]
    # params (section 7)
    if t.scheme == SCHEME_AFFINE:
        G = t.cols // t.group_size
        expected[P_PARAMS] = 2 * t.rows * G * DTYPES[t.param_dtype][1]
    elif t.scheme == SCHEME_SYMMETRIC:
        expected[P_PARAMS] = t.rows * (t.cols // t.group_size) * DTYPES[t.param_dtype][1]
    elif t.scheme == SCHEME_ECSQ:
        # f32 steps [S-8].  The only expected size that can overflow 64 bits: PER_ROW with
        # cols = 0 lets rows reach 2^64 - 1 ([T-8]), and 4*rows is then a size too large for
        # a 64-bit reader [C-2].  (AFFINE and SYMMETRIC have G = 0 groups when cols = 0, and
        # otherwise rows*cols <= 2^48.)
        expected[P_PARAMS] = fit_u64(4 * (t.rows if t.per_row else 1),
                                     "%s: the params size 4*rows" % what)
    # table (8.4, 8.5) and tile_index (9.4)
    if t.coding == CODING_RANS:
        expected[P_TABLE] = 2 * t.A
    elif t.coding == CODING_PREFIX:
        expected[P_TABLE] = t.A
    if t.coding in (CODING_RANS, CODING_PREFIX):
        expected[P_TILE_INDEX] = 8 * (t.T + 1)
    # escapes: variable with HAS_ESCAPE (checked in 7.3.1), else empty
    if t.has_escape and t.numel > 0:
        expected[P_ESCAPES] = None
    # data: fixed for RAW (8.1); ZSTD (8.2) and the tiled codings (9.4) are variable
    if t.coding == CODING_RAW:
        expected[P_DATA] = raw_data_size(t)

    for k in range(5):
        if expected[k] is not None and ps[k] != expected[k]:
            fail(E_BAD_LAYOUT, "[B-2] %s: %s part is %d bytes, expected %d"
                 % (what, PART_NAMES[k], ps[k], expected[k]))


# ----------------------------------------------------------------------------------------
# File layout (section 2) and blob layout (6.2)
# ----------------------------------------------------------------------------------------

def part_offsets(sizes, what):
    """[B-1]: blob-relative offset of each part and the blob size.  Part k starts at
    align_up(end of part k-1, 64); an empty part occupies nothing and moves nothing.

    The part sizes are stored u64 fields, and `data` (and `escapes`) have no computed size
    to compare with ([B-2]), so a part's start or end can exceed 2^64 - 1: that is a size
    that overflows 64 bits, ECQF_ERR_LIMIT [C-2]."""
    offsets = []
    end = 0
    for k, s in enumerate(sizes):
        if s == 0:
            offsets.append(end)
        else:
            start = fit_u64(align_up(end, 64), "%s: the offset of the %s part"
                            % (what, PART_NAMES[k]))
            offsets.append(start)
            end = fit_u64(start + s, "%s: the end of the %s part" % (what, PART_NAMES[k]))
    return offsets, end


def check_blob_structure(buf, h, t, end):
    """Section 12, per tensor entry, after the entry itself: the blob offset and the padding
    before it, the part sizes and offsets, the padding between parts, then the parameters,
    the table, the tile index and the escapes.  `end` is E(i-1)."""
    what = "tensor %r" % t.name
    # [L-1]; `end` <= directory_offset, so this fits 64 bits unless the file is within
    # `alignment` bytes of 2^64 -- checked all the same [C-2].
    start = fit_u64(align_up(end, h.alignment), "%s: the computed blob offset" % what)
    if t.blob_offset != start:                                   # [T-9]
        fail(E_BAD_LAYOUT, "[T-9] %s: blob_offset %d, computed %d"
             % (what, t.blob_offset, start))
    if not is_zero(buf[end:start]):                              # [L-2]
        fail(E_NONZERO_PADDING, "[L-2] nonzero padding byte before the blob of %s" % what)
    check_part_sizes(t, what)                                    # [K-2], [B-2]
    t.part_offset, t.blob_size = part_offsets(t.part_size, what)  # [B-1], [C-2]
    # E(i), the end offset of the blob (section 2): a value that must fit 64 bits [C-2]
    # before it is compared with the directory offset (section 11: "a blob that ends after
    # the directory offset" is BAD_LAYOUT).
    e = fit_u64(t.blob_offset + t.blob_size, "%s: the end offset of the blob" % what)
    if e > h.directory_offset:
        fail(E_BAD_LAYOUT, "[L-1] %s: the blob [%d, +%d) runs past the directory at %d"
             % (what, t.blob_offset, t.blob_size, h.directory_offset))
    prev_end = 0
    for k in range(5):                                           # [B-1] padding
        if t.part_size[k]:
            a, b = t.blob_offset + prev_end, t.blob_offset + t.part_offset[k]
            if not is_zero(buf[a:b]):
                fail(E_NONZERO_PADDING, "[B-1] %s: nonzero padding before the %s part"
                     % (what, PART_NAMES[k]))
            prev_end = t.part_offset[k] + t.part_size[k]
    # Section 12: "AFFINE/SYMMETRIC: check the parameters are finite [S-9]; ECSQ: check the
    # steps [S-8]" -- at open time, before the tables and before any blob checksum.
    read_params(t, part(buf, t, P_PARAMS))
    if t.coding == CODING_RANS:
        read_rans_table(t, part(buf, t, P_TABLE))
    elif t.coding == CODING_PREFIX:
        read_prefix_table(t, part(buf, t, P_TABLE))
    if t.coding in (CODING_RANS, CODING_PREFIX):
        read_tile_index(t, part(buf, t, P_TILE_INDEX), t.part_size[P_DATA])
    if t.has_escape and t.numel > 0:
        read_escapes(t, part(buf, t, P_ESCAPES))


def part(buf, t, k):
    """The bytes of part k of tensor t."""
    a = t.blob_offset + t.part_offset[k]
    return buf[a:a + t.part_size[k]]


# ----------------------------------------------------------------------------------------
# Parts of a blob
# ----------------------------------------------------------------------------------------

def read_params(t, params):
    """Section 7: the parameter arrays, as Python floats holding binary32 values, with the
    checks of [S-9] and [S-8].  Called when the file is opened (section 12); the values are
    kept for dequantization."""
    if t.scheme in (SCHEME_AFFINE, SCHEME_SYMMETRIC):
        n = t.rows * (t.cols // t.group_size)
        size = DTYPES[t.param_dtype][1]
        if t.scheme == SCHEME_AFFINE:       # rows*G scales, then rows*G biases (7.1)
            arrays = (("scale", params[:n * size]), ("bias", params[n * size:]))
        else:                               # rows*(cols/block_size) scales d (7.2)
            arrays = (("scale d", params),)
        values = []
        for kind, data in arrays:
            v = f32_values_from(data, t.param_dtype, n)
            for i, x in enumerate(v):                            # [S-9]
                if not math.isfinite(x):
                    fail(E_BAD_SCHEME, "[S-9] tensor %r: %s %d is %r, not finite"
                         % (t.name, kind, i, x))
            values.append(v)
        t.scales = values[0]
        t.biases = values[1] if t.scheme == SCHEME_AFFINE else None
    elif t.scheme == SCHEME_ECSQ:
        t.steps = list(le_array("f", params))
        for r, step in enumerate(t.steps):                       # [S-8]
            # IEEE comparison: -0.0 >= 0 is true, so a step of -0.0 is allowed; NaN fails.
            if not (math.isfinite(step) and step >= 0):
                fail(E_BAD_SCHEME, "[S-8] tensor %r: step %d is %r, not finite and >= 0"
                     % (t.name, r, step))


def read_rans_table(t, table):
    """8.4: frequencies, cumulative frequencies and the slot -> symbol table."""
    freq = list(le_array("H", table))
    M = 1 << t.precision
    if sum(freq) != M:
        fail(E_BAD_TABLE, "[R-2] tensor %r: frequencies sum to %d, not %d"
             % (t.name, sum(freq), M))
    if t.pack == 2:
        for s in range(256):
            if freq[s] and ((s & 15) >= t.Q or (s >> 4) >= t.Q):
                fail(E_BAD_TABLE, "[R-3] tensor %r: symbol 0x%02x has a code >= %d but "
                     "frequency %d" % (t.name, s, t.Q, freq[s]))
    cum = [0] * t.A
    slot = bytearray()
    for s in range(t.A):
        cum[s] = len(slot)                  # sum of the frequencies of the symbols below s
        slot += bytes((s,)) * freq[s]       # slot v belongs to s iff cum[s] <= v < cum[s]+freq[s]
    t.freq, t.cum, t.slot_symbol = freq, cum, bytes(slot)


def read_prefix_table(t, table):
    """8.5: code lengths -> canonical codes -> a lookup table on the top max_length bits.

    lut[i] is -1 where no code is a prefix of the max_length-bit string i, otherwise
    (symbol << 4) | length."""
    lengths = list(table)                                        # [P-1]
    L = t.max_length
    for s, n in enumerate(lengths):
        if n > L:                                                # [P-2]
            fail(E_BAD_TABLE, "[P-2] tensor %r: symbol %d has length %d > max_length %d"
                 % (t.name, s, n, L))
        if n and t.pack == 2 and ((s & 15) >= t.Q or (s >> 4) >= t.Q):      # [P-3]
            fail(E_BAD_TABLE, "[P-3] tensor %r: symbol 0x%02x has a code >= %d but length %d"
                 % (t.name, s, t.Q, n))
    used = [(s, n) for s, n in enumerate(lengths) if n]
    if not used:                                                 # [P-4]
        fail(E_BAD_TABLE, "[P-4] tensor %r: no symbol is used" % t.name)
    kraft = sum(1 << (L - n) for s, n in used)       # sum of 2^-length, in units of 2^-L
    single = len(used) == 1 and used[0][1] == 1
    if kraft != (1 << L) and not single:
        fail(E_BAD_TABLE, "[P-4] tensor %r: the code is not complete (Kraft sum %d/%d)"
             % (t.name, kraft, 1 << L))
    # Canonical codes, RFC 1951 3.2.2
    count = [0] * (L + 1)
    for s, n in used:
        count[n] += 1
    nxt = [0] * (L + 1)
    for n in range(2, L + 1):
        nxt[n] = (nxt[n - 1] + count[n - 1]) << 1
    lut = [-1] * (1 << L)
    for s, n in used:                       # increasing symbol order
        code = nxt[n]
        nxt[n] += 1
        first = code << (L - n)
        entry = (s << 4) | n
        for i in range(first, first + (1 << (L - n))):
            lut[i] = entry
    t.prefix_lut = lut


def read_tile_index(t, index, data_size):
    """9.4 [G-3]: T+1 u64 offsets; idx[0] = 0, idx[T] = size of data, nondecreasing, each
    tile a multiple of 4 bytes and, for RANS, at least the 4*W bytes of its lane states.
    Every rule is structural: a tile index that passes lets a decoder start any tile."""
    idx = list(le_array("Q", index))
    if idx[0] != 0:
        fail(E_BAD_TILE_INDEX, "[G-3] tensor %r: idx[0] is %d, not 0" % (t.name, idx[0]))
    if idx[-1] != data_size:
        fail(E_BAD_TILE_INDEX, "[G-3] tensor %r: idx[T] is %d but data is %d bytes"
             % (t.name, idx[-1], data_size))
    min_tile = 4 * t.lanes if t.coding == CODING_RANS else 0     # u32 state[W] (9.5)
    for k in range(t.T):
        size = idx[k + 1] - idx[k]
        if size < 0:
            fail(E_BAD_TILE_INDEX, "[G-3] tensor %r: tile index decreases at tile %d"
                 % (t.name, k))
        if size % 4:
            fail(E_BAD_TILE_INDEX, "[G-3] tensor %r: tile %d is %d bytes, not a multiple of 4"
                 % (t.name, k, size))
        if size < min_tile:
            fail(E_BAD_TILE_INDEX, "[G-3] tensor %r: RANS tile %d is %d bytes, shorter than "
                 "its %d lane states (%d bytes)" % (t.name, k, size, t.lanes, min_tile))
    t.tile_index = idx


def read_escapes(t, part):
    """7.3.1: u32 start[T+1] then i32 value[start[T]]."""
    T = t.T
    if len(part) < 4 * (T + 1):
        fail(E_BAD_ESCAPES, "7.3.1 tensor %r: escapes part of %d bytes cannot hold start[%d]"
             % (t.name, len(part), T + 1))
    start = list(le_array("I", part[:4 * (T + 1)]))
    if start[0] != 0:                                            # [E-1]
        fail(E_BAD_ESCAPES, "[E-1] tensor %r: start[0] is %d" % (t.name, start[0]))
    for k in range(T):
        if start[k + 1] < start[k]:
            fail(E_BAD_ESCAPES, "[E-1] tensor %r: start[] decreases at tile %d" % (t.name, k))
    if len(part) != 4 * (T + 1) + 4 * start[T]:
        fail(E_BAD_ESCAPES, "7.3.1 tensor %r: escapes part is %d bytes, expected %d"
             % (t.name, len(part), 4 * (T + 1) + 4 * start[T]))
    values = list(le_array("i", part[4 * (T + 1):]))
    lo, hi = -t.zero_code, t.Q - 2 - t.zero_code         # the k reachable without escape
    for j, k in enumerate(values):                               # [E-3]
        if lo <= k <= hi:
            fail(E_BAD_ESCAPES, "[E-3] tensor %r: escape value %d (index %d) is representable "
                 "without escape" % (t.name, k, j))
        if abs(k) >= (1 << 24):
            fail(E_BAD_ESCAPES, "[E-3] tensor %r: escape value %d (index %d) has |k| >= 2^24"
                 % (t.name, k, j))
    t.esc_start, t.esc_values = start, values


# ----------------------------------------------------------------------------------------
# RAW (8.1) and ZSTD (8.2)
# ----------------------------------------------------------------------------------------

def unpack_raw_codes(t, data):
    """8.1: numel codes of `width` bits, LSB first.  Returns a bytearray of codes."""
    numel, width = t.numel, t.width
    if width == 8:
        codes = bytearray(data)
    elif width in (1, 2, 4):
        # one table entry per byte value: the 8/width codes it holds, lowest bits first
        per = 8 // width
        mask = (1 << width) - 1
        table = [bytes((b >> (width * j)) & mask for j in range(per)) for b in range(256)]
        codes = bytearray(b"".join(map(table.__getitem__, data)))
    else:
        # 8 codes fill exactly `width` bytes: read that many bytes as one integer
        mask = (1 << width) - 1
        shifts = range(0, 8 * width, width)
        padded = bytes(data) + bytes(-len(data) % width)
        codes = bytearray()
        for g in range(0, len(padded), width):
            v = int.from_bytes(padded[g:g + width], "little")
            codes.extend((v >> s) & mask for s in shifts)
    del codes[numel:]
    if codes and max(codes) >= t.Q:                              # [K-4]
        fail(E_CORRUPT_STREAM, "[K-4] tensor %r: code %d is not below the alphabet %d"
             % (t.name, max(codes), t.Q))
    total_bits = numel * width
    if total_bits % 8 and data[-1] >> (total_bits % 8):          # [K-3]
        fail(E_NONZERO_PADDING, "[K-3] tensor %r: unused high bits of the last data byte "
             "are nonzero" % t.name)
    return codes


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"           # 0xFD2FB528 little-endian (RFC 8878 3.1.1)
ZSTD_BLOCK_MAX = 128 * 1024
ZSTD_WINDOW_MAX = 1 << 27                  # [K-5]


def zstd_decode_frame(t, frame, expected_size):
    """[K-5]: `frame` must be exactly one Zstandard frame that declares its content size,
    equal to `expected_size`, names no dictionary, needs a window of at most 2^27 bytes, and
    has nothing after it (no skippable frame either).  Returns the content.

    Every [K-5] failure is ECQF_ERR_CORRUPT_STREAM (section 11)."""
    name = t.name

    def bad(msg):
        fail(E_CORRUPT_STREAM, "[K-5] tensor %r: %s" % (name, msg))

    n = len(frame)
    if n < 5 or frame[:4] != ZSTD_MAGIC:
        bad("data is not a Zstandard frame")
    fhd = frame[4]                                   # Frame_Header_Descriptor
    fcs_flag, single_segment = fhd >> 6, (fhd >> 5) & 1
    if fhd & 0x08:
        bad("Zstandard frame header reserved bit is set")
    has_checksum, dict_flag = (fhd >> 2) & 1, fhd & 3
    pos = 5
    window_size = None
    if not single_segment:
        if pos >= n:
            bad("Zstandard frame header is truncated")
        wd = frame[pos]
        pos += 1
        window_log = 10 + (wd >> 3)
        window_size = (1 << window_log) + ((1 << window_log) >> 3) * (wd & 7)
    did_size = (0, 1, 2, 4)[dict_flag]       # Dictionary_ID field: absent, 1, 2 or 4 bytes
    fcs_size = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
    if pos + did_size + fcs_size > n:
        bad("Zstandard frame header is truncated")
    dictionary_id = int.from_bytes(frame[pos:pos + did_size], "little")
    pos += did_size
    if dictionary_id != 0:                   # [K-5] absent or 0 means "no dictionary"
        bad("Zstandard frame names dictionary %d" % dictionary_id)
    if fcs_size == 0:
        bad("Zstandard frame does not declare its content size")
    content_size = int.from_bytes(frame[pos:pos + fcs_size], "little")
    if fcs_size == 2:
        content_size += 256
    pos += fcs_size
    if content_size != expected_size:
        bad("Zstandard frame declares %d bytes, the RAW data is %d" % (content_size,
                                                                       expected_size))
    if single_segment:
        # RFC 8878 3.1.1.1.2: without a Window_Descriptor, Window_Size is the content size
        # (so a single-segment frame above 2^27 bytes is rejected too: README, gap G3).
        window_size = content_size
    if window_size > ZSTD_WINDOW_MAX:                             # [K-5]
        bad("Zstandard frame needs a window of %d bytes, more than 2^27" % window_size)
    block_max = min(window_size, ZSTD_BLOCK_MAX)

    # Walk the blocks to find where the frame ends (nothing may follow it).
    blocks = []
    while True:
        if pos + 3 > n:
            bad("Zstandard frame is truncated (block header)")
        bh = int.from_bytes(frame[pos:pos + 3], "little")
        pos += 3
        last, btype, bsize = bh & 1, (bh >> 1) & 3, bh >> 3
        if btype == 3:
            bad("Zstandard block of reserved type")
        if bsize > block_max:
            bad("Zstandard block of %d bytes exceeds the maximum %d" % (bsize, block_max))
        payload = 1 if btype == 1 else bsize
        if pos + payload > n:
            bad("Zstandard frame is truncated (block content)")
        blocks.append((btype, bsize, pos))
        pos += payload
        if last:
            break
    if has_checksum:
        if pos + 4 > n:
            bad("Zstandard frame is truncated (checksum)")
        pos += 4
    if pos != n:
        bad("%d bytes follow the Zstandard frame" % (n - pos))

    if all(b[0] in (0, 1) for b in blocks):
        # Raw and RLE blocks only: decode here, no decompressor needed.
        out = bytearray()
        for btype, bsize, p in blocks:
            out += frame[p:p + bsize] if btype == 0 else frame[p:p + 1] * bsize
        if len(out) != content_size:
            bad("Zstandard frame content is %d bytes, it declares %d" % (len(out),
                                                                         content_size))
        if has_checksum and (xxh64(out) & 0xFFFFFFFF).to_bytes(4, "little") != frame[-4:]:
            bad("Zstandard content checksum mismatch")
        return bytes(out)

    out = zstd_decompress_external(t, frame)
    if len(out) != content_size:
        bad("Zstandard frame content is %d bytes, it declares %d" % (len(out), content_size))
    return out


def zstd_decompress_external(t, frame):
    """Decompress a frame with compressed blocks: the zstandard or pyzstd module, else the
    zstd command line tool, else ECQF_ERR_UNSUPPORTED."""
    try:
        import zstandard
        try:
            return zstandard.ZstdDecompressor().decompress(frame)
        except zstandard.ZstdError as e:
            fail(E_CORRUPT_STREAM, "[K-5] tensor %r: zstd: %s" % (t.name, e))
    except ImportError:
        pass
    try:
        import pyzstd
        try:
            return pyzstd.decompress(frame)
        except pyzstd.ZstdError as e:
            fail(E_CORRUPT_STREAM, "[K-5] tensor %r: zstd: %s" % (t.name, e))
    except ImportError:
        pass
    import shutil
    import subprocess
    exe = shutil.which("zstd")
    if exe is None:
        fail(E_UNSUPPORTED, "tensor %r: ZSTD frame with compressed blocks and no zstd "
             "decompressor (module zstandard or pyzstd, or the zstd tool)" % t.name)
    r = subprocess.run([exe, "-d", "-c", "-q"], input=bytes(frame),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        msg = r.stderr.decode("utf-8", "replace").strip().splitlines()
        fail(E_CORRUPT_STREAM, "[K-5] tensor %r: zstd: %s"
             % (t.name, msg[-1] if msg else "exit status %d" % r.returncode))
    return r.stdout


# XXH64, for the optional content checksum of a raw/RLE-only Zstandard frame.
_M64 = U64_MAX
_P1, _P2, _P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_P4, _P5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5


def _rotl64(x, r):
    return ((x << r) | (x >> (64 - r))) & _M64


def _xxh_round(acc, lane):
    return (_rotl64((acc + lane * _P2) & _M64, 31) * _P1) & _M64


def xxh64(data, seed=0):
    n, p = len(data), 0
    if n >= 32:
        v = [(seed + _P1 + _P2) & _M64, (seed + _P2) & _M64, seed, (seed - _P1) & _M64]
        while p + 32 <= n:
            lanes = struct.unpack_from("<4Q", data, p)
            v = [_xxh_round(v[i], lanes[i]) for i in range(4)]
            p += 32
        h = (_rotl64(v[0], 1) + _rotl64(v[1], 7) + _rotl64(v[2], 12) + _rotl64(v[3], 18)) & _M64
        for x in v:
            h = ((h ^ _xxh_round(0, x)) * _P1 + _P4) & _M64
    else:
        h = (seed + _P5) & _M64
    h = (h + n) & _M64
    while p + 8 <= n:
        h ^= _xxh_round(0, struct.unpack_from("<Q", data, p)[0])
        h = (_rotl64(h, 27) * _P1 + _P4) & _M64
        p += 8
    if p + 4 <= n:
        h ^= (struct.unpack_from("<I", data, p)[0] * _P1) & _M64
        h = (_rotl64(h, 23) * _P2 + _P3) & _M64
        p += 4
    while p < n:
        h ^= (data[p] * _P5) & _M64
        h = (_rotl64(h, 11) * _P1) & _M64
        p += 1
    h ^= h >> 33
    h = (h * _P2) & _M64
    h ^= h >> 29
    h = (h * _P3) & _M64
    h ^= h >> 32
    return h


# ----------------------------------------------------------------------------------------
# Tiles (section 9)
# ----------------------------------------------------------------------------------------

def lane_sequences(t, r0, r1, c0, c1):
    """9.2: the element indices (r*cols + c) that each lane receives, in order."""
    W, S, cols = t.lanes, t.stripe_rows, t.cols
    seqs = [[] for _ in range(W)]
    for s0 in range(r0, r1, S):                     # stripes of S rows
        s1 = min(s0 + S, r1)
        for cb in range(c0, c1, W):                 # column steps: c0 + j*W
            ce = min(cb + W, c1)
            for r in range(s0, s1):                 # rows of the stripe
                base = r * cols
                for c in range(cb, ce):             # lane l = c - cb, only where c < c1
                    seqs[c - cb].append(base + c)
    return seqs


def take_error(t, tile_no):
    fail(E_CORRUPT_STREAM, "[R-6] tensor %r tile %d: a lane takes a word from an exhausted "
         "stream" % (t.name, tile_no))


def check_stream_end(t, tile_no, words, taken, padding_clause):
    """[R-8]: every word of the stream was taken; then [R-4]/[P-5]: if the stream has an odd
    number of words, exactly one padding word of value 0 follows."""
    if taken == len(words):
        return
    if taken == len(words) - 1 and taken % 2 == 1:
        if words[taken] != 0:
            fail(E_NONZERO_PADDING, "%s tensor %r tile %d: padding word is 0x%04x, not 0"
                 % (padding_clause, t.name, tile_no, words[taken]))
        return
    fail(E_CORRUPT_STREAM, "[R-8] tensor %r tile %d: %d words of the stream were not taken"
         % (t.name, tile_no, len(words) - taken))


def rans_decode_tile(t, tile_no, tile, n):
    """9.5: decode one rANS tile.  n[l] is the symbol count of lane l; returns each lane's
    list of symbols."""
    W, prec = t.lanes, t.precision
    assert len(tile) >= 4 * W               # [G-3], checked with the tile index
    x = list(le_array("I", tile[:4 * W]))           # x[l] = state[l]
    for l in range(W):
        if x[l] < (1 << 16):                        # (x < 2^32 holds for a u32)
            fail(E_CORRUPT_STREAM, "[R-5] tensor %r tile %d: lane %d state 0x%x < 2^16"
                 % (t.name, tile_no, l, x[l]))
    words = le_array("H", tile[4 * W:])
    nwords = len(words)
    taken = 0
    mask = (1 << prec) - 1
    freq, cum, slot = t.freq, t.cum, t.slot_symbol
    out = [[] for _ in range(W)]
    appends = [o.append for o in out]
    for step in range(n[0]):                        # Tmax = n_0
        for l in range(W):
            if step >= n[l]:                        # n_l never increases with l, so no
                break                               # later lane is active at this step
            xl = x[l]
            v = xl & mask                           # x mod M
            s = slot[v]
            xl = freq[s] * (xl >> prec) + v - cum[s]
            if xl < 0x10000:
                if taken == nwords:
                    take_error(t, tile_no)
                xl = (xl << 16) | words[taken]
                taken += 1
            x[l] = xl
            appends[l](s)
    for l in range(W):
        if x[l] != 0x10000:
            fail(E_CORRUPT_STREAM, "[R-7] tensor %r tile %d: lane %d ends in state 0x%x, "
                 "not 2^16" % (t.name, tile_no, l, x[l]))
    check_stream_end(t, tile_no, words, taken, "[R-4]")
    return out


def prefix_decode_tile(t, tile_no, tile, n):
    """9.6: decode one PREFIX tile.  Returns each lane's list of symbols."""
    W, L = t.lanes, t.max_length
    lut = t.prefix_lut
    words = le_array("H", tile)
    nwords = len(words)
    taken = 0
    B = [0] * W                                     # 32-bit buffers
    cnt = [0] * W                                   # bit counts
    for l in range(W):                              # initial fill, in lane order
        if n[l] > 0:
            if taken == nwords:
                take_error(t, tile_no)
            B[l] = words[taken] << 16
            taken += 1
            cnt[l] = 16
    shift = 32 - L
    out = [[] for _ in range(W)]
    appends = [o.append for o in out]
    for step in range(n[0]):
        for l in range(W):
            if step >= n[l]:                        # see rans_decode_tile
                break
            b = B[l]
            e = lut[b >> shift]                     # the code that is a prefix of B's top bits
            if e < 0:                               # [P-6]
                fail(E_CORRUPT_STREAM, "[P-6] tensor %r tile %d: lane %d: no code matches"
                     % (t.name, tile_no, l))
            length = e & 15
            c = cnt[l] - length
            if c < 0:                               # [P-7]
                fail(E_CORRUPT_STREAM, "[P-7] tensor %r tile %d: lane %d: code longer than "
                     "the bits held" % (t.name, tile_no, l))
            b = (b << length) & 0xFFFFFFFF
            if c < 16 and step + 1 < n[l]:
                if taken == nwords:                 # exhausted stream: as
                    take_error(t, tile_no)
                b += words[taken] << (16 - c)
                taken += 1
                c += 16
            B[l], cnt[l] = b, c
            appends[l](e >> 4)
    for l in range(W):                              # [P-8]
        if B[l] != 0:
            fail(E_CORRUPT_STREAM, "[P-8] tensor %r tile %d: lane %d ends with nonzero bits"
                 % (t.name, tile_no, l))
    check_stream_end(t, tile_no, words, taken, "[P-5]")
    return out


def scatter_symbols(t, tile_no, syms, seqs, n, codes):
    """9.3 and 9.7: put every decoded code at its element; return the element indices of
    the escape codes in the tile's symbol order (step by step, lanes increasing, lo before
    hi)."""
    Q, esc, W = t.Q, t.escape_code, t.lanes
    escapes = []
    for step in range(n[0]):
        for l in range(W):
            if step >= n[l]:
                break
            s = syms[l][step]
            seq = seqs[l]
            if t.pack == 1:
                if s >= Q:                                       # [G-4]
                    fail(E_CORRUPT_STREAM, "[G-4] tensor %r tile %d: code %d >= %d"
                         % (t.name, tile_no, s, Q))
                e = seq[step]
                codes[e] = s
                if s == esc:
                    escapes.append(e)
            else:
                lo, hi = s & 15, s >> 4                          # symbol = lo + 16*hi
                i = 2 * step
                if lo >= Q:                                      # [G-4]
                    fail(E_CORRUPT_STREAM, "[G-4] tensor %r tile %d: code %d >= %d"
                         % (t.name, tile_no, lo, Q))
                codes[seq[i]] = lo
                if lo == esc:
                    escapes.append(seq[i])
                if i + 1 < len(seq):
                    if hi >= Q:
                        fail(E_CORRUPT_STREAM, "[G-4] tensor %r tile %d: code %d >= %d"
                             % (t.name, tile_no, hi, Q))
                    codes[seq[i + 1]] = hi
                    if hi == esc:
                        escapes.append(seq[i + 1])
                elif hi != 0:                                    # [G-2]
                    fail(E_CORRUPT_STREAM, "[G-2] tensor %r tile %d: lane %d: padding code "
                         "is %d, not 0" % (t.name, tile_no, l, hi))
    return escapes


def assign_escapes(t, tile_no, escape_elements, escape_k):
    """[E-1]/[E-2]: tile `tile_no` consumes the values start[t] .. start[t+1]-1, in the
    order its escape codes were produced."""
    if not t.has_escape:
        return
    a, b = t.esc_start[tile_no], t.esc_start[tile_no + 1]
    if len(escape_elements) != b - a:
        fail(E_BAD_ESCAPES, "[E-2] tensor %r tile %d: %d escape codes but %d escape values"
             % (t.name, tile_no, len(escape_elements), b - a))
    for j, e in enumerate(escape_elements):
        escape_k.append((e, t.esc_values[a + j]))


def lane_symbol_counts(t, r0, r1, c0, c1):
    """n_l of 9.3 for every lane, computed without building the sequences: lane l gets the
    columns c0 + l + W*j below c1 of every row of the tile."""
    W, width = t.lanes, c1 - c0
    n = []
    for l in range(W):
        m = (r1 - r0) * (-(-(width - l) // W) if l < width else 0)   # codes of lane l
        n.append(m if t.pack == 1 else (m + 1) // 2)     # pack 2: an odd tail gets hi = 0
    return n


def decode_tiles(t, data):
    """Section 9 for the whole tensor: returns (codes, [(element, k) for every escape]).

    Each tile's stream is decoded and checked before its element order is built, so that
    a broken stream is reported after work proportional to what was decoded, not to the
    element count the entry declares."""
    codes = None
    escape_k = []
    idx = t.tile_index
    for tile_no in range(t.T):
        r0 = (tile_no // t.TC) * t.tile_rows                     # 9.1
        r1 = min(r0 + t.tile_rows, t.rows)
        c0 = (tile_no % t.TC) * t.tile_cols
        c1 = min(c0 + t.tile_cols, t.cols)
        n = lane_symbol_counts(t, r0, r1, c0, c1)
        tile = data[idx[tile_no]:idx[tile_no + 1]]
        if t.coding == CODING_RANS:
            syms = rans_decode_tile(t, tile_no, tile, n)
        else:
            syms = prefix_decode_tile(t, tile_no, tile, n)
        if codes is None:
            codes = bytearray(t.numel)
        seqs = lane_sequences(t, r0, r1, c0, c1)
        esc = scatter_symbols(t, tile_no, syms, seqs, n, codes)
        assign_escapes(t, tile_no, esc, escape_k)
    return codes, escape_k


# ----------------------------------------------------------------------------------------
# Dequantization (section 7)
# ----------------------------------------------------------------------------------------

def expand(per_group, group_len):
    """Each value of `per_group` repeated group_len times (parameter of every element)."""
    return chain.from_iterable(map(repeat, per_group, repeat(group_len)))


def dequantize(t, codes, escape_k):
    """The f32 value of every element, row-major, as little-endian bytes [S-2].

    Parameter g of an element i is params[i // group]: with cols a multiple of the group
    size, element (r, c) = index r*cols + c lies in group r*G + c/group_size."""
    if t.scheme == SCHEME_AFFINE:
        # w = scale * f32(u) + bias    (7.1), left to right: (scale*u) rounded, then + bias
        gs = t.group_size
        prod = f32_round_all(map(mul, expand(t.scales, gs), codes))
        vals = f32_round_all(map(add, prod, expand(t.biases, gs)))
    elif t.scheme == SCHEME_SYMMETRIC:
        # w = d * f32(u - 2^(bits-1))  (7.2)
        half = 1 << (t.bits - 1)
        centred = [u - half for u in range(t.Q)]
        vals = f32_round_all(map(mul, expand(t.scales, t.group_size),
                                 map(centred.__getitem__, codes)))
    else:
        # ECSQ: w = step[r or 0] * f32(k)   (7.3); k = u - z, or the escape value
        kmap = [u - t.zero_code for u in range(t.Q)]
        ks = list(map(kmap.__getitem__, codes))
        for e, k in escape_k:
            ks[e] = k
        steps = expand(t.steps, t.cols) if t.per_row else repeat(t.steps[0])
        vals = f32_round_all(map(mul, steps, ks))
    return le_bytes(vals)


def none_values(t, raw):
    """Scheme NONE: the stored values converted exactly to f32 [S-2]."""
    if t.dtype == DT_F32:
        return bytes(raw)
    if t.dtype == DT_BF16:
        out = bytearray(2 * len(raw))               # bf16 b0 b1 -> f32 00 00 b0 b1
        out[2::4] = raw[0::2]
        out[3::4] = raw[1::2]
        return bytes(out)
    table = f16_to_f32_bytes_table()
    return b"".join(map(table.__getitem__, le_array("H", raw)))


# ----------------------------------------------------------------------------------------
# One tensor
# ----------------------------------------------------------------------------------------

def decode_tensor(buf, t):
    """The content checks of section 12 for tensor t ("blob contents are checked on use"),
    then its codes and values: returns (codes bytes, values bytes)."""
    blob = buf[t.blob_offset:t.blob_offset + t.blob_size]
    if blake2b_256(blob) != t.blob_checksum:                     # [T-11]
        fail(E_BLOB_CHECKSUM, "[T-11] tensor %r: blob checksum mismatch" % t.name)
    data = part(buf, t, P_DATA)

    if t.numel == 0:                                             # [K-2]: nothing to decode
        codes, escape_k = b"", []
    elif t.coding in (CODING_RAW, CODING_ZSTD):
        if t.coding == CODING_ZSTD:
            data = zstd_decode_frame(t, data, raw_data_size(t))
        if t.scheme == SCHEME_NONE:
            return bytes(data), none_values(t, data)
        codes = unpack_raw_codes(t, data)
        escape_k = []
        if t.has_escape:
            # One tile; escape codes in row-major order (7.3.1)
            elements = []
            marker = bytes((t.escape_code,))
            e = codes.find(marker)
            while e >= 0:
                elements.append(e)
                e = codes.find(marker, e + 1)
            assign_escapes(t, 0, elements, escape_k)
    else:
        codes, escape_k = decode_tiles(t, data)
    if t.scheme == SCHEME_NONE:                                  # numel = 0
        return b"", b""
    # "dequantize (section 7)", with the parameters read and checked at open time
    return bytes(codes), dequantize(t, codes, escape_k)


# ----------------------------------------------------------------------------------------
# The whole file
# ----------------------------------------------------------------------------------------

def read_ecqf(buf):
    """Validate a whole ECQF file held in `buf` (bytes).  Returns a list of
    (name bytes, codes hash hex, values hash hex); raises EcqfError on the first violation."""
    buf = bytes(buf)
    metadata, tensors = open_ecqf(buf)
    results = []
    for t in tensors:
        codes, values = decode_tensor(buf, t)
        results.append((t.name, blake2b_256(codes).hex(), blake2b_256(values).hex()))
    return results


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s FILE\n" % argv[0])
        return 2
    out = sys.stdout
    try:
        with open(argv[1], "rb") as f:
            buf = f.read()
    except OSError as e:
        out.write("error %s cannot read %s: %s\n" % (E_IO, argv[1], e.strerror))
        return 1
    try:
        results = read_ecqf(buf)
    except EcqfError as e:
        out.write("error %s %s\n" % (e.name, e.message))
        return 1
    except MemoryError:
        out.write("error %s out of memory\n" % E_NOMEM)
        return 1
    out.flush()
    raw = out.buffer
    for name, codes_hex, values_hex in results:
        raw.write(b"tensor " + name + b" codes=" + codes_hex.encode() +
                  b" values=" + values_hex.encode() + b"\n")
    raw.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
