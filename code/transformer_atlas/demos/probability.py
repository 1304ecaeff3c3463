"""Demo: softmax, entropy, cross-entropy, KL and perplexity (being written)."""


def main() -> None:
    """Print the demo."""
    print("this demo is being written.")
