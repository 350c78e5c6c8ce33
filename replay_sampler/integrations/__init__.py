"""Routes for the frameworks (each an optional import: the package works without them).

* :mod:`replay_sampler.integrations.lightning` -- ``ReplayCallback``: the
  jump before Lightning creates its train iterator, from the epoch in the
  checkpoint (needed with ``num_workers > 0``).
* :mod:`replay_sampler.integrations.torchdata` -- ``StatefulDataLoader``:
  torchdata's, whose state also records the global generator at the moment
  the loop checkpoints (torchdata asks samplers for their state when it
  dispatches indices), and whose ``shuffle=True`` uses ``ReplayableRandomSampler``.

accelerate and ``torch.distributed`` need no code of their own: the README
gives the calls.
"""
