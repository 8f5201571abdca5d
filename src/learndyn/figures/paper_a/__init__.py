"""Paper A (Braun et al. 2022/2023): figures 1-9."""
