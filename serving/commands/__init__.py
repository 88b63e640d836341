"""The ``tactful`` commands, one module per command or group; :mod:`serving.cli` assembles them."""
