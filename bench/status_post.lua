-- wrk script: JSON-RPC `status` over POST / (keep-alive).
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":"dontcare","method":"status","params":[]}'
wrk.headers["Content-Type"] = "application/json"
