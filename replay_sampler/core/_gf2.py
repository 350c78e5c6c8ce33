"""GF(2) polynomial arithmetic for MT19937 jump-ahead (numpy only).

Jumping MT19937 ahead by ``m`` steps means applying ``T**m``, where ``T`` is
the one-step transition.  With ``P`` the characteristic polynomial of ``T``
(degree 19937, 135 terms) and ``c(x) = x**m mod P``, Cayley-Hamilton gives
``T**m = c(T)`` (Haramoto, Matsumoto, Nishimura, Panneton, L'Ecuyer,
"Efficient jump ahead for F2-linear random number generators", INFORMS J. on
Computing 20(3), 2008).  This module computes ``c``; ``_engine`` applies it.
The derivation of every step and constant is ``docs/jump-ahead.md``:
section 1 (P, ``charpoly``), 2 (windows, ``_times_x``), 3 (the squaring map,
``_Plan``), 4 (kappa, the table, ``x_power_mod_p``'s loop), 5 (back to
coefficients), 6 (applying ``c``, in ``_engine``).

Computing ``x**m mod P`` by square-and-multiply in the polynomial basis needs
a reduction modulo P after every squaring, which is slow without a carry-less
multiplier.  We work in *trace-window coordinates* instead: an element ``d``
of GF(2)[x]/P (a field, P being primitive) is represented by
``w_i = Tr(x**i * d)`` for ``0 <= i < 19937``.  In these coordinates

* multiplication by ``x`` shifts the window by one and appends one bit given
  by P's recurrence, and
* ``d -> (P_o * d)**2``, where ``P = P_e(x)**2 + x * P_o(x)**2``, is the
  correlation ``w'_i = XOR_{k in P} V_{i+k-1}`` with ``V`` the window spread
  to even positions -- no reduction at all, because
  ``Tr(x**(2j+1) * P_o**2 * d**2) = Tr(x**(1/2) * x**j * P_o * d)`` and
  ``x**(1/2) = P_e / P_o``.

Starting from ``kappa = P_o**-2``, the element ``x**k * kappa`` stays of that
form under both maps (the squaring map sends it to ``x**(2k) * kappa``), so
square-and-multiply ends at ``x**m * kappa``.  Euler's formula for the dual
basis turns its window into the coefficients of ``x**m * kappa * P'`` with
``P' = P_o**2``, i.e. of ``x**m`` itself, using only P's 135 terms.

The window of ``x**k * kappa`` for ``k < 2**TABLE_BITS`` is read from a table
shipped with the package (``_data/mt19937_trace.npy``, written by the script
beside it), so the top ``TABLE_BITS`` bits of ``m`` cost nothing.
"""

from __future__ import annotations

import functools
import importlib.resources

import numpy as np

DEGREE = 19937
MATRIX_A = 0x9908B0DF
#: 2**19937 - 1, the order of ``x`` modulo P (P is primitive).
PERIOD = (1 << DEGREE) - 1
# docs/jump-ahead.md §4: the shipped table holds the windows of x**k * kappa
# for k < 2**TABLE_BITS, so the top TABLE_BITS bits of m cost no squaring.
TABLE_BITS = 20
_MASK = (1 << DEGREE) - 1
_NBYTES = (DEGREE + 7) // 8

_SPREAD = np.zeros(256, dtype=np.uint16)
for _v in range(256):
    _SPREAD[_v] = sum(1 << (2 * _b) for _b in range(8) if _v >> _b & 1)
_REVERSE = np.array([int(f"{_v:08b}"[::-1], 2) for _v in range(256)], dtype=np.uint8)
del _v


def _pmul_sparse(a: int, b: int) -> int:
    r = 0
    while b:
        low = b & -b
        r ^= a << (low.bit_length() - 1)
        b ^= low
    return r


@functools.cache
def charpoly() -> int:
    """MT19937's characteristic polynomial as an int (bit k = coefficient of x**k).

    See docs/jump-ahead.md §1 (including why it is T's characteristic polynomial).

    Closed form of Matsumoto & Nishimura (1998):
    ``t * (v**32 + sum_{k<31} a_k v**(31-k)) + a_31`` with
    ``v = t**396 + t**623`` and ``a_k`` bit k of 0x9908B0DF.
    """
    v = (1 << 396) | (1 << 623)
    powers = [1]
    for _ in range(32):
        powers.append(_pmul_sparse(powers[-1], v))
    g = powers[32]
    for k in range(31):
        if MATRIX_A >> k & 1:
            g ^= powers[31 - k]
    return (g << 1) ^ (MATRIX_A >> 31)


