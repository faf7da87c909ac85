"""Page builders for the documentation site: everything a page shows about the cluster.

The MkDocs side (`macros/`) only adapts these functions to mkdocs-macros and to a MkDocs hook;
each module here takes the model (or a runbook from `homeops.catalog`) and returns Markdown,
so the pages can be tested without building the site.
"""
