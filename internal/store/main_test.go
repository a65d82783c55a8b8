package store

import (
	"testing"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// The tests run against a real redis-server (testenv), each under its own
// key prefix.
func TestMain(m *testing.M) { testenv.Main(m) }
