"""The conversation flows, one module each.  A flow collects its routes on its own ``routes``
(:class:`handlers.registry.Routes`); importing it registers nothing.  Flows never import each
other: what they share lives in the handlers modules beside this package (dialogs, cards, desk,
…) and in ``models``.  Which flows run, in which menu order: :mod:`handlers.flow_list`."""
