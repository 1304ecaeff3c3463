"""Demo: shapes, broadcasting, einsum and bmm from loops (being written)."""


def main() -> None:
    """Print the demo."""
    print("this demo is being written.")
