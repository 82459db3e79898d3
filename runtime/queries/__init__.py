"""Read and write queries behind the Builder API: records with condition search, and run statistics.

Each public function is one transaction on `services.engine`; work for the workers (events the record
store emitted) is queued only after the commit, as `runtime.operations` does. Bad input raises
`runtime.queries.errors.QueryError` carrying JSON pointers, which the API turns into a 4xx.
"""
