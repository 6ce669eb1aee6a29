"""The scheduler: places pending pods on nodes — pure decisions (filters, scores, sampling) over
an incremental view of the cluster fed by the log, bindings by compare-and-swap through the API."""
