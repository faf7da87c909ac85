"""The building blocks runbooks are made of: preflight checks, waits, one-node maintenance and upgrades.

Notebooks orchestrate and explain; the logic lives here, where it is tested.
"""
