"""The Endpoints controller (controller.py) and the subsets it writes (subsets.py)."""
