"""`python -m gisgrid.cli`, the same as the `gisgrid` command."""

from gisgrid.cli import main

main()
