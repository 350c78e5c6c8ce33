"""Old runs: reconstructed RNG states as files and live generators, checks
against saved checkpoints, measuring what code draws (torch-facing; the
torch-free description of a run is ``replay_sampler.core.Run``)."""
