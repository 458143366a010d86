"""Extensions: annotation content as Rossum's hook protocol carries it, and the rules that merge what
ordered extensions return (see ARCHITECTURE.md section 5). Plain Python, no Prefect.

`docket_core.extensions.content` reads and changes the content tree; `docket_core.extensions.merge` combines the
results of one level, and of a whole plan, into the content, messages and updated datapoints passed on.
"""
