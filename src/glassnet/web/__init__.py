"""A local web page to draw a digit and watch a trained network read it.

:mod:`glassnet.web.server` builds the page's small HTTP API with Starlette and runs it with
uvicorn (``pip install "glassnet[web]"``), from three pieces: :mod:`glassnet.web.guard`, the
security rules every request passes first; :mod:`glassnet.web.prediction`, a drawing in and the
network's reading out; and :mod:`glassnet.web.endpoints`, reading a request and answering errors.
``static/`` holds the page, its script and its style sheet, served from the package so the page
works offline. Start it with ``glassnet serve MODEL``, or from Python::

    from glassnet.web.server import create_app, serve
    serve(glassnet.load("model.safetensors"), port=8000)

This package imports nothing heavy itself, so ``import glassnet.web`` works without the web extra.
"""
