"""The pod garbage collector (controller.py): pods no kubelet will ever finish."""
