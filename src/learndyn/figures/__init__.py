"""One module per paper figure: ``compute*`` (protocol: config dict -> trajectory table),
``checks`` (trajectory table -> acceptance-check table) and ``draw`` (trajectory table ->
matplotlib figure). All are pure; the workflow scripts do the reading and writing."""
