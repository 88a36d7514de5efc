"""Start a real JupyterLab server for a test, and drive its notebooks as a reader would.

``JupyterLab`` serves a copy of the chapter notebooks (the committed files are never opened,
so nothing a test does can change them) on 127.0.0.1, on a free port, behind a random
token.  Its settings, workspaces and runtime files live in the same temporary folder, so a
reader's own JupyterLab set-up neither affects the tests nor is touched by them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

# User settings written before the server starts (JUPYTERLAB_SETTINGS_DIR):
# - no "would you like news?" toast, no update check (there is no internet in CI);
# - every cell stays in the DOM, so the tests can see every prompt and output.
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def widget_prefix(notebook: Path):
    """The committed ``notebook`` cut after its last cell that shows a widget (its cells up to
    there, outputs cleared), or ``None`` if it shows none: what a browser test must run to
    use the chapter's widgets, without the rest of the chapter (nbval runs all of it)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    shows = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and any(WIDGET_VIEW in o.get("data", {}) for o in c.get("outputs", []))]
    if not shows:
        return None
    nb.cells = nb.cells[:shows[-1] + 1]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)  # the saved state of widgets that no longer exist
    return nb


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 serving copies of ``notebooks``.

    Use as a context manager; the server and its kernels are shut down on exit, whatever
    happened inside.  ``url(path)`` gives the address of a page with the token attached.
    """

    def __init__(self, notebooks: list[Path], workdir: Path, start_timeout: float = 90) -> None:
        self.workdir = workdir
        self.root = workdir / "notebooks"
        self.root.mkdir(parents=True)
        for nb in notebooks:
            shutil.copy(nb, self.root / nb.name)
        for name, value in SETTINGS.items():
            path = workdir / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        self.token = secrets.token_hex(24)
        self.port = free_port()
        self.start_timeout = start_timeout
        self.log_path = workdir / "jupyterlab.log"
        self.process: subprocess.Popen | None = None
        self.api_timeout = 10.0
        self.stop_timeout = 15.0  # seconds to wait for the server after SIGTERM

    def url(self, path: str = "lab") -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def __enter__(self) -> JupyterLab:
        env = dict(
            os.environ,
            JUPYTER_CONFIG_DIR=str(self.workdir / "config"),
            JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(self.workdir / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.workdir / "workspaces"),
            CONVBOOK_QUICK="1",
        )
        command = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
        ]  # fmt: skip
        if os.getuid() == 0:  # containers; JupyterLab refuses root unless told
            command.append("--allow-root")
        self._log = open(self.log_path, "w")
        # its own process group, so that stopping the group stops anything the server forked
        # (the kernels start sessions of their own: see kernel_pids)
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with code {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                self.api("GET", "status", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise TimeoutError(
            f"jupyter lab did not answer on port {self.port} within {self.start_timeout:.0f} s:\n"
            f"{self.log_tail()}"
        )

    def api(
        self, method: str, path: str, body: dict | None = None, timeout: float | None = None
    ) -> object:
        """Call the server's REST API (``/api/<path>``) with our token.

        ``body`` is sent as JSON; returns the decoded JSON reply (None if empty).  Raises
        ``urllib.error.HTTPError`` on an error status.  ``timeout`` defaults to
        ``api_timeout``.
        """
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout or self.api_timeout) as response:
            reply = response.read()
        return json.loads(reply) if reply else None

    def shutdown_kernels(self) -> None:
        """Stop every running kernel (each chapter's kernel holds hundreds of MB)."""
        for kernel in self.api("GET", "kernels"):
            self.api("DELETE", f"kernels/{kernel['id']}")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kernel_pids(self) -> list[int]:
        """Processes whose command line names our runtime folder: the kernels we started.

        jupyter_client starts each kernel in a session of its own, so the kernels are not
        in the server's process group; their connection files are in our runtime folder.
        """
        runtime = str(self.workdir / "runtime").encode()
        pids = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if runtime in cmdline.read_bytes():
                    pids.append(int(cmdline.parent.name))
            except (OSError, ValueError):  # it ended while we looked
                continue
        return pids

    def __exit__(self, *exc: object) -> None:
        """Stop the kernels and the server, politely first, by force if that fails."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(OSError):  # includes a server that does not answer
                self.shutdown_kernels()
            group = os.getpgid(self.process.pid)
            os.killpg(group, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=self.stop_timeout)
            # the server if it hung (SIGKILL ends even a stopped process)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=15)
        for pid in self.kernel_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if hasattr(self, "_log"):
            self._log.close()


# ----------------------------------------------------------------------------- driving
# In JavaScript, evaluated in the page: the state of every code cell's prompt.
_PROMPTS_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
    .map(c => (c.querySelector('.jp-InputArea-prompt')?.textContent || '').trim())"""
# Error outputs (tracebacks) and widgets that failed to render.
_ERRORS_JS = """() => {
    const found = [];
    const stderr = '[data-mime-type="application/vnd.jupyter.stderr"]';
    for (const el of document.querySelectorAll('.jp-Notebook .jp-OutputArea-output' + stderr)) {
        if (/Traceback|Error/.test(el.textContent)) found.push(el.textContent.slice(0, 2000));
    }
    for (const el of document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')) {
        const t = el.textContent;
        if (/Error displaying widget|Error rendering|Loading widget\\.\\.\\./.test(t))
            found.push('widget failed to render: ' + t.slice(0, 300));
    }
    return found;
}"""


# What the open notebook shows so far: [cells in the DOM, output pictures decoded].
_SHOWN_JS = """() => {
    const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
    if (!nb) return [0, 0];
    const pictures = [...nb.querySelectorAll('.jp-OutputArea-output img')];
    return [nb.querySelectorAll('.jp-Cell').length,
            pictures.filter(img => img.complete && img.naturalWidth > 0).length];
}"""


def committed_pictures(notebook: dict) -> int:
    """The PNG outputs a reader sees in ``notebook`` (its JSON) without a kernel: those of
    outputs that are not widgets (a widget's PNG is its fallback, shown only where the widget
    cannot be)."""
    return sum("image/png" in o.get("data", {}) and WIDGET_VIEW not in o.get("data", {})
               for c in notebook["cells"] if c["cell_type"] == "code"
               for o in c.get("outputs", []))


def open_notebook(page, lab: JupyterLab, name: str, timeout_s: float = 300) -> None:
    """Open ``name`` in JupyterLab and wait until all of it is rendered and its kernel is
    idle: every cell of the served notebook in the page (the settings keep every cell in the
    DOM) and every picture of its saved outputs decoded.  Waiting for the first cell only
    let a test look at a long chapter (08, 03) while it was still being drawn.

    Each call uses a new, empty workspace, so the only open tab is this notebook (the
    default workspace would reopen the notebooks of earlier tests beside it).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    notebook = json.loads((lab.root / name).read_text(encoding="utf-8"))
    expected = [len(notebook["cells"]), committed_pictures(notebook)]
    page.goto(lab.url(f"lab/workspaces/{secrets.token_hex(8)}/tree/{name}"))
    try:
        page.wait_for_function(
            f"([cells, pictures]) => {{ const [c, p] = ({_SHOWN_JS})(); "
            "return c === cells && p >= pictures; }",
            arg=expected, timeout=timeout_s * 1000)
    except PlaywrightTimeout as error:  # say what is missing
        cells, pictures = page.evaluate(_SHOWN_JS)
        raise AssertionError(
            f"{name} was not all rendered within {timeout_s:.0f} s: {cells} of {expected[0]} "
            f"cells, {pictures} of {expected[1]} pictures") from error
    page.wait_for_selector(
        ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout_s * 1000
    )


def run_all_cells(page, timeout_s: float = 600) -> float:
    """Run > Run All Cells through the menu bar, wait until every code cell has run.

    The saved notebook already shows execution counts, and a fresh kernel gives the same
    ones, so the outputs are cleared first (Edit > Clear Outputs of All Cells): then a
    number in every prompt means that every cell really ran.  Returns the seconds the run
    took.  Fails as soon as an output shows a traceback.
    """
    menu_command(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(
        f"() => ({_PROMPTS_JS})().every(p => !/[0-9]/.test(p))", timeout=10_000
    )
    start = time.monotonic()
    menu_command(page, "Run", "Run All Cells")
    while True:
        errors = notebook_errors(page)
        assert not errors, "a cell failed:\n" + "\n---\n".join(errors)
        prompts = page.evaluate(_PROMPTS_JS)
        pending = sum(not re.fullmatch(r"\[\d+\]:", p) for p in prompts)
        if prompts and pending == 0:
            took = time.monotonic() - start
            # The last cell may have finished, and shown its traceback, after the check
            # above; and an error output can be rendered a moment after its prompt number.
            time.sleep(0.5)
            errors = notebook_errors(page)
            assert not errors, "a cell failed:\n" + "\n---\n".join(errors)
            return took
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"{pending} of {len(prompts)} cells not run after {timeout_s} s")
        time.sleep(0.25)


def menu_command(page, menu: str, item: str) -> None:
    """Click ``menu`` in the menu bar, then ``item``, as a reader would.

    Notebook commands are greyed out until JupyterLab has made the notebook its current
    widget, so the notebook is clicked first and the item must be enabled before the click.
    """
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    page.get_by_role("menuitem", name=menu, exact=True).click()
    entry = page.get_by_role("menuitem", name=item, exact=True)
    entry.wait_for(state="visible")
    page.wait_for_function(
        "el => el.getAttribute('aria-disabled') !== 'true'",
        arg=entry.element_handle(),
        timeout=10_000,
    )
    entry.click()


def notebook_errors(page) -> list[str]:
    """Tracebacks shown in the notebook, and widgets that failed to render."""
    return page.evaluate(_ERRORS_JS)
