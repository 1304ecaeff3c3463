"""Demo: dot products, cosine similarity and matmul from loops (being written)."""


def main() -> None:
    """Print the demo."""
    print("this demo is being written.")
