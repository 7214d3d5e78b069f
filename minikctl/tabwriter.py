"""Go's text/tabwriter, which kubectl prints every table and description through.

Reproducing its column rule (not just "pad to the widest cell") is what makes
minikctl's output line up exactly like kubectl's: a column is a block of consecutive
lines that have a tab-terminated cell at that position; its width is the widest
cell in the block plus `padding` (at least `minwidth`); the text after a line's last
tab is never padded.
"""

from __future__ import annotations


def tabwrite(text: str, minwidth: int = 0, padding: int = 2) -> str:
    """Align tab-separated `text` as Go's tabwriter.NewWriter(out, minwidth, _, padding,
    ' ', 0) would."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(line0: int, line1: int) -> None:
        for cells in lines[line0:line1]:
            parts = []
            for j, cell in enumerate(cells):
                if j < len(cells) - 1 and j < len(widths):
                    parts.append(cell.ljust(widths[j]))
                else:
                    parts.append(cell)
            out.append("".join(parts))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    fmt(0, len(lines))
    return "\n".join(out)


def cells_to_text(rows: list[list[str]]) -> str:
    return "\n".join("\t".join(row) for row in rows)
