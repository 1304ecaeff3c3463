"""Demo: LayerNorm, RMSNorm, pre- vs post-norm gradient norms (being written)."""


def main() -> None:
    """Print the demo."""
    print("Normalization and residuals: this demo is being written.")
