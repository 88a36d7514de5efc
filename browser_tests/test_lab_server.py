"""The test server itself: token required, and nothing left running afterwards."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from lab_server import JupyterLab, open_notebook, run_all_cells


def _processes_mentioning(text: str) -> list[str]:
    """Running processes whose command line contains ``text`` (``pgrep -af``)."""
    result = subprocess.run(["pgrep", "-af", text], capture_output=True, text=True)
    return result.stdout.splitlines()


def _start_kernel(lab: JupyterLab) -> None:
    kernel = lab.api("POST", "kernels", {"name": "python3"}, timeout=60)
    assert kernel["name"] == "python3"


def test_server_needs_its_token_and_stops_with_its_kernels(tmp_path: Path):
    runtime = str(tmp_path / "runtime")
    with JupyterLab([], tmp_path) as lab:
        status = f"http://127.0.0.1:{lab.port}/api/status"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(status, timeout=10)
        assert refused.value.code == 403
        _start_kernel(lab)
        # the kernel's connection file lives in our runtime folder, so its command line
        # names that folder
        assert _processes_mentioning(runtime), "no kernel process found"
        server = lab.process
    assert server.poll() is not None
    assert _processes_mentioning(runtime) == []


def test_server_stops_when_the_test_fails(tmp_path: Path):
    runtime = str(tmp_path / "runtime")
    with pytest.raises(RuntimeError, match="the test failed"), JupyterLab([], tmp_path) as lab:
        _start_kernel(lab)
        server = lab.process
        raise RuntimeError("the test failed")
    assert server.poll() is not None
    assert _processes_mentioning(runtime) == []


def test_a_server_that_cannot_start_says_why(tmp_path: Path):
    busy = JupyterLab([], tmp_path / "first")
    with busy:
        second = JupyterLab([], tmp_path / "second")
        second.port = busy.port  # taken, and port_retries=0 forbids another
        with pytest.raises(RuntimeError, match="exited with code"):
            second.__enter__()
        assert second.process.poll() is not None


def test_kernels_never_outlive_a_killed_server(tmp_path: Path):
    """Even if JupyterLab ignores SIGTERM, its kernels are stopped and it is killed."""
    runtime = str(tmp_path / "runtime")
    lab = JupyterLab([], tmp_path)
    with lab:
        _start_kernel(lab)
        lab.api_timeout = 2  # the stopped server will not answer its API
        lab.stop_timeout = 2  # nor SIGTERM: then SIGKILL
        subprocess.run(["kill", "-STOP", str(lab.process.pid)], check=True)  # hangs it
    assert lab.process.poll() is not None
    assert _processes_mentioning(runtime) == []


def test_a_traceback_in_a_cell_fails_the_run(tmp_path: Path, page):
    """The checker behind every chapter test really notices a failing cell."""

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    with JupyterLab([path], tmp_path / "lab") as lab:
        open_notebook(page, lab, path.name)
        with pytest.raises(AssertionError, match="ZeroDivisionError"):
            run_all_cells(page, timeout_s=60)


def test_a_chapter_is_cut_after_its_last_widget(tmp_path: Path):
    from lab_server import WIDGET_VIEW, widget_prefix

    def cell(source: str, widget: bool = False):
        data = {"text/plain": "W"} | ({WIDGET_VIEW: {"model_id": "m"}} if widget else {})
        return nbformat.v4.new_code_cell(source, execution_count=1, outputs=[
            nbformat.v4.new_output("display_data", data=data)])

    nb = nbformat.v4.new_notebook(cells=[
        cell("a = 1"), cell("w = W()", widget=True), nbformat.v4.new_markdown_cell("text"),
        cell("v = W()", widget=True), cell("after = 2")])
    nb.metadata["widgets"] = {"state": {}}
    nbformat.write(nb, tmp_path / "01_x.ipynb")
    cut = widget_prefix(tmp_path / "01_x.ipynb")
    assert [c.source for c in cut.cells] == ["a = 1", "w = W()", "text", "v = W()"]
    assert all(c.outputs == [] and c.execution_count is None
               for c in cut.cells if c.cell_type == "code")
    assert "widgets" not in cut.metadata
    nbformat.write(nbformat.v4.new_notebook(cells=[cell("no widget")]), tmp_path / "02_y.ipynb")
    assert widget_prefix(tmp_path / "02_y.ipynb") is None


def test_an_opened_notebook_is_all_there(tmp_path: Path, page):
    """open_notebook returns only when every cell and every saved picture is shown: a long
    notebook (400 cells, a picture in every other one) is looked at at once, no waiting."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(buffer, format="PNG")
    png = base64.b64encode(buffer.getvalue()).decode()
    cells = []
    for i in range(200):
        cells.append(nbformat.v4.new_markdown_cell(f"Cell {i}: *some* text."))
        cells.append(nbformat.v4.new_code_cell(f"picture({i})", execution_count=i + 1, outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": png,
                                                         "text/plain": "<picture>"})]))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = tmp_path / "long.ipynb"
    nbformat.write(nb, path)
    with JupyterLab([path], tmp_path / "lab") as lab:
        open_notebook(page, lab, path.name)
        shown = page.evaluate("""() => [
            document.querySelectorAll('.jp-Notebook .jp-Cell').length,
            [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output img')]
                .filter(img => img.complete && img.naturalWidth === 64).length]""")
        assert shown == [400, 200]
