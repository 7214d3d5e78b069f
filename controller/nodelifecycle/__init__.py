"""The node lifecycle controller (controller.py): silent nodes become Unknown and
are tainted."""
