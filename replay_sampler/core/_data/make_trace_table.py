"""Generate ``mt19937_trace.npy``, the table the jump-ahead starts from.

Run from the repository root::

    python replay_sampler/core/_data/make_trace_table.py          # (re)write the table
    python replay_sampler/core/_data/make_trace_table.py --check  # compare with the shipped one

The script depends on numpy only and derives everything from first
principles, so it can be audited without trusting the package (the
derivation of each step: ``docs/jump-ahead.md`` §4; of P: §1):

1. ``P``, MT19937's characteristic polynomial, from its closed form in
   Matsumoto & Nishimura (1998)::

       P(t) = t * (v**32 + sum(a_k * v**(31 - k) for k in 0..30)) + a_31,
       v = t**396 + t**623,  a_k = bit k of 0x9908B0DF.

2. ``r_i = Tr(x**i)`` in GF(2)[x]/P, the trace sequence of 1, from Newton's
   identities for the first 19937 terms and P's recurrence after that.

3. ``kappa = P_o(x)**-2 mod P``, where ``P(x) = P_e(x)**2 + x * P_o(x)**2``.

4. The table: ``s_i = Tr(x**i * kappa)`` for ``0 <= i < 19937 + 2**TABLE_BITS``,
   i.e. the trace sequence of kappa, packed little-endian into bytes.

Why kappa: in trace-window coordinates (``w_i = Tr(x**i * d)``) the map
``d -> (P_o * d)**2`` is a sparse correlation, and ``x**m * kappa`` is a fixed
point of "square, then multiply by P_o**2" up to the exponent doubling, and
``kappa = 1 / P'`` turns the final window back into ``x**m`` (``docs/jump-ahead.md``
§3-§5).  See ``replay_sampler/core/_gf2.py`` for the algorithm that consumes the table.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

D = 19937
MATRIX_A = 0x9908B0DF
TABLE_BITS = 20
HERE = pathlib.Path(__file__).resolve().parent
OUTPUT = HERE / "mt19937_trace.npy"


def pmul(a: int, b: int) -> int:
    """Carry-less product of two GF(2) polynomials held in ints (b sparse)."""
    r = 0
    while b:
        low = b & -b
        r ^= a << (low.bit_length() - 1)
        b ^= low
    return r


def pmod(a: int, m: int) -> int:
    dm = m.bit_length()
    while a.bit_length() >= dm:
        a ^= m << (a.bit_length() - dm)
    return a


def pinv(a: int, m: int) -> int:
    """Inverse of a modulo m in GF(2)[x] (extended Euclid)."""
    r0, r1, s0, s1 = m, a, 0, 1
    while r1:
        shift = r0.bit_length() - r1.bit_length()
        if shift < 0:
            r0, r1, s0, s1 = r1, r0, s1, s0
            continue
        r0 ^= r1 << shift
        s0 ^= s1 << shift
        if r0.bit_length() < r1.bit_length():
            r0, r1, s0, s1 = r1, r0, s1, s0
    if r0 != 1:
        raise ArithmeticError("not invertible")
    return pmod(s0, m)


def charpoly() -> int:
    v = (1 << 396) | (1 << 623)
    powers = [1]
    for _ in range(32):
        powers.append(pmul(powers[-1], v))
    g = powers[32]
    for k in range(31):
        if MATRIX_A >> k & 1:
            g ^= powers[31 - k]
    return (g << 1) ^ (MATRIX_A >> 31)


def extend(bits: np.ndarray, total: int, lags: np.ndarray) -> np.ndarray:
    """Extend a sequence that satisfies P's recurrence to ``total`` terms.

    ``out[i] = XOR_{j in lags} out[i - j]``, in blocks of ``min(lags)`` terms,
    none of which depends on another term of its block.
    """
    out = np.zeros(total, dtype=np.uint8)
    out[: len(bits)] = bits
    gap = int(lags.min())
    i = len(bits)
    while i < total:
        blk = min(gap, total - i)
        acc = np.zeros(blk, dtype=np.uint8)
        for j in lags:
            acc ^= out[i - j : i - j + blk]
        out[i : i + blk] = acc
        i += blk
    return out


def trace_of_one(length: int, taps: list[int], lags: np.ndarray) -> np.ndarray:
    """``r_i = Tr(x**i)`` for ``i < length`` (docs/jump-ahead.md §4, step 2).

    Newton's identities over F2 for ``1 <= i <= D``: ``r_i = XOR_{j in lags, j < i}
    r_{i-j}``, plus ``i * c_i`` with ``c_i = 1`` iff ``D - i`` is a tap;
    ``r_0 = D mod 2``.  Beyond D they are P's recurrence (:func:`extend`).
    """
    pset = set(taps)
    r = np.zeros(D + 1, dtype=np.uint8)
    r[0] = D & 1
    sorted_lags = sorted(int(j) for j in lags)
    for i in range(1, D + 1):
        v = (i & 1) if (D - i) in pset else 0
        for j in sorted_lags:
            if j >= i:
                break
            v ^= r[i - j]
        r[i] = v
    return extend(r, length, lags)


def build() -> np.ndarray:
    p = charpoly()
    taps = [k for k in range(D + 1) if p >> k & 1]
    lags = np.array([D - k for k in taps if k < D])
    r = trace_of_one(2 * D + 8, taps, lags)
    # P = P_e**2 + x * P_o**2; kappa = P_o**-2 (docs/jump-ahead.md §3, §4)
    p_odd = sum(1 << ((k - 1) // 2) for k in taps if k & 1)
    inv = pinv(p_odd, p)
    kappa = pmod(pmul(inv, inv), p)
    # s_i = Tr(x**i * kappa) = XOR over the exponents l of kappa of r_{i+l}, i < D
    r_int = int.from_bytes(np.packbits(r, bitorder="little").tobytes(), "little")
    s = 0
    k = kappa
    while k:
        low = k & -k
        s ^= r_int >> (low.bit_length() - 1)
        k ^= low
    s &= (1 << D) - 1
    head = np.unpackbits(
        np.frombuffer(s.to_bytes((D + 7) // 8, "little"), dtype=np.uint8),
        bitorder="little",
    )[:D]
    # the trace sequence of kappa obeys P's recurrence too: extend to D + 2**TABLE_BITS
    table = extend(head, D + (1 << TABLE_BITS), lags)
    return np.packbits(table, bitorder="little")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped table")
    args = parser.parse_args(argv)
    table = build()
    if args.check:
        shipped = np.load(OUTPUT)
        same = shipped.dtype == table.dtype and np.array_equal(shipped, table)
        print("shipped table matches" if same else "shipped table DIFFERS")
        return 0 if same else 1
    np.save(OUTPUT, table)
    print(f"wrote {OUTPUT} ({table.nbytes} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
