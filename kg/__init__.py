"""CoproKG: a knowledge graph of elderly-care coproduction."""

__version__ = "0.1.0"
