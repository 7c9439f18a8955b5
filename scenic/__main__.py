"""`python -m scenic` runs the command line."""

from scenic.cli import main

main()
