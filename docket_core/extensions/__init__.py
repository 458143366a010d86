"""Extensions: annotation content as Rossum's hook protocol carries it, the rules that merge what
ordered extensions return (see ARCHITECTURE.md section 5), and running them. Plain Python, no Prefect.

- `content`: read and change the content tree; `merge`: combine the results of one level, and of a
  whole plan, into the content, messages and updated datapoints passed on;
- `config`: what an extension is, the checks a configuration must pass, and the plan for an event;
  `registry`: extensions in the catalog;
- `payload`: Rossum-format requests; `webhook`: signed, concurrent HTTP calls; `runner`: one extension
  over a chunk of documents, and a level's merge per document;
- `builtin`, `vendors`, `hookdoc`: the built-in function extensions and helpers for writing more.
"""
