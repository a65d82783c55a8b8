#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what is missing (redis-server,
# chromium, nodejs and npm from Debian's packages, stripe-mock with go
# install into .bin/, axe-core from the npm registry into .bin/axe-core),
# starts redis-server and stripe-mock on free loopback ports, runs go vet
# and go test -race, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/.bin:$PATH"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing ${missing[*]} from Debian's packages"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The browser tests' accessibility check; the version is pinned in one place.
axe_version=$(sed -n 's/^const AxeVersion = "\(.*\)"$/\1/p' internal/testenv/testenv.go)
if ! grep -qs "\"version\": \"$axe_version\"" .bin/axe-core/node_modules/axe-core/package.json; then
	echo "installing axe-core $axe_version into .bin/axe-core"
	npm install --prefix .bin/axe-core --no-save --no-audit --no-fund --loglevel=error "axe-core@$axe_version" >/dev/null
fi
if [ ! -x .bin/stripe-mock ]; then
	echo "installing stripe-mock v0.203.0 into .bin/"
	GOBIN="$root/.bin" go install github.com/stripe/stripe-mock@v0.203.0
fi

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}
wait_port() {
	for _ in $(seq 1 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "$2 did not start on port $1" >&2
	return 1
}

pids=()
tmp=$(mktemp -d)
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" &
pids+=($!)
stripe_port=$(free_port)
stripe-mock -http-addr "127.0.0.1:$stripe_port" -https-addr 127.0.0.1:0 >"$tmp/stripe-mock.log" 2>&1 &
pids+=($!)
wait_port "$redis_port" redis-server
wait_port "$stripe_port" stripe-mock
export PAYWALL_TEST_REDIS="redis://127.0.0.1:$redis_port/0"
export PAYWALL_TEST_STRIPE="http://127.0.0.1:$stripe_port"

echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

# Each fuzz target briefly (the long runs: see the README, "Fuzzing").
echo "== fuzz (${FUZZTIME:=8s} each)"
for target in "FuzzSafeReturnTo ./internal/paths" "FuzzMatch ./internal/paths" \
	"FuzzWebhook ./internal/gateway" "FuzzUnmarshalCaddyfile ./caddymodule"; do
	set -- $target
	go test -run='^$' -fuzz="^$1\$" -fuzztime="$FUZZTIME" "$2" 2>&1 | grep -v '^{"level"' | tail -n 2
done
echo "== all tests and fuzz targets passed"
