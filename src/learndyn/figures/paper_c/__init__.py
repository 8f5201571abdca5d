"""Figures of paper C (Dominé et al., ICLR 2025, "From Lazy to Rich"): groups L1-L8 of spec ``lambda-balanced.md``."""
