"""aiscientist: an autonomous research engineer for machine learning, on Ray."""

__version__ = "0.1.0"
