"""What each command does, one module per family, over a ``Context``. No printing here: every
action returns data that the CLI renders."""
