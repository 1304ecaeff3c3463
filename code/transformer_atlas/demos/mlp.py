"""Demo: the spam-filter MLP: forward, backward by hand, one step (being written)."""


def main() -> None:
    """Print the demo."""
    print("this demo is being written.")
