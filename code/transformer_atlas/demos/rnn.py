"""Demo: the 'cat sat here' RNN step by step, BPTT, LSTM and GRU (being written)."""


def main() -> None:
    """Print the demo."""
    print("this demo is being written.")
