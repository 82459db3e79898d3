"""`python -m builder.cli` runs the `flowright` command."""

from builder.cli import main

main()
