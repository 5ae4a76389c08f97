"""``atlas serve``: the atlas in a browser and as a read-only JSON API (optional extra ``[serve]``:
Starlette and Uvicorn).

* :mod:`atlas.web.app`: the routes (query box, neuron, concept, model and run pages, the notes
  form, ``/api/...``), each running the facade's call in a worker thread under the query
  time limit;
* :mod:`atlas.web.render`: the HTML of a page from DataFrames and dicts, generically (every
  section of :meth:`atlas.api.Atlas.neuron`), one small module so that the report's card
  renderer can replace it.

Authentication is the database role of the server's ``--db`` URL: a server opened as a reader
shows no notes form and refuses a posted note with the one-line role message; an annotator's
server next to it accepts them.
"""
