"""``python -m ipgraph`` runs the command-line interface."""

from ipgraph.cli import main

main()
