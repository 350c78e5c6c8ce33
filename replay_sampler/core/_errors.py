"""The exceptions a caller may need to tell apart (no numpy, no torch).

Each subclasses the builtin that was raised before it existed, so code
catching ``ValueError`` keeps working:

* :class:`ForeignStateError` -- a state or file from elsewhere: another
  generator kind or layout (a CUDA state, torch 1.0/1.1's 5048 bytes), another
  sampler, dataset size, format version.
* :class:`CorruptStateError` -- a state or file of the right kind that is
  damaged: impossible field values, a checksum that does not match, a
  truncated checkpoint.
* :class:`NotReachedError` -- one state does not follow the other within the
  given number of draws.
"""

from __future__ import annotations


class ForeignStateError(ValueError):
    """A state, state dict or file that belongs to something else."""


class CorruptStateError(ValueError):
    """A state, state dict or file of the expected kind that is damaged."""


class NotReachedError(ValueError):
    """State ``b`` does not follow state ``a`` within the given number of draws."""
