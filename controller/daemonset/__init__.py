"""The DaemonSet controller (controller.py): one pod per eligible node, placed by the
default scheduler. Its pure decisions: which nodes a daemon pod belongs on and the
pod it runs there (placement.py), the ControllerRevision history (history.py), and
what to create, delete and report (plan.py)."""
