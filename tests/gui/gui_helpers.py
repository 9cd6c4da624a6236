"""Real-event helpers for the GUI tests: bounded waits, clicks, keys, drags."""

from __future__ import annotations

import threading
import time

# -- waiting ------------------------------------------------------------------------------

def pump(root, until=lambda: False, timeout: float = 10.0) -> bool:
    """Run the Tk event loop until `until()` is true or `timeout` s pass.

    Uses the real main loop (``mainloop`` + ``quit``), as the application
    does; returns early if the window is destroyed meanwhile. Returns
    whether `until()` became true.
    """
    import tkinter as tk
    deadline = time.monotonic() + timeout
    pending = []

    def check():
        pending.clear()
        try:
            if until() or time.monotonic() > deadline:
                root.quit()
            else:
                pending.append(root.after(15, check))
        except tk.TclError:  # destroyed while waiting
            pass
    try:
        pending.append(root.after(15, check))
        root.mainloop()
    except tk.TclError:
        pass
    finally:
        for after_id in pending:  # never leave a timer behind a destroyed window
            try:
                root.tk.call("after", "cancel", after_id)
            except tk.TclError:
                pass
    return bool(until())


def settle(root, seconds: float = 0.05) -> None:
    """Process pending events for a moment."""
    pump(root, timeout=seconds)


# -- real input events -----------------------------------------------------------------------

KEYSYMS = {".": "period", "-": "minus", ",": "comma", " ": "space"}


def type_text(widget, text: str) -> None:
    """Type `text` into `widget` as key presses (it gets the keyboard focus first)."""
    _focus(widget)
    for ch in text:
        keysym = KEYSYMS.get(ch, ch)
        widget.event_generate("<KeyPress>", keysym=keysym, when="tail")
        widget.event_generate("<KeyRelease>", keysym=keysym, when="tail")
    widget.update()


def _focus(widget, timeout: float = 2.0) -> None:
    """Give `widget` the keyboard focus, as a user's click on its window would.

    Tk drops key events while its application does not hold the X focus, and
    that arrives asynchronously after ``focus_force``; so wait until Tk
    reports the focus on `widget`.
    """
    deadline = time.monotonic() + timeout
    while widget.focus_get() is not widget and time.monotonic() < deadline:
        widget.focus_force()
        widget.update()
        time.sleep(0.01)
    assert widget.focus_get() is widget, f"{widget} did not get the keyboard focus"


def press_key(widget, keysym: str) -> None:
    """Press and release one key on `widget` (it gets the keyboard focus first)."""
    _focus(widget)
    widget.event_generate(f"<KeyPress-{keysym}>", when="tail")
    widget.event_generate(f"<KeyRelease-{keysym}>", when="tail")
    widget.update()


def click(widget, x: int, y: int, double: bool = False) -> None:
    """Left-click (or double-click: two quick clicks) at widget pixel (x, y)."""
    widget.event_generate("<Motion>", x=x, y=y)
    for _ in range(2 if double else 1):
        widget.event_generate("<ButtonPress-1>", x=x, y=y)
        widget.event_generate("<ButtonRelease-1>", x=x, y=y)
        widget.update()  # what the first click queued runs before the second, as for a user


def cell_centre(tree, iid: str, column: str):
    """Pixel centre of a treeview cell."""
    tree.see(iid)
    tree.update_idletasks()
    x, y, w, h = tree.bbox(iid, column)
    return x + w // 2, y + h // 2


def canvas_xy(figure_canvas, ax, x: float, y: float, draw: bool = True):
    """Tk widget pixel of data point (x, y) on `ax`.

    Tk event coordinates are the figure's physical pixels (matplotlib flips
    y and already folds the display's pixel ratio into the figure's dpi), so
    this is just the data transform with y measured from the top.
    """
    if draw:
        figure_canvas.draw()  # the aspect-corrected layout is only final after a draw
    dx, dy = ax.transData.transform((x, y))
    return int(round(dx)), int(round(figure_canvas.figure.bbox.height - dy))


def drag(widget, points, step_pause: float = 0.0) -> None:
    """Press button 1 at points[0], move through the rest, release at the last."""
    x0, y0 = points[0]
    widget.event_generate("<Motion>", x=x0, y=y0)
    widget.event_generate("<ButtonPress-1>", x=x0, y=y0)
    for x, y in points[1:]:
        widget.event_generate("<B1-Motion>", x=x, y=y, state=0x100)
        if step_pause:
            time.sleep(step_pause)
    x1, y1 = points[-1]
    widget.event_generate("<ButtonRelease-1>", x=x1, y=y1, state=0x100)
    widget.update()


def worker_threads(prefix: str = "caliali-"):
    """Live threads started by the GUI's workers."""
    return [t for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]
