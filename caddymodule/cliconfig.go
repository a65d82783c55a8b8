package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

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
	json                  bool
}

func (f *configFlags) add(cmd *cobra.Command, jsonOutput bool) {
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "the config file `caddy run` uses (default: ./Caddyfile)")
	cmd.Flags().StringVarP(&f.adapter, "adapter", "a", "", "the config adapter, e.g. caddyfile")
	cmd.Flags().StringVar(&f.site, "site", "", "the site whose paywall to use, when the config has several")
	if jsonOutput {
		cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	}
}

// cliPaywall is a paywall block loaded from the config for a command.
type cliPaywall struct {
	*Paywall
	hosts  []string
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
	var found []foundPaywall
	findPaywalls(root, nil, &found)
	if len(found) == 0 {
		return nil, fmt.Errorf("%s has no paywall handler", file)
	}
	pick := found[0]
	if f.site != "" {
		ok := false
		for _, fp := range found {
			for _, h := range fp.hosts {
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
	if err := p.resolveSecrets(); err != nil {
		return nil, err
	}
	client, err := redisconn.Open(p.resolved.redisURL)
	if err != nil {
		return nil, err
	}
	return &cliPaywall{Paywall: p, hosts: pick.hosts, client: client, parts: p.buildParts(client)}, nil
}

type foundPaywall struct {
	raw   json.RawMessage
	hosts []string
}

// findPaywalls walks the JSON config for paywall handlers, remembering the
// host matchers of the routes around each.
func findPaywalls(node any, hosts []string, out *[]foundPaywall) {
	switch v := node.(type) {
	case map[string]any:
		if v["handler"] == "paywall" {
			raw, _ := json.Marshal(v)
			*out = append(*out, foundPaywall{raw: raw, hosts: hosts})
			return
		}
		if matchers, ok := v["match"].([]any); ok {
			for _, m := range matchers {
				if mm, ok := m.(map[string]any); ok {
					if hs, ok := mm["host"].([]any); ok {
						hosts = nil
						for _, h := range hs {
							if s, ok := h.(string); ok {
								hosts = append(hosts, s)
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
			findPaywalls(v[k], hosts, out)
		}
	case []any:
		for _, e := range v {
			findPaywalls(e, hosts, out)
		}
	}
}

func siteList(found []foundPaywall) string {
	var s []string
	for _, f := range found {
		if len(f.hosts) == 0 {
			s = append(s, "(any host)")
		} else {
			s = append(s, strings.Join(f.hosts, ","))
		}
	}
	return strings.Join(s, "; ")
}
