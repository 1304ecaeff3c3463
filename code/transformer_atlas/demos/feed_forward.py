"""Demo: ReLU, GELU, SiLU and SwiGLU feed-forward layers with shapes (being written)."""


def main() -> None:
    """Print the demo."""
    print("Feed-forward and activations: this demo is being written.")
