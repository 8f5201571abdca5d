"""Figure modules of paper B (van Rossem & Saxe, "When Representations Align", ICML 2024)."""
