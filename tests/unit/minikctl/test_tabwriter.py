"""Go's tabwriter alignment, which kubectl's tables use."""

from __future__ import annotations

from minikctl.tabwriter import tabwrite


def test_tabwriter_column_blocks_like_go():
    # a column block ends at a line without that cell; last cells are never padded
    text = "Name:\tweb\nNamespace:\tdefault\nContainers:\n  c:\n    Image:\tnginx\n    Port:\t80\n"
    assert tabwrite(text, 0, 2) == (
        "Name:       web\n"
        "Namespace:  default\n"
        "Containers:\n"
        "  c:\n"
        "    Image:  nginx\n"
        "    Port:   80\n"
    )
    assert tabwrite("a\tb\tc\nlonger\tx\n", 6, 3) == "a        b     c\nlonger   x\n"
