"""Helpers shared by the test suite: request builders, app drivers, the observed-result type.

``tests`` is on pytest's ``pythonpath`` (pyproject.toml), so every test imports these as
``support.<module>`` whatever its folder or pytest's import mode.
"""
