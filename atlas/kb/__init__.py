"""The shared lab knowledge base (issue 18): roles on PostgreSQL (:mod:`atlas.kb.roles`),
notes and labels (:mod:`atlas.kb.notes`), saved parameterised queries (:mod:`atlas.kb.saved`),
export / import (:mod:`atlas.kb.transfer`) and neuron records in other tools' formats
(:mod:`atlas.kb.records`). The web server is :mod:`atlas.web`.

Layer 8, beside the facade: the facade (:mod:`atlas.api`) imports these modules on first use;
they import the store and the query stages, never the facade.
"""
