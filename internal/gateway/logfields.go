package gateway

import "go.uber.org/zap"

// Log fields used across the endpoints. Secrets, cookies and card details
// never reach a log line.
func zapUser(u string) zap.Field      { return zap.String("user", u) }
func zapProduct(p string) zap.Field   { return zap.String("product", p) }
func zapErr(err error) zap.Field      { return zap.Error(err) }
func field(key, val string) zap.Field { return zap.String(key, val) }
