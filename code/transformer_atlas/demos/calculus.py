"""Demo: Jacobians by hand against autograd (being written)."""


def main() -> None:
    """Print the demo."""
    print("this demo is being written.")
