"""Demo: train a character-level language model in under a minute (being written)."""


def main() -> None:
    """Print the demo."""
    print("this demo is being written.")
