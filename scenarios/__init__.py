"""Bundled scenario files (YAML). Found through ``importlib.resources``, so they are available
after a normal, non-editable install as well; see :func:`sim.loading.bundled_names`."""
