"""`python -m critcore`: the same command line as the `critcore` console script."""
from .cli import main_entry

main_entry()
