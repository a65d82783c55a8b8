// Command caddy is a Caddy binary with the standard modules and the
// paywall: `go run ./cmd/caddy run --config Caddyfile.example`.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-paywall/caddy-paywall/caddymodule"
)

func main() {
	caddycmd.Main()
}