class _Plan:
    """Precomputed shift lists for the maps above (built once, on first jump)."""

    def __init__(self) -> None:
        p = charpoly()
        taps = [k for k in range(DEGREE + 1) if p >> k & 1]
        # multiply by x: the appended bit is the parity of the recurrence taps
        # (docs/jump-ahead.md §2).
        self.recurrence_mask = sum(1 << k for k in taps if k < DEGREE)
        # window -> coefficients (Euler's dual basis, docs/jump-ahead.md §5): bit n
        # of the result is XOR_{k in P, k >= 1} w_{k-1-n}; reversed, a shift by D - k.
        self.conversion_shifts = [DEGREE - k for k in taps if k >= 1]
        # Squaring map: XOR_{e in G} V >> e, V the window spread to even bits,
        # G the exponents of g(v) = (P - 1) / x with v = t**396 (1 + t**227).
        # (1 + t**227)**j is a product of binomials (1 + t**(227 * 2**b)), so
        # the 134 taps take 12 shared binomial steps and 22 shifts.  V is kept
        # as its even half E (= the window) and odd half O: shifting V by an
        # even 2s shifts both halves by s, and the one odd binomial (b = 0,
        # 227 = 2*113 + 1) is always applied last in a chain, where O is still
        # zero, so it reduces to O = E >> 114.  All ints stay ~20 kbit wide.
        # Derivation of every constant below: docs/jump-ahead.md §3.
        # exponents: the j of g(v) = sum_j v**j, i.e. 32 and 31 - k for bits k < 31 of
        # MATRIX_A (§1, eq. 1.1).
        self.exponents = [32] + [31 - k for k in range(31) if MATRIX_A >> k & 1]
        needed: set[int] = set()
        for j in self.exponents:
            s = j & ~1
            while s:
                needed.add(s)
                s &= s - 1
        # tree: (subset s of j's bits >= 1, s minus its lowest bit 2**b, half shift):
        # the binomial (1 + t**(227 * 2**b)) shifts V by the even 227 * 2**b, i.e.
        # each half by 227 * 2**(b-1) = 227 * (s & -s) // 2.  Sorted so parents come first.
        self.tree = [
            (s, s & (s - 1), 227 * (s & -s) // 2)
            for s in sorted(needed, key=lambda s: (bin(s).count("1"), s))
        ]
        # t**(396 j) shifts each half by 198 j (396 = 2 * 198).  The odd binomial
        # (1 + t**227), 227 = 2*113 + 1, applied last (O still zero), adds only
        # O ^= E >> 114 (an odd V-shift 2s + 1 sends E to O >> (s + 1)).
        self.even_shifts = [(j & ~1, 198 * j) for j in self.exponents]
        self.odd_shifts = [(j & ~1, 198 * j + 114) for j in self.exponents if j & 1]
        self._check(taps)

    def _check(self, taps: list[int]) -> None:
        """Expand g(v) back into taps; with the constant term they are P's terms.

        docs/jump-ahead.md §3, eq. (3.4): e = 396 j + sum of 227 * 2**b over a
        subset of j's bits is a V-shift, i.e. the tap e + 1.
        """
        parity: dict[int, int] = {0: 1}
        for j in self.exponents:
            bits = [b for b in range(6) if j >> b & 1]
            for mask in range(1 << len(bits)):
                e = 396 * j + sum(227 << bits[i] for i in range(len(bits)) if mask >> i & 1)
                parity[e + 1] = parity.get(e + 1, 0) ^ 1
        rebuilt = {k for k, odd in parity.items() if odd}
        if rebuilt != set(taps):  # pragma: no cover - guards the derivation
            raise AssertionError("squaring plan does not match MT19937's polynomial")


@functools.cache
def _plan() -> _Plan:
    return _Plan()


@functools.cache
def _table() -> np.ndarray:
    ref = importlib.resources.files("replay_sampler.core") / "_data" / "mt19937_trace.npy"
    with ref.open("rb") as fh:
        table: np.ndarray = np.load(fh, allow_pickle=False)
    # docs/jump-ahead.md §4: s_i = Tr(x**i * kappa), i < DEGREE + 2**TABLE_BITS, packed LE.
    expected = (DEGREE + (1 << TABLE_BITS) + 7) // 8
    if table.dtype != np.uint8 or table.shape != (expected,):
        raise RuntimeError(
            f"replay_sampler's jump table is damaged: expected {expected} uint8 values, "
            f"found dtype {table.dtype} shape {table.shape}; reinstall the package"
        )
    return table


def _window(k: int) -> int:
    """Trace window of ``x**k * kappa`` for ``0 <= k < 2**TABLE_BITS``.

    It is bits ``k .. k + DEGREE - 1`` of the table (docs/jump-ahead.md §4).
    """
    table = _table()
    start, bit = divmod(k, 8)
    chunk = table[start : start + _NBYTES + 1].tobytes()
    return (int.from_bytes(chunk, "little") >> bit) & _MASK


# docs/jump-ahead.md §3: the squaring map's output, split into even and odd bits.
_HALF_EVEN = (1 << ((DEGREE + 1) // 2)) - 1  # output bits 0, 2, .., 19936
_HALF_ODD = (1 << (DEGREE // 2)) - 1  # output bits 1, 3, .., 19935
_HALF_BYTES = ((DEGREE + 1) // 2 + 7) // 8


def _spread(half: int) -> int:
    """Move bit i to bit 2i."""
    data = np.frombuffer(half.to_bytes(_HALF_BYTES, "little"), dtype=np.uint8)
    return int.from_bytes(_SPREAD[data].tobytes(), "little")


def _square(w: int, plan: _Plan) -> int:
    """Window of ``(P_o * d)**2`` from the window ``w`` of ``d``.

    The correlation ``w'_i = XOR_{k in P} V_{i+k-1}`` on the halves of ``V``
    (docs/jump-ahead.md §3); ``odd = w`` is the ``k = 0`` term.
    """
    partial = {0: w}
    for subset, parent, shift in plan.tree:
        y = partial[parent]
        partial[subset] = y ^ (y >> shift)
    even = 0
    for subset, shift in plan.even_shifts:
        even ^= partial[subset] >> shift
    odd = w
    for subset, shift in plan.odd_shifts:
        odd ^= partial[subset] >> shift
    return _spread(even & _HALF_EVEN) | (_spread(odd & _HALF_ODD) << 1)


def _times_x(w: int, plan: _Plan) -> int:
    """Window of ``x * d`` from the window ``w`` of ``d`` (docs/jump-ahead.md §2)."""
    parity = (w & plan.recurrence_mask).bit_count() & 1
    return (w >> 1) | (parity << (DEGREE - 1))


def _reverse(w: int) -> int:
    """Bit i of the result is bit ``DEGREE - 1 - i`` of ``w`` (docs/jump-ahead.md §5)."""
    data = np.frombuffer(w.to_bytes(_NBYTES, "little"), dtype=np.uint8)[::-1]
    return int.from_bytes(_REVERSE[data].tobytes(), "little") >> (8 * _NBYTES - DEGREE)


def x_power_mod_p(m: int) -> int:
    """Coefficients of ``x**m mod P`` as an int (bit k = coefficient of x**k).

    Cost: ``max(0, m.bit_length() - 20)`` squarings of ~30 us each (on the
    benchmark machine), plus one conversion; ``m`` is reduced modulo the period
    2**19937 - 1 first (docs/jump-ahead.md §1).
    """
    if m < 0:
        raise ValueError(f"m must be >= 0, got {m}")
    m %= PERIOD
    plan = _plan()
    length = m.bit_length()
    rest = max(0, length - TABLE_BITS)
    # docs/jump-ahead.md §4: start at x**(m >> rest) * kappa; squaring maps
    # x**k * kappa to x**(2k) * kappa, _times_x to x**(k+1) * kappa.
    w = _window(m >> rest)
    for i in range(rest - 1, -1, -1):
        w = _square(w, plan)
        if m >> i & 1:
            w = _times_x(w, plan)
    # docs/jump-ahead.md §5: w is the window of x**m * kappa; Euler's dual-basis
    # formula gives the coefficients of x**m * kappa * P' = x**m (P' = P_o**2,
    # kappa = P_o**-2), of degree < DEGREE, so no reduction is needed.
    reversed_w = _reverse(w)
    coefficients = 0
    for shift in plan.conversion_shifts:
        coefficients ^= reversed_w >> shift
    return coefficients
