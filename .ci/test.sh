#!/usr/bin/env bash
# Runs every test on a fresh machine: installs every program in
# .ci/programs that is missing (Debian's packages with apt-get, Go tools
# with go install into .bin/), and axe-core for the browser tests'
# accessibility check (npm, from Debian's packages, installs it into
# .bin/axe-core); starts a redis-server, a three-master Redis
# Cluster and stripe-mock on free loopback ports, runs go vet and
# go test -race, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/.bin:$PATH"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The programs the tests start are listed in .ci/programs (today
# redis-server, redis-sentinel, redis-cli, chromium, /usr/bin/python3 with
# python3-django, stripe-mock); wrk is used only by `go run ./bench`, not by
# any test, and is not installed here.
# One list, also read by internal/testenv: "<program> apt <package>",
# "<program> go <module>@<version>" or "<program> toolchain".
apt_missing=()
go_missing=()
while read -r program via source; do
	case "$program" in '' | '#'*) continue ;; esac
	case "$via" in
	apt)
		# The package itself, not just the program: python3 is there long
		# before python3-django is.
		if ! command -v "$program" >/dev/null ||
			! dpkg-query -W -f='${Status}' "$source" 2>/dev/null | grep -q 'install ok installed'; then
			apt_missing+=("$source")
		fi
		;;
	go) [ -x ".bin/$program" ] || command -v "$program" >/dev/null || go_missing+=("$source") ;;
	toolchain) command -v "$program" >/dev/null || { echo "$program is not installed: the tests need the Go toolchain" >&2; exit 1; } ;;
	*) echo ".ci/programs: unknown install method '$via' for $program" >&2; exit 1 ;;
	esac
done <.ci/programs
# npm installs axe-core (below); no test starts it.
command -v npm >/dev/null || apt_missing+=(nodejs npm)
if [ ${#apt_missing[@]} -gt 0 ]; then
	echo "installing ${apt_missing[*]} from Debian's packages"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${apt_missing[@]}" >/dev/null
fi
for module in ${go_missing[@]+"${go_missing[@]}"}; do
	echo "installing $module into .bin/"
	GOBIN="$root/.bin" go install "$module"
done
# The browser tests' accessibility check; the version is pinned in one
# place (internal/testenv).
axe_version=$(sed -n 's/^const AxeVersion = "\(.*\)"$/\1/p' internal/testenv/testenv.go)
if ! grep -qs "\"version\": \"$axe_version\"" .bin/axe-core/node_modules/axe-core/package.json; then
	echo "installing axe-core $axe_version into .bin/axe-core"
	npm install --prefix .bin/axe-core --no-save --no-audit --no-fund --loglevel=error "axe-core@$axe_version" >/dev/null
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
	for _ in $(seq 1 1200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "$2 did not start on port $1 within 60s" >&2
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

# A three-master Redis Cluster, each node with its own directory, config
# file and bus port.
cluster=()
for i in 1 2 3; do
	port=$(free_port)
	mkdir "$tmp/cluster$i"
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp/cluster$i" \
		--cluster-enabled yes --cluster-config-file "$tmp/cluster$i/nodes.conf" \
		--cluster-port "$(free_port)" --cluster-node-timeout 5000 --logfile "$tmp/cluster$i/redis.log" &
	pids+=($!)
	wait_port "$port" "cluster node $i"
	cluster+=("127.0.0.1:$port")
done
redis-cli --cluster create "${cluster[@]}" --cluster-replicas 0 --cluster-yes >"$tmp/cluster-create.log" 2>&1 ||
	{ cat "$tmp/cluster-create.log" >&2; exit 1; }
for node in "${cluster[@]}"; do
	for _ in $(seq 1 600); do
		if redis-cli -h 127.0.0.1 -p "${node#*:}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then continue 2; fi
		sleep 0.05
	done
	echo "cluster node $node not ok after 30s" >&2
	exit 1
done
export PAYWALL_TEST_REDIS_CLUSTER="redis-cluster://${cluster[0]}?addr=${cluster[1]}&addr=${cluster[2]}"

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
