package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/caddy-paywall/caddy-paywall/internal/redisconn"
)

// errUsage marks a command-line mistake: exit code 2.
var errUsage = errors.New("usage")

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// configFlags are the flags every admin command shares with `caddy run`.
type configFlags struct {
	config, adapter, site string
}

func (f *configFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "the config file `caddy run` uses (default: ./Caddyfile)")
	cmd.Flags().StringVarP(&f.adapter, "adapter", "a", "", "the config adapter, e.g. caddyfile")
	cmd.Flags().StringVar(&f.site, "site", "", "the site whose paywall to use, when the config has several")
}

// cliPaywall is a paywall block loaded from the config for a command.
type cliPaywall struct {
	*Paywall
	site   siteAddress
	client redis.UniversalClient
	parts
}

func (c *cliPaywall) Close() { _ = c.client.Close() }

// loadPaywall reads the config as `caddy run` would and returns the
// paywall block --site names (or the only one).
func (f *configFlags) loadPaywall() (*cliPaywall, error) {
	cfg, file, _, err := caddycmd.LoadConfig(f.config, f.adapter)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, usageErr("no config found: pass --config (the file `caddy run` uses)")
	}
	var root any
	if err := json.Unmarshal(cfg, &root); err != nil {
		return nil, fmt.Errorf("reading %s: %v", file, err)
	}
	found := findServerPaywalls(root)
	if len(found) == 0 {
		return nil, fmt.Errorf("%s has no paywall handler", file)
	}
	pick := found[0]
	if f.site != "" {
		ok := false
		for _, fp := range found {
			for _, h := range fp.site.hosts {
				if strings.EqualFold(h, f.site) {
					pick, ok = fp, true
				}
			}
		}
		if !ok {
			return nil, usageErr("no paywall for site %q; sites: %s", f.site, siteList(found))
		}
	} else if len(found) > 1 {
		return nil, usageErr("%s has %d paywall blocks: pick one with --site (%s)", file, len(found), siteList(found))
	}
	p := new(Paywall)
	if err := json.Unmarshal(pick.raw, p); err != nil {
		return nil, fmt.Errorf("reading the paywall config: %v", err)
	}
	p.applyDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := p.resolveSecrets(); err != nil {
		return nil, err
	}
	client, err := redisconn.Open(p.resolved.redisURL)
	if err != nil {
		return nil, err
	}
	return &cliPaywall{Paywall: p, site: pick.site, client: client, parts: p.buildParts(p.newStore(client), nil)}, nil
}

type foundPaywall struct {
	raw  json.RawMessage
	site siteAddress
}

// siteAddress is where a paywall is served: the host matchers of the
// routes around it and its server's first listener and TLS.
type siteAddress struct {
	hosts  []string
	listen string // e.g. ":8080", "127.0.0.1:443"
	tls    bool   // the server has TLS connection policies
}

// url is the site's base URL ("" when the config names no host): the
// scheme and port the server really serves, the default port left out.
func (s siteAddress) url() string {
	if len(s.hosts) == 0 {
		return ""
	}
	scheme, port := "http", ""
	if s.tls {
		scheme = "https"
	}
	if a, err := caddy.ParseNetworkAddress(s.listen); err == nil && a.StartPort != 0 {
		port = strconv.FormatUint(uint64(a.StartPort), 10)
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	host := s.hosts[0]
	if strings.Contains(host, ":") { // an IPv6 address
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}

// findServerPaywalls finds the paywall handlers of each HTTP server in a
// JSON config.
func findServerPaywalls(root any) []foundPaywall {
	servers, _ := dig(root, "apps", "http", "servers").(map[string]any)
	names := make([]string, 0, len(servers))
	for name := range servers {
		names = append(names, name)
	}
	sort.Strings(names)
	var found []foundPaywall
	for _, name := range names {
		srv, _ := servers[name].(map[string]any)
		site := siteAddress{}
		if ls, ok := srv["listen"].([]any); ok && len(ls) > 0 {
			site.listen, _ = ls[0].(string)
		}
		_, site.tls = srv["tls_connection_policies"]
		findPaywalls(srv, site, &found)
	}
	return found
}

func dig(node any, keys ...string) any {
	for _, k := range keys {
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = m[k]
	}
	return node
}

// findPaywalls walks a server's routes for paywall handlers, remembering
// the host matchers of the routes around each.
func findPaywalls(node any, site siteAddress, out *[]foundPaywall) {
	switch v := node.(type) {
	case map[string]any:
		if v["handler"] == "paywall" {
			raw, _ := json.Marshal(v)
			*out = append(*out, foundPaywall{raw: raw, site: site})
			return
		}
		if matchers, ok := v["match"].([]any); ok {
			for _, m := range matchers {
				if mm, ok := m.(map[string]any); ok {
					if hs, ok := mm["host"].([]any); ok {
						site.hosts = nil
						for _, h := range hs {
							if s, ok := h.(string); ok {
								site.hosts = append(site.hosts, s)
							}
						}
					}
				}
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			findPaywalls(v[k], site, out)
		}
	case []any:
		for _, e := range v {
			findPaywalls(e, site, out)
		}
	}
}

func siteList(found []foundPaywall) string {
	var s []string
	for _, f := range found {
		if len(f.site.hosts) == 0 {
			s = append(s, "(any host)")
		} else {
			s = append(s, strings.Join(f.site.hosts, ","))
		}
	}
	return strings.Join(s, "; ")
}
