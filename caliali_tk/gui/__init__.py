"""The Tk desktop front end (re-creates CaliAli's ``CNMFe_app``).

Modules: ``app`` (main window, :func:`caliali_tk.gui.app.run`), ``table``
(editable file list), ``threshold`` / ``threshold_plot`` (the Get window),
``results_view`` / ``results_plot`` (contours and traces), ``batch`` and
``runner`` (worker thread, queue, progress), ``dialogs``, ``widgets``,
``model`` and ``export`` (Tk-free helpers). Nothing outside this package
imports Tk or matplotlib's pyplot.
"""
