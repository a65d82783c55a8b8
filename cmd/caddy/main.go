// Command caddy is a Caddy binary with the standard modules, the paywall
// and its offline demo (`caddy paywall demo`):
// `go run ./cmd/caddy run --config Caddyfile.example`.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-paywall/caddy-paywall/caddymodule"
	_ "github.com/caddy-paywall/caddy-paywall/caddymodule/democmd"
)

func main() {
	caddycmd.Main()
}
