"""Demo: token embeddings, similarity as geometry, weight tying (being written)."""


def main() -> None:
    """Print the demo."""
    print("Embeddings: this demo is being written.")
