"""Demo: learned, sinusoidal, RoPE, ALiBi and T5 relative positions (being written)."""


def main() -> None:
    """Print the demo."""
    print("Positional encoding: this demo is being written.")
