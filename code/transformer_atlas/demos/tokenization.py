"""Demo: byte-level BPE learning its merges, then encoding and decoding (being written)."""


def main() -> None:
    """Print the demo."""
    print("Tokenization: this demo is being written.")
