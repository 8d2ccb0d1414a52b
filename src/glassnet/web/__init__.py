"""Local web pages: draw a digit and watch a trained network read it, and learn from it.

:mod:`glassnet.web.server` builds the pages' small HTTP APIs with Starlette and runs them with
uvicorn (``pip install "glassnet[web]"``), from these pieces:

- :mod:`~glassnet.web.guard`: the security rules every request passes first;
- :mod:`~glassnet.web.prediction`: a drawing in, the network's reading out;
- :mod:`~glassnet.web.backward`: the backward pass of one drawing, and one gradient step on it;
- :mod:`~glassnet.web.sessions`: each page's own copy of the network, in memory only;
- :mod:`~glassnet.web.drawing`: the drawing page's API routes;
- :mod:`~glassnet.web.endpoints`: reading a request, and every error as JSON;
- :mod:`~glassnet.web.limits`: running short of file descriptors without flooding the log;
- :mod:`~glassnet.web.listen`: a socket on this machine, and uvicorn on it.

``static/`` holds the page, its scripts and its style sheet, served from memory so the page works
offline. Start it with ``glassnet serve MODEL``, or from Python::

    from glassnet.web.server import create_app, serve
    serve(glassnet.load("model.safetensors"), port=8000)

This package imports nothing heavy itself, so ``import glassnet.web`` works without the web extra.
"""
