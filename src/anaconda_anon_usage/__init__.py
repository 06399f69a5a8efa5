"""Anonymous usage tokens for conda's user-agent.

Importing the package is free of side effects and of third-party imports: the
conda plugin loads it inside every conda process.
"""

__version__ = "0.1.0"
