"""Reports: the atlas as pages a researcher looks at, every figure backed by SQL it names.

* :mod:`atlas.report.sql`: ``atlas sql``, read-only SQL on the tables and named views;
* :mod:`atlas.report.data`: the report's data as DataFrames (each with the SQL or query it
  came from in ``attrs["source"]``);
* :mod:`atlas.report.plots`: matplotlib figures as inline SVG;
* :mod:`atlas.report.html`: the static, self-contained HTML pages (``atlas report``).
"""
