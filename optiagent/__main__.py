"""`python -m optiagent` runs the command-line interface."""

from optiagent.cli import main

main()
