"""The garbage collector (controller.py) and its ownership graph (graph.py)."""
