"""hyperwords bridge: the Python worker for weights, conversion, training and export.

Workers speak NDJSON on stdout (:mod:`hyperwords_bridge.events`); see the README beside
``pyproject.toml`` for the environment and commands.
"""

__version__ = "0.1.0"
