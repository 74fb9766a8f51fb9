"""``python -m memspace``: the same as the ``memspace`` command."""

from memspace.cli import main

main()
