"""Demo: the perceptron, and why XOR needs a hidden layer (being written)."""


def main() -> None:
    """Print the demo."""
    print("this demo is being written.")
