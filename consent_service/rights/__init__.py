"""Data-subject rights (个人信息主体的权利), PIPL 44-50 and GB/T 35273 chapter 8.

- ``types``: the request types the law names, with their clauses and default deadlines.

Requests, their workflow, deadline computation and the scheduler that enforces it build on
these definitions.
"""
