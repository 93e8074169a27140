"""The digital twin of the city: a generated city model of Sejong 5-1, its exports and imports.

The twin layer imports only ``core`` and ``hub``. Start with :func:`cityos.twin.generator.generate`
and :func:`cityos.twin.loader.load_entities`; see ``docs/twin.md``.
"""
