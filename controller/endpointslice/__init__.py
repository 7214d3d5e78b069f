"""The EndpointSlice controller (controller.py), what the slices should hold
(reconciler.py), and what it wrote but has not yet seen (tracker.py)."""
