"""Drop-ins for ``torch.utils.data`` that can jump to any epoch (torch-facing):
``ReplayableRandomSampler``, ``ReplayableDistributedSampler``,
``replayable_random_split``, the DataLoader draw count and worker seeds."""
