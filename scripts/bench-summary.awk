# Reduce criterion's output to "name  median-throughput" lines.
/^[a-z0-9_-]+\/[^ ]+/ { name = $1 }
/thrpt:/ && name != "" { printf "%-40s %s %s\n", name, $4, $5; name = "" }
