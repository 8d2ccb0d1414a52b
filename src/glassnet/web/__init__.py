"""Local web pages: draw a digit for a trained network to read and learn from; follow a run live.

:mod:`glassnet.web.server` builds the pages' small HTTP APIs with Starlette and runs them with
uvicorn (``pip install "glassnet[web]"``), from these pieces:

- :mod:`~glassnet.web.guard`: the security rules every request passes first;
- :mod:`~glassnet.web.prediction`: a drawing in, the network's reading out;
- :mod:`~glassnet.web.backward`: the backward pass of one drawing, and one gradient step on it;
- :mod:`~glassnet.web.sessions`: each page's own copy of the network, in memory only;
- :mod:`~glassnet.web.drawing`: the drawing page's API routes;
- :mod:`~glassnet.web.runview`: a run folder, read again as training rewrites it;
- :mod:`~glassnet.web.watch`: the live page's API routes;
- :mod:`~glassnet.web.endpoints`: reading a request, and every error as JSON;
- :mod:`~glassnet.web.limits`: running short of file descriptors without flooding the log;
- :mod:`~glassnet.web.listen`: a socket on this machine, and uvicorn on it.

``static/`` holds the pages, their scripts and their style sheet, served from memory so the pages
work offline. Start them with ``glassnet serve MODEL`` and ``glassnet watch RUN``, or from Python::

    from glassnet.web.server import serve, serve_run
    serve(glassnet.load("model.safetensors"), port=8000)
    serve_run("runs/my-run", port=8001)

This package imports nothing heavy itself, so ``import glassnet.web`` works without the web extra.
"""
