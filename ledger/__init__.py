"""deploy-ledger: decide inside CI whether this build may deploy now, remembered in git notes."""

__version__ = "0.3.0.dev0"
