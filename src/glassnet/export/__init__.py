"""Taking a trained model elsewhere: an ONNX graph, and a model card.

- :mod:`glassnet.export.onnx` writes a network as an ONNX model (``pip install "glassnet[onnx]"``)
  that any ONNX runtime can run without glassnet: the standardization, every layer and the softmax.
- :mod:`glassnet.export.card` describes a model file for the people who will use it: its
  architecture, its data, how it was trained and how well it did, read from the file alone.

Nothing here is imported by ``import glassnet``; each module loads what it needs when it is used.
The network itself is never imported at run time (it imports this package, lazily, for
:meth:`glassnet.Network.to_onnx`).
"""
