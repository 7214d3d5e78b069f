"""Taint-based eviction (controller.py): pods leave NoExecute-tainted nodes they do
not tolerate, when their tolerations run out (deadline.py)."""
