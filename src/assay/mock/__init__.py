"""``assay mock``: a server built from the spec, with validation, state and injected faults.

The mode's own logic, over the records of ``http.serving``: routing (router.py), request
validation (validation.py), responses from examples or generated values (responses.py),
the stateful store (state.py), fault rules (faults.py), the request journal (journal.py),
proxying and recording (proxy.py, cassette.py), admin routes (admin.py), and the handler
that puts them together (app.py). The server itself is ``http.fastserver``.
"""
