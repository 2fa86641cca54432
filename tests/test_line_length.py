"""The line-length checker finds exactly the lines the book would cut off (over 79 characters).

These tests check the checker on small made-up notebooks. Running it on the chapters is
``make check-lines``; it becomes a test once every chapter complies.
"""

from __future__ import annotations

import nbformat
from line_length import MAX_LINE, long_code_lines, long_output_lines, main
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output


def _nb(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return new_notebook(cells=list(cells))


def test_code_lines_over_the_limit_are_found_with_cell_and_line() -> None:
    ok, long = "x" * MAX_LINE, "y" * (MAX_LINE + 1)
    nb = _nb(new_markdown_cell("# Title"), new_code_cell(f"{ok}\n{long}\n{ok}"))
    (found,) = long_code_lines(nb)
    assert (found.cell, found.line, found.length, found.text, found.kind) == (1, 2, MAX_LINE + 1, long, "code")


def test_a_79_character_line_passes_and_trailing_spaces_do_not_count() -> None:
    assert long_code_lines(_nb(new_code_cell("a" * MAX_LINE + "   "))) == []


def test_cells_the_book_hides_are_skipped() -> None:
    long = "z" * 100
    hidden = new_code_cell(long, metadata={"tags": ["remove-cell"]})
    no_input = new_code_cell(long, metadata={"tags": ["remove-input"]})
    folded = new_code_cell(long, metadata={"tags": ["hide-input"]})  # folded, but one click away
    assert [f.cell for f in long_code_lines(_nb(hidden, no_input, folded))] == [2]


def test_fenced_code_in_markdown_is_code_too_but_prose_is_not() -> None:
    prose = "word " * 40
    md = f"{prose}\n\n```python\nok = 1\n{'q' * 90}\n```\n\n:::{{note}}\n{prose}\n:::"
    (found,) = long_code_lines(_nb(new_markdown_cell(md)))
    assert (found.line, found.length, found.kind) == (5, 90, "markdown code")


def test_a_directive_fence_is_not_a_code_block() -> None:
    md = "```{math}\n" + "a + " * 30 + "\n```"
    assert long_code_lines(_nb(new_markdown_cell(md))) == []


def test_printed_lines_are_found_in_streams_results_and_tracebacks() -> None:
    long = "p" * 85
    cell = new_code_cell("print(...)")
    cell.outputs = [
        new_output("stream", name="stdout", text=f"short\n{long}\n"),
        new_output("execute_result", data={"text/plain": long}, execution_count=1),
        new_output("error", ename="E", evalue="", traceback=["\x1b[31m" + long + "\x1b[0m"]),
    ]
    found = long_output_lines(_nb(cell))
    assert [(f.line, f.length) for f in found] == [(2, 85), (3, 85), (4, 85)]
    assert all(f.kind == "output" and f.text == long for f in found)


def test_colour_codes_do_not_count_and_figures_are_not_text() -> None:
    cell = new_code_cell("plot()")
    cell.outputs = [
        new_output("stream", name="stdout", text="\x1b[1;31m" + "c" * MAX_LINE + "\x1b[0m\n"),
        new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure size " + "9" * 90 + ">"}),
        new_output("display_data", data={"text/html": "<table>" + "h" * 200 + "</table>", "text/plain": "t" * 90}),
    ]
    assert long_output_lines(_nb(cell)) == []


def test_hidden_outputs_are_skipped() -> None:
    cell = new_code_cell("print()", metadata={"tags": ["remove-output"]})
    cell.outputs = [new_output("stream", name="stdout", text="o" * 100)]
    assert long_output_lines(_nb(cell)) == []


def test_command_line_reports_and_fails(tmp_path, capsys) -> None:
    path = tmp_path / "nb.ipynb"
    nbformat.write(_nb(new_code_cell("w" * 81)), str(path))
    assert main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "cell 0, code line 1 (81 chars)" in out and "1 code lines over 79" in out
    nbformat.write(_nb(new_code_cell("w")), str(path))
    assert main([str(path)]) == 0
